#include "collector/clock_offset.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>

namespace hoplat {

ClockOffsetEstimator::ClockOffsetEstimator(ClockOffsetOptions options)
    : options_(options), interval_ns_(absl::ToInt64Nanoseconds(options.interval)) {}

void ClockOffsetEstimator::AddHop(uint32_t from, uint32_t to, uint64_t at_ns,
                                  int64_t raw_hop_ns) {
  if (from == to) return;
  const bool forward = from < to;
  Pair& p = pairs_[forward ? std::make_pair(from, to) : std::make_pair(to, from)];
  const int64_t index = static_cast<int64_t>(at_ns) / interval_ns_;
  p.last_index = std::max(p.last_index, index);
  // Hops come nearly in time order: the interval is at the back, or close.
  auto pos = p.intervals.end();
  while (pos != p.intervals.begin() && std::prev(pos)->index > index) --pos;
  Interval* target;
  if (pos != p.intervals.begin() && std::prev(pos)->index == index) {
    target = &*std::prev(pos);
  } else if (pos == p.intervals.begin() && p.intervals.size() >= options_.history) {
    return;  // older than everything kept
  } else {
    Interval fresh;
    fresh.index = index;
    target = &*p.intervals.insert(pos, fresh);
  }
  int64_t& m = forward ? target->min_forward : target->min_reverse;
  if (raw_hop_ns < m) {
    m = raw_hop_ns;
    (forward ? target->forward_at : target->reverse_at) = at_ns;
  }
  ++target->samples;
  while (p.intervals.size() > options_.history) p.intervals.pop_front();
}

void ClockOffsetEstimator::NoteHop(uint32_t from, uint32_t to, uint64_t at_ns) {
  if (from == to) return;
  Pair& p = pairs_[from < to ? std::make_pair(from, to) : std::make_pair(to, from)];
  p.last_index = std::max(p.last_index, static_cast<int64_t>(at_ns) / interval_ns_);
}

ClockOffsetEstimator::Line ClockOffsetEstimator::FitLine(const Pair& p, int64_t lo, int64_t hi,
                                                         size_t min_points) const {
  Line line;
  std::vector<const Interval*> used;
  for (const Interval& i : p.intervals) {
    if (!i.complete() || i.index < lo || i.index > hi) continue;
    line.samples += i.samples;
    used.push_back(&i);
  }
  if (used.empty() || used.size() < min_points) return line;

  // Each interval's estimate at its middle, its fastest hop each way carried
  // there along `slope` (a raw hop A -> B at t is its delay plus
  // theta(t) = theta(mid) + slope * (t - mid)).
  const int64_t origin = used.front()->index * interval_ns_;
  std::vector<double> mid(used.size()), offset(used.size());
  auto place = [&](double slope) {
    for (size_t k = 0; k < used.size(); ++k) {
      const Interval& i = *used[k];
      const int64_t m = i.index * interval_ns_ + interval_ns_ / 2;
      mid[k] = static_cast<double>(m - origin);
      const double f = static_cast<double>(i.min_forward) -
                       slope * static_cast<double>(static_cast<int64_t>(i.forward_at) - m);
      const double r = static_cast<double>(i.min_reverse) +
                       slope * static_cast<double>(static_cast<int64_t>(i.reverse_at) - m);
      offset[k] = (f - r) / 2;
    }
  };
  // Least squares over the intervals: the slope is the drift. Fitted twice:
  // the second time on offsets placed along the first fit's drift.
  double slope = 0, slope_error = 500e-6;
  for (int pass = 0; pass < 2 && used.size() >= 3; ++pass) {
    place(slope);
    const double n = static_cast<double>(used.size());
    double mt = 0, mo = 0;
    for (size_t k = 0; k < used.size(); ++k) mt += mid[k], mo += offset[k];
    mt /= n;
    mo /= n;
    double stt = 0, sto = 0;
    for (size_t k = 0; k < used.size(); ++k) {
      stt += (mid[k] - mt) * (mid[k] - mt);
      sto += (mid[k] - mt) * (offset[k] - mo);
    }
    if (stt <= 0) break;
    slope = sto / stt;
    double ss = 0;
    for (size_t k = 0; k < used.size(); ++k) {
      const double r = offset[k] - (mo + slope * (mid[k] - mt));
      ss += r * r;
    }
    slope_error = 2 * std::sqrt(ss / (n - 2) / stt);
  }
  line.valid = true;
  line.slope = slope;
  line.slope_error = std::max(slope_error, options_.min_drift_uncertainty_ppm * 1e-6);
  int64_t last = 0;
  for (const Interval* i : used) {
    line.forward.push_back({static_cast<int64_t>(i->forward_at), static_cast<double>(i->min_forward)});
    line.reverse.push_back({static_cast<int64_t>(i->reverse_at), static_cast<double>(i->min_reverse)});
    last = std::max({last, static_cast<int64_t>(i->forward_at), static_cast<int64_t>(i->reverse_at)});
  }
  line.last_at = last;
  line.upper_at_last = INFINITY;
  line.lower_at_last = -INFINITY;
  for (const Line::Fastest& f : line.forward) {
    const double d = static_cast<double>(last - f.at_ns);
    line.upper_at_last = std::min(line.upper_at_last, f.hop_ns + (slope + slope_error) * d);
  }
  for (const Line::Fastest& r : line.reverse) {
    const double d = static_cast<double>(last - r.at_ns);
    line.lower_at_last = std::max(line.lower_at_last, -r.hop_ns + (slope - slope_error) * d);
  }
  line.updated_ns = static_cast<uint64_t>(used.back()->index * interval_ns_ + interval_ns_ / 2);
  return line;
}

ClockOffsetEstimator::Estimate ClockOffsetEstimator::EstimateAt(const Line& line,
                                                                uint64_t t_ns) const {
  Estimate e;
  e.samples = line.samples;
  if (!line.valid) return e;
  const int64_t t = static_cast<int64_t>(t_ns);
  const double newest = static_cast<double>(line.updated_ns);
  if (std::abs(static_cast<double>(t_ns) - newest) >
      static_cast<double>(absl::ToInt64Nanoseconds(options_.max_age))) {
    return e;
  }
  double upper, lower;
  if (t >= line.last_at) {
    // After every sample (every correction): linear from last_at.
    const double d = static_cast<double>(t - line.last_at);
    upper = line.upper_at_last + (line.slope + line.slope_error) * d;
    lower = line.lower_at_last + (line.slope - line.slope_error) * d;
  } else {
    upper = INFINITY;
    lower = -INFINITY;
    for (const Line::Fastest& f : line.forward) {
      const double d = static_cast<double>(t - f.at_ns);
      upper = std::min(upper, f.hop_ns + line.slope * d + line.slope_error * std::abs(d));
    }
    for (const Line::Fastest& r : line.reverse) {
      const double d = static_cast<double>(t - r.at_ns);
      lower = std::max(lower, -r.hop_ns + line.slope * d - line.slope_error * std::abs(d));
    }
  }
  // Bounds that cross: the hops contradict a clock drifting along a line
  // (it was stepped): no estimate until the step leaves the span.
  if (!(upper >= lower)) return e;
  e.valid = true;
  e.offset_ns = static_cast<int64_t>(std::llround((upper + lower) / 2));
  e.bound_ns = static_cast<int64_t>(std::ceil((upper - lower) / 2));
  e.drift_ppm = line.slope * 1e6;
  e.updated_ns = line.updated_ns;
  return e;
}

ClockOffsetEstimator::Estimate ClockOffsetEstimator::Oriented(Estimate e, bool swapped) const {
  if (swapped) {
    e.offset_ns = -e.offset_ns;
    e.drift_ppm = -e.drift_ppm;
  }
  return e;
}

ClockOffsetEstimator::Estimate ClockOffsetEstimator::At(uint32_t a, uint32_t b,
                                                        uint64_t t_ns) const {
  if (a == b) return Same();
  auto it = pairs_.find(Key(a, b));
  if (it == pairs_.end()) return Estimate{};
  return Oriented(EstimateAt(FitLine(it->second, INT64_MIN, INT64_MAX, 1), t_ns), a > b);
}

ClockOffsetEstimator::Estimate ClockOffsetEstimator::Correction(uint32_t a, uint32_t b,
                                                                uint64_t t_ns) {
  if (a == b) return Same();
  auto it = pairs_.find(Key(a, b));
  if (it == pairs_.end()) return Estimate{};
  const bool swapped = a > b;
  Pair& p = it->second;
  const int64_t index = static_cast<int64_t>(t_ns) / interval_ns_;
  if (p.correction_for != index) {
    const int64_t hi = index - options_.correction_lag;
    const int64_t lo = hi - static_cast<int64_t>(options_.correction_span) + 1;
    p.correction = FitLine(p, lo, hi, options_.correction_min_intervals);
    p.correction_for = index;
  }
  return Oriented(EstimateAt(p.correction, t_ns), swapped);
}

absl::Duration CorrectionWarmup(const ClockOffsetOptions& options) {
  return options.interval *
         static_cast<double>(options.correction_lag + static_cast<int64_t>(options.correction_span) + 1);
}


std::vector<std::pair<std::pair<uint32_t, uint32_t>, ClockOffsetEstimator::Estimate>>
ClockOffsetEstimator::Latest(uint64_t now_ns) const {
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, Estimate>> out;
  for (const auto& [key, pair] : pairs_) {
    out.emplace_back(key, EstimateAt(FitLine(pair, INT64_MIN, INT64_MAX, 1), now_ns));
  }
  return out;
}

void ClockOffsetEstimator::Prune(uint64_t now_ns) {
  const int64_t horizon =
      static_cast<int64_t>(now_ns) - absl::ToInt64Nanoseconds(options_.max_age);
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    const bool stale = (it->second.last_index + 1) * interval_ns_ < horizon;
    it = stale ? pairs_.erase(it) : std::next(it);
  }
}

}  // namespace hoplat
