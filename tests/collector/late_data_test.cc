// The real hoplat-collector and three real hoplat-agents: the collector is
// away for four minutes of packet time, the agents spool, and they come back
// one after another, the last one after the others have moved on by more
// than --seal_timeout. Every Query answer must end up equal to the one the
// same traffic gives when delivered without the outage: counts exact,
// percentiles equal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "hoplat/v1/query.grpc.pb.h"
#include "kmod/include/uapi/linux/hoplat.h"
#include "tests/collector/test_util.h"
#include "tests/subprocess.h"

namespace hoplat::testing {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;

constexpr int kNodes = 3;
const std::array<std::string, kNodes> kNames = {"r1", "r2", "r3"};
constexpr uint64_t kSecond = 1'000'000'000ULL;
constexpr uint64_t kMinute = 60 * kSecond;
constexpr uint64_t kSpacing = 20'000'000ULL;  // one packet every 20 ms
constexpr int kComparedMinutes = 9;

// Other processes' progress can only be observed: what a test waits for
// is a condition it polls (WaitFor, tests/subprocess.h), with a deadline.
constexpr absl::Duration kPatience = absl::Seconds(90);

// Packets r1 -> r2 -> r3, each record tagged with its packet's start, in
// packet-time phases: A [0, 2 min) live, B [2, 6 min) while the collector is
// away, C [6, 9 min) after it is back, D one second at 11 min that moves
// every node's watermark past the compared minutes.
struct Traffic {
  uint64_t t0 = 0;
  std::array<std::vector<hoplat_record>, kNodes> records;
  std::array<std::vector<uint64_t>, kNodes> starts;  // packet start of each record
  uint64_t full = 0, partial = 0, single = 0;        // in the compared minutes
  std::vector<uint64_t> sample_hashes;

  static Traffic Make(uint64_t t0) {
    Traffic t;
    t.t0 = t0;
    std::mt19937_64 rng(42);
    auto add = [&](int node, uint64_t hash, uint64_t start, uint64_t arrival, uint64_t residence) {
      hoplat_record r{};
      r.hash = hash;
      r.arrival_ns = arrival;
      r.exit_ns = arrival + residence;
      r.residence_ns = residence;
      r.ifindex_in = 2;
      r.ifindex_out = 3;
      r.length = 84 + static_cast<uint32_t>(hash % 1300);
      r.flags = HOPLAT_F_FORWARDED;
      r.gso_segs = 1;
      r.version = HOPLAT_RECORD_VERSION;
      t.records[node].push_back(r);
      t.starts[node].push_back(start);
    };
    const uint64_t compared_end = t0 + kComparedMinutes * kMinute;
    auto packet = [&](uint64_t i, uint64_t start) {
      const uint64_t hash = TestHash(i);
      // 3 % never reach r3 (dropped after r2); 1 % are r2's own.
      const int kind = static_cast<int>(rng() % 100);
      const bool counted = start < compared_end;
      if (kind == 0) {
        add(1, hash, start, start, 2'000 + rng() % 3'000);
        if (counted) ++t.single;
        return;
      }
      uint64_t at = start;
      const int reach = kind <= 3 ? 2 : 3;
      for (int n = 0; n < reach; ++n) {
        const uint64_t residence = 3'000 + rng() % 40'000;
        add(n, hash, start, at, residence);
        at += residence + 100'000 + rng() % 4'000'000;  // the hop: 0.1 to 4 ms
      }
      if (counted) ++(reach == 3 ? t.full : t.partial);
    };
    uint64_t i = 0;
    for (uint64_t s = t0; s < compared_end; s += kSpacing) packet(i++, s + rng() % 1000);
    for (uint64_t s = t0 + 11 * kMinute; s < t0 + 11 * kMinute + kSecond; s += kSpacing) {
      packet(i++, s);
    }
    for (uint64_t k : {7ULL, 9'000ULL, 17'000ULL, 26'000ULL}) t.sample_hashes.push_back(TestHash(k));
    return t;
  }
  uint64_t Count(int node, uint64_t from, uint64_t to) const {
    uint64_t n = 0;
    for (uint64_t s : starts[node]) n += s >= from && s < to;
    return n;
  }
};

constexpr uint64_t kPhaseB = 2 * kMinute, kPhaseC = 6 * kMinute, kPhaseD = 11 * kMinute,
                   kEnd = 12 * kMinute;

// One agent life: an agent reading a pipe the test writes to.
class AgentLife {
 public:
  AgentLife(const std::string& listen, const std::string& dir, int node, int life,
            absl::Duration drain_timeout)
      : fifo_(absl::StrCat(dir, "/", kNames[node], "-", life, ".fifo")) {
    EXPECT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
    agent_ = std::make_unique<Subprocess>(std::vector<std::string>{
        HOPLAT_AGENT_BINARY, "--collector=" + listen, "--node_id=" + kNames[node],
        "--replay=" + fifo_, "--spool_dir=" + absl::StrCat(dir, "/spool-", kNames[node]),
        "--batch_size=1000", "--flush_interval=50ms", "--max_in_flight=4",
        "--drain_timeout=" + absl::FormatDuration(drain_timeout),
        // The replayed records are on one made-up clock: exact latencies.
        "--clock_domain=late-data-test"});
    // Once the agent has it open (non-blocking: ENXIO until then, so a dead
    // agent fails the test instead of hanging it). Close-on-exec: the
    // processes started later must not hold the pipe open.
    EXPECT_TRUE(WaitFor(kPatience, [&] {
      fd_ = open(fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      return fd_ >= 0;
    }));
    if (fd_ >= 0) fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  }
  ~AgentLife() {
    if (fd_ >= 0) close(fd_);
  }

  void Feed(const hoplat_record* records, size_t n) {
    const char* p = reinterpret_cast<const char*>(records);
    size_t left = n * sizeof(hoplat_record);
    while (left > 0 && fd_ >= 0) {
      const ssize_t w = write(fd_, p, left);
      ASSERT_GT(w, 0);
      p += w;
      left -= static_cast<size_t>(w);
    }
  }
  // The end of its input: it delivers what it can and exits.
  int End() {
    close(fd_);
    fd_ = -1;
    return agent_->Wait();
  }

 private:
  const std::string fifo_;
  std::unique_ptr<Subprocess> agent_;
  int fd_ = -1;
};

class Cluster {
 public:
  Cluster(const std::string& dir, const Traffic& traffic)
      : dir_(dir), traffic_(traffic), listen_("127.0.0.1:" + std::to_string(FreePort())) {
    mkdir(dir_.c_str(), 0700);
  }

  void StartCollector() {
    collector_ = std::make_unique<Subprocess>(std::vector<std::string>{
        HOPLAT_COLLECTOR_BINARY, "--listen=" + listen_, "--db=" + dir_ + "/collector.db",
        "--seal_timeout=1m"});
  }
  void KillCollector() { EXPECT_EQ(collector_->Kill(), 128 + SIGKILL); }
  int StopCollector() { return collector_->Stop(); }

  std::unique_ptr<AgentLife> Agent(int node, int life, absl::Duration drain_timeout) {
    return std::make_unique<AgentLife>(listen_, dir_, node, life, drain_timeout);
  }

  // Feeds packets with starts in [from, to) (offsets from t0), one second
  // of packet time per node in turn, as live traffic arrives.
  void Feed(const std::vector<std::pair<int, AgentLife*>>& agents, uint64_t from, uint64_t to) {
    for (uint64_t s = from; s < to; s += kSecond) {
      for (const auto& [node, agent] : agents) {
        const std::vector<uint64_t>& starts = traffic_.starts[node];
        const auto lo = std::lower_bound(starts.begin(), starts.end(), traffic_.t0 + s);
        const auto hi = std::lower_bound(starts.begin(), starts.end(),
                                         traffic_.t0 + std::min(s + kSecond, to));
        if (hi > lo) {
          agent->Feed(traffic_.records[node].data() + (lo - starts.begin()),
                      static_cast<size_t>(hi - lo));
        }
      }
    }
  }

  std::optional<v1::ListNodesResponse> Nodes() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ListNodesResponse r;
    if (!Stub()->ListNodes(&ctx, v1::ListNodesRequest(), &r).ok()) return std::nullopt;
    return r;
  }
  uint64_t Stored(int node) {
    std::optional<v1::ListNodesResponse> r = Nodes();
    if (!r) return 0;
    for (const v1::Node& n : r->nodes()) {
      if (n.node_id() == kNames[node]) return n.observations_stored();
    }
    return 0;
  }
  bool SealedThrough(uint64_t offset) {
    std::optional<v1::ListNodesResponse> r = Nodes();
    return r && TimeUtil::TimestampToNanoseconds(r->correlation().sealed_end()) >=
                    static_cast<int64_t>(traffic_.t0 + offset);
  }

  // Every latency answer over the compared minutes, whole and minute by
  // minute, and a few traces. Clock bounds come from the host's clock
  // state at the time, not from the traffic: left out.
  std::vector<std::string> Answers() {
    std::vector<std::string> out;
    auto range = [&](uint64_t from, uint64_t to) {
      v1::TimeRange r;
      *r.mutable_start() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(traffic_.t0 + from));
      *r.mutable_end() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(traffic_.t0 + to));
      return r;
    };
    auto text = [&](const char* what, const google::protobuf::Message& m, const grpc::Status& s) {
      out.push_back(absl::StrCat(what, ": ", s.ok() ? m.ShortDebugString() : s.error_message()));
    };
    std::vector<std::pair<uint64_t, uint64_t>> ranges = {{0, kComparedMinutes * kMinute}};
    for (uint64_t m = 0; m < kComparedMinutes; ++m) ranges.push_back({m * kMinute, (m + 1) * kMinute});
    for (const auto& [from, to] : ranges) {
      {
        grpc::ClientContext ctx;
        v1::ListPathsRequest req;
        *req.mutable_range() = range(from, to);
        v1::ListPathsResponse resp;
        text("ListPaths", resp, Stub()->ListPaths(&ctx, req, &resp));
      }
      {
        grpc::ClientContext ctx;
        v1::HopLatencyRequest req;
        *req.mutable_range() = range(from, to);
        v1::HopLatencyResponse resp;
        grpc::Status s = Stub()->HopLatency(&ctx, req, &resp);
        for (v1::HopSummary& h : *resp.mutable_hops()) h.clear_clock_error_bound();
        text("HopLatency", resp, s);
      }
      for (const auto& [a, b] : std::vector<std::pair<int, int>>{{0, 1}, {0, 2}, {1, 2}}) {
        grpc::ClientContext ctx;
        v1::PathLatencyRequest req;
        req.set_from_node(kNames[a]);
        req.set_to_node(kNames[b]);
        *req.mutable_range() = range(from, to);
        v1::PathLatencyResponse resp;
        grpc::Status s = Stub()->PathLatency(&ctx, req, &resp);
        resp.clear_clock_error_bound();
        resp.clear_clocks_synchronized();
        text("PathLatency", resp, s);
      }
    }
    for (uint64_t hash : traffic_.sample_hashes) {
      grpc::ClientContext ctx;
      v1::TracePacketRequest req;
      req.set_hash(hash);
      v1::TracePacketResponse resp;
      text("TracePacket", resp, Stub()->TracePacket(&ctx, req, &resp));
    }
    return out;
  }
  // The whole-range ListPaths, to check the baseline against the traffic.
  v1::ListPathsResponse Paths() {
    grpc::ClientContext ctx;
    v1::ListPathsRequest req;
    *req.mutable_range()->mutable_start() =
        TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(traffic_.t0));
    *req.mutable_range()->mutable_end() =
        TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(traffic_.t0 + kComparedMinutes * kMinute));
    v1::ListPathsResponse resp;
    Stub()->ListPaths(&ctx, req, &resp).ok();
    return resp;
  }

 private:
  std::unique_ptr<v1::Query::Stub> Stub() {
    return v1::Query::NewStub(grpc::CreateChannel(listen_, grpc::InsecureChannelCredentials()));
  }

  const std::string dir_;
  const Traffic& traffic_;
  const std::string listen_;
  std::unique_ptr<Subprocess> collector_;
};

uint64_t PathCount(const v1::ListPathsResponse& paths, const std::string& path) {
  for (const v1::PathSummary& p : paths.paths()) {
    std::string name;
    for (const std::string& n : p.nodes()) absl::StrAppend(&name, name.empty() ? "" : ">", n);
    if (name == path) return p.latency().count();
  }
  return 0;
}

class LateDataTest : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    // Half an hour ago, on a minute: well within --retention.
    const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
    traffic_ = new Traffic(Traffic::Make((now - 30 * kMinute) / kMinute * kMinute));
    dir_ = new TempDir();
    // The same traffic delivered without an outage: all three agents live
    // for the whole run, fed second by second in turn.
    Cluster live(dir_->file("baseline"), *traffic_);
    live.StartCollector();
    std::vector<std::unique_ptr<AgentLife>> agents;
    std::vector<std::pair<int, AgentLife*>> all;
    for (int n = 0; n < kNodes; ++n) {
      agents.push_back(live.Agent(n, 1, absl::Minutes(5)));
      all.push_back({n, agents.back().get()});
    }
    live.Feed(all, 0, kEnd);
    for (auto& a : agents) EXPECT_EQ(a->End(), 0);
    // Complete and exact before it is compared with anything.
    EXPECT_TRUE(WaitFor(kPatience, [&] {
      const v1::ListPathsResponse p = live.Paths();
      return live.SealedThrough(kComparedMinutes * kMinute) &&
             PathCount(p, "r1>r2>r3") == traffic_->full && PathCount(p, "r1>r2") == traffic_->partial &&
             p.single_node_packets() == traffic_->single;
    })) << live.Paths().ShortDebugString();
    baseline_ = new std::vector<std::string>(live.Answers());
    EXPECT_EQ(live.StopCollector(), 0);
  }
  static void TearDownTestSuite() {
    delete baseline_;
    delete dir_;
    delete traffic_;
  }

  static Traffic* traffic_;
  static TempDir* dir_;
  static std::vector<std::string>* baseline_;
};
Traffic* LateDataTest::traffic_ = nullptr;
TempDir* LateDataTest::dir_ = nullptr;
std::vector<std::string>* LateDataTest::baseline_ = nullptr;

TEST_P(LateDataTest, AnswersAfterAnOutageEqualThoseWithoutOne) {
  ASSERT_NE(baseline_, nullptr);
  const int last = GetParam();  // the node whose agent comes back last
  std::vector<int> early;
  for (int n = 0; n < kNodes; ++n) {
    if (n != last) early.push_back(n);
  }
  Cluster cluster(dir_->file(absl::StrCat("outage-", kNames[last])), *traffic_);
  const Traffic& t = *traffic_;

  // Phase A, live; then the collector goes away and phase B is spooled.
  // With the input's end, each agent keeps its spool and exits.
  cluster.StartCollector();
  {
    std::vector<std::unique_ptr<AgentLife>> agents;
    std::vector<std::pair<int, AgentLife*>> all;
    for (int n = 0; n < kNodes; ++n) {
      agents.push_back(cluster.Agent(n, 1, absl::Seconds(1)));
      all.push_back({n, agents.back().get()});
    }
    cluster.Feed(all, 0, kPhaseB);
    ASSERT_TRUE(WaitFor(kPatience, [&] {
      for (int n = 0; n < kNodes; ++n) {
        if (cluster.Stored(n) != t.Count(n, t.t0, t.t0 + kPhaseB)) return false;
      }
      return true;
    }));
    cluster.KillCollector();
    cluster.Feed(all, kPhaseB, kPhaseC);
    // Exit 1: "batches of the replay wait in the spool: run again".
    for (auto& a : agents) EXPECT_EQ(a->End(), 1) << "spooled, not lost";
  }

  // The collector is back. Two agents return, drain their spools and carry
  // on live to the end; the minutes are sealed without the third.
  cluster.StartCollector();
  {
    std::vector<std::unique_ptr<AgentLife>> agents;
    std::vector<std::pair<int, AgentLife*>> two;
    for (int n : early) {
      agents.push_back(cluster.Agent(n, 2, absl::Minutes(5)));
      two.push_back({n, agents.back().get()});
    }
    cluster.Feed(two, kPhaseC, kEnd);
    for (auto& a : agents) EXPECT_EQ(a->End(), 0);
  }
  ASSERT_TRUE(
      WaitFor(kPatience, [&] { return cluster.SealedThrough(kComparedMinutes * kMinute); }))
      << "the others sealed the minutes, more than --seal_timeout ahead of " << kNames[last];

  // The last agent returns: its spool (four minutes of packet time, all for
  // sealed minutes), then the rest.
  {
    std::unique_ptr<AgentLife> agent = cluster.Agent(last, 2, absl::Minutes(5));
    cluster.Feed({{last, agent.get()}}, kPhaseC, kEnd);
    EXPECT_EQ(agent->End(), 0);
  }
  for (int n = 0; n < kNodes; ++n) {
    EXPECT_EQ(cluster.Stored(n), t.records[n].size()) << kNames[n] << ": every record once";
  }

  // The answers converge to the uninterrupted run's.
  std::vector<std::string> answers;
  const bool converged = WaitFor(kPatience, [&] {
    answers = cluster.Answers();
    return answers == *baseline_;
  });
  EXPECT_TRUE(converged);
  if (!converged) {
    for (size_t i = 0; i < std::min(answers.size(), baseline_->size()); ++i) {
      if (answers[i] != (*baseline_)[i]) {
        ADD_FAILURE() << "first difference:\n  outage:   " << answers[i].substr(0, 600)
                      << "\n  baseline: " << (*baseline_)[i].substr(0, 600);
        break;
      }
    }
  }
  std::optional<v1::ListNodesResponse> nodes = cluster.Nodes();
  ASSERT_TRUE(nodes.has_value());
  for (const v1::Node& n : nodes->nodes()) {
    if (n.node_id() == kNames[last]) {
      EXPECT_GT(n.late_observations(), 0u) << "its spool re-opened sealed minutes";
    }
    EXPECT_EQ(n.conflicting_batches(), 0u);
  }
  EXPECT_GE(nodes->correlation().resealed_minutes(), static_cast<uint64_t>(kPhaseC / kMinute - 2))
      << "at least the minutes of its spool were correlated again";
  EXPECT_EQ(cluster.StopCollector(), 0);
}

// The last hop's agent last, then the first hop's.
INSTANTIATE_TEST_SUITE_P(LastBack, LateDataTest, ::testing::Values(2, 0),
                         [](const ::testing::TestParamInfo<int>& p) { return kNames[p.param]; });

}  // namespace
}  // namespace hoplat::testing
