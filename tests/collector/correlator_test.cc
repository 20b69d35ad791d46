#include "collector/correlator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "tests/collector/test_util.h"

namespace hoplat {
namespace {

using testing::Cross;
using testing::Crossing;
using testing::ShareOneClock;
using testing::TestHash;

using Rows = std::map<AggregateKey, LatencyAggregate>;

constexpr int64_t kMinute0 = 29'500'000;  // a minute in 2026
const uint64_t kT0 = static_cast<uint64_t>(kMinute0) * kNsPerMinute;
const absl::Time kWall0 = absl::FromUnixNanos(static_cast<int64_t>(kT0));
const std::vector<std::string> kRouters = {"r1", "r2", "r3"};

class CorrelatorTest : public ::testing::Test {
 protected:
  explicit CorrelatorTest(CorrelatorOptions options = {})
      : options_(options), correlator_(options, /*sealed_end_minute=*/0) {
    ShareOneClock(&correlator_, kRouters);
  }

  void Feed(int router, const std::vector<Crossing>& crossings) {
    std::vector<Observation> batch;
    for (const Crossing& c : crossings) {
      if (static_cast<size_t>(router) < c.per_router.size()) batch.push_back(c.per_router[router]);
    }
    correlator_.Add(kRouters[router], batch, now_);
  }
  void Collect(const SealedMinutes& s) {
    for (const MinuteRows& m : s.minutes) {
      for (const auto& [key, agg] : m.rows) rows_[key].Merge(agg);
    }
    for (const auto& [node, n] : s.late) late_[node] += n;
    dirty_.insert(s.dirty.begin(), s.dirty.end());
    reseal_.insert(reseal_.end(), s.reseal.begin(), s.reseal.end());
  }
  void Advance(absl::Duration d = absl::ZeroDuration()) {
    now_ += d;
    Collect(correlator_.Advance(now_));
  }
  // Every node falls silent for longer than the seal timeout: all is sealed.
  void SealEverything() { Advance(options_.seal_timeout + absl::Seconds(1)); }
  const LatencyAggregate& Row(AggKind kind, const std::string& key) { return rows_[{kind, key}]; }

  CorrelatorOptions options_;
  Correlator correlator_;
  absl::Time now_ = kWall0;
  Rows rows_;
  std::map<std::string, uint64_t> late_;
  std::set<int64_t> dirty_;     // handed out in SealedMinutes::dirty
  std::vector<int64_t> reseal_;  // in SealedMinutes::reseal, in order
};

// n packets r1 -> r2 -> r3, 1 ms apart, with fixed residences and hops;
// hashes from first_hash on (the same hashes again are the same bytes
// crossing again).
std::vector<Crossing> FixedPackets(int n, uint64_t start = kT0, int first_hash = 0) {
  std::vector<Crossing> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(Cross(TestHash(first_hash + i), start + static_cast<uint64_t>(i) * 1'000'000,
                      {10'000, 20'000, 30'000}, {1'000'000, 20'000'000}));
  }
  return v;
}

TEST_F(CorrelatorTest, ExactHopResidenceAndPathValues) {
  const std::vector<Crossing> packets = FixedPackets(1000);
  // Batches arrive in any order across nodes.
  Feed(2, packets);
  Feed(0, packets);
  Feed(1, packets);
  SealEverything();

  const int64_t path = 10'000 + 1'000'000 + 20'000 + 20'000'000 + 30'000;
  const LatencyAggregate& p = Row(AggKind::kPath, "r1>r2>r3");
  EXPECT_EQ(p.latency.count(), 1000u);
  EXPECT_EQ(p.latency.min(), path);
  EXPECT_EQ(p.latency.max(), path);
  EXPECT_EQ(p.clock_errors, 0u);
  EXPECT_EQ(Row(AggKind::kHop, "r1>r2").latency.min(), 1'000'000);
  EXPECT_EQ(Row(AggKind::kHop, "r1>r2").latency.max(), 1'000'000);
  EXPECT_EQ(Row(AggKind::kHop, "r2>r3").latency.max(), 20'000'000);
  EXPECT_EQ(Row(AggKind::kResidence, "r1").latency.max(), 10'000);
  EXPECT_EQ(Row(AggKind::kResidence, "r2").latency.min(), 20'000);
  EXPECT_EQ(Row(AggKind::kResidence, "r3").latency.count(), 1000u);
  EXPECT_EQ(Row(AggKind::kSpan, "r1>r3").latency.max(), path);
  EXPECT_EQ(Row(AggKind::kSpan, "r2>r3").latency.max(), 20'000 + 20'000'000 + 30'000);
  EXPECT_EQ(Row(AggKind::kSpan, "r1>r2").latency.max(), 10'000 + 1'000'000 + 20'000);
  EXPECT_EQ(rows_.count({AggKind::kSingleNode, "r1"}), 0u);
  EXPECT_EQ(correlator_.trajectories(), 1000u);
  EXPECT_EQ(correlator_.pending_observations(), 0u);
}

TEST_F(CorrelatorTest, EgressQueueIsTheRoutersNotTheNextHops) {
  // r2's 20 ms to r3 is 5 ms in r2's egress queue toward interface 7 (its
  // hand-off timed) and 15 ms on the wire; r1's hand-off was not timed.
  std::vector<Crossing> packets = FixedPackets(100);
  for (Crossing& c : packets) {
    Observation& r2 = c.per_router[1];
    r2.flags |= Observation::kFlagHandoff;
    r2.queue_ns = 5'000'000;
    r2.ifindex_out = 7;
  }
  Feed(0, packets);
  Feed(1, packets);
  Feed(2, packets);
  SealEverything();

  EXPECT_EQ(Row(AggKind::kHop, "r1>r2").latency.max(), 1'000'000);
  EXPECT_EQ(Row(AggKind::kHop, "r2>r3").latency.min(), 15'000'000);
  EXPECT_EQ(Row(AggKind::kHop, "r2>r3").latency.max(), 15'000'000);
  EXPECT_EQ(Row(AggKind::kResidence, "r2").latency.max(), 20'000);  // forwarding only
  const LatencyAggregate& q = Row(AggKind::kQueue, "r2:7");
  EXPECT_EQ(q.latency.count(), 100u);
  EXPECT_EQ(q.latency.min(), 5'000'000);
  EXPECT_EQ(q.latency.max(), 5'000'000);
  EXPECT_EQ(rows_.count({AggKind::kQueue, "r1:0"}), 0u);  // not timed: no queue row
  // A span ends when the packet left its last node: after r2's queue.
  EXPECT_EQ(Row(AggKind::kSpan, "r1>r2").latency.max(), 10'000 + 1'000'000 + 20'000 + 5'000'000);
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.max(),
            10'000 + 1'000'000 + 20'000 + 20'000'000 + 30'000);
}

TEST_F(CorrelatorTest, PercentilesWithinHistogramBoundOfExactValues) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> hop(std::log(2e6), 0.8);     // ~2 ms
  std::lognormal_distribution<double> residence(std::log(3e4), 0.5);  // ~30 us
  std::vector<Crossing> packets;
  std::vector<int64_t> exact_path, exact_hop12;
  for (int i = 0; i < 20'000; ++i) {
    const std::vector<int64_t> res = {static_cast<int64_t>(residence(rng)),
                                      static_cast<int64_t>(residence(rng)),
                                      static_cast<int64_t>(residence(rng))};
    const std::vector<int64_t> hops = {static_cast<int64_t>(hop(rng)),
                                       static_cast<int64_t>(hop(rng))};
    packets.push_back(Cross(TestHash(i), kT0 + static_cast<uint64_t>(i) * 100'000, res, hops));
    exact_path.push_back(res[0] + hops[0] + res[1] + hops[1] + res[2]);
    exact_hop12.push_back(hops[0]);
  }
  for (int r = 0; r < 3; ++r) Feed(r, packets);
  SealEverything();

  for (auto [key, exact] : {std::pair{std::pair{AggKind::kPath, std::string("r1>r2>r3")}, exact_path},
                            std::pair{std::pair{AggKind::kHop, std::string("r1>r2")}, exact_hop12}}) {
    std::sort(exact.begin(), exact.end());
    const Histogram& h = Row(key.first, key.second).latency;
    ASSERT_EQ(h.count(), exact.size());
    for (double q : {0.5, 0.9, 0.99, 0.999}) {
      const size_t rank = static_cast<size_t>(std::ceil(q * exact.size()));
      const double want = static_cast<double>(exact[rank - 1]);
      EXPECT_LE(std::abs(static_cast<double>(h.Percentile(q)) - want) / want, 0.01)
          << key.second << " q=" << q;
    }
    EXPECT_EQ(h.min(), exact.front());
    EXPECT_EQ(h.max(), exact.back());
  }
}

TEST_F(CorrelatorTest, RetransmittedPacketsAreTwoTrajectoriesNeverALoop) {
  std::vector<Crossing> packets;
  for (int i = 0; i < 100; ++i) {
    const uint64_t start = kT0 + static_cast<uint64_t>(i) * 10'000'000;
    // Same bytes twice, 100 us apart: the second enters r1 before the first leaves r3.
    packets.push_back(Cross(TestHash(i), start, {10'000, 10'000, 10'000}, {500'000, 500'000}));
    packets.push_back(
        Cross(TestHash(i), start + 100'000, {10'000, 10'000, 10'000}, {500'000, 500'000}));
  }
  for (int r = 0; r < 3; ++r) Feed(r, packets);
  SealEverything();
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 200u);
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.max(), 1'030'000);
  for (const auto& [key, agg] : rows_) {
    if (key.kind == AggKind::kPath) {
      EXPECT_EQ(key.text, "r1>r2>r3") << "a loop was made";
    }
  }
}

TEST_F(CorrelatorTest, PacketSeenByOneNodeIsCountedWithoutTrajectory) {
  std::vector<Crossing> packets = FixedPackets(10);
  Crossing lonely = Cross(0x1234, kT0 + 5'000'000, {10'000}, {});
  Feed(0, packets);
  correlator_.Add("r1", lonely.per_router, now_);
  Feed(1, packets);
  Feed(2, packets);
  SealEverything();
  EXPECT_EQ(Row(AggKind::kSingleNode, "r1").packets, 1u);
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 10u);
}

TEST_F(CorrelatorTest, ClockSkewedNodeGivesClockErrorsNotNegativeLatency) {
  std::vector<Crossing> packets = FixedPackets(50);
  for (Crossing& c : packets) {
    // r3's clock runs 20.01 ms behind: still after r2's arrival, but before
    // r2's exit, so the hop r2 -> r3 comes out at -10 us.
    c.per_router[2].arrival_ns -= 20'010'000;
    c.per_router[2].exit_ns -= 20'010'000;
  }
  for (int r = 0; r < 3; ++r) Feed(r, packets);
  SealEverything();
  const LatencyAggregate& hop = Row(AggKind::kHop, "r2>r3");
  EXPECT_EQ(hop.clock_errors, 50u);
  EXPECT_EQ(hop.latency.count(), 0u) << "a negative hop was averaged in";
  EXPECT_EQ(Row(AggKind::kHop, "r1>r2").clock_errors, 0u);
  EXPECT_EQ(Row(AggKind::kHop, "r1>r2").latency.count(), 50u);
  EXPECT_EQ(Row(AggKind::kResidence, "r3").clock_errors, 0u);  // one clock: never an error
  for (const auto& [key, agg] : rows_) {
    EXPECT_EQ(agg.latency.count() + agg.clock_errors, agg.packets) << key.text;
    if (agg.latency.count() > 0) {
      EXPECT_GE(agg.latency.min(), 0) << key.text;
    }
  }
}

TEST_F(CorrelatorTest, TtlKeepsThePathRightWhenAClockIsFarBehind) {
  // r2's clock is 30 ms behind: by arrival r2 would come first. The TTL
  // each router saw (64, 63, 62) keeps the path r1 > r2 > r3.
  std::vector<Crossing> packets = FixedPackets(50);
  for (Crossing& c : packets) {
    for (int r = 0; r < 3; ++r) c.per_router[r].ttl = static_cast<uint32_t>(64 - r);
    c.per_router[1].arrival_ns -= 30'000'000;
    c.per_router[1].exit_ns -= 30'000'000;
  }
  for (int r = 0; r < 3; ++r) Feed(r, packets);
  SealEverything();
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 50u);
  EXPECT_EQ(rows_.count({AggKind::kPath, "r2>r1>r3"}), 0u);
  EXPECT_EQ(Row(AggKind::kHop, "r1>r2").clock_errors, 50u) << "the offset shows, as an error";
  EXPECT_EQ(Row(AggKind::kHop, "r2>r3").latency.min(), 20'000'000 + 30'000'000);
}

TEST_F(CorrelatorTest, TtlGapsCountTheRoutersWithoutHoplatBetween) {
  // r1 sees 64, r2 63 (adjacent), r3 60: two routers between r2 and r3.
  std::vector<Crossing> packets = FixedPackets(20);
  for (Crossing& c : packets) {
    c.per_router[0].ttl = 64;
    c.per_router[1].ttl = 63;
    c.per_router[2].ttl = 60;
  }
  for (int r = 0; r < 3; ++r) Feed(r, packets);
  SealEverything();
  const LatencyAggregate& adjacent = Row(AggKind::kHiddenRouters, "r1>r2");
  EXPECT_EQ(adjacent.latency.count(), 20u);
  EXPECT_EQ(adjacent.latency.max(), 0);
  const LatencyAggregate& gap = Row(AggKind::kHiddenRouters, "r2>r3");
  EXPECT_EQ(gap.latency.Percentile(0.5), 2);
  EXPECT_EQ(gap.latency.max(), 2);
  EXPECT_EQ(Row(AggKind::kHop, "r2>r3").latency.count(), 20u) << "still a hop, with its latency";
}

TEST_F(CorrelatorTest, LoopIsCountedAsALoopAndInNoLatency) {
  // r1 (64) -> r2 (63) -> r1 (62) -> r2 (61): a routing loop, beside
  // ordinary packets over r1 > r2.
  std::vector<Observation> r1, r2;
  for (int i = 0; i < 10; ++i) {
    const uint64_t t = kT0 + static_cast<uint64_t>(i) * 1'000'000;
    auto at = [&](uint64_t hash, uint64_t arrival, uint32_t ttl) {
      Observation o;
      o.hash = hash;
      o.arrival_ns = arrival;
      o.exit_ns = arrival + 10'000;
      o.ttl = ttl;
      return o;
    };
    r1.push_back(at(TestHash(100 + i), t, 64));
    r2.push_back(at(TestHash(100 + i), t + 100'000, 63));
    r1.push_back(at(TestHash(100 + i), t + 200'000, 62));
    r2.push_back(at(TestHash(100 + i), t + 300'000, 61));
    r1.push_back(at(TestHash(200 + i), t + 500'000, 64));
    r2.push_back(at(TestHash(200 + i), t + 600'000, 63));
  }
  correlator_.Add("r1", r1, now_);
  correlator_.Add("r2", r2, now_);
  SealEverything();
  const LatencyAggregate& loop = Row(AggKind::kLoop, "r1>r2>r1>r2");
  EXPECT_EQ(loop.packets, 10u);
  EXPECT_EQ(loop.latency.max(), 310'000);
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2").packets, 10u) << "only the ordinary packets";
  EXPECT_EQ(Row(AggKind::kHop, "r1>r2").packets, 10u);
  EXPECT_EQ(Row(AggKind::kResidence, "r1").packets, 10u);
}

TEST_F(CorrelatorTest, LiveNodeHoldsCorrelationUntilItCatchesUp) {
  std::vector<Crossing> early = FixedPackets(10);
  std::vector<Crossing> later = FixedPackets(10, kT0 + 30'000'000'000ULL);
  for (int r = 0; r < 3; ++r) Feed(r, early);
  Advance();
  // r1 and r2 move 30 s ahead; r3 has not sent that data yet and is live.
  Feed(0, later);
  Feed(1, later);
  Advance(absl::Seconds(1));
  EXPECT_EQ(correlator_.pending_observations(), 50u)
      << "r3 is live and 30 s behind: nothing may be closed yet";
  Feed(2, later);
  Advance(absl::Seconds(1));
  SealEverything();
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 20u);
  EXPECT_EQ(rows_.count({AggKind::kPath, "r1>r2"}), 0u);
}

TEST_F(CorrelatorTest, ConnectedNodeWithoutDataHoldsCorrelationUntilItSpeaks) {
  std::vector<Crossing> packets = FixedPackets(10);
  std::vector<Crossing> later = FixedPackets(10, kT0 + 30'000'000'000ULL);
  correlator_.NodeConnected("r3", now_);  // connected, first batch not here yet
  Feed(0, packets);
  Feed(1, packets);
  Feed(0, later);
  Feed(1, later);
  Advance(absl::Seconds(1));
  EXPECT_EQ(correlator_.pending_observations(), 40u) << "r3 may still bring these packets";
  Feed(2, packets);
  Feed(2, later);
  SealEverything();
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 20u);
}

TEST_F(CorrelatorTest, ConnectedNodeThatStaysSilentIsWaitedForOneIdlePeriod) {
  std::vector<Crossing> packets = FixedPackets(10);
  correlator_.NodeConnected("r3", now_);
  Feed(0, packets);
  Feed(1, packets);
  Advance(options_.idle_timeout / 2);
  EXPECT_EQ(correlator_.pending_observations(), 20u);
  Advance(options_.idle_timeout);
  EXPECT_EQ(correlator_.pending_observations(), 0u);
}

TEST_F(CorrelatorTest, DisconnectReleasesCorrelationButNotSealing) {
  // Every agent drops (a restart, a blip): their packets are correlated, but
  // the minute stays open for them to come back and carry on in it.
  std::vector<Crossing> first = FixedPackets(10);
  std::vector<Crossing> second = FixedPackets(10, kT0 + 30'000'000'000ULL);
  for (int r = 0; r < 3; ++r) Feed(r, first);
  for (const std::string& n : kRouters) correlator_.NodeDisconnected(n);
  Advance(absl::Seconds(1));
  EXPECT_EQ(correlator_.pending_observations(), 0u);
  EXPECT_LE(correlator_.sealed_end_minute(), kMinute0) << "the agents' minute was sealed";
  for (const std::string& n : kRouters) correlator_.NodeConnected(n, now_);
  for (int r = 0; r < 3; ++r) Feed(r, second);
  SealEverything();
  EXPECT_EQ(late_.size(), 0u);
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 20u);
}

TEST_F(CorrelatorTest, NodeFarBehindTheOthersDoesNotHoldSealing) {
  // r3's clock (or its spool) is 20 minutes behind r1 and r2, and it keeps
  // sending: minutes must still seal, or memory would grow without bound.
  const uint64_t behind = 20 * kNsPerMinute;
  for (int m = 0; m < 30; ++m) {
    std::vector<Crossing> packets = FixedPackets(5, kT0 + behind + m * kNsPerMinute);
    Feed(0, packets);
    Feed(1, packets);
    correlator_.Add("r3", {Cross(TestHash(1'000'000 + m), kT0 + m * kNsPerMinute, {1}, {})
                               .per_router[0]}, now_);
    Advance(absl::Seconds(1));
  }
  EXPECT_GT(correlator_.sealed_end_minute(), kMinute0 + 20 + 20)
      << "sealing follows r1 and r2, not r3";
  EXPECT_GT(Row(AggKind::kPath, "r1>r2").latency.count(), 100u);
  EXPECT_GT(late_["r3"], 0u);
}

TEST_F(CorrelatorTest, IdleNodeStopsHoldingCorrelation) {
  std::vector<Crossing> early = FixedPackets(10);
  std::vector<Crossing> later = FixedPackets(10, kT0 + 30'000'000'000ULL);
  for (int r = 0; r < 3; ++r) Feed(r, early);
  Feed(0, later);
  Feed(1, later);
  Advance(options_.idle_timeout);  // r3 silent: stops holding (r1, r2 too)
  EXPECT_EQ(correlator_.pending_observations(), 0u);
  SealEverything();
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 10u);
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2").latency.count(), 10u);
}

TEST_F(CorrelatorTest, DataForASealedMinuteIsCountedLateAndReopensIt) {
  // 10 s into the minute: a window from either neighbour.
  std::vector<Crossing> packets = FixedPackets(10, kT0 + 10'000'000'000ULL);
  Feed(0, packets);
  Feed(1, packets);
  // Time moves on: minute kMinute0 is sealed without r3.
  std::vector<Crossing> next = FixedPackets(5, kT0 + 3 * kNsPerMinute, 1000);
  Feed(0, next);
  Feed(1, next);
  Advance(absl::Seconds(1));
  EXPECT_GT(correlator_.sealed_end_minute(), kMinute0);
  EXPECT_TRUE(dirty_.empty());
  Feed(2, packets);  // late
  Advance();
  EXPECT_EQ(late_["r3"], 10u);
  EXPECT_EQ(dirty_, std::set<int64_t>{kMinute0}) << "marked for the store at once";
  EXPECT_TRUE(reseal_.empty()) << "r3 is live and has not moved past the minute yet";
  EXPECT_EQ(correlator_.dirty_minutes(), 1u);
  // Not in memory: the minute's trajectories are counted again from the
  // stored rows (MinuteRecorrelator), never twice here. (What is held is
  // r1's and r2's later packets, which r3 still holds back.)
  EXPECT_EQ(correlator_.pending_observations(), 10u);
  // r3 catches up (its spool drained): now the minute is correlated again.
  Feed(2, next);
  Advance();
  EXPECT_EQ(reseal_, std::vector<int64_t>{kMinute0});
  EXPECT_EQ(correlator_.dirty_minutes(), 0u);
  SealEverything();
  EXPECT_EQ(reseal_.size(), 1u) << "once";
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2").latency.count(), 10u) << "the minute as memory had it";
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 5u) << "r3 in time for these";
}

// The same bytes crossing again seconds later (a retransmission) are
// counted at their own deadline, with every sighting of them, not with the
// first crossing.
TEST_F(CorrelatorTest, ALaterCrossingOfTheSameBytesWaitsForItsOwnSightings) {
  const std::vector<Crossing> first = FixedPackets(3, kT0 + 1'000'000'000ULL);
  const std::vector<Crossing> again = FixedPackets(3, kT0 + 2'400'000'000ULL);  // same hashes
  Feed(0, first);
  Feed(1, first);
  Feed(2, first);
  Feed(0, again);
  Feed(1, again);
  // Every watermark (newest arrival - 0.5 s) past the first crossings'
  // deadlines (first arrival + 1 s), not the second's; r3 has sent what it
  // saw up to 2.85 s, but not (yet: within its reorder slack) the second
  // crossings at 2.4 s.
  Feed(0, FixedPackets(1, kT0 + 3'300'000'000ULL, 100));
  Feed(1, FixedPackets(1, kT0 + 3'300'000'000ULL, 100));
  Feed(2, FixedPackets(1, kT0 + 2'850'000'000ULL, 200));
  Advance();
  EXPECT_EQ(correlator_.pending_observations(), 6u + 3u) << "the second crossings wait, r3 owes them";
  Feed(2, again);
  SealEverything();
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 3u + 3u);
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2").latency.count(), 1u)
      << "only the packet r3 never saw: no crossing counted without its r3";
  EXPECT_TRUE(late_.empty());
}

TEST_F(CorrelatorTest, DataForPacketsAlreadyCorrelatedIsNotCountedTwice) {
  // r3 went away longer than the idle timeout: r1 and r2's packets were
  // correlated without it. Its spooled data for them, arriving before the
  // minute is sealed, must not make second (single-node) trajectories.
  std::vector<Crossing> packets = FixedPackets(10, kT0 + 10'000'000'000ULL);
  correlator_.Add("r3", {Cross(TestHash(5000), kT0, {1}, {}).per_router[0]}, now_);  // r3 was there
  Feed(0, packets);
  Feed(1, packets);
  Advance(options_.idle_timeout);
  EXPECT_EQ(correlator_.pending_observations(), 0u);
  EXPECT_LE(correlator_.sealed_end_minute(), kMinute0) << "r3 still holds sealing";
  Feed(2, packets);
  Advance();
  EXPECT_EQ(correlator_.pending_observations(), 0u);
  EXPECT_TRUE(late_.empty()) << "no sealed minute was reached";
  EXPECT_EQ(correlator_.dirty_minutes(), 1u);
  SealEverything();
  EXPECT_EQ(Row(AggKind::kSingleNode, "r3").packets, 1u) << "its own packet only";
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2").latency.count(), 10u)
      << "sealed as memory had it; the store replaces it";
  EXPECT_EQ(dirty_.count(kMinute0), 1u);
  EXPECT_EQ(std::count(reseal_.begin(), reseal_.end(), kMinute0), 1);
}

TEST_F(CorrelatorTest, DirtyMinutesFromTheStoreAreResealedAfterReplay) {
  Correlator c(options_, kMinute0 + 5);
  c.AddDirtyMinute(kMinute0 + 2);
  c.AddDirtyMinute(kMinute0 + 3);
  c.BeginReplay();
  EXPECT_TRUE(c.Advance(now_).reseal.empty()) << "not while replaying";
  c.EndReplay(now_);
  const SealedMinutes s = c.Advance(now_);
  EXPECT_EQ(s.reseal, (std::vector<int64_t>{kMinute0 + 2, kMinute0 + 3}));
  EXPECT_TRUE(s.dirty.empty()) << "the store has them already";
}

TEST_F(CorrelatorTest, MinutesSealInOrderAndOnlyOnce) {
  for (int m = 0; m < 3; ++m) {
    std::vector<Crossing> packets = FixedPackets(10, kT0 + m * kNsPerMinute);
    for (int r = 0; r < 3; ++r) Feed(r, packets);
    Advance(absl::Seconds(1));
  }
  EXPECT_EQ(correlator_.sealed_end_minute(), kMinute0 + 1)
      << "watermark is in minute +2 minus the window: minutes 0 sealed, 1 and 2 not";
  SealEverything();
  EXPECT_EQ(Row(AggKind::kPath, "r1>r2>r3").latency.count(), 30u);
}

TEST(CorrelatorReplayTest, ReplayCountsOnlyUnsealedMinutesOnce) {
  CorrelatorOptions options;
  // First life: two minutes of traffic, the first gets sealed, then a crash.
  std::vector<std::vector<Observation>> per_router(3);
  std::vector<Crossing> all;
  for (int m = 0; m < 2; ++m) {
    for (const Crossing& c : FixedPackets(10, kT0 + m * kNsPerMinute + 59'000'000'000ULL)) {
      all.push_back(c);
    }
  }
  Rows first;
  Correlator a(options, 0);
  ShareOneClock(&a, kRouters);
  for (int r = 0; r < 3; ++r) {
    std::vector<Observation> batch;
    for (const Crossing& c : all) batch.push_back(c.per_router[r]);
    per_router[r] = batch;
    a.Add(kRouters[r], batch, kWall0);
  }
  SealedMinutes sealed = a.Advance(kWall0);
  ASSERT_EQ(sealed.sealed_end_minute, kMinute0 + 1);
  for (const MinuteRows& m : sealed.minutes) {
    for (const auto& [key, agg] : m.rows) first[key].Merge(agg);
  }
  ASSERT_EQ((first[{AggKind::kPath, "r1>r2>r3"}].latency.count()), 10u);

  // Second life: replay everything stored; only the unsealed minute counts.
  Correlator b(options, sealed.sealed_end_minute);
  ShareOneClock(&b, kRouters);
  b.BeginReplay();
  for (int r = 0; r < 3; ++r) b.Add(kRouters[r], per_router[r], kWall0);
  b.Advance(kWall0);
  b.EndReplay(kWall0);
  SealedMinutes rest = b.Advance(kWall0 + absl::Minutes(10));
  uint64_t count = 0;
  for (const MinuteRows& m : rest.minutes) {
    EXPECT_GE(m.minute, kMinute0 + 1);
    for (const auto& [key, agg] : m.rows) {
      if (key.kind == AggKind::kPath) count += agg.latency.count();
    }
  }
  EXPECT_EQ(count, 10u);
}

TEST(CorrelatorMemoryTest, PendingObservationsStayBounded) {
  CorrelatorOptions options;
  options.max_pending_observations = 1000;
  Correlator c(options, 0);
  // One live node far behind keeps the watermark back; the others pour in.
  c.Add("r3", std::vector<Observation>{Cross(1, kT0, {1}, {}).per_router}, kWall0);
  for (int b = 0; b < 20; ++b) {
    std::vector<Observation> batch;
    for (int i = 0; i < 500; ++i) {
      batch.push_back(Cross(TestHash(b * 500 + i), kT0 + (b * 500 + i) * 1000, {1}, {}).per_router[0]);
    }
    c.Add("r1", batch, kWall0);
    c.Advance(kWall0);
    EXPECT_LE(c.pending_observations(), 1000u);
  }
  EXPECT_GT(c.forced_closes(), 0u);
  // What was closed early is correlated again from the stored rows once sealed.
  EXPECT_GT(c.dirty_minutes(), 0u);
  const SealedMinutes s = c.Advance(kWall0 + options.seal_timeout + absl::Seconds(1));
  // (and the minute before: a sighting still to come may start the packet there)
  EXPECT_EQ(s.dirty, (std::vector<int64_t>{kMinute0 - 1, kMinute0}));
  EXPECT_EQ(s.reseal, s.dirty);
}

}  // namespace
}  // namespace hoplat
