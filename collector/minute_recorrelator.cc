#include "collector/minute_recorrelator.h"

#include <limits>

namespace hoplat {
namespace {

CorrelatorOptions OptionsFor(CorrelatorOptions o) {
  // Nothing closes early for memory: the stream order bounds it.
  o.max_pending_observations = std::numeric_limits<size_t>::max();
  return o;
}

uint64_t Ns(absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Nanoseconds(d)); }

}  // namespace

MinuteRecorrelator::MinuteRecorrelator(int64_t minute, const CorrelatorOptions& options)
    : minute_(minute),
      from_ns_(static_cast<uint64_t>(minute) * kNsPerMinute > Ns(ReachAfter(options))
                   ? static_cast<uint64_t>(minute) * kNsPerMinute - Ns(ReachAfter(options))
                   : 0),
      to_ns_(static_cast<uint64_t>(minute + 1) * kNsPerMinute + Ns(options.window)),
      // Sealed up to the minute, in replay mode: sightings from a window
      // before it decide how a packet on the boundary splits, and
      // trajectories that start before it are not counted here.
      correlator_(OptionsFor(options), minute) {
  correlator_.BeginReplay();
}

void MinuteRecorrelator::Add(const std::string& node, uint64_t batch_min_arrival_ns,
                             absl::Span<const Observation> observations) {
  // Every later batch's sightings arrive at or after this one's earliest:
  // a packet whose window closed before it is complete.
  if (batch_min_arrival_ns > 0) correlator_.CloseThrough(batch_min_arrival_ns - 1);
  scratch_.clear();
  for (const Observation& o : observations) {
    if (o.arrival_ns >= from_ns_ && o.arrival_ns < to_ns_) scratch_.push_back(o);
  }
  // Replay mode ignores the clock.
  if (!scratch_.empty()) correlator_.Add(node, scratch_, absl::UnixEpoch());
}

MinuteRows MinuteRecorrelator::Finish() {
  correlator_.CloseAll();
  return correlator_.TakeMinute(minute_);
}

}  // namespace hoplat
