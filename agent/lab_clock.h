#ifndef HOPLAT_AGENT_LAB_CLOCK_H_
#define HOPLAT_AGENT_LAB_CLOCK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hoplat {

// A lab tool (--clock_offset, --clock_drift_ppm): makes this node's clock
// wrong by a known amount, so that routers which really share one clock (the
// VM lab's namespaces) look like routers with clocks of their own, and
// whatever the collector estimates of their offsets can be checked against
// an exact truth. Never for a real router.
//
// Every wall-clock time t the agent reads (a record's arrival and exit, a
// NodeReport's time) becomes
//   t' = t + offset + drift_ppm * 1e-6 * (t - reference)
// rounded to the nanosecond and clamped to [0, 2^64 - 1]: at `reference`
// the lab clock is ahead of the real one by `offset` (behind if negative),
// and from there runs fast by drift_ppm (slow if negative). The agent's
// reference is its own start time by the real clock, read once. A record's
// monotonic residence is left as it is: it is the router's own interval,
// which a drift of 100 ppm would change by 5 ps for a 50 us residence.
class LabClock {
 public:
  static constexpr double kMaxDriftPpm = 1000;

  LabClock() = default;  // the real clock: Apply() changes nothing

  // INVALID_ARGUMENT (naming the flag) for an infinite offset or a drift
  // that is not a number or beyond +-kMaxDriftPpm.
  static absl::StatusOr<LabClock> Create(absl::Duration offset, double drift_ppm,
                                         uint64_t reference_ns);

  // True unless an offset or a drift is set.
  bool real() const { return offset_ns_ == 0 && drift_ppm_ == 0; }
  uint64_t Apply(uint64_t ns) const;

  // What the node reports as its clock's source (ClockState.source), so that
  // a lab's test knows the truth exactly: "lab clock offset_ns=-1500000
  // drift_ppm=50 reference_ns=1796309160123456789".
  std::string Describe() const;

  int64_t offset_ns() const { return offset_ns_; }
  double drift_ppm() const { return drift_ppm_; }
  uint64_t reference_ns() const { return reference_ns_; }

 private:
  int64_t offset_ns_ = 0;
  double drift_ppm_ = 0;
  uint64_t reference_ns_ = 0;
};

// The clock domain a node with a lab clock reports unless --clock_domain
// names one: its own, "lab-<node_id>", never the boot id it shares with its
// neighbours (whose clocks it no longer reads). INVALID_ARGUMENT if that is
// longer than a domain may be (64 characters).
absl::StatusOr<std::string> LabClockDomain(absl::string_view node_id);

}  // namespace hoplat

#endif  // HOPLAT_AGENT_LAB_CLOCK_H_
