#include "collector/histogram.h"

#include <algorithm>
#include <cmath>

namespace hoplat {
namespace {

constexpr int kSub = 1 << Histogram::kSubBits;  // 128

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(absl::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

int Histogram::BucketOf(int64_t value) {
  const uint64_t v = static_cast<uint64_t>(value);
  if (v < 2 * kSub) return static_cast<int>(v);
  const int e = 63 - __builtin_clzll(v);  // >= kSubBits + 1
  const int shift = e - kSubBits;
  return (shift + 1) * kSub + static_cast<int>((v >> shift) - kSub);
}

int64_t Histogram::BucketLow(int b) {
  if (b < 2 * kSub) return b;
  const int shift = b / kSub - 1;
  return static_cast<int64_t>(static_cast<uint64_t>(kSub + b % kSub) << shift);
}

int64_t Histogram::BucketHigh(int b) {
  if (b < 2 * kSub) return b;
  const int shift = b / kSub - 1;
  return BucketLow(b) + ((int64_t{1} << shift) - 1);  // parenthesised: the top bucket ends at INT64_MAX
}

void Histogram::Add(int64_t value) {
  if (value < 0) value = 0;  // callers count negatives as clock errors first
  const int b = BucketOf(value);
  if (static_cast<size_t>(b) >= buckets_.size()) buckets_.resize(b + 1);
  ++buckets_[b];
  if (count_ == 0 || value < min_) min_ = value;
  if (count_ == 0 || value > max_) max_ = value;
  ++count_;
  sum_ += value;
}

void Histogram::Merge(const Histogram& o) {
  if (o.count_ == 0) return;
  if (o.buckets_.size() > buckets_.size()) buckets_.resize(o.buckets_.size());
  for (size_t i = 0; i < o.buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
  if (count_ == 0 || o.min_ < min_) min_ = o.min_;
  if (count_ == 0 || o.max_ > max_) max_ = o.max_;
  count_ += o.count_;
  sum_ += o.sum_;
}

int64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      const int64_t lo = BucketLow(static_cast<int>(b));
      const int64_t hi = BucketHigh(static_cast<int>(b));
      return std::clamp(lo + (hi - lo) / 2, min_, max_);
    }
  }
  return max_;
}

// Layout: varint count, zigzag-free varint sum (sum >= 0), varint min, varint
// max, then (varint bucket gap, varint count) for each non-empty bucket.
std::string Histogram::Serialize() const {
  std::string out;
  PutVarint(count_, &out);
  PutVarint(static_cast<uint64_t>(sum_), &out);
  PutVarint(static_cast<uint64_t>(min()), &out);
  PutVarint(static_cast<uint64_t>(max()), &out);
  size_t prev = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    if (buckets_[b] == 0) continue;
    PutVarint(b - prev, &out);
    PutVarint(buckets_[b], &out);
    prev = b;
  }
  return out;
}

absl::Status Histogram::Deserialize(absl::string_view in) {
  Histogram h;
  uint64_t count, sum, min, max;
  if (!GetVarint(&in, &count) || !GetVarint(&in, &sum) || !GetVarint(&in, &min) ||
      !GetVarint(&in, &max)) {
    return absl::DataLossError("histogram: truncated header");
  }
  const int kMaxBucket = BucketOf(INT64_MAX);
  uint64_t bucket = 0, total = 0;
  while (!in.empty()) {
    uint64_t gap, n;
    if (!GetVarint(&in, &gap) || !GetVarint(&in, &n)) {
      return absl::DataLossError("histogram: truncated bucket");
    }
    bucket += gap;
    if (bucket > static_cast<uint64_t>(kMaxBucket)) {
      return absl::DataLossError("histogram: bucket out of range");
    }
    if (bucket >= h.buckets_.size()) h.buckets_.resize(bucket + 1);
    h.buckets_[bucket] += n;
    total += n;
  }
  if (total != count) return absl::DataLossError("histogram: counts do not add up");
  h.count_ = count;
  h.sum_ = static_cast<int64_t>(sum);
  h.min_ = static_cast<int64_t>(min);
  h.max_ = static_cast<int64_t>(max);
  *this = std::move(h);
  return absl::OkStatus();
}

}  // namespace hoplat
