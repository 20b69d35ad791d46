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
using testing::TestHash;

constexpr int64_t kMinute0 = 29'500'000;
const uint64_t kT0 = static_cast<uint64_t>(kMinute0) * kNsPerMinute;
const std::vector<std::string> kRouters = {"r1", "r2", "r3"};

std::string KeyText(const AggregateKey& k) {
  return std::to_string(static_cast<int>(k.kind)) + ":" + k.text;
}

// What two aggregates must share to be the same answer.
using Summary = std::tuple<uint64_t, uint64_t, uint64_t, std::string>;
std::map<AggregateKey, Summary> Summarize(const MinuteRows& m) {
  std::map<AggregateKey, Summary> out;
  for (const auto& [key, agg] : m.rows) {
    out[key] = Summary{agg.packets, agg.clock_errors, agg.slowest_hash, agg.latency.Serialize()};
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
    MinuteRecorrelator again(minute, CorrelatorOptions{}.window);
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
    MinuteRecorrelator streamed(minute, CorrelatorOptions{}.window);
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

TEST(MinuteRecorrelatorTest, ReadsAWindowEitherSideOfTheMinute) {
  MinuteRecorrelator m(kMinute0, absl::Seconds(1));
  EXPECT_EQ(m.from_ns(), kT0 - 1'000'000'000ULL);
  EXPECT_EQ(m.to_ns(), kT0 + kNsPerMinute + 1'000'000'000ULL);
  EXPECT_TRUE(m.Finish().rows.empty());
}

}  // namespace
}  // namespace hoplat
