#ifndef HOPLAT_COMMON_TIMESTAMPS_H_
#define HOPLAT_COMMON_TIMESTAMPS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"

namespace hoplat {

// google.protobuf.Timestamp as hoplat takes it from clients. A Timestamp is
// valid for years 1 to 9999 with nanos in 0..999,999,999; hoplat's times are
// int64 nanoseconds since the epoch, which hold 1677-09-21 to 2262-04-11.

// The instant in nanoseconds, or INVALID_ARGUMENT naming `what` for an
// invalid Timestamp or one that int64 nanoseconds cannot hold (a report's
// time, say).
absl::StatusOr<int64_t> TimestampToNanos(const google::protobuf::Timestamp& t,
                                         absl::string_view what);

// For the ends of a query range: any valid Timestamp, clamped to what the
// store can hold ([0, kLatestNanos]: no packet is older than the epoch or
// newer than 2262). INVALID_ARGUMENT only for an invalid Timestamp.
absl::StatusOr<int64_t> ClampedTimestampToNanos(const google::protobuf::Timestamp& t,
                                                absl::string_view what);

// The latest instant a range may reach: a whole minute, with a minute to
// spare so that rounding a range out to whole minutes cannot overflow.
inline constexpr int64_t kLatestNanos = (INT64_MAX / 60'000'000'000 - 1) * 60'000'000'000;

}  // namespace hoplat

#endif  // HOPLAT_COMMON_TIMESTAMPS_H_
