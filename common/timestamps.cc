#include "common/timestamps.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace hoplat {
namespace {

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, as google/protobuf/timestamp.proto defines.
constexpr int64_t kMinSeconds = -62'135'596'800;
constexpr int64_t kMaxSeconds = 253'402'300'799;
// What int64 nanoseconds hold, in whole seconds.
constexpr int64_t kMinNanosSeconds = INT64_MIN / 1'000'000'000 + 1;
constexpr int64_t kMaxNanosSeconds = INT64_MAX / 1'000'000'000 - 1;

absl::Status Validate(const google::protobuf::Timestamp& t, absl::string_view what) {
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": nanos ", t.nanos(), " outside 0..999999999"));
  }
  if (t.seconds() < kMinSeconds || t.seconds() > kMaxSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": seconds ", t.seconds(), " outside years 1 to 9999"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> TimestampToNanos(const google::protobuf::Timestamp& t,
                                         absl::string_view what) {
  if (absl::Status s = Validate(t, what); !s.ok()) return s;
  if (t.seconds() < kMinNanosSeconds || t.seconds() > kMaxNanosSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": seconds ", t.seconds(), " outside what int64 nanoseconds hold (1677 to 2262)"));
  }
  return t.seconds() * 1'000'000'000 + t.nanos();
}

absl::StatusOr<int64_t> ClampedTimestampToNanos(const google::protobuf::Timestamp& t,
                                                absl::string_view what) {
  if (absl::Status s = Validate(t, what); !s.ok()) return s;
  if (t.seconds() < 0) return 0;
  if (t.seconds() >= kLatestNanos / 1'000'000'000) return kLatestNanos;
  return t.seconds() * 1'000'000'000 + t.nanos();
}

}  // namespace hoplat
