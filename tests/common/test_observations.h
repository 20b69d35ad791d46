#ifndef HOPLAT_TESTS_COMMON_TEST_OBSERVATIONS_H_
#define HOPLAT_TESTS_COMMON_TEST_OBSERVATIONS_H_

#include <cstdint>
#include <random>
#include <vector>

#include "common/observation.h"

namespace hoplat {

// n observations with every field varied, the same for the same seed.
inline std::vector<Observation> RandomObservations(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Observation> v(n);
  uint64_t t = 1'790'000'000'000'000'000ULL;
  for (Observation& o : v) {
    o.hash = rng();
    t += rng() % 20'000;
    // Per-CPU rings drain out of order: arrival sometimes goes backwards.
    o.arrival_ns = t - rng() % 5'000;
    o.exit_ns = o.arrival_ns + rng() % 100'000 - (rng() % 50 == 0 ? 200'000 : 0);
    o.ifindex_in = static_cast<uint32_t>(rng() % 8);
    o.ifindex_out = static_cast<uint32_t>(rng() % 8);
    o.length = static_cast<uint32_t>(rng() % 9000);
    o.flags = static_cast<uint32_t>(rng());
    // The monotonic residence is the wall one unless the clock moved.
    o.residence_ns = static_cast<uint64_t>(static_cast<int64_t>(o.exit_ns - o.arrival_ns));
    if (rng() % 100 == 0) o.residence_ns = rng() % 100'000 + 1;
    o.ttl = static_cast<uint32_t>(rng() % 255 + 1);
    o.gso_segs = rng() % 10 == 0 ? static_cast<uint32_t>(rng() % 44 + 2) : 1;
    // Timed hand-offs: mostly tens of microseconds, sometimes a full queue.
    if (o.has_queue()) o.queue_ns = rng() % 4 == 0 ? rng() % 50'000'000 : rng() % 100'000;
  }
  return v;
}

}  // namespace hoplat

#endif  // HOPLAT_TESTS_COMMON_TEST_OBSERVATIONS_H_
