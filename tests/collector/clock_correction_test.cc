// collector/clock_correction: which offset a latency between two clocks is
// corrected by, how well it is known, and how corrections chain along a path.
#include "collector/clock_correction.h"

#include "collector/aggregate.h"
#include "gtest/gtest.h"

namespace hoplat {
namespace {

ClockOffsetEstimator::Estimate Passive(int64_t offset, int64_t bound) {
  ClockOffsetEstimator::Estimate e;
  e.valid = true;
  e.offset_ns = offset;
  e.bound_ns = bound;
  return e;
}

TEST(ClockCorrectionTest, OneClockIsExactWhateverElseIsKnown) {
  const NodeClock a{"boot-1", false, 0}, b{"boot-1", false, 0};
  const ClockCorrection c = ChooseCorrection(a, b, Passive(5000, 100));
  EXPECT_EQ(c.method, ClockMethod::kSharedClock);
  EXPECT_EQ(c.offset_ns, 0);
  EXPECT_EQ(c.bound_ns, 0);
  EXPECT_EQ(c.Apply(123), 123);
}

TEST(ClockCorrectionTest, TheSmallerValidBoundWins) {
  const NodeClock a{"boot-1", true, 2000}, b{"boot-2", true, 3000};
  // Measured both ways to within 1 us: better than NTP's 5 us.
  ClockCorrection c = ChooseCorrection(a, b, Passive(4000, 1000));
  EXPECT_EQ(c.method, ClockMethod::kPassiveTwoWay);
  EXPECT_EQ(c.offset_ns, 4000);
  EXPECT_EQ(c.Apply(10'000), 6000) << "the later node's clock is 4 us ahead";
  // A poor passive estimate (slow links): the reported errors bound better,
  // and say nothing of the offset.
  c = ChooseCorrection(a, b, Passive(4000, 9000));
  EXPECT_EQ(c.method, ClockMethod::kReported);
  EXPECT_EQ(c.offset_ns, 0);
  EXPECT_EQ(c.bound_ns, 5000);
  // No passive estimate: the reported errors.
  c = ChooseCorrection(a, b, {});
  EXPECT_EQ(c.method, ClockMethod::kReported);
}

TEST(ClockCorrectionTest, NothingBoundsUnsynchronisedClocksWithoutAnEstimate) {
  const NodeClock a{"", true, 2000}, b{"", false, 16'000'000'000};
  EXPECT_FALSE(ChooseCorrection(a, b, {}).synchronized());
  EXPECT_EQ(ChooseCorrection(a, b, {}).method, ClockMethod::kNone);
  EXPECT_EQ(ChooseCorrection(a, b, Passive(-7, 40)).method, ClockMethod::kPassiveTwoWay)
      << "traffic both ways bounds them";
  // An empty domain is nobody's: two such nodes are two clocks.
  EXPECT_EQ(ChooseCorrection(NodeClock{}, NodeClock{}, {}).method, ClockMethod::kNone);
}

TEST(ClockCorrectionTest, ReportedErrorsSaturate) {
  const NodeClock a{"", true, UINT64_MAX}, b{"", true, UINT64_MAX};
  EXPECT_EQ(ChooseCorrection(a, b, {}).bound_ns, INT64_MAX);
}

TEST(ClockCorrectionTest, ChainsAddOffsetsAndBounds) {
  const ClockCorrection ab{ClockMethod::kPassiveTwoWay, 3000, 20};
  const ClockCorrection bc{ClockMethod::kReported, 0, 500};
  ClockCorrection ac = Chain(ab, bc);
  EXPECT_EQ(ac.offset_ns, 3000);
  EXPECT_EQ(ac.bound_ns, 520);
  EXPECT_EQ(ac.method, ClockMethod::kReported) << "the larger bound's";
  EXPECT_EQ(Chain(ClockCorrection::Exact(), ab).method, ClockMethod::kPassiveTwoWay);
  EXPECT_EQ(Chain(ClockCorrection::Exact(), ClockCorrection::Exact()).method,
            ClockMethod::kSharedClock);
  EXPECT_FALSE(Chain(ab, ClockCorrection{}).synchronized()) << "one unknown link: unknown";
  EXPECT_EQ(Chain(ClockCorrection{ClockMethod::kReported, 0, INT64_MAX}, bc).bound_ns, INT64_MAX);
}

TEST(ClockCorrectionTest, AggregatesKeepUnsynchronisedSamplesOutAndTheLargestBound) {
  LatencyAggregate a;
  a.Add(10'000, 1, ClockCorrection{ClockMethod::kPassiveTwoWay, 3000, 40});
  a.Add(12'000, 2, ClockCorrection{ClockMethod::kPassiveTwoWay, 3000, 60});
  a.Add(99'000, 3, ClockCorrection{});
  EXPECT_EQ(a.packets, 3u);
  EXPECT_EQ(a.unsynchronized, 1u);
  EXPECT_EQ(a.latency.count(), 2u);
  EXPECT_EQ(a.latency.max(), 9000) << "corrected";
  EXPECT_EQ(a.bound_max_ns, 60);
  EXPECT_EQ(a.bound_sum_ns, 100u);
  EXPECT_EQ(a.bound_method, ClockMethod::kPassiveTwoWay);
  // Merging is order-free, and unsynchronised-only says kNone.
  LatencyAggregate none;
  none.Add(5, 4, ClockCorrection{});
  EXPECT_EQ(none.bound_method, ClockMethod::kNone);
  LatencyAggregate x = a, y = none;
  x.Merge(none);
  y.Merge(a);
  EXPECT_EQ(x.bound_method, y.bound_method);
  EXPECT_EQ(x.bound_max_ns, y.bound_max_ns);
  EXPECT_EQ(x.unsynchronized, 2u);
  EXPECT_EQ(y.unsynchronized, 2u);
}

}  // namespace
}  // namespace hoplat
