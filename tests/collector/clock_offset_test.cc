// collector/clock_offset: B's clock against A's from ordinary traffic both
// ways, with its bound; drift; asymmetry; one-way traffic gives nothing.
#include "collector/clock_offset.h"

#include <cmath>
#include <cstdlib>
#include <random>

#include "gtest/gtest.h"

namespace hoplat {
namespace {

constexpr uint64_t kT0 = 1'790'000'000'000'000'000ULL;
constexpr uint64_t kSecond = 1'000'000'000ULL;

// Traffic between A (node 0) and B (node 1) for `seconds`, 100 packets a
// second each way. B's clock reads theta(t) = offset + drift * (t - kT0)
// ahead of A's; the true one-way delays are at least min_fwd / min_rev plus
// random queueing (a few packets each interval get through unqueued).
struct Link {
  int64_t offset_ns = 0;
  double drift_ppm = 0;
  int64_t min_fwd_ns = 200'000;
  int64_t min_rev_ns = 200'000;
  bool reverse_traffic = true;

  double Theta(uint64_t t) const {
    return static_cast<double>(offset_ns) + drift_ppm * 1e-6 * static_cast<double>(t - kT0);
  }
  void Run(ClockOffsetEstimator* e, int seconds, uint64_t seed = 1) const {
    std::mt19937_64 rng(seed);
    for (uint64_t t = kT0; t < kT0 + static_cast<uint64_t>(seconds) * kSecond; t += 10'000'000) {
      const int64_t queue = rng() % 4 == 0 ? 0 : static_cast<int64_t>(rng() % 2'000'000);
      // A -> B: leaves A at t (A's clock), arrives at t + delay true, read on B's clock.
      e->AddHop(0, 1, t, min_fwd_ns + queue + std::llround(Theta(t)));
      if (!reverse_traffic) continue;
      // B -> A: leaves B at t (true time: t + theta on B's clock), arrives
      // at t + delay on A's clock, the lower node's: that time picks the
      // interval.
      const int64_t back = rng() % 4 == 0 ? 0 : static_cast<int64_t>(rng() % 2'000'000);
      e->AddHop(1, 0, t + static_cast<uint64_t>(min_rev_ns + back),
                min_rev_ns + back - std::llround(Theta(t)));
    }
  }
};

TEST(ClockOffsetTest, AFixedOffsetIsFoundWithinItsBound) {
  ClockOffsetEstimator e;
  Link link;
  link.offset_ns = 3'000'000;  // B is 3 ms ahead
  link.Run(&e, 30);
  const uint64_t t = kT0 + 20 * kSecond;
  const ClockOffsetEstimator::Estimate est = e.At(0, 1, t);
  ASSERT_TRUE(est.valid);
  EXPECT_LE(std::llabs(est.offset_ns - 3'000'000), est.bound_ns);
  EXPECT_LE(std::llabs(est.offset_ns - 3'000'000), 1'000) << "symmetric: nearly exact";
  EXPECT_LE(est.bound_ns, 210'000) << "half the fastest round trip";
  EXPECT_NEAR(est.drift_ppm, 0, 1);
  EXPECT_GT(est.samples, 5000u);
  // The other way round: A against B.
  const ClockOffsetEstimator::Estimate back = e.At(1, 0, t);
  ASSERT_TRUE(back.valid);
  EXPECT_EQ(back.offset_ns, -est.offset_ns);
  EXPECT_EQ(back.bound_ns, est.bound_ns);
}

TEST(ClockOffsetTest, DriftIsFittedAndCarriesTheOffsetAlong) {
  // 50 ppm: 3 ms over the minute.
  ClockOffsetEstimator e;
  Link link;
  link.offset_ns = -1'500'000;
  link.drift_ppm = 50;
  link.Run(&e, 60);
  ASSERT_EQ(e.Latest(kT0 + 60 * kSecond).size(), 1u);
  for (uint64_t s : {5u, 30u, 59u}) {
    const uint64_t t = kT0 + s * kSecond + 123'456'789;
    const ClockOffsetEstimator::Estimate est = e.At(0, 1, t);
    ASSERT_TRUE(est.valid) << s;
    const double truth = link.Theta(t);
    EXPECT_LE(std::abs(static_cast<double>(est.offset_ns) - truth), static_cast<double>(est.bound_ns))
        << "at " << s << " s";
    EXPECT_LE(std::abs(static_cast<double>(est.offset_ns) - truth), 30'000) << "at " << s << " s";
    EXPECT_NEAR(est.drift_ppm, 50, 2);
  }
}

TEST(ClockOffsetTest, AnAsymmetricLinkBiasesByHalfTheDifferenceWithinTheBound) {
  ClockOffsetEstimator e;
  Link link;
  link.offset_ns = 1'000'000;
  link.min_fwd_ns = 300'000;  // slower one way
  link.min_rev_ns = 100'000;
  link.Run(&e, 20);
  const ClockOffsetEstimator::Estimate est = e.At(0, 1, kT0 + 10 * kSecond);
  ASSERT_TRUE(est.valid);
  EXPECT_NEAR(est.offset_ns, 1'000'000 + 100'000, 1'000);
  EXPECT_LE(std::llabs(est.offset_ns - 1'000'000), est.bound_ns) << "the truth stays inside";
}

TEST(ClockOffsetTest, OneWayTrafficGivesNoEstimateAndOldOnesExpire) {
  ClockOffsetEstimator e;
  Link link;
  link.reverse_traffic = false;
  link.offset_ns = 2'000'000;
  link.Run(&e, 10);
  EXPECT_FALSE(e.At(0, 1, kT0 + 5 * kSecond).valid) << "delay and offset cannot be told apart";

  ClockOffsetEstimator two_way;
  Link both;
  both.Run(&two_way, 5);
  EXPECT_TRUE(two_way.At(0, 1, kT0 + 5 * kSecond).valid);
  EXPECT_FALSE(two_way.At(0, 1, kT0 + 600 * kSecond).valid) << "ten minutes without traffic";
  ASSERT_EQ(two_way.Latest(kT0 + 600 * kSecond).size(), 1u);
  EXPECT_FALSE(two_way.Latest(kT0 + 600 * kSecond)[0].second.valid) << "as of now, not then";
  two_way.Prune(kT0 + 600 * kSecond);
  EXPECT_TRUE(two_way.Latest(kT0 + 600 * kSecond).empty()) << "a retired pair is forgotten";
  EXPECT_FALSE(two_way.At(0, 2, kT0).valid) << "a pair never seen";
  EXPECT_TRUE(two_way.At(1, 1, kT0).valid) << "a node against itself: 0";
}

// A fast link and a clock drifting 100 ppm (100 us a second): the fastest
// packets each way are placed along the drift before they are combined, so
// the bound stays about the link's delay, not the drift over an interval.
TEST(ClockOffsetTest, DriftDoesNotWidenTheBoundOfAFastLink) {
  ClockOffsetEstimator e;
  Link link;
  link.offset_ns = -1'500'000;
  link.drift_ppm = 100;
  link.min_fwd_ns = 5'000;
  link.min_rev_ns = 5'000;
  link.Run(&e, 40);
  const uint64_t t = kT0 + 38 * kSecond;
  const ClockOffsetEstimator::Estimate c = e.Correction(0, 1, t);
  ASSERT_TRUE(c.valid);
  EXPECT_LE(std::llabs(c.offset_ns - std::llround(link.Theta(t))), c.bound_ns);
  EXPECT_LT(c.bound_ns, 15'000) << "not 5 us + 50 us of drift";
  EXPECT_NEAR(c.drift_ppm, 100, 1);
}

// What a latency is corrected by rests on the intervals that end two
// before its own, and on nothing later: the same whatever came after, so a
// minute correlated again gives the same figures.
TEST(ClockOffsetTest, CorrectionsRestOnEarlierIntervalsOnly) {
  Link link;
  link.offset_ns = 3'000'000;
  link.drift_ppm = 50;
  ClockOffsetEstimator upto, more;
  link.Run(&upto, 30);
  link.Run(&more, 40);  // ten seconds more traffic
  const uint64_t t = kT0 + 31 * kSecond + 400'000'000;  // interval 31: fits 0 .. 29
  const ClockOffsetEstimator::Estimate a = upto.Correction(0, 1, t), b = more.Correction(0, 1, t);
  ASSERT_TRUE(a.valid);
  EXPECT_EQ(a.offset_ns, b.offset_ns);
  EXPECT_EQ(a.bound_ns, b.bound_ns);
  EXPECT_LE(std::llabs(a.offset_ns - std::llround(link.Theta(t))), a.bound_ns)
      << "carried along the drift, within its bound";
  EXPECT_NEAR(a.drift_ppm, 50, 2);
  EXPECT_EQ(upto.Correction(1, 0, t).offset_ns, -a.offset_ns) << "the other way round";

  ClockOffsetEstimator young;
  link.Run(&young, 12);  // intervals 0 .. 11
  EXPECT_FALSE(young.Correction(0, 1, kT0 + 10 * kSecond).valid)
      << "in interval 10 only intervals 0 .. 8 lie two before: fewer than ten, no correction";
  EXPECT_TRUE(young.Correction(0, 1, kT0 + 11 * kSecond).valid) << "0 .. 9: ten";
  EXPECT_TRUE(young.At(0, 1, kT0 + 10 * kSecond).valid) << "what ClockOffsets shows needs one";
  EXPECT_EQ(CorrectionWarmup(ClockOffsetOptions{}), absl::Seconds(33));
}

}  // namespace
}  // namespace hoplat
