// The real hoplat-agent and hoplat-collector binaries, killed rather than
// closed: nothing held on disk is lost, nothing is stored twice.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "agent/replay_source.h"
#include "grpcpp/grpcpp.h"
#include "hoplat/v1/query.grpc.pb.h"
#include "tests/agent/test_records.h"
#include "tests/subprocess.h"

namespace hoplat::testing {
namespace {

class AgentProcessTest : public ::testing::Test {
 protected:
  AgentProcessTest()
      : listen_("127.0.0.1:" + std::to_string(FreePort())),
        now_ns_(static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()))) {}

  std::unique_ptr<Subprocess> StartCollector(const std::vector<std::string>& env = {}) {
    return std::make_unique<Subprocess>(
        std::vector<std::string>{HOPLAT_COLLECTOR_BINARY, "--listen=" + listen_,
                                 "--db=" + dir_.file("collector.db")},
        env);
  }
  std::unique_ptr<Subprocess> StartAgent(const std::string& replay) {
    return std::make_unique<Subprocess>(std::vector<std::string>{
        HOPLAT_AGENT_BINARY, "--collector=" + listen_, "--node_id=r1", "--replay=" + replay,
        "--spool_dir=" + dir_.file("spool"), "--batch_size=1000", "--flush_interval=50ms",
        "--max_in_flight=4", "--drain_timeout=5m"});
  }
  // The collector's node `id`, or nothing if it cannot be asked now.
  std::optional<v1::Node> Node(const std::string& id = "r1") {
    auto channel = grpc::CreateChannel(listen_, grpc::InsecureChannelCredentials());
    auto query = v1::Query::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::ListNodesResponse nodes;
    if (!query->ListNodes(&ctx, v1::ListNodesRequest(), &nodes).ok()) return std::nullopt;
    for (const v1::Node& n : nodes.nodes()) {
      if (n.node_id() == id) return n;
    }
    return std::nullopt;
  }
  uint64_t Stored() {
    std::optional<v1::Node> n = Node();
    return n ? n->observations_stored() : 0;
  }
  // The seqs of the batches in the agent's spool, oldest first.
  std::vector<uint64_t> Spooled() {
    std::vector<uint64_t> seqs;
    DIR* d = opendir(dir_.file("spool").c_str());
    if (d == nullptr) return seqs;
    while (dirent* e = readdir(d)) {
      absl::string_view name = e->d_name;
      uint64_t seq;
      if (absl::ConsumeSuffix(&name, ".batch") && absl::SimpleAtoi(name, &seq)) seqs.push_back(seq);
    }
    closedir(d);
    std::sort(seqs.begin(), seqs.end());
    return seqs;
  }
  // Every record once: one observation each, and no more in total.
  void ExpectStoredOnce(const std::vector<hoplat_record>& records) {
    std::optional<v1::Node> n = Node();
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->observations_stored(), records.size());
    // The agent's own recovery (restart, spool replay, a crash between send
    // and ack) resends what it sent, never other content under a seq.
    EXPECT_EQ(n->conflicting_batches(), 0u);
    auto query = v1::Query::NewStub(grpc::CreateChannel(listen_, grpc::InsecureChannelCredentials()));
    for (size_t i = 0; i < records.size(); i += records.size() / 7) {
      grpc::ClientContext ctx;
      v1::TracePacketRequest req;
      req.set_hash(records[i].hash);
      v1::TracePacketResponse trace;
      ASSERT_TRUE(query->TracePacket(&ctx, req, &trace).ok());
      ASSERT_EQ(trace.trajectories_size(), 1) << "record " << i;
      EXPECT_EQ(trace.trajectories(0).observations_size(), 1) << "record " << i;
    }
  }

  TempDir dir_;
  const std::string listen_;
  const uint64_t now_ns_;
};

TEST_F(AgentProcessTest, KilledAgentDeliversItsSpoolOnceAfterRestart) {
  const std::vector<hoplat_record> records = Records(10'000, now_ns_);
  ASSERT_TRUE(WriteReplayFile(dir_.file("r1.rec"), records).ok());
  ASSERT_TRUE(WriteReplayFile(dir_.file("empty.rec"), {}).ok());

  // Life 1: no collector. All ten batches go to the spool; SIGKILL.
  {
    std::unique_ptr<Subprocess> agent = StartAgent(dir_.file("r1.rec"));
    ASSERT_TRUE(WaitFor(absl::Seconds(60), [&] { return Spooled().size() == 10; }))
        << Spooled().size();
    EXPECT_EQ(agent->Kill(), 128 + SIGKILL);
  }
  const std::vector<uint64_t> spooled = Spooled();
  ASSERT_EQ(spooled.size(), 10u);

  // Life 2: the collector comes, takes the first two batches, and dies on
  // the third before committing it, with more of the spool in flight. Then
  // the agent is killed too: whatever was sent and not acknowledged must
  // still be on disk.
  {
    std::unique_ptr<Subprocess> collector =
        StartCollector(
            {"HOPLAT_FAILPOINTS=collector.exit_before_commit_seq=" + std::to_string(spooled[2])});
    std::unique_ptr<Subprocess> agent = StartAgent(dir_.file("empty.rec"));
    EXPECT_EQ(collector->Wait(), 86);
    EXPECT_EQ(agent->Kill(), 128 + SIGKILL);
  }
  // Batches 3..10 were never committed (some sent, maybe all): every one
  // is still on disk.
  const std::vector<uint64_t> left = Spooled();
  EXPECT_TRUE(std::includes(left.begin(), left.end(), spooled.begin() + 2, spooled.end()))
      << "a batch sent but never committed left the spool: " << left.size() << " left";

  // Life 3: both come back; the agent drains its spool and exits.
  std::unique_ptr<Subprocess> collector = StartCollector();
  std::unique_ptr<Subprocess> agent = StartAgent(dir_.file("empty.rec"));
  EXPECT_EQ(agent->Wait(), 0);
  EXPECT_TRUE(Spooled().empty());
  ExpectStoredOnce(records);
  EXPECT_EQ(collector->Stop(), 0);
}

TEST_F(AgentProcessTest, CollectorKilledMidStreamThenRestartedLosesNothing) {
  // The agent reads a pipe, so the test decides what it has read when.
  const std::string fifo = dir_.file("records.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::vector<hoplat_record> records = Records(15'000, now_ns_);
  auto feed = [&](int fd, size_t from, size_t to) {
    const char* p = reinterpret_cast<const char*>(records.data() + from);
    size_t left = (to - from) * sizeof(hoplat_record);
    while (left > 0) {
      const ssize_t n = write(fd, p, left);
      ASSERT_GT(n, 0);
      p += n;
      left -= static_cast<size_t>(n);
    }
  };

  std::unique_ptr<Subprocess> collector = StartCollector();
  std::unique_ptr<Subprocess> agent = StartAgent(fifo);
  // Once the agent has it open (non-blocking: ENXIO until then, so a dead
  // agent fails the test instead of hanging it). Close-on-exec: the
  // collector started below must not hold the pipe open.
  int fd = -1;
  ASSERT_TRUE(WaitFor(absl::Seconds(60), [&] {
    fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    return fd >= 0;
  }));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  feed(fd, 0, 5'000);
  ASSERT_TRUE(WaitFor(absl::Seconds(60), [&] { return Stored() == 5'000; })) << Stored();
  EXPECT_EQ(collector->Kill(), 128 + SIGKILL);
  feed(fd, 5'000, 10'000);  // read while the collector is dead
  ASSERT_TRUE(WaitFor(absl::Seconds(60), [&] { return Spooled().size() >= 5; }))
      << "held on disk meanwhile";
  collector = StartCollector();
  feed(fd, 10'000, 15'000);
  close(fd);  // the end of the replay: the agent delivers everything and exits
  EXPECT_EQ(agent->Wait(), 0);
  ExpectStoredOnce(records);
  EXPECT_EQ(collector->Stop(), 0);
}

TEST_F(AgentProcessTest, ClockDomainFlagReachesTheCollectorAndReplayHasNoneByDefault) {
  ASSERT_TRUE(WriteReplayFile(dir_.file("r1.rec"), Records(100, now_ns_)).ok());
  std::unique_ptr<Subprocess> collector = StartCollector();
  auto run_agent = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {HOPLAT_AGENT_BINARY, "--collector=" + listen_,
                                     "--node_id=r1", "--replay=" + dir_.file("r1.rec"),
                                     "--spool_dir=", "--drain_timeout=30s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Subprocess(args).Wait();
  };
  ASSERT_EQ(run_agent({"--clock_domain=netns-host"}), 0);
  std::optional<v1::Node> named = Node();
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ(named->clock().clock_domain(), "netns-host");
  // Replayed records were timestamped by some other kernel: not this one's
  // boot id.
  ASSERT_EQ(run_agent({}), 0);
  std::optional<v1::Node> replayed = Node();
  ASSERT_TRUE(replayed.has_value());
  EXPECT_EQ(replayed->clock().clock_domain(), "");

  const CommandResult bad = RunCommand(std::string(HOPLAT_AGENT_BINARY) +
                                       " --node_id=r1 --replay=/dev/null --clock_domain=a/b 2>&1");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.out.find("--clock_domain"), std::string::npos) << bad.out;
  EXPECT_EQ(collector->Stop(), 0);
}

TEST_F(AgentProcessTest, LabClockFlagsMoveTheRecordsAndGiveADomainOfItsOwn) {
  const std::vector<hoplat_record> records = Records(100, now_ns_);
  ASSERT_TRUE(WriteReplayFile(dir_.file("r1.rec"), records).ok());
  std::unique_ptr<Subprocess> collector = StartCollector();
  auto run_agent = [&](const std::string& node, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {HOPLAT_AGENT_BINARY, "--collector=" + listen_,
                                     "--node_id=" + node, "--replay=" + dir_.file("r1.rec"),
                                     "--spool_dir=", "--drain_timeout=30s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Subprocess(args).Wait();
  };
  ASSERT_EQ(run_agent("r1", {"--clock_offset=-1.5s"}), 0);
  std::optional<v1::Node> lab = Node("r1");
  ASSERT_TRUE(lab.has_value());
  EXPECT_EQ(lab->clock().clock_domain(), "lab-r1") << "its own, even for a replay";
  // It says what it applies: a lab's test takes the truth from there.
  EXPECT_TRUE(absl::StartsWith(lab->clock().source(),
                               "lab clock offset_ns=-1500000000 drift_ppm=0 reference_ns="))
      << lab->clock().source();
  EXPECT_EQ(lab->observations_stored(), records.size());
  {
    auto query =
        v1::Query::NewStub(grpc::CreateChannel(listen_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    v1::TracePacketRequest req;
    req.set_hash(records[42].hash);
    v1::TracePacketResponse trace;
    ASSERT_TRUE(query->TracePacket(&ctx, req, &trace).ok());
    ASSERT_EQ(trace.trajectories_size(), 1);
    ASSERT_EQ(trace.trajectories(0).observations_size(), 1);
    const v1::Observation& o = trace.trajectories(0).observations(0);
    EXPECT_EQ(o.arrival_ns(), records[42].arrival_ns - 1'500'000'000);
    EXPECT_EQ(o.exit_ns(), records[42].exit_ns - 1'500'000'000);
    EXPECT_EQ(o.residence().nanos(), static_cast<int32_t>(records[42].residence_ns));
  }
  // Named: that domain wins (two lab nodes may be given one on purpose).
  ASSERT_EQ(run_agent("r2", {"--clock_drift_ppm=-20", "--clock_domain=lab-shared"}), 0);
  std::optional<v1::Node> named = Node("r2");
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ(named->clock().clock_domain(), "lab-shared");

  for (const std::string& bad :
       {std::string("--clock_drift_ppm=1001"), std::string("--clock_drift_ppm=-5000"),
        std::string("--clock_drift_ppm=nan"), std::string("--clock_offset=inf")}) {
    const CommandResult r =
        RunCommand(std::string(HOPLAT_AGENT_BINARY) + " --node_id=r1 --replay=/dev/null " + bad +
                   " 2>&1");
    EXPECT_EQ(r.rc, 1) << bad;
    EXPECT_NE(r.out.find(bad.substr(0, bad.find('='))), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line: " << r.out;
  }
  const CommandResult long_id = RunCommand(std::string(HOPLAT_AGENT_BINARY) + " --node_id=" +
                                           std::string(62, 'a') +
                                           " --replay=/dev/null --clock_offset=1ms 2>&1");
  EXPECT_EQ(long_id.rc, 1);
  EXPECT_NE(long_id.out.find("--clock_domain"), std::string::npos) << long_id.out;
  const CommandResult record = RunCommand(std::string(HOPLAT_AGENT_BINARY) + " --record=" +
                                          dir_.file("x.rec") + " --clock_offset=1ms 2>&1");
  EXPECT_EQ(record.rc, 1);
  EXPECT_NE(record.out.find("--record"), std::string::npos) << record.out;
  EXPECT_EQ(collector->Stop(), 0);
}

}  // namespace
}  // namespace hoplat::testing
