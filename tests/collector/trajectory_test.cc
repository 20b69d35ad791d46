#include "collector/trajectory.h"

#include "gtest/gtest.h"

namespace hoplat {
namespace {

constexpr uint64_t kWindow = 1'000'000'000;

std::vector<uint32_t> Nodes(const std::vector<Sighting>& t) {
  std::vector<uint32_t> n;
  for (const Sighting& s : t) n.push_back(s.node);
  return n;
}

TEST(TrajectoryTest, OrdersByArrivalAndComputesLatencies) {
  std::vector<Sighting> s = {{2, 3000, 3100}, {0, 1000, 1100}, {1, 2000, 2200}};
  std::vector<std::vector<Sighting>> out;
  SplitTrajectories(&s, kWindow, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Nodes(out[0]), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(Residence(out[0][1]), 200);
  EXPECT_EQ(HopLatency(out[0][0], out[0][1]), 900);
  EXPECT_EQ(SpanLatency(out[0][0], out[0][2]), 2100);
}

TEST(TrajectoryTest, RetransmissionWithinWindowIsSplitFirstInFirstOut) {
  // The same bytes sent twice, 100 us apart, both crossing 0 -> 1 -> 2; the
  // second copy enters node 0 before the first reaches node 2.
  std::vector<Sighting> s = {{0, 0, 10},       {1, 50'000, 50'010},   {0, 100'000, 100'010},
                             {2, 120'000, 120'010}, {1, 150'000, 150'010}, {2, 220'000, 220'010}};
  std::vector<std::vector<Sighting>> out;
  SplitTrajectories(&s, kWindow, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Nodes(out[0]), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(Nodes(out[1]), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(out[0][0].arrival_ns, 0u);
  EXPECT_EQ(out[1][0].arrival_ns, 100'000u);
  EXPECT_EQ(out[0][2].arrival_ns, 120'000u);
}

TEST(TrajectoryTest, SightingsFurtherApartThanTheWindowAreSeparateCrossings) {
  std::vector<Sighting> s = {{0, 0, 1}, {1, 10, 11}, {0, 3 * kWindow, 3 * kWindow + 1}};
  std::vector<std::vector<Sighting>> out;
  SplitTrajectories(&s, kWindow, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Nodes(out[0]), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(Nodes(out[1]), (std::vector<uint32_t>{0}));
}

TEST(TrajectoryTest, NegativeHopIsReportedNegative) {
  Sighting a{0, 1000, 2000}, b{1, 1500, 1600};  // b's clock is behind
  EXPECT_LT(HopLatency(a, b), 0);
}

}  // namespace
}  // namespace hoplat
