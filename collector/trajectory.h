#ifndef HOPLAT_COLLECTOR_TRAJECTORY_H_
#define HOPLAT_COLLECTOR_TRAJECTORY_H_

#include <cstdint>
#include <vector>

namespace hoplat {

// One packet (one hash) seen at one node. `node` is whatever small integer
// the caller uses to name nodes.
struct Sighting {
  uint32_t node = 0;
  uint64_t arrival_ns = 0;
  uint64_t exit_ns = 0;
};

// Splits every sighting of one hash into trajectories: one packet's crossing
// of the network, ordered by arrival.
//
// Sightings more than `window_ns` apart (arrival to arrival, in time order)
// belong to different crossings. Within a cluster, a node seen k times saw k
// copies of identical bytes (a retransmission): the i-th sighting at each
// node goes to the i-th trajectory, first in first out, so a copy never makes
// a loop out of two crossings. `sightings` is reordered; `out` is replaced.
void SplitTrajectories(std::vector<Sighting>* sightings, uint64_t window_ns,
                       std::vector<std::vector<Sighting>>* out);

// Latencies along one trajectory, as the API defines them. Signed: a negative
// value means the two nodes' clocks disagree by more than the latency.
inline int64_t Residence(const Sighting& s) {
  return static_cast<int64_t>(s.exit_ns - s.arrival_ns);
}
inline int64_t HopLatency(const Sighting& from, const Sighting& to) {
  return static_cast<int64_t>(to.arrival_ns - from.exit_ns);
}
inline int64_t SpanLatency(const Sighting& first, const Sighting& last) {
  return static_cast<int64_t>(last.exit_ns - first.arrival_ns);
}

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_TRAJECTORY_H_
