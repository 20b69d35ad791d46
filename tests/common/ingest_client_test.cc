// common/ingest_client (the stream) against an in-process collector.
#include "common/ingest_client.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/memory_pending_batches.h"
#include "tests/common/numbered_batch.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "hoplat/v1/ingest.grpc.pb.h"
#include "tests/collector/collector_fixture.h"

namespace hoplat::testing {
namespace {


// A collector that says Welcome and then acknowledges nothing: the window
// stays full.
class SilentCollector : public v1::Ingest::Service {
 public:
  SilentCollector() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~SilentCollector() override { server_->Shutdown(absl::ToChronoTime(absl::Now())); }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status Stream(grpc::ServerContext* ctx,
                      grpc::ServerReaderWriter<v1::IngestResponse, v1::IngestRequest>* stream) override {
    v1::IngestRequest hello;
    if (stream->Read(&hello)) {
      v1::IngestResponse welcome;
      welcome.mutable_welcome();
      stream->Write(welcome);
    }
    while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
    return grpc::Status::CANCELLED;
  }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

class IngestClientTest : public CollectorTest {
 protected:
  IngestClientOptions Options(const std::string& target, const std::string& node) {
    IngestClientOptions o;
    o.target = target;
    o.node_id = node;
    o.max_in_flight = 2;
    o.connect_timeout = absl::Milliseconds(200);
    o.clock.set_synchronized(true);
    return o;
  }
  // Every batch of seqs 1..n stored exactly once: the counts, and the first
  // and last packet of each batch found once.
  void ExpectStoredOnce(const std::string& node, uint64_t n, int per_batch) {
    ASSERT_TRUE(collector_->Sync().ok());
    const v1::ListNodesResponse nodes = Nodes();
    const v1::Node* stored = FindNode(nodes, node);
    ASSERT_NE(stored, nullptr) << node;
    EXPECT_EQ(stored->batches_stored(), n);
    EXPECT_EQ(stored->observations_stored(), n * static_cast<uint64_t>(per_batch));
    for (uint64_t seq = 1; seq <= n; ++seq) {
      for (int i : {0, per_batch - 1}) {
        grpc::ClientContext ctx;
        v1::TracePacketRequest req;
        req.set_hash(TestHash(seq * 1'000'000 + static_cast<uint64_t>(i)));
        v1::TracePacketResponse trace;
        ASSERT_TRUE(query_->TracePacket(&ctx, req, &trace).ok());
        ASSERT_EQ(trace.trajectories_size(), 1) << "seq " << seq << " packet " << i;
        EXPECT_EQ(trace.trajectories(0).observations_size(), 1) << "seq " << seq << " packet " << i;
      }
    }
  }
};

TEST_F(IngestClientTest, AbortMidStreamAndReconnectStoresEveryObservationOnce) {
  StartCollector();
  IngestClient client(Options(collector_->target(), "c1"));
  ASSERT_TRUE(client.Connect().ok());
  uint64_t seq = 0;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.Send(NumberedBatch(++seq, 50)).ok()) << seq;
  // Cut with up to a window of batches on the wire, unacknowledged.
  client.Abort();
  EXPECT_FALSE(client.connected());
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(client.Send(NumberedBatch(++seq, 50)).ok()) << "no stream: seq " << seq;
  }
  EXPECT_GE(client.unacked_batches(), 10u) << "kept for the next stream";
  ASSERT_TRUE(client.Connect().ok());  // everything unacknowledged goes again
  ASSERT_TRUE(client.Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(client.unacked_batches(), 0u);
  ASSERT_TRUE(client.Close().ok());
  ExpectStoredOnce("c1", seq, 50);
  const v1::ListNodesResponse nodes = Nodes();
  EXPECT_EQ(FindNode(nodes, "c1")->duplicate_batches(), client.duplicate_acks());
}

TEST_F(IngestClientTest, QueueNeverBlocksWhileTheWindowIsFull) {
  {
    // Welcomed, then nothing acknowledged: a Queue that waited for room in
    // the window would wait until the ack timeout.
    SilentCollector silent;
    IngestClientOptions options = Options(silent.target(), "c2");
    options.ack_timeout = absl::Seconds(120);
    IngestClient client(options);
    ASSERT_TRUE(client.Connect().ok());
    const absl::Time start = absl::Now();
    for (uint64_t seq = 1; seq <= 10; ++seq) ASSERT_TRUE(client.Queue(NumberedBatch(seq)).ok());
    EXPECT_LT(absl::Now() - start, absl::Seconds(10));
    EXPECT_TRUE(client.window_full());
    EXPECT_TRUE(client.connected());
    EXPECT_EQ(client.unacked_batches(), 10u);
    EXPECT_EQ(client.acked_batches(), 0u);
  }

  // The collector stopped: no stream at all.
  StartCollector();
  const int port = collector_->port();
  StopCollector();
  IngestClient client(Options("127.0.0.1:" + std::to_string(port), "c3"));
  EXPECT_FALSE(client.Connect().ok());
  const absl::Time start = absl::Now();
  for (uint64_t seq = 1; seq <= 10; ++seq) ASSERT_TRUE(client.Queue(NumberedBatch(seq)).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.unacked_batches(), 10u);

  // Back: everything queued is delivered, once.
  StartCollector([port](CollectorOptions* o) { o->listen = "127.0.0.1:" + std::to_string(port); });
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  absl::Status connected;
  while (!(connected = client.Connect()).ok() && absl::Now() < deadline) {
  }
  ASSERT_TRUE(connected.ok()) << connected;
  ASSERT_TRUE(client.Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(client.unacked_batches(), 0u);
  ASSERT_TRUE(client.Close().ok());
  ExpectStoredOnce("c3", 10, 10);
}

}  // namespace
}  // namespace hoplat::testing
