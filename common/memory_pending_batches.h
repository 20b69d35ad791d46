#ifndef HOPLAT_COMMON_MEMORY_PENDING_BATCHES_H_
#define HOPLAT_COMMON_MEMORY_PENDING_BATCHES_H_

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <vector>

#include "common/pending_batches.h"

namespace hoplat {

// Batches waiting for an acknowledgement, in memory: what an agent without
// a spool directory holds while the collector is away, and what tools and
// tests use. Lost with the process.
class MemoryPendingBatches : public PendingBatches {
 public:
  explicit MemoryPendingBatches(uint64_t max_bytes = std::numeric_limits<uint64_t>::max())
      : max_bytes_(max_bytes) {}

  absl::Status Append(v1::ObservationBatch batch) override;
  bool has_unsent() const override { return batches_.size() > sent_.size(); }
  absl::StatusOr<v1::ObservationBatch> NextUnsent() override;
  void MarkSent(uint64_t seq) override {
    if (batches_.count(seq) != 0) sent_.insert(seq);
  }
  void Release(uint64_t seq) override;
  void Unsend() override { sent_.clear(); }
  std::optional<uint64_t> Discard(uint64_t seq) override;

  bool empty() const override { return batches_.empty(); }
  size_t batches() const override { return batches_.size(); }
  uint64_t bytes() const override { return bytes_; }
  uint64_t last_seq() const override {
    return batches_.empty() ? 0 : batches_.rbegin()->first;
  }
  bool durable() const override { return false; }
  uint64_t dropped_batches() const override { return dropped_batches_; }
  uint64_t dropped_observations() const override { return dropped_observations_; }

  // Hands over every batch held, oldest first, and forgets them.
  std::vector<v1::ObservationBatch> TakeAll();

 private:
  struct Held {
    v1::ObservationBatch batch;
    uint64_t bytes;  // memory it uses, as held (not its wire size)
  };
  using Batches = std::map<uint64_t, Held>;  // by seq
  void Remove(Batches::iterator it);

  const uint64_t max_bytes_;
  Batches batches_;
  uint64_t bytes_ = 0;
  std::set<uint64_t> sent_;  // held and in flight on the current stream
  uint64_t dropped_batches_ = 0;
  uint64_t dropped_observations_ = 0;
};

}  // namespace hoplat

#endif  // HOPLAT_COMMON_MEMORY_PENDING_BATCHES_H_
