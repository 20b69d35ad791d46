// agent/lab_clock: the lab tool that makes a node's clock wrong by a known
// offset and drift (t' = t + offset + drift_ppm * 1e-6 * (t - reference)),
// and the clock domain of its own such a node reports.
#include "agent/lab_clock.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "agent/batcher.h"
#include "common/batch_columns.h"
#include "gtest/gtest.h"
#include "kmod/include/uapi/linux/hoplat.h"

namespace hoplat::testing {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kRef = 1'700'000'000 * kSecond;  // November 2023
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

LabClock Make(absl::Duration offset, double drift_ppm, uint64_t reference_ns = kRef) {
  absl::StatusOr<LabClock> clock = LabClock::Create(offset, drift_ppm, reference_ns);
  EXPECT_TRUE(clock.ok()) << clock.status();
  return clock.ok() ? *clock : LabClock();
}

TEST(LabClockTest, RealClockChangesNothing) {
  const LabClock real;
  EXPECT_TRUE(real.real());
  for (uint64_t t : {uint64_t{0}, uint64_t{1}, kRef, kMax}) EXPECT_EQ(real.Apply(t), t);
  EXPECT_TRUE(Make(absl::ZeroDuration(), 0).real()) << "zero offset and drift: the real clock";
  EXPECT_FALSE(Make(absl::Nanoseconds(1), 0).real());
  EXPECT_FALSE(Make(absl::ZeroDuration(), 0.001).real());
}

TEST(LabClockTest, OffsetOnlyIsExactEverywhere) {
  const LabClock clock = Make(absl::Milliseconds(3), 0);
  EXPECT_EQ(clock.offset_ns(), 3'000'000);
  for (uint64_t t : {uint64_t{0}, kRef, kRef - 123'456'789, kRef + 86'400 * kSecond + 7}) {
    EXPECT_EQ(clock.Apply(t), t + 3'000'000) << t;
  }
  // Far from the reference too: no drift, no rounding.
  EXPECT_EQ(clock.Apply(kRef * 2 + 1), kRef * 2 + 1 + 3'000'000);
}

TEST(LabClockTest, NegativeOffsetIsBehind) {
  const LabClock clock = Make(absl::Seconds(-1.5), 0);
  EXPECT_EQ(clock.offset_ns(), -1'500'000'000);
  EXPECT_EQ(clock.Apply(kRef), kRef - 1'500'000'000);
  EXPECT_EQ(clock.Apply(kRef + 1), kRef - 1'499'999'999);
}

TEST(LabClockTest, DriftGrowsFromTheReference) {
  // 100 ppm fast: 100 µs a second after the reference, 100 µs behind a
  // second before it, nothing at it.
  const LabClock clock = Make(absl::ZeroDuration(), 100);
  EXPECT_EQ(clock.Apply(kRef), kRef) << "at the reference only the offset (none)";
  EXPECT_EQ(clock.Apply(kRef + kSecond), kRef + kSecond + 100'000);
  EXPECT_EQ(clock.Apply(kRef - kSecond), kRef - kSecond - 100'000);
  EXPECT_EQ(clock.Apply(kRef + 3600 * kSecond), kRef + 3600 * kSecond + 360'000'000);
  // Rounded to the nanosecond: 10 µs after the reference is 1 ns ahead, 4 µs
  // 0.4 ns (none), 6 µs 0.6 ns (one).
  EXPECT_EQ(clock.Apply(kRef + 10'000), kRef + 10'001);
  EXPECT_EQ(clock.Apply(kRef + 4'000), kRef + 4'000);
  EXPECT_EQ(clock.Apply(kRef + 6'000), kRef + 6'001);
  // Slow: the other way.
  const LabClock slow = Make(absl::ZeroDuration(), -250);
  EXPECT_EQ(slow.Apply(kRef + kSecond), kRef + kSecond - 250'000);
  EXPECT_EQ(slow.Apply(kRef - kSecond), kRef - kSecond + 250'000);
}

TEST(LabClockTest, OffsetAndDriftAddAndTheReferenceIsWhereTheOffsetHoldsExactly) {
  const uint64_t ref = kRef + 42;
  const LabClock clock = Make(absl::Milliseconds(-2), 1000, ref);
  EXPECT_EQ(clock.reference_ns(), ref);
  EXPECT_EQ(clock.Apply(ref), ref - 2'000'000);
  EXPECT_EQ(clock.Apply(ref + 10 * kSecond), ref + 10 * kSecond - 2'000'000 + 10'000'000);
  // The same instant read by a clock with another reference differs by the
  // drift over the distance between the references.
  const LabClock later = Make(absl::Milliseconds(-2), 1000, ref + kSecond);
  EXPECT_EQ(clock.Apply(ref + kSecond) - later.Apply(ref + kSecond), 1'000'000u);
}

TEST(LabClockTest, ClampedAtZeroAndAtTheTopNeverWrapping) {
  const LabClock behind = Make(absl::Milliseconds(-3), 0);
  EXPECT_EQ(behind.Apply(0), 0u);
  EXPECT_EQ(behind.Apply(2'999'999), 0u);
  EXPECT_EQ(behind.Apply(3'000'000), 0u);
  EXPECT_EQ(behind.Apply(3'000'001), 1u);
  const LabClock ahead = Make(absl::Milliseconds(3), 0);
  EXPECT_EQ(ahead.Apply(kMax), kMax);
  EXPECT_EQ(ahead.Apply(kMax - 3'000'000), kMax);
  EXPECT_EQ(ahead.Apply(kMax - 3'000'001), kMax - 1);
  // Drift far from the reference: 1000 ppm fast puts times near 0, 54
  // years before a reference of today, 20 days behind (clamped at 0), and
  // the last nanosecond of 2554 ahead of it (clamped at the top).
  const LabClock fast = Make(absl::ZeroDuration(), 1000);
  EXPECT_EQ(fast.Apply(0), 0u);
  EXPECT_EQ(fast.Apply(kSecond), 0u);
  EXPECT_EQ(fast.Apply(kMax), kMax);
  EXPECT_EQ(Make(absl::ZeroDuration(), -1000).Apply(1), 1 + kRef / 1000)
      << "slow: before the reference it is ahead, by 1000 ppm of the distance";
  // An offset beyond int64 nanoseconds saturates, and still clamps.
  EXPECT_EQ(Make(absl::Hours(1e7), 0).Apply(kMax / 2 + 1), kMax);
  EXPECT_EQ(Make(-absl::Hours(1e7), 0).Apply(kRef), 0u);
}

TEST(LabClockTest, BadValuesNameTheFlag) {
  for (double bad : {1000.5, -1001.0, 1e9, std::nan(""), HUGE_VAL, -HUGE_VAL}) {
    absl::StatusOr<LabClock> clock = LabClock::Create(absl::ZeroDuration(), bad, kRef);
    ASSERT_FALSE(clock.ok()) << bad;
    EXPECT_EQ(clock.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(clock.status().message().find("--clock_drift_ppm"), std::string::npos)
        << clock.status();
  }
  EXPECT_TRUE(LabClock::Create(absl::ZeroDuration(), 1000, kRef).ok());
  EXPECT_TRUE(LabClock::Create(absl::ZeroDuration(), -1000, kRef).ok());
  for (absl::Duration bad : {absl::InfiniteDuration(), -absl::InfiniteDuration()}) {
    absl::StatusOr<LabClock> clock = LabClock::Create(bad, 0, kRef);
    ASSERT_FALSE(clock.ok());
    EXPECT_NE(clock.status().message().find("--clock_offset"), std::string::npos) << clock.status();
  }
}

TEST(LabClockTest, ADomainOfItsOwn) {
  EXPECT_EQ(*LabClockDomain("r1"), "lab-r1");
  EXPECT_TRUE(LabClockDomain(std::string(60, 'a')).ok()) << "64 characters with lab-";
  absl::StatusOr<std::string> long_id = LabClockDomain(std::string(61, 'a'));
  ASSERT_FALSE(long_id.ok());
  EXPECT_EQ(long_id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(long_id.status().message().find("--clock_domain"), std::string::npos)
      << long_id.status() << ": says how to name one";
}

TEST(LabClockTest, BatcherMovesArrivalAndExitButNotTheResidence) {
  hoplat_record r{};
  r.hash = 7;
  r.arrival_ns = kRef + kSecond;
  r.exit_ns = kRef + kSecond + 50'000;
  r.residence_ns = 50'000;
  r.flags = HOPLAT_F_FORWARDED;
  r.version = HOPLAT_RECORD_VERSION;
  Batcher batcher(10, Make(absl::Milliseconds(3), 100));
  batcher.Add(r, absl::Now());
  const v1::ObservationBatch batch = batcher.Take(1);
  std::vector<Observation> got;
  ASSERT_TRUE(ObservationsFromBatch(batch, &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].arrival_ns, r.arrival_ns + 3'000'000 + 100'000);
  EXPECT_EQ(got[0].exit_ns, r.exit_ns + 3'000'000 + 100'005);  // 100 ppm of 1.00005 s
  EXPECT_EQ(got[0].residence_ns, 50'000u) << "monotonic, the router's own interval";
}

}  // namespace
}  // namespace hoplat::testing
