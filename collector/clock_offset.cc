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
  m = std::min(m, raw_hop_ns);
  ++target->samples;
  while (p.intervals.size() > options_.history) p.intervals.pop_front();
}

void ClockOffsetEstimator::NoteHop(uint32_t from, uint32_t to, uint64_t at_ns) {
  if (from == to) return;
  Pair& p = pairs_[from < to ? std::make_pair(from, to) : std::make_pair(to, from)];
  p.last_index = std::max(p.last_index, static_cast<int64_t>(at_ns) / interval_ns_);
}

ClockOffsetEstimator::Line ClockOffsetEstimator::FitLine(const Pair& p, uint64_t t_ns, int64_t lo,
                                                         int64_t hi, size_t min_points) const {
  Line line;
  struct Point {
    double t;  // ns, relative to the first point
    int64_t mid_ns;
    double offset;
    double bound;
  };
  std::vector<Point> points;
  for (const Interval& i : p.intervals) {
    if (!i.complete() || i.index < lo || i.index > hi) continue;
    line.samples += i.samples;
    const int64_t mid = i.index * interval_ns_ + interval_ns_ / 2;
    const double offset = (static_cast<double>(i.min_forward) - static_cast<double>(i.min_reverse)) / 2;
    const double bound =
        std::max(0.0, (static_cast<double>(i.min_forward) + static_cast<double>(i.min_reverse)) / 2);
    points.push_back(Point{0, mid, offset, bound});
  }
  if (points.empty() || points.size() < min_points) return line;
  for (Point& pt : points) pt.t = static_cast<double>(pt.mid_ns - points.front().mid_ns);
  const auto nearest = std::min_element(points.begin(), points.end(), [&](const Point& a, const Point& b) {
    return std::llabs(a.mid_ns - static_cast<int64_t>(t_ns)) <
           std::llabs(b.mid_ns - static_cast<int64_t>(t_ns));
  });

  // Least squares over the intervals: the slope is the drift.
  // Unknown drift: as much as a clock drifts (500 ppm).
  double slope = 0, slope_error = 500e-6;
  if (points.size() >= 3) {
    double mt = 0, mo = 0;
    for (const Point& pt : points) mt += pt.t, mo += pt.offset;
    mt /= static_cast<double>(points.size());
    mo /= static_cast<double>(points.size());
    double stt = 0, sto = 0;
    for (const Point& pt : points) {
      stt += (pt.t - mt) * (pt.t - mt);
      sto += (pt.t - mt) * (pt.offset - mo);
    }
    if (stt > 0) {
      slope = sto / stt;
      double ss = 0;
      for (const Point& pt : points) {
        const double r = pt.offset - (mo + slope * (pt.t - mt));
        ss += r * r;
      }
      slope_error = std::sqrt(ss / static_cast<double>(points.size() - 2) / stt);
    }
  }
  line.valid = true;
  line.anchor_mid_ns = nearest->mid_ns;
  line.anchor_offset = nearest->offset;
  line.anchor_bound = nearest->bound;
  line.slope = slope;
  line.slope_error = slope_error;
  line.updated_ns = static_cast<uint64_t>(points.back().mid_ns);
  return line;
}

ClockOffsetEstimator::Estimate ClockOffsetEstimator::EstimateAt(const Line& line,
                                                                uint64_t t_ns) const {
  Estimate e;
  e.samples = line.samples;
  if (!line.valid) return e;
  const double away = static_cast<double>(static_cast<int64_t>(t_ns) - line.anchor_mid_ns);
  if (std::abs(away) > static_cast<double>(absl::ToInt64Nanoseconds(options_.max_age))) return e;
  e.valid = true;
  e.offset_ns = static_cast<int64_t>(std::llround(line.anchor_offset + line.slope * away));
  // The anchor interval's own bound, what the drift moved inside it (its
  // fastest packets each way need not be at one instant), and what an
  // uncertain drift adds on the way from it to t.
  e.bound_ns = static_cast<int64_t>(std::ceil(line.anchor_bound +
                                              std::abs(line.slope) * static_cast<double>(interval_ns_) / 2 +
                                              2 * line.slope_error * std::abs(away)));
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
  if (a == b) {
    Estimate same;
    same.valid = true;
    return same;
  }
  const bool swapped = a > b;
  auto it = pairs_.find(swapped ? std::make_pair(b, a) : std::make_pair(a, b));
  if (it == pairs_.end()) return Estimate{};
  return Oriented(EstimateAt(FitLine(it->second, t_ns, INT64_MIN, INT64_MAX, 1), t_ns), swapped);
}

ClockOffsetEstimator::Estimate ClockOffsetEstimator::Correction(uint32_t a, uint32_t b,
                                                                uint64_t t_ns) {
  if (a == b) {
    Estimate same;
    same.valid = true;
    return same;
  }
  const bool swapped = a > b;
  auto it = pairs_.find(swapped ? std::make_pair(b, a) : std::make_pair(a, b));
  if (it == pairs_.end()) return Estimate{};
  Pair& p = it->second;
  const int64_t index = static_cast<int64_t>(t_ns) / interval_ns_;
  if (p.correction_for != index) {
    const int64_t hi = index - options_.correction_lag;
    const int64_t lo = hi - static_cast<int64_t>(options_.correction_span) + 1;
    // Anchored at the newest interval of the span (every one is before t).
    p.correction = FitLine(p, t_ns, lo, hi, options_.correction_min_intervals);
    p.correction_for = index;
  }
  return Oriented(EstimateAt(p.correction, t_ns), swapped);
}

absl::Duration CorrectionWarmup(const ClockOffsetOptions& options) {
  return options.interval *
         static_cast<double>(options.correction_lag + static_cast<int64_t>(options.correction_span) + 1);
}

absl::Duration ClockOffsetEstimator::warmup() const { return CorrectionWarmup(options_); }

std::vector<std::pair<std::pair<uint32_t, uint32_t>, ClockOffsetEstimator::Estimate>>
ClockOffsetEstimator::Latest(uint64_t now_ns) const {
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, Estimate>> out;
  for (const auto& [key, pair] : pairs_) {
    out.emplace_back(key, EstimateAt(FitLine(pair, now_ns, INT64_MIN, INT64_MAX, 1), now_ns));
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
