#ifndef HOPLAT_COLLECTOR_HISTOGRAM_H_
#define HOPLAT_COLLECTOR_HISTOGRAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hoplat {

// Log-linear histogram of non-negative nanosecond values (HDR-style).
//
// Values below 256 have a bucket each; above, every power of two is split
// into 128 equal buckets. A bucket [lo, hi] is reported as its midpoint, so a
// percentile is within 1/256 (0.39 %) of a value in the bucket: well inside
// the 1 % the API promises. count, sum, min and max are exact. Merging two
// histograms is adding their counts, which is what makes per-minute
// aggregates combinable over any time range.
class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr double kMaxRelativeError = 1.0 / 256;

  void Add(int64_t value);  // value >= 0
  void Merge(const Histogram& other);

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }

  // Nearest-rank percentile, q in [0, 1]: the value of rank ceil(q * count)
  // (rank 1 for q = 0), as its bucket's midpoint clamped to [min, max].
  int64_t Percentile(double q) const;

  std::string Serialize() const;
  absl::Status Deserialize(absl::string_view data);  // replaces *this

  static int BucketOf(int64_t value);
  static int64_t BucketLow(int bucket);
  static int64_t BucketHigh(int bucket);

 private:
  std::vector<uint64_t> buckets_;  // grown on demand up to the largest bucket used
  uint64_t count_ = 0;
  // Nanoseconds: a sum overflows after ~9e18 ns (292 years) of total latency.
  int64_t sum_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_HISTOGRAM_H_
