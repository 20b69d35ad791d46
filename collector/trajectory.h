#ifndef HOPLAT_COLLECTOR_TRAJECTORY_H_
#define HOPLAT_COLLECTOR_TRAJECTORY_H_

#include <cstdint>
#include <vector>

#include "common/observation.h"

namespace hoplat {

// One packet (one hash) seen at one node. `node` is whatever small integer
// the caller uses to name nodes.
struct Sighting {
  uint32_t node = 0;
  uint64_t arrival_ns = 0;
  uint64_t exit_ns = 0;
  uint64_t residence_ns = 0;  // monotonic; 0: not known (exit - arrival then)
  uint32_t ttl = 0;           // at arrival; 0: not known
  uint32_t flags = 0;         // HOPLAT_F_*: sent, forwarded or delivered here
  uint64_t queue_ns = 0;      // exit hook to driver hand-off, with HOPLAT_F_HANDOFF
  uint32_t ifindex_out = 0;

  static Sighting Of(uint32_t node, const Observation& o) {
    return Sighting{node,    o.arrival_ns, o.exit_ns,     o.residence_ns,
                    o.ttl,   o.flags,      o.queue_ns,    o.ifindex_out};
  }
  bool has_queue() const { return (flags & Observation::kFlagHandoff) != 0; }
  // When it left for the wire: the hand-off when timed, else the exit hook.
  uint64_t departure_ns() const { return exit_ns + (has_queue() ? queue_ns : 0); }
};

// Splits every sighting of one hash into trajectories: one packet's crossing
// of the network, in path order.
//
// Sightings more than `window_ns` apart (arrival to arrival, in time order)
// belong to different crossings. Within a cluster, a node seen again with a
// lower TTL, after another node saw a TTL in between, saw the same packet
// come round: a routing loop, one trajectory that holds the node twice
// (IsLoop). Any other repeat is a copy of identical bytes (a retransmission,
// perhaps over another path): the i-th sighting at each node goes to the
// i-th trajectory, first in first out.
//
// Path order does not trust clocks when it need not: every router lowers
// the TTL, so a trajectory whose sightings all carry one is ordered by TTL,
// highest first, then by where the packet was (sent before forwarded before
// delivered: a sender and the first router see one TTL), then by arrival.
// Without TTLs (older agents), or where they do not fall at every router (a
// bridge that does not lower it), it is ordered by arrival. `sightings` is
// reordered; `out` is replaced.
void SplitTrajectories(std::vector<Sighting>* sightings, uint64_t window_ns,
                       std::vector<std::vector<Sighting>>* out);

// True if a node appears twice: the packet looped (never latency).
bool IsLoop(const std::vector<Sighting>& trajectory);

// Latencies along one trajectory, as the API defines them. Signed: a negative
// value means the two nodes' clocks disagree by more than the latency.
// Residence (arrival to the exit hook: forwarding) and queueing are on the
// router's monotonic clock when the agent sent them. A hop is the wire: from
// the hand-off to the driver at one router (its exit hook when the hand-off
// was not timed) to arrival at the next. A span ends when the packet left
// its last node.
inline int64_t Residence(const Sighting& s) {
  return s.residence_ns != 0 ? static_cast<int64_t>(s.residence_ns)
                             : static_cast<int64_t>(s.exit_ns - s.arrival_ns);
}
inline int64_t HopLatency(const Sighting& from, const Sighting& to) {
  return static_cast<int64_t>(to.arrival_ns - from.departure_ns());
}
inline int64_t SpanLatency(const Sighting& first, const Sighting& last) {
  return static_cast<int64_t>(last.departure_ns() - first.arrival_ns);
}

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_TRAJECTORY_H_
