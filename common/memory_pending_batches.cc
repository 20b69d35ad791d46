#include "common/memory_pending_batches.h"

namespace hoplat {

absl::Status MemoryPendingBatches::Append(v1::ObservationBatch batch) {
  if (batches_.count(batch.seq()) != 0) return absl::OkStatus();
  // A copy's memory is what the bound counts (the wire size is smaller: the
  // small uint32 columns take a byte or two each there, four here).
  const uint64_t size = batch.SpaceUsedLong();
  if (size > max_bytes_) {
    ++dropped_batches_;
    dropped_observations_ += static_cast<uint64_t>(batch.hash_size());
    return absl::ResourceExhaustedError("batch larger than the whole bound: dropped");
  }
  // Make room: the oldest data not on the wire goes first (what is on the
  // wire is likely acknowledged soon), and is counted.
  while (!batches_.empty() && bytes_ + size > max_bytes_) {
    auto victim = batches_.begin();
    while (victim != batches_.end() && sent_.count(victim->first) != 0) ++victim;
    if (victim == batches_.end()) victim = batches_.begin();
    ++dropped_batches_;
    dropped_observations_ += static_cast<uint64_t>(victim->second.batch.hash_size());
    Remove(victim);
  }
  Held& held = batches_[batch.seq()];
  held.batch = std::move(batch);
  held.bytes = held.batch.SpaceUsedLong();
  bytes_ += held.bytes;
  return absl::OkStatus();
}

void MemoryPendingBatches::Remove(Batches::iterator it) {
  bytes_ -= it->second.bytes;
  sent_.erase(it->first);
  batches_.erase(it);
}

absl::StatusOr<v1::ObservationBatch> MemoryPendingBatches::NextUnsent() {
  // What is in flight is at most a window, at the front: few to skip.
  for (const auto& [seq, held] : batches_) {
    if (sent_.count(seq) == 0) return held.batch;
  }
  return absl::NotFoundError("every pending batch has been sent");
}

void MemoryPendingBatches::Release(uint64_t seq) {
  if (auto it = batches_.find(seq); it != batches_.end()) Remove(it);
}

std::optional<uint64_t> MemoryPendingBatches::Discard(uint64_t seq) {
  auto it = batches_.find(seq);
  if (it == batches_.end()) return std::nullopt;
  const uint64_t observations = static_cast<uint64_t>(it->second.batch.hash_size());
  Remove(it);
  return observations;
}

std::vector<v1::ObservationBatch> MemoryPendingBatches::TakeAll() {
  std::vector<v1::ObservationBatch> out;
  out.reserve(batches_.size());
  for (auto& [seq, held] : batches_) out.push_back(std::move(held.batch));
  batches_.clear();
  sent_.clear();
  bytes_ = 0;
  return out;
}

}  // namespace hoplat
