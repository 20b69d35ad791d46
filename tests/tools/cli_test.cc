// The real `hoplat` binary against a collector with known traffic: its
// --json output is the Query API's answer (what grpcurl prints), its tables
// show the same figures, `hops FROM TO` keeps the path's hops in order, and
// an unreachable collector is one clear line and a non-zero exit.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "tests/collector/collector_fixture.h"
#include "tests/subprocess.h"
#include "tools/cli_format.h"

namespace hoplat::testing {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;

struct CliRun {
  int rc;
  std::string out;  // stdout
  std::string err;  // stderr
};

CliRun Hoplat(const std::string& args) {
  // Named for this process: /tmp is shared (a file another user left there
  // could not be overwritten).
  const std::string err_file =
      absl::StrCat(::testing::TempDir(), "/hoplat-cli-stderr-", getpid());
  const std::string command = absl::StrCat(HOPLAT_CLI_BINARY, " ", args, " 2>", err_file);
  const CommandResult result = RunCommand(command);
  CliRun run{result.rc, result.out, ""};
  if (FILE* e = std::fopen(err_file.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), e)) > 0) run.err.append(buf, n);
    std::fclose(e);
  }
  std::remove(err_file.c_str());
  return run;
}

class CliTest : public CollectorTest {
 protected:
  void SetUp() override {
    StartCollector();
    v1::ClockState synced;
    synced.set_synchronized(true);
    synced.set_estimated_error_ns(1000);
    Send({synced, synced, synced}, kT0);
    // The CLI's range: --until the traffic's end plus a minute, --since 1h.
    until_ = absl::FromUnixNanos(static_cast<int64_t>(kT0)) + absl::Minutes(2);
    *range_.mutable_end() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(until_));
    *range_.mutable_start() =
        TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(until_ - absl::Hours(1)));
  }
  // r1 -> r2 -> r3 from `start`: hops 1 ms and 20 ms, residences 10/20/30
  // us; each router's Hello says its clock is `clocks[r]`.
  void Send(const std::vector<v1::ClockState>& clocks, uint64_t start) {
    std::vector<std::vector<Observation>> per(3);
    for (int i = 0; i < 1000; ++i) {
      const Crossing c = Cross(TestHash(start + i), start + static_cast<uint64_t>(i) * 1'000'000,
                               {10'000, 20'000, 30'000}, {1'000'000, 20'000'000 + i * 1000});
      for (int r = 0; r < 3; ++r) per[r].push_back(c.per_router[r]);
    }
    for (int r = 0; r < 3; ++r) {
      auto client = Client("r" + std::to_string(r + 1), clocks[r]);
      ASSERT_TRUE(client->Connect().ok());
      ASSERT_TRUE(client->Send(Batch(seq_[r]++, per[r])).ok());
      ASSERT_TRUE(client->Flush(absl::Seconds(30)).ok());
      ASSERT_TRUE(client->Close().ok());
    }
    ASSERT_TRUE(collector_->Sync().ok());
  }
  std::string Flags(const std::string& since = "1h") const {
    return absl::StrCat("--collector ", collector_->target(), " --since ", since, " --until ",
                        absl::FormatTime(absl::RFC3339_full, until_, absl::UTCTimeZone()));
  }
  template <typename Message>
  Message ParseJson(const std::string& json) {
    Message m;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &m).ok()) << json;
    return m;
  }

  absl::Time until_;
  v1::TimeRange range_;
  uint64_t seq_[3] = {1, 1, 1};
};

TEST_F(CliTest, JsonIsTheApiAnswerAndTablesShowTheSameFigures) {
  v1::PathLatencyRequest req;
  req.set_from_node("r1");
  req.set_to_node("r3");
  *req.mutable_range() = range_;
  v1::PathLatencyResponse api;
  grpc::ClientContext ctx;
  ASSERT_TRUE(query_->PathLatency(&ctx, req, &api).ok());
  ASSERT_EQ(api.latency().count(), 1000u);

  const CliRun json = Hoplat(Flags() + " --json path r1 r3");
  ASSERT_EQ(json.rc, 0) << json.out;
  EXPECT_TRUE(MessageDifferencer::Equals(ParseJson<v1::PathLatencyResponse>(json.out), api))
      << json.out << "\nvs\n" << api.DebugString();

  const CliRun table = Hoplat(Flags() + " path r1 r3");
  ASSERT_EQ(table.rc, 0) << table.out;
  for (const google::protobuf::Duration* d :
       {&api.latency().min(), &api.latency().p50(), &api.latency().p99(), &api.latency().max()}) {
    EXPECT_TRUE(absl::StrContains(table.out, FormatDuration(*d))) << table.out;
  }
  ASSERT_EQ(api.latency().clock_method(), v1::CLOCK_METHOD_REPORTED);
  EXPECT_TRUE(absl::StrContains(table.out, "clock bound: ±" +
                                               FormatDuration(api.latency().clock_bound()) +
                                               " (reported), mean ±2us\n"))
      << table.out;
}

// The line of `text` that starts with `prefix` ("" if none).
std::string LineStartingWith(const std::string& text, const std::string& prefix) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) return std::string(line);
  }
  return "";
}

TEST_F(CliTest, RoutersOnOneKernelShowASharedClockAndExactBounds) {
  // The VM lab: no NTP in the guest; r1 and r2 there, r3 elsewhere.
  const std::string boot_id = "0b0392b0-29a4-4ae8-90a4-dbf4cb9c9983";
  auto clock = [&](const std::string& domain) {
    v1::ClockState c;
    c.set_estimated_error_ns(16'000'000'000);
    c.set_clock_domain(domain);
    return c;
  };
  auto hello = [&](const std::string& node, const std::string& domain) {
    auto client = Client(node, clock(domain));
    ASSERT_TRUE(client->Connect().ok());
    ASSERT_TRUE(client->Close().ok());
  };
  // Ten minutes after the fixture's traffic, and asked about alone.
  clock_.Advance(absl::Minutes(10));
  Send({clock(boot_id), clock(boot_id), clock("")}, kT0 + 10 * kNsPerMinute);
  until_ += absl::Minutes(10);

  const CliRun nodes = Hoplat(Flags("5m") + " nodes");
  ASSERT_EQ(nodes.rc, 0) << nodes.err;
  // r3 is outside the domain, so r1's and r2's own state is said too.
  EXPECT_TRUE(absl::StrContains(LineStartingWith(nodes.out, "r1 "), "shared 0b0392b0, NOT SYNC"))
      << nodes.out;
  EXPECT_TRUE(absl::StrContains(LineStartingWith(nodes.out, "r2 "), "shared 0b0392b0, NOT SYNC"))
      << nodes.out;
  EXPECT_FALSE(absl::StrContains(LineStartingWith(nodes.out, "r3 "), "shared")) << nodes.out;
  EXPECT_TRUE(absl::StrContains(LineStartingWith(nodes.out, "r3 "), "NOT SYNC")) << nodes.out;

  const CliRun path = Hoplat(Flags("5m") + " path r1 r2");
  ASSERT_EQ(path.rc, 0) << path.err;
  EXPECT_TRUE(absl::StrContains(path.out, "clock bound: ±0 (shared clock)\n")) << path.out;
  // Across clocks nothing bounds (one-way traffic, no NTP): no figure at all.
  const CliRun across = Hoplat(Flags("5m") + " path r1 r3");
  EXPECT_FALSE(absl::StrContains(across.out, "clock bound")) << across.out;
  EXPECT_TRUE(absl::StrContains(across.out,
                                "1000 packets between clocks that nothing synchronises: left out"))
      << across.out;

  const CliRun hops = Hoplat(Flags("5m") + " hops");
  ASSERT_EQ(hops.rc, 0) << hops.err;
  EXPECT_TRUE(absl::EndsWith(LineStartingWith(hops.out, "r1 > r2 "), "  ±0 (shared clock)"))
      << hops.out;
  EXPECT_TRUE(absl::StartsWith(LineStartingWith(hops.out, "r2 > r3 "), "r2 > r3      0 "))
      << hops.out;
  EXPECT_TRUE(absl::EndsWith(LineStartingWith(hops.out, "r2 > r3 "), "  1000 NOT SYNC"))
      << hops.out;

  // All three on one kernel: nothing else to say about their clocks.
  hello("r3", boot_id);
  ASSERT_TRUE(collector_->Sync().ok());
  const CliRun all = Hoplat(Flags() + " nodes");
  for (const char* node : {"r1 ", "r2 ", "r3 "}) {
    const std::string line = LineStartingWith(all.out, node);
    EXPECT_TRUE(absl::StrContains(line, "shared 0b0392b0")) << all.out;
    EXPECT_FALSE(absl::StrContains(line, "SYNC")) << all.out;
  }
}

TEST(CliFormatTest, ClockBoundsAndCellsSayWhereTheBoundComesFrom) {
  const google::protobuf::Duration zero, us4 = TimeUtil::NanosecondsToDuration(4000);
  EXPECT_EQ(FormatClockBound(zero, v1::CLOCK_METHOD_SHARED_CLOCK), "±0 (shared clock)");
  EXPECT_EQ(FormatClockBound(us4, v1::CLOCK_METHOD_REPORTED), "±4us (reported)");
  EXPECT_EQ(FormatClockBound(us4, v1::CLOCK_METHOD_NONE), "±4us (NOT SYNC)");
  EXPECT_EQ(FormatClockBound(us4, v1::CLOCK_METHOD_UNSPECIFIED), "±4us") << "an older collector";

  // A summary's cell: its bound, UNCERTAIN from a quarter of the median up,
  // and what was left out for unsynchronised clocks.
  auto us = [](int64_t n) { return TimeUtil::NanosecondsToDuration(n * 1000); };
  v1::LatencySummary s;
  s.set_count(10);
  *s.mutable_p50() = us(100);
  *s.mutable_clock_bound() = us(24);
  s.set_clock_method(v1::CLOCK_METHOD_PASSIVE_TWO_WAY);
  EXPECT_EQ(SummaryClockCell(s), "±24us (measured both ways)");
  EXPECT_FALSE(ClockUncertain(s));
  *s.mutable_clock_bound() = us(25);
  EXPECT_EQ(SummaryClockCell(s), "±25us (measured both ways) UNCERTAIN");
  s.set_unsynchronized(3);
  EXPECT_EQ(SummaryClockCell(s), "±25us (measured both ways) UNCERTAIN, 3 NOT SYNC");
  v1::LatencySummary none;
  none.set_unsynchronized(5);
  none.set_clock_method(v1::CLOCK_METHOD_NONE);
  EXPECT_EQ(SummaryClockCell(none), "5 NOT SYNC");
  v1::LatencySummary one_clock;
  one_clock.set_count(10);
  *one_clock.mutable_p50() = us(1);
  one_clock.set_clock_method(v1::CLOCK_METHOD_SHARED_CLOCK);
  EXPECT_EQ(SummaryClockCell(one_clock), "±0 (shared clock)") << "exact, never uncertain";

  v1::ListNodesResponse r;
  auto add = [&](bool synced, uint64_t error_ns, const std::string& domain) {
    v1::ClockState* c = r.add_nodes()->mutable_clock();
    c->set_synchronized(synced);
    c->set_estimated_error_ns(error_ns);
    c->set_clock_domain(domain);
  };
  add(true, 2'000'000, "aaaaaaaa-1");
  add(false, 0, "aaaaaaaa-1");
  add(true, 2'000'000, "bbbb");  // alone in its domain: nothing shared
  add(false, 0, "");
  add(false, 0, "");  // empty is no domain, not one shared by both
  EXPECT_EQ(ClockCells(r),
            (std::vector<std::string>{"shared aaaaaaaa, sync ±2ms", "shared aaaaaaaa, NOT SYNC",
                                      "sync ±2ms", "NOT SYNC", "NOT SYNC"}));

  // "±" is one character on the terminal: columns stay aligned.
  Table t({"hop", "clock bound"});
  t.Add({"r1 > r2", "±0 (shared clock)"});
  t.Add({"r2 > r3", "±4us (reported)"});
  const std::vector<std::string> lines = absl::StrSplit(t.Render(), '\n');
  EXPECT_EQ(lines[0], "hop            clock bound");
  EXPECT_EQ(lines[1], "r1 > r2  ±0 (shared clock)");
  EXPECT_EQ(lines[2], "r2 > r3    ±4us (reported)");
}

TEST_F(CliTest, HopsFromToKeepsThePathsHopsInOrder) {
  v1::HopLatencyRequest req;
  *req.mutable_range() = range_;
  v1::HopLatencyResponse api;
  grpc::ClientContext ctx;
  ASSERT_TRUE(query_->HopLatency(&ctx, req, &api).ok());

  const CliRun r2r3 = Hoplat(Flags() + " --json hops r2 r3");
  ASSERT_EQ(r2r3.rc, 0) << r2r3.out;
  const auto segment = ParseJson<v1::HopLatencyResponse>(r2r3.out);
  ASSERT_EQ(segment.hops_size(), 1);
  EXPECT_EQ(segment.hops(0).from_node(), "r2");
  EXPECT_EQ(segment.hops(0).to_node(), "r3");
  for (const v1::HopSummary& h : api.hops()) {
    if (h.from_node() == "r2") {
      EXPECT_TRUE(MessageDifferencer::Equals(segment.hops(0), h));
    }
  }
  ASSERT_EQ(segment.residences_size(), 2);
  EXPECT_EQ(segment.residences(0).node(), "r2");
  EXPECT_EQ(segment.residences(1).node(), "r3");

  const CliRun whole = Hoplat(Flags() + " hops r1 r3");
  ASSERT_EQ(whole.rc, 0) << whole.out;
  const size_t first = whole.out.find("r1 > r2"), second = whole.out.find("r2 > r3");
  EXPECT_NE(first, std::string::npos) << whole.out;
  EXPECT_NE(second, std::string::npos) << whole.out;
  EXPECT_LT(first, second) << "path order";

  const CliRun none = Hoplat(Flags() + " hops r3 r1");
  EXPECT_EQ(none.rc, 0);
  EXPECT_TRUE(absl::StrContains(none.out, "no packet went from r3 to r1")) << none.out;
}

TEST_F(CliTest, HopsShowEachRoutersEgressQueueByInterfaceName) {
  auto reporter = Client("r2");
  ASSERT_TRUE(reporter->Connect().ok());
  v1::NodeReport report;
  v1::NetworkInterface* i = report.add_interfaces();
  i->set_ifindex(3);
  i->set_name("r2-r3");
  ASSERT_TRUE(reporter->SendReport(report).ok());
  ASSERT_TRUE(reporter->Close().ok());
  // 200 more packets, r2 timing 5 ms in its queue toward interface 3.
  const uint64_t start = kT0 + 30'000'000'000ULL;
  std::vector<std::vector<Observation>> per(3);
  for (int n = 0; n < 200; ++n) {
    Crossing c = Cross(TestHash(start + n), start + static_cast<uint64_t>(n) * 1'000'000,
                       {10'000, 20'000, 30'000}, {1'000'000, 20'000'000});
    c.per_router[1].flags |= Observation::kFlagHandoff;
    c.per_router[1].queue_ns = 5'000'000;
    for (int r = 0; r < 3; ++r) per[r].push_back(c.per_router[r]);
  }
  v1::ClockState synced;
  synced.set_synchronized(true);
  synced.set_estimated_error_ns(1000);
  for (int r = 0; r < 3; ++r) {
    auto client = Client("r" + std::to_string(r + 1), synced);
    ASSERT_TRUE(client->Connect().ok());
    ASSERT_TRUE(client->Send(Batch(seq_[r]++, per[r])).ok());
    ASSERT_TRUE(client->Flush(absl::Seconds(30)).ok());
    ASSERT_TRUE(client->Close().ok());
  }
  ASSERT_TRUE(collector_->Sync().ok());
  const CliRun hops = Hoplat(Flags() + " hops");
  ASSERT_EQ(hops.rc, 0) << hops.out;
  const std::string header = LineStartingWith(hops.out, "egress queue");
  EXPECT_FALSE(header.empty()) << hops.out;
  for (const char* row : {"r2 ", "r2 r2-r3 (#3) "}) {
    const std::string line = LineStartingWith(hops.out.substr(hops.out.find("egress queue")), row);
    EXPECT_TRUE(absl::StrContains(line, " 200 ")) << row << "\n" << hops.out;
    EXPECT_TRUE(absl::StrContains(line, "5ms")) << row << "\n" << hops.out;
  }
  // A segment keeps the queues of the nodes that send along it.
  const CliRun segment = Hoplat(Flags() + " --json hops r2 r3");
  ASSERT_EQ(segment.rc, 0) << segment.out;
  const auto kept = ParseJson<v1::HopLatencyResponse>(segment.out);
  ASSERT_EQ(kept.queues_size(), 1) << "r2's interface, not its row over all: " << segment.out;
  EXPECT_EQ(kept.queues(0).ifindex(), 3u);
  const CliRun first = Hoplat(Flags() + " --json hops r1 r2");
  ASSERT_EQ(first.rc, 0) << first.out;
  EXPECT_EQ(ParseJson<v1::HopLatencyResponse>(first.out).queues_size(), 0)
      << "r1 has no queue timed; r2's is after the segment: " << first.out;
}

TEST_F(CliTest, ClocksListsEachPairWithItsMethod) {
  SealEverything();  // correlated: the hops have been seen
  v1::ClockOffsetsResponse api;
  grpc::ClientContext ctx;
  ASSERT_TRUE(query_->ClockOffsets(&ctx, v1::ClockOffsetsRequest(), &api).ok());
  ASSERT_GE(api.offsets_size(), 2) << "r1/r2 and r2/r3";
  const CliRun json = Hoplat(Flags() + " --json clocks");
  ASSERT_EQ(json.rc, 0) << json.err;
  EXPECT_TRUE(MessageDifferencer::Equals(ParseJson<v1::ClockOffsetsResponse>(json.out), api));
  const CliRun table = Hoplat(Flags() + " clocks");
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_TRUE(absl::StrContains(table.out, "b - a")) << table.out;
  // The traffic goes one way: no passive estimate; the fixture's agents
  // report synchronised clocks.
  EXPECT_TRUE(absl::StrContains(table.out, "(reported)")) << table.out;
  EXPECT_FALSE(absl::StrContains(table.out, "measured both ways")) << table.out;
}

TEST(CliErrorsTest, UnreachableCollectorIsOneLineAndFails) {
  const CliRun r = Hoplat("--collector 127.0.0.1:1 --timeout 2s nodes");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(absl::StartsWith(r.err, "hoplat: cannot reach the collector at 127.0.0.1:1")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  const CliRun bad = Hoplat("frobnicate");
  EXPECT_EQ(bad.rc, 2);
}

}  // namespace
}  // namespace hoplat::testing
