#ifndef HOPLAT_COLLECTOR_CLOCK_CORRECTION_H_
#define HOPLAT_COLLECTOR_CLOCK_CORRECTION_H_

#include <cstdint>
#include <string>

#include "collector/clock_offset.h"

namespace hoplat {

// How the offset between two nodes' clocks is known. The numbers are those
// of hoplat.v1.ClockMethod, and stored: never renumber. Stronger first in
// what they promise: one clock (exact), measured both ways or reported by
// both clocks' discipline (bounded), nothing (unsynchronised).
enum class ClockMethod : uint8_t {
  kUnspecified = 0,  // rows from before corrections were made
  kSharedClock = 1,
  kReported = 2,
  kNone = 3,
  kPassiveTwoWay = 4,
};

// What a node says of its clock (hoplat.v1.ClockState).
struct NodeClock {
  std::string domain;  // empty: shares its clock with nobody
  bool synchronized = false;
  uint64_t error_ns = 0;  // estimated error against true time, if synchronized
};

// An offset to take out of a latency measured between two nodes' clocks
// (the later node's time minus the earlier one's), and how well it is
// known: the true offset lies within offset_ns +- bound_ns.
struct ClockCorrection {
  ClockMethod method = ClockMethod::kNone;
  int64_t offset_ns = 0;  // the later node's clock minus the earlier's
  int64_t bound_ns = 0;

  // kNone: nothing bounds the offset. Such a latency is no number at all:
  // it is counted apart, never mixed into the figures.
  bool synchronized() const { return method != ClockMethod::kNone; }
  int64_t Apply(int64_t raw_ns) const { return raw_ns - offset_ns; }

  static ClockCorrection Exact() { return {ClockMethod::kSharedClock, 0, 0}; }
};

// The best correction between nodes a and b (b's clock minus a's): none
// needed when they read one clock; else the smaller valid bound of the
// passive estimate and the two clocks' reported errors (offset 0, both
// clocks synchronised); else kNone.
ClockCorrection ChooseCorrection(const NodeClock& a, const NodeClock& b,
                                 const ClockOffsetEstimator::Estimate& passive);

// a -> c through b: offsets and bounds add up; unsynchronised if either is.
// The method is that of the part with the larger bound (shared only if
// both are).
ClockCorrection Chain(const ClockCorrection& ab, const ClockCorrection& bc);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_CLOCK_CORRECTION_H_
