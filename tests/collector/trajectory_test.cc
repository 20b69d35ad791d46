#include "collector/trajectory.h"

#include "gtest/gtest.h"
#include "kmod/include/uapi/linux/hoplat.h"

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

Sighting At(uint32_t node, uint64_t arrival, uint32_t ttl, uint32_t flags = HOPLAT_F_FORWARDED) {
  Sighting s{node, arrival, arrival + 10'000};
  s.ttl = ttl;
  s.flags = flags;
  return s;
}

TEST(TrajectoryTest, TtlOrdersThePathWhateverTheClocksSay) {
  // h1 sends (TTL 64, seen as sent), r1 forwards (64 at arrival), r2 (63),
  // h2 receives (62). r2's clock is 5 ms behind, h2's 3 ms: by arrival time
  // the path would read r2 > h2 > h1 > r1.
  const uint64_t t = 100'000'000;
  std::vector<Sighting> s = {At(0, t, 64, HOPLAT_F_LOCAL_OUT), At(1, t + 20'000, 64),
                             At(2, t + 50'000 - 5'000'000, 63),
                             At(3, t + 80'000 - 3'000'000, 62, HOPLAT_F_LOCAL_IN)};
  std::vector<std::vector<Sighting>> out;
  SplitTrajectories(&s, kWindow, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Nodes(out[0]), (std::vector<uint32_t>{0, 1, 2, 3}))
      << "the sender before the first router (one TTL), then down the TTLs";
  EXPECT_FALSE(IsLoop(out[0]));
  // Without TTLs (an older agent) arrival order stands.
  for (Sighting& x : s) x.ttl = 0;
  SplitTrajectories(&s, kWindow, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Nodes(out[0]), (std::vector<uint32_t>{2, 3, 0, 1}));
}

TEST(TrajectoryTest, ARouterSeenAgainWithALowerTtlIsALoopNotARetransmission) {
  // r1 (64) -> r2 (63) -> r1 (62) -> r2 (61): the route points back.
  std::vector<Sighting> loop = {At(0, 0, 64), At(1, 100'000, 63), At(0, 200'000, 62),
                                At(1, 300'000, 61)};
  std::vector<std::vector<Sighting>> out;
  SplitTrajectories(&loop, kWindow, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(IsLoop(out[0]));
  EXPECT_EQ(Nodes(out[0]), (std::vector<uint32_t>{0, 1, 0, 1}));
  // The same bytes sent twice cross with the same TTLs: two trajectories.
  std::vector<Sighting> twice = {At(0, 0, 64), At(1, 100'000, 63), At(0, 200'000, 64),
                                 At(1, 300'000, 63)};
  SplitTrajectories(&twice, kWindow, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(IsLoop(out[0]));
  EXPECT_FALSE(IsLoop(out[1]));
  EXPECT_EQ(Nodes(out[1]), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(out[1][0].arrival_ns, 200'000u);
}

TEST(TrajectoryTest, ACopyOverAnotherPathIsNoLoop) {
  // The same bytes twice within the window, the second time one router
  // longer (a reroute): r3 sees 62, then 61, with nobody in between.
  std::vector<Sighting> s = {At(0, 0, 64), At(2, 100'000, 62), At(0, 500'000, 64),
                             At(2, 700'000, 61)};
  std::vector<std::vector<Sighting>> out;
  SplitTrajectories(&s, kWindow, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(IsLoop(out[0]));
  EXPECT_FALSE(IsLoop(out[1]));
  EXPECT_EQ(out[1][1].ttl, 61u);
}

TEST(TrajectoryTest, ATtlThatDoesNotFallLeavesArrivalOrder) {
  // r2 bridges (does not lower the TTL): its TTL ties r1's, so the TTL
  // cannot tell them apart and arrival decides.
  std::vector<Sighting> s = {At(1, 2'000, 64), At(0, 1'000, 64), At(2, 3'000, 63)};
  std::vector<std::vector<Sighting>> out;
  SplitTrajectories(&s, kWindow, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Nodes(out[0]), (std::vector<uint32_t>{0, 1, 2}));
}

TEST(TrajectoryTest, ResidenceIsTheMonotonicOneWhenKnown) {
  Sighting s{0, 5'000'000, 2'000'000};  // the wall clock stepped back 3 ms inside
  EXPECT_EQ(Residence(s), -3'000'000);
  s.residence_ns = 40'000;
  EXPECT_EQ(Residence(s), 40'000);
}

}  // namespace
}  // namespace hoplat
