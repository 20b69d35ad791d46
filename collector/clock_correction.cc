#include "collector/clock_correction.h"

#include <algorithm>
#include <cstdint>

namespace hoplat {
namespace {

// Saturating: an agent's figure must not wrap a bound into a small one.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

}  // namespace

ClockCorrection ChooseCorrection(const NodeClock& a, const NodeClock& b,
                                 const ClockOffsetEstimator::Estimate& passive) {
  if (!a.domain.empty() && a.domain == b.domain) return ClockCorrection::Exact();
  ClockCorrection best;  // kNone
  if (a.synchronized && b.synchronized) {
    const uint64_t cap = static_cast<uint64_t>(INT64_MAX);
    best = {ClockMethod::kReported, 0,
            SaturatingAdd(static_cast<int64_t>(std::min(a.error_ns, cap)),
                          static_cast<int64_t>(std::min(b.error_ns, cap)))};
  }
  if (passive.valid && (!best.synchronized() || passive.bound_ns < best.bound_ns)) {
    best = {ClockMethod::kPassiveTwoWay, passive.offset_ns, passive.bound_ns};
  }
  return best;
}

ClockCorrection Chain(const ClockCorrection& ab, const ClockCorrection& bc) {
  if (!ab.synchronized() || !bc.synchronized()) return ClockCorrection{};
  ClockCorrection out;
  out.offset_ns = ab.offset_ns + bc.offset_ns;
  out.bound_ns = SaturatingAdd(ab.bound_ns, bc.bound_ns);
  if (ab.method == ClockMethod::kSharedClock) {
    out.method = bc.method;
  } else if (bc.method == ClockMethod::kSharedClock) {
    out.method = ab.method;
  } else {
    out.method = ab.bound_ns >= bc.bound_ns ? ab.method : bc.method;
  }
  return out;
}

}  // namespace hoplat
