#include "common/memory_pending_batches.h"

namespace hoplat {

absl::Status MemoryPendingBatches::Append(const v1::ObservationBatch& batch) {
  if (batches_.count(batch.seq()) != 0) return absl::OkStatus();
  const uint64_t size = SizeOf(batch);
  if (size > max_bytes_) {
    ++dropped_batches_;
    dropped_observations_ += static_cast<uint64_t>(batch.hash_size());
    return absl::ResourceExhaustedError("batch larger than the whole bound: dropped");
  }
  // Make room: the oldest data goes first, and is counted.
  while (!batches_.empty() && bytes_ + size > max_bytes_) {
    auto oldest = batches_.begin();
    ++dropped_batches_;
    dropped_observations_ += static_cast<uint64_t>(oldest->second.hash_size());
    Remove(oldest);
  }
  batches_.emplace(batch.seq(), batch);
  bytes_ += size;
  return absl::OkStatus();
}

void MemoryPendingBatches::Remove(Batches::iterator it) {
  bytes_ -= SizeOf(it->second);
  sent_.erase(it->first);
  batches_.erase(it);
}

absl::StatusOr<v1::ObservationBatch> MemoryPendingBatches::NextUnsent() {
  // What is in flight is at most a window, at the front: few to skip.
  for (const auto& [seq, batch] : batches_) {
    if (sent_.count(seq) == 0) return batch;
  }
  return absl::NotFoundError("every pending batch has been sent");
}

void MemoryPendingBatches::Release(uint64_t seq) {
  if (auto it = batches_.find(seq); it != batches_.end()) Remove(it);
}

uint64_t MemoryPendingBatches::Discard(uint64_t seq) {
  auto it = batches_.find(seq);
  if (it == batches_.end()) return 0;
  const uint64_t observations = static_cast<uint64_t>(it->second.hash_size());
  Remove(it);
  return observations;
}

}  // namespace hoplat
