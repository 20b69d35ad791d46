#ifndef HOPLAT_COLLECTOR_AGGREGATE_H_
#define HOPLAT_COLLECTOR_AGGREGATE_H_

#include <cstdint>
#include <string>

#include "collector/clock_correction.h"
#include "collector/histogram.h"

namespace hoplat {

// What one per-minute aggregate row describes, and what its key names
// (collector/aggregate_key.h builds and reads the key text). The numbers
// are stored: never renumber.
enum class AggKind : int {
  kPath = 1,        // r1>r2>r3: first arrival to last exit, per exact path
  kSpan = 2,        // r1>r3: arrival at r1 to exit at r3, over every path through both
  kHop = 3,         // r1>r2: consecutive nodes, r2 arrival minus r1 exit
  kResidence = 4,   // r1: exit minus arrival inside r1
  kSingleNode = 5,  // r1: packets only r1 saw (packets counts them)
  // r1>r2>r1>r2: packets that looped (a node seen again with a lower TTL);
  // the samples are first arrival to last exit, in no other kind.
  kLoop = 6,
  // r1>r2: routers without hoplat between r1 and r2 on packets that crossed
  // both with TTLs known (the TTL fell by more than one router's worth):
  // one sample per such hop, its value the number of those routers.
  kHiddenRouters = 7,
  // r1:5: time in r1's egress queue toward interface 5 (exit hook to the
  // hand-off to the driver), packets whose hand-off was timed.
  kQueue = 8,
};
// Every kind, for what must visit them all (retention).
inline constexpr AggKind kAllAggKinds[] = {AggKind::kPath,      AggKind::kSpan,
                                           AggKind::kHop,       AggKind::kResidence,
                                           AggKind::kSingleNode, AggKind::kLoop,
                                           AggKind::kHiddenRouters, AggKind::kQueue};
// A kind's place in kAllAggKinds. The switch has no default: a kind added to
// the enum and not here is a compile error, and the assertion below then
// holds the list to it.
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
constexpr int AggKindPosition(AggKind kind) {
  switch (kind) {
    case AggKind::kPath: return 0;
    case AggKind::kSpan: return 1;
    case AggKind::kHop: return 2;
    case AggKind::kResidence: return 3;
    case AggKind::kSingleNode: return 4;
    case AggKind::kLoop: return 5;
    case AggKind::kHiddenRouters: return 6;
    case AggKind::kQueue: return 7;
  }
  return -1;  // not a kind
}
#pragma GCC diagnostic pop
constexpr bool EveryAggKindListed() {
  constexpr int n = sizeof(kAllAggKinds) / sizeof(kAllAggKinds[0]);
  for (int v = 0; v < 64; ++v) {  // every stored number a kind may have
    const int p = AggKindPosition(static_cast<AggKind>(v));
    if (p != -1 && (p >= n || kAllAggKinds[p] != static_cast<AggKind>(v))) return false;
  }
  for (int i = 0; i < n; ++i) {
    if (AggKindPosition(kAllAggKinds[i]) != i) return false;
  }
  return true;
}
static_assert(EveryAggKindListed(), "kAllAggKinds must list every AggKind once, in order");

inline constexpr int64_t kNsPerMinute = 60'000'000'000;

// A latency distribution plus what does not belong in it.
struct LatencyAggregate {
  Histogram latency;          // non-negative samples, corrected for clock offsets
  uint64_t packets = 0;       // samples offered, including clock errors
  uint64_t clock_errors = 0;  // negative samples: counted, never added
  // Samples between two clocks that nothing bounds (ClockMethod::kNone):
  // counted, never added.
  uint64_t unsynchronized = 0;
  // Hash of the packet with the largest sample; of equal ones the smallest
  // hash, so that the answer does not depend on the order packets came in.
  uint64_t slowest_hash = 0;
  // The clock bound of the samples added (and of the clock errors): the
  // largest, with the method that gave it (of equal ones the higher
  // number), and their sum for the mean. kNone: every sample was
  // unsynchronised; kUnspecified: no sample, or rows from before
  // corrections were made.
  int64_t bound_max_ns = 0;
  uint64_t bound_sum_ns = 0;
  ClockMethod bound_method = ClockMethod::kUnspecified;

  // A latency between two clocks: corrected, or counted as unsynchronised.
  void Add(int64_t raw, uint64_t hash, const ClockCorrection& c) {
    if (!c.synchronized()) {
      ++packets;
      ++unsynchronized;
      NoteBound(0, ClockMethod::kNone);
      return;
    }
    NoteBound(c.bound_ns, c.method);
    AddBound(static_cast<uint64_t>(c.bound_ns));
    Add(c.Apply(raw), hash);
  }
  // A latency on one clock (residence), or one the caller corrected.
  void Add(int64_t value, uint64_t hash) {
    ++packets;
    if (value < 0) {
      ++clock_errors;
      return;
    }
    if (latency.count() == 0 || value > latency.max() ||
        (value == latency.max() && hash < slowest_hash)) {
      slowest_hash = hash;
    }
    latency.Add(value);
  }
  void Merge(const LatencyAggregate& o) {
    if (o.latency.count() > 0 &&
        (latency.count() == 0 || o.latency.max() > latency.max() ||
         (o.latency.max() == latency.max() && o.slowest_hash < slowest_hash))) {
      slowest_hash = o.slowest_hash;
    }
    latency.Merge(o.latency);
    packets += o.packets;
    clock_errors += o.clock_errors;
    unsynchronized += o.unsynchronized;
    AddBound(o.bound_sum_ns);
    if (o.bound_method != ClockMethod::kUnspecified) NoteBound(o.bound_max_ns, o.bound_method);
  }

 private:
  // Saturating: bounds of saturated reported errors must not wrap the mean.
  void AddBound(uint64_t b) { bound_sum_ns = b > UINT64_MAX - bound_sum_ns ? UINT64_MAX : bound_sum_ns + b; }
  void NoteBound(int64_t bound, ClockMethod method) {
    // kNone only says that something was not bounded; any bound replaces it.
    if (method == ClockMethod::kNone) {
      if (bound_method == ClockMethod::kUnspecified) bound_method = method;
      return;
    }
    if (bound_method == ClockMethod::kUnspecified || bound_method == ClockMethod::kNone ||
        bound > bound_max_ns ||
        (bound == bound_max_ns && method > bound_method)) {
      bound_max_ns = bound;
      bound_method = method;
    }
  }
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_AGGREGATE_H_
