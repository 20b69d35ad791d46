#ifndef HOPLAT_AGENT_CLOCK_STATE_H_
#define HOPLAT_AGENT_CLOCK_STATE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hoplat/v1/common.pb.h"

namespace hoplat {

// The kernel's view of this host's clock discipline (adjtimex): synchronised
// or not (STA_UNSYNC, TIME_ERROR), and the estimated error NTP/PTP reported;
// with `clock_domain` (ClockDomainFor below) as the clock's identity.
v1::ClockState ReadClockState(absl::string_view clock_domain);

inline constexpr char kBootIdPath[] = "/proc/sys/kernel/random/boot_id";

// The kernel's boot id: a random UUID drawn at each boot, the same in every
// network namespace and container on that kernel (they all read its one
// CLOCK_REALTIME: time namespaces offset only the monotonic and boot-time
// clocks). Surrounding whitespace is trimmed; an empty file is an error.
absl::StatusOr<std::string> ReadBootId(const std::string& path = kBootIdPath);

// A clock domain (--clock_domain) is restricted like a node id:
// [A-Za-z0-9._-], 1 to 64 characters (a boot id is 36).
absl::Status ValidateClockDomain(absl::string_view domain);

// The clock domain the agent reports (ClockState.clock_domain): `configured`
// (--clock_domain) when set; else, when the records come from this kernel's
// module, the kernel's boot id (read from `boot_id_path`); else, for records
// replayed from a file (made on whichever kernel recorded them), none: "".
// An unreadable or malformed boot id is logged and gives none (the
// collector then bounds this node's latencies from its reported error). An
// invalid `configured` is INVALID_ARGUMENT.
absl::StatusOr<std::string> ClockDomainFor(absl::string_view configured, bool replay,
                                           const std::string& boot_id_path = kBootIdPath);

}  // namespace hoplat

#endif  // HOPLAT_AGENT_CLOCK_STATE_H_
