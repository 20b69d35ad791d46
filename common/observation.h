#ifndef HOPLAT_COMMON_OBSERVATION_H_
#define HOPLAT_COMMON_OBSERVATION_H_

#include <cstdint>

namespace hoplat {

// One packet seen by one router: what the kernel module records, as the
// agent sends it and the collector stores it. Times are the router's own
// wall clock in ns since the Unix epoch.
struct Observation {
  uint64_t hash = 0;
  uint64_t arrival_ns = 0;
  uint64_t exit_ns = 0;
  uint32_t ifindex_in = 0;
  uint32_t ifindex_out = 0;
  uint32_t length = 0;
  uint32_t flags = 0;

  bool operator==(const Observation& o) const {
    return hash == o.hash && arrival_ns == o.arrival_ns && exit_ns == o.exit_ns &&
           ifindex_in == o.ifindex_in && ifindex_out == o.ifindex_out &&
           length == o.length && flags == o.flags;
  }
};

}  // namespace hoplat

#endif  // HOPLAT_COMMON_OBSERVATION_H_
