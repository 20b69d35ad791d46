// The real hoplat-collector binary dies between receiving a batch and
// committing it; the agent's resend after the restart is stored exactly once.
#include "tests/collector/collector_fixture.h"
#include "tests/subprocess.h"

namespace hoplat::testing {
namespace {

std::vector<Observation> Obs(int n, uint64_t first) {
  std::vector<Observation> v;
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  for (int i = 0; i < n; ++i) {
    Observation o;
    o.hash = TestHash(first + i);
    o.arrival_ns = now + static_cast<uint64_t>(i);
    o.exit_ns = o.arrival_ns + 1000;
    v.push_back(o);
  }
  return v;
}

TEST(CrashTest, BatchReceivedButNotCommittedIsResentAndStoredOnce) {
  TempDir dir;
  const std::string db = dir.file("crash.db");
  const int port = FreePort();
  const std::string listen = "127.0.0.1:" + std::to_string(port);

  IngestClientOptions options;
  options.target = listen;
  options.node_id = "r1";
  options.max_in_flight = 1;  // one batch at a time: batch 3 is alone in its commit
  IngestClient client(options);
  std::vector<v1::ObservationBatch> sent;

  {
    Subprocess collector({HOPLAT_COLLECTOR_BINARY, "--listen=" + listen, "--db=" + db},
                         {"HOPLAT_FAILPOINTS=collector.exit_before_commit_seq=3"});
    ASSERT_TRUE(client.Connect().ok());
    for (uint64_t seq = 1; seq <= 2; ++seq) {
      sent.push_back(MakeBatch(seq, Obs(100, seq * 100)));
      ASSERT_TRUE(client.Send(sent.back()).ok());
      ASSERT_TRUE(client.Flush(absl::Seconds(30)).ok());
    }
    // The collector exits as soon as batch 3 arrives, so Send() may already
    // see the stream end (an error that only means "Connect() again"); the
    // exit code is what proves batch 3 arrived and was not committed.
    client.Send(MakeBatch(3, Obs(100, 300))).IgnoreError();
    EXPECT_EQ(collector.Wait(), 86);
    EXPECT_FALSE(client.Flush(absl::Seconds(30)).ok());
    EXPECT_EQ(client.acked_batches(), 2u);
    EXPECT_EQ(client.unacked_batches(), 1u);
  }
  Subprocess collector({HOPLAT_COLLECTOR_BINARY, "--listen=" + listen, "--db=" + db});
  ASSERT_TRUE(client.Connect().ok());  // resends batch 3
  EXPECT_EQ(client.welcome().highest_committed_seq(), 2u);
  ASSERT_TRUE(client.Send(MakeBatch(4, Obs(100, 400))).ok());
  // And resend batch 2, the same bytes, as if its ack had been lost:
  // stored nothing.
  ASSERT_TRUE(client.Send(sent[1]).ok());
  ASSERT_TRUE(client.Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(client.duplicate_acks(), 1u);
  ASSERT_TRUE(client.Close().ok());

  auto channel = grpc::CreateChannel(listen, grpc::InsecureChannelCredentials());
  auto query = v1::Query::NewStub(channel);
  grpc::ClientContext ctx;
  v1::ListNodesResponse nodes;
  ASSERT_TRUE(query->ListNodes(&ctx, v1::ListNodesRequest(), &nodes).ok());
  ASSERT_EQ(nodes.nodes_size(), 1);
  EXPECT_EQ(nodes.nodes(0).batches_stored(), 4u);
  EXPECT_EQ(nodes.nodes(0).observations_stored(), 400u);
  EXPECT_EQ(nodes.nodes(0).duplicate_batches(), 1u);
  for (uint64_t h : {300u, 399u}) {
    grpc::ClientContext tctx;
    v1::TracePacketRequest req;
    req.set_hash(TestHash(h));
    v1::TracePacketResponse trace;
    ASSERT_TRUE(query->TracePacket(&tctx, req, &trace).ok());
    ASSERT_EQ(trace.trajectories_size(), 1);
    EXPECT_EQ(trace.trajectories(0).observations_size(), 1);
  }
  EXPECT_EQ(collector.Stop(), 0) << "clean shutdown on SIGTERM";
}

TEST(CrashTest, UnopenableDatabaseAndBusyPortFailAtStartWithMessage) {
  TempDir dir;
  Subprocess bad_db({HOPLAT_COLLECTOR_BINARY, "--listen=127.0.0.1:0", "--db=/nonexistent/dir/x.db"});
  EXPECT_EQ(bad_db.Wait(), 1);

  const std::string listen = "127.0.0.1:" + std::to_string(FreePort());
  Subprocess first({HOPLAT_COLLECTOR_BINARY, "--listen=" + listen, "--db=" + dir.file("a.db")});
  // Wait until the first one serves, then a second on the same port must fail.
  auto channel = grpc::CreateChannel(listen, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(20))));
  Subprocess second({HOPLAT_COLLECTOR_BINARY, "--listen=" + listen, "--db=" + dir.file("b.db")});
  EXPECT_EQ(second.Wait(), 1);
  EXPECT_EQ(first.Stop(), 0);

  Subprocess bad_flag({HOPLAT_COLLECTOR_BINARY, "--no_such_flag"});
  EXPECT_NE(bad_flag.Wait(), 0);
}

}  // namespace
}  // namespace hoplat::testing
