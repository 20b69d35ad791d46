// collector/minute_recorrelator: one minute correlated again from stored
// observations, fed in any order, gives the rows an uninterrupted run gave.
#include "collector/minute_recorrelator.h"

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "collector/correlator.h"
#include "gtest/gtest.h"
#include "tests/collector/test_util.h"

namespace hoplat {
namespace {

using testing::Cross;
using testing::Crossing;
using testing::ShareOneClock;
using testing::TestHash;

constexpr int64_t kMinute0 = 29'500'000;
const uint64_t kT0 = static_cast<uint64_t>(kMinute0) * kNsPerMinute;
const std::vector<std::string> kRouters = {"r1", "r2", "r3"};

std::string KeyText(const AggregateKey& k) {
  return std::to_string(static_cast<int>(k.kind)) + ":" + k.text;
}

// What two aggregates must share to be the same answer.
using Summary = std::tuple<uint64_t, uint64_t, uint64_t, std::string, uint64_t, int64_t, uint64_t,
                           ClockMethod>;
std::map<AggregateKey, Summary> Summarize(const MinuteRows& m) {
  std::map<AggregateKey, Summary> out;
  for (const auto& [key, agg] : m.rows) {
    out[key] = Summary{agg.packets,        agg.clock_errors, agg.slowest_hash,
                       agg.latency.Serialize(), agg.unsynchronized, agg.bound_max_ns,
                       agg.bound_sum_ns,   agg.bound_method};
  }
  return out;
}

// Three minutes of packets r1 -> r2 -> r3 with varied latencies, some of
// which start in the last milliseconds of a minute and end in the next, a
// retransmission, and packets only r2 saw.
std::vector<Crossing> Traffic() {
  std::mt19937_64 rng(7);
  std::vector<Crossing> v;
  for (int i = 0; i < 3000; ++i) {
    const uint64_t start = kT0 + static_cast<uint64_t>(i) * 60'000'000ULL;  // 3 minutes
    const int64_t hop = 100'000 + static_cast<int64_t>(rng() % 5'000'000);
    v.push_back(Cross(TestHash(i), start, {10'000, 20'000 + static_cast<int64_t>(rng() % 9000), 5000},
                      {hop, hop / 2}));
  }
  for (int m = 1; m <= 2; ++m) {  // straddling the boundaries
    for (int i = 0; i < 20; ++i) {
      v.push_back(Cross(TestHash(10'000 + m * 100 + i),
                        kT0 + m * kNsPerMinute - 3'000'000 + i * 100'000, {10'000, 10'000, 10'000},
                        {2'000'000, 2'000'000}));
    }
  }
  Crossing again = v[100];  // the same bytes 5 ms later
  for (Observation& o : again.per_router) o.arrival_ns += 5'000'000, o.exit_ns += 5'000'000;
  v.push_back(again);
  return v;
}

TEST(MinuteRecorrelatorTest, GivesTheRowsOfAnUninterruptedRunWhateverTheOrder) {
  const std::vector<Crossing> traffic = Traffic();
  std::vector<std::vector<Observation>> per_node(3);
  for (const Crossing& c : traffic) {
    for (size_t r = 0; r < c.per_router.size(); ++r) per_node[r].push_back(c.per_router[r]);
  }
  per_node[1].push_back(Cross(TestHash(99'999), kT0 + kNsPerMinute + 7, {500}, {}).per_router[0]);

  // Uninterrupted: every node's data in time order, all sealed at the end.
  Correlator live(CorrelatorOptions{}, 0);
  ShareOneClock(&live, kRouters);
  absl::Time now = absl::FromUnixNanos(static_cast<int64_t>(kT0));
  for (int r = 0; r < 3; ++r) {
    std::sort(per_node[r].begin(), per_node[r].end(),
              [](const Observation& a, const Observation& b) { return a.arrival_ns < b.arrival_ns; });
    live.Add(kRouters[r], per_node[r], now);
  }
  std::map<int64_t, MinuteRows> sealed;
  for (MinuteRows& m : live.Advance(now + absl::Minutes(6)).minutes) sealed[m.minute] = m;
  ASSERT_EQ(sealed.size(), 3u);

  for (int64_t minute = kMinute0; minute < kMinute0 + 3; ++minute) {
    MinuteRecorrelator again(minute, CorrelatorOptions{});
    ShareOneClock(&again, kRouters);
    // Stored batches come back in any order: r3 first, each node's in
    // shuffled chunks.
    std::mt19937_64 rng(minute);
    for (int r = 2; r >= 0; --r) {
      std::vector<Observation> obs = per_node[r];
      std::shuffle(obs.begin(), obs.end(), rng);
      for (size_t i = 0; i < obs.size(); i += 500) {
        again.Add(kRouters[r], /*batch_min_arrival_ns=*/0,
                  absl::MakeConstSpan(obs).subspan(i, std::min<size_t>(500, obs.size() - i)));
      }
    }
    const MinuteRows rows = again.Finish();
    EXPECT_EQ(rows.minute, minute);
    // The same batches in order of their earliest arrival (as the store
    // reads them): the same rows, and only about a batch and a window held.
    MinuteRecorrelator streamed(minute, CorrelatorOptions{});
    ShareOneClock(&streamed, kRouters);
    struct Batch {
      uint64_t min_arrival;
      int router;
      std::vector<Observation> obs;
    };
    std::vector<Batch> batches;
    for (int r = 0; r < 3; ++r) {
      for (size_t i = 0; i < per_node[r].size(); i += 200) {
        Batch b{0, r, {per_node[r].begin() + i,
                       per_node[r].begin() + std::min(per_node[r].size(), i + 200)}};
        b.min_arrival = b.obs.front().arrival_ns;
        batches.push_back(std::move(b));
      }
    }
    std::sort(batches.begin(), batches.end(),
              [](const Batch& a, const Batch& b) { return a.min_arrival < b.min_arrival; });
    size_t held = 0;
    for (const Batch& b : batches) {
      streamed.Add(kRouters[b.router], b.min_arrival, b.obs);
      held = std::max(held, streamed.pending());
    }
    EXPECT_EQ(Summarize(streamed.Finish()), Summarize(rows)) << "minute " << minute - kMinute0;
    EXPECT_LT(held, 1500u) << "of about 3000 observations in the minute and its window";
    const auto got = Summarize(rows), want = Summarize(sealed[minute]);
    EXPECT_EQ(got.size(), want.size()) << "minute " << minute - kMinute0;
    for (const auto& [key, summary] : want) {
      auto it = got.find(key);
      ASSERT_NE(it, got.end()) << KeyText(key);
      EXPECT_EQ(std::get<0>(it->second), std::get<0>(summary))
          << "packets of " << KeyText(key) << " in minute " << minute - kMinute0;
      EXPECT_TRUE(it->second == summary) << KeyText(key) << " in minute " << minute - kMinute0;
    }
  }
}

TEST(MinuteRecorrelatorTest, ReadsAWindowAfterTheMinuteAndTheCorrectionsWarmUpBefore) {
  MinuteRecorrelator m(kMinute0, CorrelatorOptions{});
  // A window, and the 2 + 30 intervals (and one more) of 1 s corrections rest on.
  EXPECT_EQ(m.from_ns(), kT0 - 34'000'000'000ULL);
  EXPECT_EQ(m.to_ns(), kT0 + kNsPerMinute + 1'000'000'000ULL);
  EXPECT_TRUE(m.Finish().rows.empty());
  CorrelatorOptions raw;
  raw.correct_clocks = false;
  EXPECT_EQ(MinuteRecorrelator(kMinute0, raw).from_ns(), kT0 - 1'000'000'000ULL);
}

// Three routers on three clocks (r2 3 ms ahead drifting +50 ppm, r3 1.5 ms
// behind), traffic both ways: a minute correlated again from the stored
// observations, in any order, has the corrected rows of the live run, bit
// for bit, although its corrections rest on data before the minute.
TEST(MinuteRecorrelatorTest, CorrectedRowsAreThoseOfTheLiveRun) {
  auto theta = [](int router, uint64_t t) -> int64_t {
    const double since = static_cast<double>(t - kT0);
    if (router == 1) return 3'000'000 + static_cast<int64_t>(50e-6 * since);
    if (router == 2) return -1'500'000;
    return 0;
  };
  std::mt19937_64 rng(11);
  std::vector<std::vector<Observation>> per_node(3);
  for (int i = 0; i < 12'000; ++i) {  // 2 minutes, every 10 ms one each way
    const uint64_t start = kT0 + static_cast<uint64_t>(i) * 10'000'000ULL;
    const bool back = i % 2 == 1;
    const int64_t queue = rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng() % 300'000);
    Crossing c = Cross(TestHash(i), start, {10'000, 20'000, 15'000}, {80'000 + queue, 90'000});
    for (int r = 0; r < 3; ++r) {
      Observation o = c.per_router[r];
      const int node = back ? 2 - r : r;  // the way back: r3 first
      const int64_t shift = theta(node, o.arrival_ns);
      o.arrival_ns += static_cast<uint64_t>(shift);
      o.exit_ns += static_cast<uint64_t>(shift);
      o.ttl = 64 - r;
      per_node[node].push_back(o);
    }
  }
  auto clocks = [](auto* c) {
    for (const std::string& n : kRouters) c->SetNodeClock(n, NodeClock{"host-" + n});
  };
  Correlator live(CorrelatorOptions{}, 0);
  clocks(&live);
  const absl::Time now = absl::FromUnixNanos(static_cast<int64_t>(kT0));
  for (int r = 0; r < 3; ++r) live.Add(kRouters[r], per_node[r], now);
  std::map<int64_t, MinuteRows> sealed;
  for (MinuteRows& m : live.Advance(now + absl::Minutes(6)).minutes) sealed[m.minute] = m;
  ASSERT_EQ(sealed.size(), 2u);
  const MinuteRows& second = sealed[kMinute0 + 1];
  auto row = [&](AggKind kind, const std::string& key) -> LatencyAggregate {
    for (const auto& [k, agg] : second.rows) {
      if (k.kind == kind && k.text == key) return agg;
    }
    return LatencyAggregate{};
  };
  const LatencyAggregate hop = row(AggKind::kHop, "r1>r2");
  ASSERT_GT(hop.latency.count(), 2000u);
  EXPECT_EQ(hop.unsynchronized, 0u) << "a minute in, every pair has its estimate";
  EXPECT_EQ(hop.bound_method, ClockMethod::kPassiveTwoWay);
  EXPECT_LT(hop.bound_max_ns, 100'000) << "about half the fastest round trip";
  EXPECT_NEAR(static_cast<double>(hop.latency.min()), 80'000, 10'000)
      << "the offset (3 ms and more) is taken out";
  EXPECT_EQ(hop.clock_errors, 0u);
  const LatencyAggregate path = row(AggKind::kPath, "r1>r2>r3");
  EXPECT_NEAR(static_cast<double>(path.latency.min()), 10'000 + 80'000 + 20'000 + 90'000 + 15'000,
              20'000);
  EXPECT_EQ(row(AggKind::kResidence, "r2").bound_method, ClockMethod::kSharedClock);

  // Live as it really runs: each node's data a second at a time, closing
  // what the watermarks allow after each batch. The same rows.
  {
    Correlator stepwise(CorrelatorOptions{}, 0);
    clocks(&stepwise);
    // Connected before their first batch, as through the collector.
    for (const std::string& n : kRouters) stepwise.NodeConnected(n, now);
    std::map<int64_t, MinuteRows> got;
    size_t pos[3] = {0, 0, 0};
    absl::Time t = now;
    for (uint64_t until = kT0 + 1'000'000'000ULL; until < kT0 + 3 * kNsPerMinute;
         until += 1'000'000'000ULL) {
      for (int r = 0; r < 3; ++r) {
        std::vector<Observation> batch;
        while (pos[r] < per_node[r].size() && per_node[r][pos[r]].arrival_ns < until) {
          batch.push_back(per_node[r][pos[r]++]);
        }
        if (!batch.empty()) stepwise.Add(kRouters[r], batch, t);
        for (MinuteRows& m : stepwise.Advance(t).minutes) got[m.minute] = m;
      }
      t += absl::Milliseconds(10);
    }
    for (MinuteRows& m : stepwise.Advance(t + absl::Minutes(6)).minutes) got[m.minute] = m;
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(Summarize(got[kMinute0 + 1]), Summarize(second)) << "closed as it goes";
    EXPECT_EQ(Summarize(got[kMinute0]), Summarize(sealed[kMinute0]));
  }

  MinuteRecorrelator again(kMinute0 + 1, CorrelatorOptions{});
  clocks(&again);
  std::mt19937_64 shuffle(3);
  for (int r = 2; r >= 0; --r) {
    std::vector<Observation> obs = per_node[r];
    std::shuffle(obs.begin(), obs.end(), shuffle);
    for (size_t i = 0; i < obs.size(); i += 700) {
      again.Add(kRouters[r], 0,
                absl::MakeConstSpan(obs).subspan(i, std::min<size_t>(700, obs.size() - i)));
    }
  }
  EXPECT_EQ(Summarize(again.Finish()), Summarize(second));
}

}  // namespace
}  // namespace hoplat
