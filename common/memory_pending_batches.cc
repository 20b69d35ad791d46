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
  // Make room, counting what goes.
  while (!batches_.empty() && bytes_ + size > max_bytes_) {
    auto victim = DropForRoom(batches_, sent_);
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
  auto it = FirstUnsent(batches_, sent_);
  if (it == batches_.end()) return absl::NotFoundError("every pending batch has been sent");
  return it->second.batch;
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
