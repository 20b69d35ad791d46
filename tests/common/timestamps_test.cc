// common/timestamps: Timestamps from clients, checked, and clamped for ranges.
#include "common/timestamps.h"

#include "gtest/gtest.h"

namespace hoplat {
namespace {

google::protobuf::Timestamp At(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

constexpr int64_t kYear1 = -62'135'596'800;
constexpr int64_t kYear9999 = 253'402'300'799;

TEST(TimestampsTest, NanosOutsideTheirRangeAreRefusedWithAReason) {
  for (int32_t nanos : {-1, 1'000'000'000}) {
    for (auto convert : {&TimestampToNanos, &ClampedTimestampToNanos}) {
      const absl::StatusOr<int64_t> n = convert(At(1, nanos), "report time");
      EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(n.status().message().find("report time: nanos"), std::string::npos)
          << n.status();
    }
  }
  EXPECT_EQ(TimestampToNanos(At(kYear9999 + 1, 0), "t").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClampedTimestampToNanos(At(kYear1 - 1, 0), "t").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TimestampsTest, ExactWhereInt64NanosecondsHoldIt) {
  EXPECT_EQ(*TimestampToNanos(At(1'700'000'000, 5), "t"), 1'700'000'000'000'000'005);
  EXPECT_EQ(*TimestampToNanos(At(-5, 0), "t"), -5'000'000'000);
  // Year 9999 is a valid Timestamp but not int64 nanoseconds.
  EXPECT_EQ(TimestampToNanos(At(kYear9999, 0), "t").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TimestampsTest, RangeEndsAreClampedToWhatTheStoreHolds) {
  EXPECT_EQ(*ClampedTimestampToNanos(At(kYear1, 0), "t"), 0);
  EXPECT_EQ(*ClampedTimestampToNanos(At(kYear9999, 999'999'999), "t"), kLatestNanos);
  EXPECT_EQ(*ClampedTimestampToNanos(At(1'700'000'000, 7), "t"), 1'700'000'000'000'000'007);
  EXPECT_EQ(kLatestNanos % 60'000'000'000, 0);
  EXPECT_LT(kLatestNanos, INT64_MAX - 60'000'000'000) << "a minute to spare for rounding";
}

}  // namespace
}  // namespace hoplat
