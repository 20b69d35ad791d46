#ifndef HOPLAT_COMMON_FAIL_POINT_H_
#define HOPLAT_COMMON_FAIL_POINT_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace hoplat {

// Fail points: places where a test makes a real binary fail on purpose (a
// crash between receipt and commit, say), set from the environment, never
// from a production flag. After etcd's gofail and FreeBSD's fail points.
//
//   HOPLAT_FAILPOINTS="collector.exit_before_commit_seq=3"   (several: ';' between)
//
// The variable is read once; a fail point that is not set costs a lookup
// in an empty table. The points that exist are listed in tests/README.md.
//
// The value of the named fail point, if the environment sets it to a number.
std::optional<uint64_t> FailPointValue(absl::string_view name);

}  // namespace hoplat

#endif  // HOPLAT_COMMON_FAIL_POINT_H_
