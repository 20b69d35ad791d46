#ifndef HOPLAT_COLLECTOR_MINUTE_RECORRELATOR_H_
#define HOPLAT_COLLECTOR_MINUTE_RECORRELATOR_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "collector/correlator.h"
#include "common/observation.h"

namespace hoplat {

// Correlates one minute again from stored observations, as an
// uninterrupted run would have: every trajectory whose first sighting is in
// the minute, with every sighting of it, from every node. Fed the stored
// batches holding arrivals in [from_ns(), to_ns()) (a window after the
// minute; before it, ReachAfter(): the clock corrections in the minute rest
// on the hops of the half minute before it). Given in order of their earliest arrival, packets that no
// later batch can touch are counted as it goes, so memory holds about a
// window's worth of observations, not the minute's; in any other order
// (batch_min_arrival_ns 0) everything is held until Finish().
class MinuteRecorrelator {
 public:
  // options: the live correlator's (window, clock corrections); the
  // memory bound is not used.
  MinuteRecorrelator(int64_t minute, const CorrelatorOptions& options);

  // Before Add(): the nodes' clocks, as the live correlator had them.
  void SetNodeClock(const std::string& node, NodeClock clock) {
    correlator_.SetNodeClock(node, std::move(clock));
  }

  uint64_t from_ns() const { return from_ns_; }
  uint64_t to_ns() const { return to_ns_; }

  // Observations outside [from_ns(), to_ns()) are ignored.
  // batch_min_arrival_ns: the batch's earliest arrival, no smaller than the
  // previous batch's (0: no order promised).
  void Add(const std::string& node, uint64_t batch_min_arrival_ns,
           absl::Span<const Observation> observations);
  // Observations held now (the memory bound).
  size_t pending() const { return correlator_.pending_observations(); }
  // The minute's rows (every kind), to replace what was stored for it.
  MinuteRows Finish();

 private:
  const int64_t minute_;
  const uint64_t from_ns_;
  const uint64_t to_ns_;
  Correlator correlator_;
  std::vector<Observation> scratch_;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_MINUTE_RECORRELATOR_H_
