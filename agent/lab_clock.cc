#include "agent/lab_clock.h"

#include <cmath>
#include <limits>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/clock_state.h"

namespace hoplat {

absl::StatusOr<LabClock> LabClock::Create(absl::Duration offset, double drift_ppm,
                                          uint64_t reference_ns) {
  if (offset == absl::InfiniteDuration() || offset == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("--clock_offset: a finite duration, e.g. 3ms or -1.5s");
  }
  if (!std::isfinite(drift_ppm) || std::fabs(drift_ppm) > kMaxDriftPpm) {
    return absl::InvalidArgumentError(absl::StrCat("--clock_drift_ppm: ", drift_ppm,
                                                   " is not within -", kMaxDriftPpm, " to ",
                                                   kMaxDriftPpm, " (parts per million)"));
  }
  LabClock clock;
  clock.offset_ns_ = absl::ToInt64Nanoseconds(offset);
  clock.drift_ppm_ = drift_ppm;
  clock.reference_ns_ = reference_ns;
  return clock;
}

uint64_t LabClock::Apply(uint64_t ns) const {
  if (real()) return ns;
  absl::int128 t = absl::int128(ns) + offset_ns_;
  if (drift_ppm_ != 0) {
    // Signed distance from the reference; a double is exact to the
    // nanosecond for 104 days either side, and the product is at most a
    // thousandth of it anyway.
    const double since = ns >= reference_ns_ ? static_cast<double>(ns - reference_ns_)
                                             : -static_cast<double>(reference_ns_ - ns);
    t += static_cast<int64_t>(std::llround(drift_ppm_ * since / 1e6));
  }
  if (t < 0) return 0;
  if (t > absl::int128(std::numeric_limits<uint64_t>::max())) {
    return std::numeric_limits<uint64_t>::max();
  }
  return static_cast<uint64_t>(t);
}

std::string LabClock::Describe() const {
  return absl::StrCat("lab clock offset_ns=", offset_ns_, " drift_ppm=", drift_ppm_,
                      " reference_ns=", reference_ns_);
}

absl::StatusOr<std::string> LabClockDomain(absl::string_view node_id) {
  std::string domain = absl::StrCat("lab-", node_id);
  if (!ValidateClockDomain(domain).ok()) {  // a valid node id: only its length
    return absl::InvalidArgumentError(absl::StrCat(
        "--clock_offset/--clock_drift_ppm: this node's own clock domain, lab-<node id>, would "
        "be longer than 64 characters; name one with --clock_domain"));
  }
  return domain;
}

}  // namespace hoplat
