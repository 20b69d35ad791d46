#ifndef HOPLAT_COMMON_OBSERVATION_H_
#define HOPLAT_COMMON_OBSERVATION_H_

#include <cstdint>

namespace hoplat {

// One packet seen by one router: what the kernel module records, as the
// agent sends it and the collector stores it. Times are the router's own
// wall clock in ns since the Unix epoch; exit is the exit hook's
// (POST_ROUTING or LOCAL_IN), before the egress queue.
struct Observation {
  uint64_t hash = 0;
  uint64_t arrival_ns = 0;
  uint64_t exit_ns = 0;
  uint32_t ifindex_in = 0;
  uint32_t ifindex_out = 0;
  uint32_t length = 0;
  uint32_t flags = 0;
  // Exit minus arrival on the router's monotonic clock, immune to steps of
  // the wall clock; 0 if not known (an older agent): then exit - arrival.
  uint64_t residence_ns = 0;
  // IPv4 TTL / IPv6 hop limit at arrival; 0 if not known.
  uint32_t ttl = 0;
  // Wire packets in the skb (a GRO/GSO aggregate holds several), >= 1.
  uint32_t gso_segs = 1;
  // Exit hook (POST_ROUTING) to the hand-off to the driver, after the
  // qdisc, on the monotonic clock: the egress queue. Meaningful only with
  // kFlagHandoff in flags (0 otherwise).
  uint64_t queue_ns = 0;

  // HOPLAT_F_HANDOFF of the record (kmod/include/uapi/linux/hoplat.h).
  static constexpr uint32_t kFlagHandoff = 1u << 6;
  bool has_queue() const { return (flags & kFlagHandoff) != 0; }
  // When the packet left this router for the wire: its hand-off to the
  // driver when timed, else its exit hook.
  uint64_t departure_ns() const { return exit_ns + (has_queue() ? queue_ns : 0); }

  // The residence to report: the monotonic one when known.
  int64_t Residence() const {
    return residence_ns != 0 ? static_cast<int64_t>(residence_ns)
                             : static_cast<int64_t>(exit_ns - arrival_ns);
  }

  bool operator==(const Observation& o) const {
    return hash == o.hash && arrival_ns == o.arrival_ns && exit_ns == o.exit_ns &&
           ifindex_in == o.ifindex_in && ifindex_out == o.ifindex_out &&
           length == o.length && flags == o.flags && residence_ns == o.residence_ns &&
           ttl == o.ttl && gso_segs == o.gso_segs && queue_ns == o.queue_ns;
  }
};

}  // namespace hoplat

#endif  // HOPLAT_COMMON_OBSERVATION_H_
