#ifndef HOPLAT_COLLECTOR_CLOCK_OFFSET_H_
#define HOPLAT_COLLECTOR_CLOCK_OFFSET_H_

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace hoplat {

// Passive estimate of one router's clock against another's, from the
// packets they exchange (NTP's reasoning on ordinary traffic).
//
// For adjacent routers A and B let theta be B's clock minus A's. A raw hop
// A -> B (B.arrival - A.exit, on two clocks) is its true delay plus theta;
// a raw hop B -> A is its true delay minus theta. Delays are never
// negative, so with the smallest raw hops f (A -> B) and r (B -> A) theta
// lies in [-r, f]: the estimate is (f - r) / 2 and its bound (f + r) / 2,
// the smaller the faster the fastest packets each way.
// A link slower one way than the other biases the estimate by half the
// difference, which the bound always covers. Traffic one way only gives no
// estimate: then nothing is known, and the pair says so (valid false).
//
// A clock drifts (a frequency offset of 100 ppm moves 6 ms a minute), so
// the fastest hops are kept per interval (a second by default), and the
// drift is fitted with a line through the intervals' own estimates (its
// uncertainty twice the fit's standard error; with fewer than three
// intervals, 500 ppm, as much as any clock drifts). Each interval's fastest
// hop each way, carried to time t along the drift, bounds theta(t) from
// above (forward) or below (reverse), the bound widened by the drift's
// uncertainty over the distance: theta(t) is in the intersection of those,
// over every interval used, and the estimate is its middle. So the
// fastest packet each way in the whole span counts, wherever it was, and
// an interval far away counts for less. Packet time, per pair, bounded
// memory.
struct ClockOffsetOptions {
  absl::Duration interval = absl::Seconds(1);
  // Intervals kept per pair (the drift fit's span).
  size_t history = 60;
  // An estimate further than this from the nearest interval with traffic
  // both ways is no estimate.
  absl::Duration max_age = absl::Minutes(2);
  // Correction(): the intervals it fits end this many intervals before the
  // packet's own, and span this many. Every hop in them was counted before
  // any packet that needs them (the correlator closes packets in order of
  // first arrival plus a window, which is shorter than the lag), so a
  // packet's correction is a function of the data alone, never of the order
  // it came in: re-correlating a minute from the store gives the same rows.
  int64_t correction_lag = 2;
  size_t correction_span = 30;
  // Fewer complete intervals than this in that span: no correction (a drift
  // fitted to fewer is too uncertain to carry the offset far).
  size_t correction_min_intervals = 10;
  // The drift's uncertainty is twice the fit's standard error, and at least
  // this: a fit that happens to be perfect still knows a clock's frequency
  // to no better (NTP slews it, temperature moves it).
  double min_drift_uncertainty_ppm = 0.5;
};

// How much data before a time the corrections at that time rest on.
absl::Duration CorrectionWarmup(const ClockOffsetOptions& options);

class ClockOffsetEstimator {
 public:
  explicit ClockOffsetEstimator(ClockOffsetOptions options = {});

  // A raw hop from node `from` to node `to` (to.arrival - from.exit), at
  // at_ns on the clock of the lower-numbered of the two (so that both
  // directions fall into the same intervals).
  void AddHop(uint32_t from, uint32_t to, uint64_t at_ns, int64_t raw_hop_ns);
  // A hop that cannot serve the estimate (ordered by the clocks, not the
  // TTL): the pair is known to be adjacent, nothing more.
  void NoteHop(uint32_t from, uint32_t to, uint64_t at_ns);

  struct Estimate {
    bool valid = false;
    int64_t offset_ns = 0;  // b's clock minus a's
    int64_t bound_ns = 0;   // the true offset is within offset_ns +- bound_ns
    double drift_ppm = 0;   // d(offset)/dt, parts per million
    uint64_t samples = 0;   // raw hops in the kept intervals with traffic both ways
    uint64_t updated_ns = 0;  // middle of the newest interval with traffic both ways
  };
  // b's clock minus a's at packet time t_ns (by a's clock), from every kept
  // interval (what Query.ClockOffsets shows).
  Estimate At(uint32_t a, uint32_t b, uint64_t t_ns) const;
  // The same, from the intervals options.correction_lag and _span pick
  // before t_ns only: what a latency at t_ns is corrected by. One fit per
  // pair and interval (cached): a packet pays for arithmetic only.
  Estimate Correction(uint32_t a, uint32_t b, uint64_t t_ns);
  // Every pair's estimate at now_ns, as (a, b) with a < b: invalid for a
  // pair without traffic both ways within max_age.
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, Estimate>> Latest(uint64_t now_ns) const;
  // Forgets pairs whose newest interval is more than max_age before now_ns.
  void Prune(uint64_t now_ns);

 private:
  struct Interval {
    int64_t index = 0;
    int64_t min_forward = INT64_MAX;  // lower node to higher
    int64_t min_reverse = INT64_MAX;
    uint64_t forward_at = 0;  // when each was (the hop's at_ns)
    uint64_t reverse_at = 0;
    uint64_t samples = 0;
    bool complete() const { return min_forward != INT64_MAX && min_reverse != INT64_MAX; }
  };
  // The drift fitted over some intervals, and each interval's fastest hop
  // each way: what an estimate at any time is made of.
  struct Line {
    bool valid = false;
    double slope = 0;        // ns per ns
    double slope_error = 0;  // twice its standard error: the drift is within slope +- this
    struct Fastest {
      int64_t at_ns;  // when
      double hop_ns;  // the raw hop: forward, or reverse
    };
    std::vector<Fastest> forward, reverse;
    // Once t is after every sample, the bounds are linear in t: the upper
    // bound min(forward + (slope + error) (t - at)) and the lower bound
    // max(-reverse + (slope - error) (t - at)), from last_at on.
    int64_t last_at = 0;
    double upper_at_last = 0, lower_at_last = 0;
    uint64_t samples = 0;
    uint64_t updated_ns = 0;
  };
  struct Pair {
    std::deque<Interval> intervals;  // by index, at most history
    int64_t last_index = 0;          // the newest interval with any hop
    // Correction()'s fit for packets in interval correction_for.
    int64_t correction_for = INT64_MIN;
    Line correction;
  };
  // Over the complete intervals with index in [lo, hi]; at least
  // min_points of them.
  Line FitLine(const Pair& p, int64_t lo, int64_t hi, size_t min_points) const;
  Estimate EstimateAt(const Line& line, uint64_t t_ns) const;
  // The pair (a, b) is kept under, either way round.
  static std::pair<uint32_t, uint32_t> Key(uint32_t a, uint32_t b) {
    return a > b ? std::make_pair(b, a) : std::make_pair(a, b);
  }
  // A node against itself: 0, exact.
  static Estimate Same() {
    Estimate e;
    e.valid = true;
    return e;
  }
  Estimate Oriented(Estimate e, bool swapped) const;

  const ClockOffsetOptions options_;
  const int64_t interval_ns_;
  std::map<std::pair<uint32_t, uint32_t>, Pair> pairs_;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_CLOCK_OFFSET_H_
