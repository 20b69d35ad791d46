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

ClockOffsetEstimator::Estimate ClockOffsetEstimator::Fit(const Pair& p, uint64_t t_ns) const {
  Estimate e;
  struct Point {
    double t;  // ns, relative to the first point
    int64_t mid_ns;
    double offset;
    double bound;
  };
  std::vector<Point> points;
  for (const Interval& i : p.intervals) {
    if (!i.complete()) continue;
    e.samples += i.samples;
    const int64_t mid = i.index * interval_ns_ + interval_ns_ / 2;
    const double offset = (static_cast<double>(i.min_forward) - static_cast<double>(i.min_reverse)) / 2;
    const double bound =
        std::max(0.0, (static_cast<double>(i.min_forward) + static_cast<double>(i.min_reverse)) / 2);
    points.push_back(Point{0, mid, offset, bound});
  }
  if (points.empty()) return e;
  for (Point& pt : points) pt.t = static_cast<double>(pt.mid_ns - points.front().mid_ns);
  const auto nearest = std::min_element(points.begin(), points.end(), [&](const Point& a, const Point& b) {
    return std::llabs(a.mid_ns - static_cast<int64_t>(t_ns)) <
           std::llabs(b.mid_ns - static_cast<int64_t>(t_ns));
  });
  const double away = static_cast<double>(static_cast<int64_t>(t_ns) - nearest->mid_ns);
  if (std::abs(away) > static_cast<double>(absl::ToInt64Nanoseconds(options_.max_age))) return e;

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
  e.valid = true;
  e.offset_ns = static_cast<int64_t>(std::llround(nearest->offset + slope * away));
  // The nearest interval's own bound, what the drift moved inside it (its
  // fastest packets each way need not be at one instant), and what an
  // uncertain drift adds on the way from it to t.
  e.bound_ns = static_cast<int64_t>(std::ceil(nearest->bound +
                                              std::abs(slope) * static_cast<double>(interval_ns_) / 2 +
                                              2 * slope_error * std::abs(away)));
  e.drift_ppm = slope * 1e6;
  e.updated_ns = static_cast<uint64_t>(points.back().mid_ns);
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
  Estimate e = Fit(it->second, t_ns);
  if (swapped) {
    e.offset_ns = -e.offset_ns;
    e.drift_ppm = -e.drift_ppm;
  }
  return e;
}

std::vector<std::pair<std::pair<uint32_t, uint32_t>, ClockOffsetEstimator::Estimate>>
ClockOffsetEstimator::Latest(uint64_t now_ns) const {
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, Estimate>> out;
  for (const auto& [key, pair] : pairs_) out.emplace_back(key, Fit(pair, now_ns));
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
