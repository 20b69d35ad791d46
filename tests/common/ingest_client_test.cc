// common/memory_pending_batches (the bookkeeping of batches waiting for an
// acknowledgement) and common/ingest_client (the stream) against an
// in-process collector.
#include "common/ingest_client.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/memory_pending_batches.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "hoplat/v1/ingest.grpc.pb.h"
#include "tests/collector/collector_fixture.h"

namespace hoplat::testing {
namespace {

// Batch `seq` with `n` observations whose hashes no other batch has.
v1::ObservationBatch NumberedBatch(uint64_t seq, int n = 10) {
  std::vector<Observation> obs;
  for (int i = 0; i < n; ++i) {
    Observation o;
    o.hash = TestHash(seq * 1'000'000 + static_cast<uint64_t>(i));
    o.arrival_ns = kT0 + seq * 1'000'000 + static_cast<uint64_t>(i) * 1000;
    o.exit_ns = o.arrival_ns + 500;
    o.ifindex_in = 2;
    o.ifindex_out = 3;
    o.length = 100;
    obs.push_back(o);
  }
  return MakeBatch(seq, obs);
}

TEST(MemoryPendingBatchesTest, KeepsSeqOrderAndTracksWhatWasSent) {
  MemoryPendingBatches p;
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p.durable());
  EXPECT_EQ(p.last_seq(), 0u);
  EXPECT_EQ(p.NextUnsent().status().code(), absl::StatusCode::kNotFound);
  // Appended out of order, kept in seq order.
  for (uint64_t seq : {12, 10, 11}) ASSERT_TRUE(p.Append(NumberedBatch(seq, 5)).ok());
  EXPECT_EQ(p.batches(), 3u);
  EXPECT_EQ(p.last_seq(), 12u);
  // Memory held: at least the wire size.
  const uint64_t three = p.bytes();
  EXPECT_GE(three, NumberedBatch(10, 5).ByteSizeLong() + NumberedBatch(11, 5).ByteSizeLong() +
                       NumberedBatch(12, 5).ByteSizeLong());
  // A seq already held is kept as it is.
  ASSERT_TRUE(p.Append(NumberedBatch(11, 7)).ok());
  EXPECT_EQ(p.batches(), 3u);

  // NextUnsent skips what was sent.
  ASSERT_TRUE(p.has_unsent());
  EXPECT_EQ(p.NextUnsent()->seq(), 10u);
  p.MarkSent(10);
  EXPECT_EQ(p.NextUnsent()->seq(), 11u);
  EXPECT_EQ(p.NextUnsent()->hash_size(), 5) << "the first batch 11, not the second";
  p.MarkSent(11);
  p.MarkSent(99);  // not held: nothing to mark
  EXPECT_EQ(p.NextUnsent()->seq(), 12u);
  p.MarkSent(12);
  EXPECT_FALSE(p.has_unsent());
  EXPECT_EQ(p.NextUnsent().status().code(), absl::StatusCode::kNotFound);
  // The stream broke: everything goes again, oldest first.
  p.Unsend();
  ASSERT_TRUE(p.has_unsent());
  EXPECT_EQ(p.NextUnsent()->seq(), 10u);

  // Release(seq) removes exactly that batch.
  p.MarkSent(10);
  p.MarkSent(11);
  p.Release(11);
  EXPECT_EQ(p.batches(), 2u);
  EXPECT_LT(p.bytes(), three);
  EXPECT_GT(p.bytes(), 0u);
  EXPECT_EQ(p.NextUnsent()->seq(), 12u) << "10 still sent, 11 gone";
  p.Unsend();
  EXPECT_EQ(p.NextUnsent()->seq(), 10u) << "10 still held";
  p.Release(11);  // gone already
  p.Release(99);  // never held
  EXPECT_EQ(p.batches(), 2u);

  // Discard returns the observations the batch held.
  EXPECT_EQ(p.Discard(12), std::optional<uint64_t>(5));
  EXPECT_EQ(p.Discard(12), std::nullopt) << "gone already";
  EXPECT_EQ(p.Discard(99), std::nullopt) << "never held";
  EXPECT_EQ(p.batches(), 1u);
  EXPECT_EQ(p.last_seq(), 10u);
  p.Release(10);
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.bytes(), 0u);
  EXPECT_EQ(p.last_seq(), 0u);
  // Nothing here was dropped for room (a discarded batch is the caller's to count).
  EXPECT_EQ(p.dropped_batches(), 0u);
  EXPECT_EQ(p.dropped_observations(), 0u);
}

TEST(MemoryPendingBatchesTest, BoundDropsTheOldestAndRefusesABatchLargerThanItAll) {
  // Memory used as held: a batch moved in keeps the capacity it was built with.
  const uint64_t size = NumberedBatch(1, 10).SpaceUsedLong();
  // Room for three of the batches below (their sizes differ by a few bytes at most).
  MemoryPendingBatches p(size * 3 + size / 2);
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    ASSERT_TRUE(p.Append(NumberedBatch(seq, 10)).ok()) << seq;
    EXPECT_LE(p.bytes(), size * 3 + size / 2);
  }
  EXPECT_EQ(p.batches(), 3u);
  EXPECT_EQ(p.NextUnsent()->seq(), 8u) << "the oldest were dropped";
  EXPECT_EQ(p.last_seq(), 10u);
  EXPECT_EQ(p.dropped_batches(), 7u);
  EXPECT_EQ(p.dropped_observations(), 70u);

  // Larger than the whole bound: refused, counted, and nothing else dropped.
  const absl::Status big = p.Append(NumberedBatch(11, 1000));
  EXPECT_EQ(big.code(), absl::StatusCode::kResourceExhausted) << big;
  EXPECT_EQ(p.batches(), 3u);
  EXPECT_EQ(p.NextUnsent()->seq(), 8u);
  EXPECT_EQ(p.last_seq(), 10u);
  EXPECT_EQ(p.dropped_batches(), 8u);
  EXPECT_EQ(p.dropped_observations(), 1070u);
}

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
