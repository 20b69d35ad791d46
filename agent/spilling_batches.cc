#include "agent/spilling_batches.h"

#include <algorithm>

namespace hoplat {

absl::Status SpillingBatches::AppendSendingNow(v1::ObservationBatch batch) {
  // Only while nothing waits on disk: then whatever is in memory is newer
  // than anything on disk, and the order of sending stays the order of seqs.
  if (spool_->has_unsent()) return spool_->Append(std::move(batch));
  return memory_.Append(std::move(batch));
}

absl::StatusOr<v1::ObservationBatch> SpillingBatches::NextUnsent() {
  // A batch in memory is unsent only for the moment between its append and
  // its write, and it is older than anything unsent on disk (see above).
  if (memory_.has_unsent()) return memory_.NextUnsent();
  return spool_->NextUnsent();
}

void SpillingBatches::MarkSent(uint64_t seq) {
  memory_.MarkSent(seq);
  spool_->MarkSent(seq);
}

void SpillingBatches::Release(uint64_t seq) {
  memory_.Release(seq);
  spool_->Release(seq);
}

void SpillingBatches::Unsend() {
  // The stream broke: what was on the wire from memory now has to wait, so
  // it goes to disk (a batch the spool cannot take is counted there).
  for (v1::ObservationBatch& b : memory_.TakeAll()) spool_->Append(std::move(b)).IgnoreError();
  spool_->Unsend();
}

std::optional<uint64_t> SpillingBatches::Discard(uint64_t seq) {
  if (std::optional<uint64_t> n = memory_.Discard(seq)) return n;
  return spool_->Discard(seq);
}

uint64_t SpillingBatches::last_seq() const {
  return std::max(memory_.last_seq(), spool_->last_seq());
}

}  // namespace hoplat
