#include "collector/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace hoplat {
namespace {

int64_t ExactNearestRank(std::vector<int64_t> v, double q) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

TEST(HistogramTest, BucketsTileTheRangeWithoutGaps) {
  for (int b = 0; b < Histogram::BucketOf(INT64_MAX); ++b) {
    ASSERT_EQ(Histogram::BucketHigh(b) + 1, Histogram::BucketLow(b + 1)) << "bucket " << b;
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketLow(b)), b);
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketHigh(b)), b);
  }
  EXPECT_EQ(Histogram::BucketHigh(Histogram::BucketOf(INT64_MAX)), INT64_MAX);
}

TEST(HistogramTest, MidpointIsWithinTheErrorBoundOfEveryValueInItsBucket) {
  for (int b = 0; b <= Histogram::BucketOf(INT64_MAX); ++b) {
    const double lo = static_cast<double>(Histogram::BucketLow(b));
    const double hi = static_cast<double>(Histogram::BucketHigh(b));
    const double mid = lo + std::floor((hi - lo) / 2);
    if (lo == 0) continue;
    ASSERT_LE((mid - lo) / lo, Histogram::kMaxRelativeError) << b;
    ASSERT_LE((hi - mid) / hi, Histogram::kMaxRelativeError) << b;
  }
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 0; v < 256; ++v) h.Add(v);
  EXPECT_EQ(h.count(), 256u);
  EXPECT_EQ(h.Percentile(0.5), 127);
  EXPECT_EQ(h.Percentile(0), 0);
  EXPECT_EQ(h.Percentile(1), 255);
}

TEST(HistogramTest, PercentilesWithinOnePercentOfExactOnSkewedData) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(std::log(50'000.0), 1.2);  // ~50 us median
  std::vector<int64_t> values;
  Histogram h;
  for (int i = 0; i < 200'000; ++i) {
    const int64_t v = static_cast<int64_t>(latency(rng));
    values.push_back(v);
    h.Add(v);
  }
  for (double q : {0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const double exact = static_cast<double>(ExactNearestRank(values, q));
    const double got = static_cast<double>(h.Percentile(q));
    EXPECT_LE(std::abs(got - exact) / exact, 0.01) << "q=" << q;
    EXPECT_LE(std::abs(got - exact) / exact, Histogram::kMaxRelativeError + 1e-12) << "q=" << q;
  }
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
}

TEST(HistogramTest, MergeEqualsAddingEverything) {
  Histogram a, b, all;
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = i * 7919 % 100'000;
    (i % 2 ? a : b).Add(v);
    all.Add(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.Serialize(), all.Serialize());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
}

TEST(HistogramTest, SerializeRoundTripsAndRejectsDamage) {
  Histogram h;
  for (int64_t v : {0L, 5L, 1000L, 1'000'000L, 3'000'000'000L}) h.Add(v);
  Histogram back;
  ASSERT_TRUE(back.Deserialize(h.Serialize()).ok());
  EXPECT_EQ(back.Serialize(), h.Serialize());
  EXPECT_EQ(back.Percentile(0.5), h.Percentile(0.5));

  const std::string bytes = h.Serialize();
  Histogram damaged;
  EXPECT_EQ(damaged.Deserialize(bytes.substr(0, bytes.size() - 1)).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(damaged.Deserialize("\x80").code(), absl::StatusCode::kDataLoss);
}

TEST(HistogramTest, EmptyHistogramReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.99), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
}

}  // namespace
}  // namespace hoplat
