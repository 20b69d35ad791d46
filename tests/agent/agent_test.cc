// The agent with a replay source against an in-process collector.
#include <algorithm>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "agent/agent.h"
#include "agent/replay_source.h"
#include "agent/spool.h"
#include "common/batch_columns.h"
#include "tests/agent/test_records.h"
#include "tests/collector/collector_fixture.h"

namespace hoplat::testing {
namespace {

// Plays the first `gate` records, then holds until `open_` is notified: lets a test act
// at a known point of the stream.
class GatedSource : public RecordSource {
 public:
  GatedSource(RecordSource* inner, uint64_t gate) : inner_(inner), gate_(gate) {}
  absl::StatusOr<size_t> Read(size_t max, absl::Duration timeout,
                              std::vector<hoplat_record>* out) override {
    if (passed_ >= gate_ && !open_.HasBeenNotified()) {
      if (!reached_.HasBeenNotified()) reached_.Notify();
      open_.WaitForNotificationWithTimeout(timeout);
      return 0;
    }
    if (passed_ < gate_) max = std::min<size_t>(max, gate_ - passed_);
    absl::StatusOr<size_t> n = inner_->Read(max, timeout, out);
    if (n.ok()) passed_ += *n;
    return n;
  }
  absl::Notification reached_;
  absl::Notification open_;

 private:
  RecordSource* inner_;
  uint64_t gate_;
  uint64_t passed_ = 0;
};

class AgentTest : public CollectorTest {
 protected:
  // What the collector stored of `node` once everything it received is
  // committed (0, and a failure, if it does not know the node).
  uint64_t StoredBy(const std::string& node) {
    EXPECT_TRUE(collector_->Sync().ok());
    const v1::ListNodesResponse nodes = Nodes();
    const v1::Node* n = FindNode(nodes, node);
    EXPECT_NE(n, nullptr) << node;
    return n == nullptr ? 0 : n->observations_stored();
  }
  // The one observation of a packet stored once (nothing, and a failure,
  // otherwise).
  std::optional<v1::Observation> OnlyObservation(uint64_t hash) {
    grpc::ClientContext ctx;
    v1::TracePacketRequest req;
    req.set_hash(hash);
    v1::TracePacketResponse trace;
    const grpc::Status s = query_->TracePacket(&ctx, req, &trace);
    if (!s.ok() || trace.trajectories_size() != 1 ||
        trace.trajectories(0).observations_size() != 1) {
      ADD_FAILURE() << "hash " << hash << ": " << s.error_message() << " "
                    << trace.ShortDebugString();
      return std::nullopt;
    }
    return trace.trajectories(0).observations(0);
  }
  AgentOptions Options(const std::string& node) {
    AgentOptions o;
    o.client.target = collector_->target();
    o.client.node_id = node;
    o.batch_size = 1000;
    o.flush_interval = absl::Milliseconds(20);
    o.initial_backoff = absl::Milliseconds(10);
    o.drain_timeout = absl::Seconds(2);
    return o;
  }
};

TEST_F(AgentTest, ReplayIsStoredExactlyOnceWithEveryValue) {
  StartCollector();
  const std::vector<hoplat_record> records = Records(25'500, kT0);
  ASSERT_TRUE(WriteReplayFile(dir_.file("r1.rec"), records).ok());
  auto source = ReplaySource::Open(dir_.file("r1.rec"));
  ASSERT_TRUE(source.ok());
  Agent agent(Options("r1"), source->get());
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(agent.counters().records_read(), records.size());
  EXPECT_EQ(agent.counters().batches_acked(), 26u);
  ASSERT_TRUE(collector_->Sync().ok());

  const v1::ListNodesResponse nodes = Nodes();
  const v1::Node* r1 = FindNode(nodes, "r1");
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->observations_stored(), records.size());
  EXPECT_EQ(r1->agent().records_read(), records.size()) << "the final report reached the collector";
  for (size_t i : {0u, 7u, 999u, 1000u, 25'499u}) {
    const std::optional<v1::Observation> found = OnlyObservation(records[i].hash);
    ASSERT_TRUE(found.has_value());
    const v1::Observation& o = *found;
    EXPECT_EQ(o.arrival_ns(), records[i].arrival_ns);
    EXPECT_EQ(o.exit_ns(), records[i].exit_ns);
    EXPECT_EQ(o.ifindex_in(), records[i].ifindex_in);
    EXPECT_EQ(o.ifindex_out(), records[i].ifindex_out);
    EXPECT_EQ(o.length(), records[i].length);
    EXPECT_EQ(o.flags(), records[i].flags);
    EXPECT_EQ(o.ttl(), records[i].ttl);
    EXPECT_EQ(o.gso_segs(), records[i].gso_segs);
    EXPECT_EQ(o.residence().nanos(), static_cast<int32_t>(records[i].residence_ns))
        << "the monotonic residence, not exit - arrival";
  }
}

TEST_F(AgentTest, ClockDomainReachesTheCollector) {
  StartCollector();
  const std::vector<hoplat_record> records = Records(100, kT0);
  ASSERT_TRUE(WriteReplayFile(dir_.file("r.rec"), records).ok());
  for (const std::string domain : {"kernel-a", ""}) {
    SCOPED_TRACE(domain);
    const std::string node = domain.empty() ? "r2" : "r1";
    auto source = ReplaySource::Open(dir_.file("r.rec"));
    ASSERT_TRUE(source.ok());
    AgentOptions options = Options(node);
    options.clock_domain = domain;
    Agent agent(options, source->get());
    ASSERT_TRUE(agent.Run().ok());
    ASSERT_TRUE(collector_->Sync().ok());
    const v1::ListNodesResponse nodes = Nodes();
    const v1::Node* n = FindNode(nodes, node);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->clock().clock_domain(), domain) << "in the Hello and the reports";
    EXPECT_EQ(n->clock().source(), "adjtimex") << "the rest of the state is the kernel's";
  }
}

// The lab clock (--clock_offset, --clock_drift_ppm): what the collector
// stores is the record read by the wrong clock, exactly; the monotonic
// residence as it was; and the node in a clock domain of its own.
TEST_F(AgentTest, LabClockMovesArrivalAndExitExactlyNotTheResidence) {
  StartCollector();
  struct Case {
    std::string node;
    absl::Duration offset;
    double drift_ppm;
    uint64_t first_hash;  // the nodes' packets apart: one trajectory each
  };
  // Records are 10 µs apart from kT0, the reference: 100 ppm adds 1 ns per
  // record (the exit 3 µs later: 0.3 ns more, rounded away).
  for (const Case& c : {Case{"lab3ms", absl::Milliseconds(3), 0, 0},
                        Case{"lab3msfast", absl::Milliseconds(3), 100, 100'000}}) {
    SCOPED_TRACE(c.node);
    const std::vector<hoplat_record> records = Records(2'000, kT0, c.first_hash);
    ASSERT_TRUE(WriteReplayFile(dir_.file(c.node + ".rec"), records).ok());
    auto source = ReplaySource::Open(dir_.file(c.node + ".rec"));
    ASSERT_TRUE(source.ok());
    AgentOptions options = Options(c.node);
    absl::StatusOr<LabClock> clock = LabClock::Create(c.offset, c.drift_ppm, kT0);
    ASSERT_TRUE(clock.ok()) << clock.status();
    options.lab_clock = *clock;
    options.clock_domain = *LabClockDomain(c.node);  // as the flags choose it
    Agent agent(options, source->get());
    ASSERT_TRUE(agent.Run().ok());
    ASSERT_TRUE(collector_->Sync().ok());
    const v1::ListNodesResponse nodes = Nodes();
    const v1::Node* n = FindNode(nodes, c.node);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->observations_stored(), records.size());
    EXPECT_EQ(n->clock().clock_domain(), "lab-" + c.node) << "its own, not the boot id";
    for (size_t i : {0u, 1u, 7u, 507u, 1'999u}) {
      const std::optional<v1::Observation> found = OnlyObservation(records[i].hash);
      ASSERT_TRUE(found.has_value());
      const v1::Observation& o = *found;
      EXPECT_EQ(o.node_id(), c.node);
      const uint64_t drift = c.drift_ppm == 0 ? 0 : i;
      EXPECT_EQ(o.arrival_ns(), records[i].arrival_ns + 3'000'000 + drift) << i;
      EXPECT_EQ(o.exit_ns(), records[i].exit_ns + 3'000'000 + drift) << i;
      EXPECT_EQ(o.residence().nanos(), static_cast<int32_t>(records[i].residence_ns))
          << i << ": the monotonic residence, untouched";
      EXPECT_EQ(o.residence().seconds(), 0);
    }
  }
}

TEST_F(AgentTest, CollectorRestartedMidStreamLosesNothing) {
  StartCollector();
  const std::vector<hoplat_record> records = Records(20'000, kT0);
  ASSERT_TRUE(WriteReplayFile(dir_.file("r2.rec"), records).ok());
  auto source = ReplaySource::Open(dir_.file("r2.rec"));
  ASSERT_TRUE(source.ok());
  AgentOptions options = Options("r2");
  options.batch_size = 100;
  options.drain_timeout = absl::Seconds(30);
  GatedSource gated(source->get(), 10'000);
  Agent agent(options, &gated);
  const int port = collector_->port();
  absl::Status result;
  std::thread runner([&] { result = agent.Run(); });
  // Half the records are out (some acknowledged, some maybe not): kill the
  // collector, start it again on the same port and database, let the rest go.
  gated.reached_.WaitForNotification();
  StopCollector();
  StartCollector([port](CollectorOptions* o) { o->listen = "127.0.0.1:" + std::to_string(port); });
  gated.open_.Notify();
  runner.join();
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_EQ(StoredBy("r2"), records.size());
}

// Records 100..199 (the second batch of 100) lie 30 days before the
// collector's clock: it refuses that batch for good.
std::vector<hoplat_record> WithAnAbsurdBatch() {
  std::vector<hoplat_record> records = Records(300, kT0);
  const uint64_t month = 30ull * 24 * 3600 * 1'000'000'000;
  for (int i = 100; i < 200; ++i) {
    records[i].arrival_ns -= month;
    records[i].exit_ns -= month;
  }
  return records;
}

TEST_F(AgentTest, BatchRefusedForGoodIsDroppedAndCountedNotResentForever) {
  StartCollector();
  ASSERT_TRUE(WriteReplayFile(dir_.file("rej.rec"), WithAnAbsurdBatch()).ok());
  auto source = ReplaySource::Open(dir_.file("rej.rec"));
  ASSERT_TRUE(source.ok());
  AgentOptions options = Options("rj");
  options.batch_size = 100;
  options.client.max_in_flight = 1;
  options.drain_timeout = absl::Seconds(30);
  Agent agent(options, source->get());
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(agent.counters().rejected_batches(), 1u);
  EXPECT_EQ(agent.counters().rejected_observations(), 100u);
  ASSERT_TRUE(collector_->Sync().ok());
  const v1::ListNodesResponse nodes = Nodes();
  const v1::Node* rj = FindNode(nodes, "rj");
  ASSERT_NE(rj, nullptr);
  EXPECT_EQ(rj->observations_stored(), 200u) << "the batches before and after it";
  EXPECT_EQ(rj->agent().rejected_batches(), 1u) << "the loss reached the collector";
}

// A port where nobody listens yet, and the options to reach it.
class AgentSpoolTest : public AgentTest {
 protected:
  void SetUp() override {
    StartCollector();
    port_ = collector_->port();
    StopCollector();
  }
  void StartCollectorAgain() {
    const int port = port_;
    StartCollector([port](CollectorOptions* o) { o->listen = "127.0.0.1:" + std::to_string(port); });
  }
  AgentOptions SpoolOptions(const std::string& node, Spool* spool) {
    AgentOptions o;
    o.client.target = "127.0.0.1:" + std::to_string(port_);
    o.client.node_id = node;
    o.client.connect_timeout = absl::Milliseconds(100);
    o.batch_size = 100;
    o.flush_interval = absl::Milliseconds(20);
    o.initial_backoff = absl::Milliseconds(10);
    o.max_backoff = absl::Milliseconds(50);
    o.drain_timeout = absl::Seconds(20);
    o.pending = spool;
    return o;
  }
  int port_ = 0;
};

TEST_F(AgentSpoolTest, CollectorDownAtStartThenUpNothingLost) {
  const std::vector<hoplat_record> records = Records(2'000, kT0);
  ASSERT_TRUE(WriteReplayFile(dir_.file("s1.rec"), records).ok());
  auto source = ReplaySource::Open(dir_.file("s1.rec"));
  auto spool = Spool::Open(dir_.file("spool1"), 64 << 20);
  ASSERT_TRUE(source.ok() && spool.ok());
  GatedSource gated(source->get(), records.size());
  Agent agent(SpoolOptions("s1", spool->get()), &gated);
  absl::Status result;
  std::thread runner([&] { result = agent.Run(); });
  gated.reached_.WaitForNotification();  // everything read, nothing reachable
  EXPECT_EQ((*spool)->batches(), 20u) << "every batch waits on disk";
  StartCollectorAgain();
  gated.open_.Notify();
  runner.join();
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_TRUE((*spool)->empty());
  EXPECT_EQ(StoredBy("s1"), records.size());
}

TEST_F(AgentSpoolTest, WithoutASpoolMemoryIsBoundedAndWhatItDroppedFailsTheRun) {
  const std::vector<hoplat_record> records = Records(1'000, kT0);
  ASSERT_TRUE(WriteReplayFile(dir_.file("m1.rec"), records).ok());
  auto source = ReplaySource::Open(dir_.file("m1.rec"));
  ASSERT_TRUE(source.ok());
  // Room in memory for a few of the 10 batches (how many depends on how
  // their columns grew: memory used, not wire size, is what counts).
  v1::ObservationBatch probe;
  probe.set_seq(1);
  for (int i = 0; i < 100; ++i) AppendToBatch(Observation{TestHash(i), kT0, kT0, 2, 3, 60, 1}, &probe);
  GatedSource gated(source->get(), records.size());  // reads like the device: never waits
  AgentOptions options = SpoolOptions("m1", nullptr);
  options.memory_max_bytes = probe.SpaceUsedLong() * 3 + probe.SpaceUsedLong() / 2;
  Agent agent(options, &gated);
  absl::Status result;
  std::thread runner([&] { result = agent.Run(); });
  gated.reached_.WaitForNotification();  // all read while the collector is away
  const uint64_t held = agent.counters().spooled_batches();
  const uint64_t dropped = agent.counters().spool_dropped_batches();
  EXPECT_GE(held, 1u);
  EXPECT_GE(dropped, 6u) << "memory is bounded";
  EXPECT_EQ(held + dropped, 10u) << "every batch held or counted";
  EXPECT_EQ(agent.counters().spool_dropped_observations(), dropped * 100);
  StartCollectorAgain();
  gated.open_.Notify();
  runner.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kDataLoss) << result;
  EXPECT_NE(result.message().find(absl::StrCat(dropped, " batches were dropped")),
            std::string::npos)
      << result;
  EXPECT_EQ(StoredBy("m1"), held * 100) << "the newest batches, all of them";
}

TEST_F(AgentSpoolTest, FullSpoolDropsTheOldestAndTheCollectorIsTold) {
  const std::vector<hoplat_record> records = Records(1'000, kT0);
  ASSERT_TRUE(WriteReplayFile(dir_.file("s2.rec"), records).ok());
  auto source = ReplaySource::Open(dir_.file("s2.rec"));
  // Room for 3 of the 10 batches (each ~2.7 KB serialised).
  v1::ObservationBatch probe;
  for (int i = 0; i < 100; ++i) AppendToBatch(Observation{TestHash(i), kT0, kT0, 2, 3, 60, 1}, &probe);
  auto spool = Spool::Open(dir_.file("spool2"), probe.ByteSizeLong() * 3 + probe.ByteSizeLong() / 2);
  ASSERT_TRUE(source.ok() && spool.ok());
  GatedSource gated(source->get(), records.size());
  Agent agent(SpoolOptions("s2", spool->get()), &gated);
  absl::Status result;
  std::thread runner([&] { result = agent.Run(); });
  gated.reached_.WaitForNotification();
  EXPECT_EQ((*spool)->batches(), 3u);
  EXPECT_EQ((*spool)->dropped_batches(), 7u);
  EXPECT_EQ((*spool)->dropped_observations(), 700u);
  StartCollectorAgain();
  gated.open_.Notify();
  runner.join();
  ASSERT_TRUE(result.ok()) << result;
  ASSERT_TRUE(collector_->Sync().ok());
  const v1::ListNodesResponse nodes = Nodes();
  const v1::Node* s2 = FindNode(nodes, "s2");
  ASSERT_NE(s2, nullptr);
  EXPECT_EQ(s2->observations_stored(), 300u) << "the newest three batches";
  EXPECT_EQ(s2->agent().spool_dropped_batches(), 7u) << "the loss reached the collector";
  EXPECT_EQ(s2->agent().spool_dropped_observations(), 700u);
  // The oldest were dropped: the first record is gone, the last is there.
  grpc::ClientContext ctx;
  v1::TracePacketRequest req;
  req.set_hash(records.back().hash);
  v1::TracePacketResponse trace;
  ASSERT_TRUE(query_->TracePacket(&ctx, req, &trace).ok());
  EXPECT_EQ(trace.trajectories_size(), 1);
}

TEST_F(AgentSpoolTest, SpooledBatchesSurviveTheAgentAndAreDeliveredOnce) {
  const std::vector<hoplat_record> records = Records(1'500, kT0);
  ASSERT_TRUE(WriteReplayFile(dir_.file("s3.rec"), records).ok());
  {
    // First life: the collector is away; the agent is stopped (as a kill
    // would, it goes away holding nothing in memory: all is on disk).
    auto source = ReplaySource::Open(dir_.file("s3.rec"));
    auto spool = Spool::Open(dir_.file("spool3"), 64 << 20);
    ASSERT_TRUE(source.ok() && spool.ok());
    GatedSource gated(source->get(), records.size());
    AgentOptions options = SpoolOptions("s3", spool->get());
    options.drain_timeout = absl::Milliseconds(200);
    Agent agent(options, &gated);
    absl::Status result;
    std::thread runner([&] { result = agent.Run(); });
    gated.reached_.WaitForNotification();
    agent.Stop();
    gated.open_.Notify();
    runner.join();
    EXPECT_EQ((*spool)->batches(), 15u);
  }
  // Second life: a new process would open the same directory.
  StartCollectorAgain();
  ASSERT_TRUE(WriteReplayFile(dir_.file("empty.rec"), {}).ok());
  auto source = ReplaySource::Open(dir_.file("empty.rec"));
  auto spool = Spool::Open(dir_.file("spool3"), 64 << 20);
  ASSERT_TRUE(source.ok() && spool.ok());
  EXPECT_EQ((*spool)->batches(), 15u);
  Agent agent(SpoolOptions("s3", spool->get()), source->get());
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_TRUE((*spool)->empty());
  EXPECT_EQ(StoredBy("s3"), records.size());
}

TEST_F(AgentSpoolTest, SpooledBatchRefusedForGoodLeavesTheSpool) {
  ASSERT_TRUE(WriteReplayFile(dir_.file("s4.rec"), WithAnAbsurdBatch()).ok());
  auto source = ReplaySource::Open(dir_.file("s4.rec"));
  auto spool = Spool::Open(dir_.file("spool4"), 64 << 20);
  ASSERT_TRUE(source.ok() && spool.ok());
  GatedSource gated(source->get(), 300);
  Agent agent(SpoolOptions("s4", spool->get()), &gated);
  absl::Status result;
  std::thread runner([&] { result = agent.Run(); });
  gated.reached_.WaitForNotification();
  EXPECT_EQ((*spool)->batches(), 3u);
  StartCollectorAgain();
  gated.open_.Notify();
  runner.join();
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_TRUE((*spool)->empty()) << "the refused batch is not kept for ever";
  EXPECT_EQ(agent.counters().rejected_batches(), 1u);
  EXPECT_EQ(StoredBy("s4"), 200u);
}

// A collector that hangs: it takes the stream, answers Hello (or not), then
// reads nothing more and acknowledges nothing, like a stopped process whose
// kernel still holds the socket.
class HungCollector : public v1::Ingest::Service {
 public:
  HungCollector(int port, bool welcome) : welcome_(welcome) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials());
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~HungCollector() override { server_->Shutdown(absl::ToChronoTime(absl::Now())); }
  grpc::Status Stream(grpc::ServerContext* ctx,
                      grpc::ServerReaderWriter<v1::IngestResponse, v1::IngestRequest>* stream) override {
    v1::IngestRequest hello;
    if (stream->Read(&hello) && welcome_) {
      v1::IngestResponse w;
      w.mutable_welcome();
      stream->Write(w);
    }
    while (!ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));  // hung
    return grpc::Status::CANCELLED;
  }

 private:
  const bool welcome_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(AgentSpoolTest, HungCollectorDoesNotHoldUpReadingAndLosesNothing) {
  for (bool welcome : {true, false}) {
    SCOPED_TRACE(welcome ? "acknowledges nothing" : "never answers Hello");
    const std::string node = welcome ? "h1" : "h2";
    const std::vector<hoplat_record> records = Records(2'000, kT0);
    ASSERT_TRUE(WriteReplayFile(dir_.file(node + ".rec"), records).ok());
    const std::string spool_dir = dir_.file("spool-" + node);
    {
      auto hung = std::make_unique<HungCollector>(port_, welcome);
      auto source = ReplaySource::Open(dir_.file(node + ".rec"));
      auto spool = Spool::Open(spool_dir, 64 << 20);
      ASSERT_TRUE(source.ok() && spool.ok());
      GatedSource gated(source->get(), records.size());
      AgentOptions options = SpoolOptions(node, spool->get());
      options.client.max_in_flight = 2;
      options.client.ack_timeout = absl::Milliseconds(300);
      options.client.hello_timeout = absl::Milliseconds(300);
      options.drain_timeout = absl::Milliseconds(500);
      Agent agent(options, &gated);
      absl::Status result;
      std::thread runner([&] { result = agent.Run(); });
      // Every record read although nothing is acknowledged: reading never
      // waited for the collector.
      gated.reached_.WaitForNotification();
      agent.Stop();
      gated.open_.Notify();
      runner.join();
      EXPECT_EQ(agent.counters().records_read(), records.size());
      EXPECT_EQ((*spool)->batches(), 20u) << "all of it on disk, none acknowledged";
      hung.reset();
    }
    // The real collector comes back: everything once.
    StartCollectorAgain();
    ASSERT_TRUE(WriteReplayFile(dir_.file("empty-" + node + ".rec"), {}).ok());
    auto source = ReplaySource::Open(dir_.file("empty-" + node + ".rec"));
    auto spool = Spool::Open(spool_dir, 64 << 20);
    ASSERT_TRUE(source.ok() && spool.ok());
    Agent agent(SpoolOptions(node, spool->get()), source->get());
    ASSERT_TRUE(agent.Run().ok());
    EXPECT_TRUE((*spool)->empty());
    EXPECT_EQ(StoredBy(node), records.size());
    StopCollector();
  }
}

TEST_F(AgentTest, StopWithTheCollectorAwayReportsWhatWasNotDelivered) {
  StartCollector();
  const int port = collector_->port();
  StopCollector();  // nobody listens any more
  const std::vector<hoplat_record> records = Records(500, kT0);
  ASSERT_TRUE(WriteReplayFile(dir_.file("r3.rec"), records).ok());
  auto source = ReplaySource::Open(dir_.file("r3.rec"));
  ASSERT_TRUE(source.ok());
  AgentOptions options;
  options.client.target = "127.0.0.1:" + std::to_string(port);
  options.client.node_id = "r3";
  options.client.connect_timeout = absl::Milliseconds(200);
  options.initial_backoff = absl::Milliseconds(10);
  options.drain_timeout = absl::Milliseconds(500);
  Agent agent(options, source->get());  // no spool: what is held is lost at exit
  const absl::Status s = agent.Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("1 batches could not be delivered"), std::string::npos) << s;
}

}  // namespace
}  // namespace hoplat::testing
