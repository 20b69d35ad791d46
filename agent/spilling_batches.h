#ifndef HOPLAT_AGENT_SPILLING_BATCHES_H_
#define HOPLAT_AGENT_SPILLING_BATCHES_H_

#include <cstdint>
#include <optional>

#include "agent/spool.h"
#include "common/memory_pending_batches.h"
#include "common/pending_batches.h"

namespace hoplat {

// Batches waiting for an acknowledgement, for an agent with a spool. A
// batch that goes on the wire at once (AppendSendingNow: the collector is
// there, the window has room, nothing older waits) waits for its ack in
// memory, so that a healthy collector costs no disk write or fsync per
// batch on the router. Every other batch waits on disk, and when the
// stream breaks, what was in memory is written to the spool before it is
// sent again. A SIGKILL therefore loses at most the batches on the wire at
// that moment (one window), as it would without a spool; whatever had to
// wait is on disk.
class SpillingBatches : public PendingBatches {
 public:
  explicit SpillingBatches(Spool* spool) : spool_(spool) {}

  absl::Status Append(v1::ObservationBatch batch) override {
    return spool_->Append(std::move(batch));
  }
  absl::Status AppendSendingNow(v1::ObservationBatch batch) override;
  bool has_unsent() const override { return memory_.has_unsent() || spool_->has_unsent(); }
  absl::StatusOr<v1::ObservationBatch> NextUnsent() override;
  void MarkSent(uint64_t seq) override;
  void Release(uint64_t seq) override;
  void Unsend() override;
  std::optional<uint64_t> Discard(uint64_t seq) override;

  bool empty() const override { return memory_.empty() && spool_->empty(); }
  size_t batches() const override { return memory_.batches() + spool_->batches(); }
  uint64_t bytes() const override { return memory_.bytes() + spool_->bytes(); }
  uint64_t last_seq() const override;
  bool durable() const override { return true; }
  uint64_t dropped_batches() const override {
    return memory_.dropped_batches() + spool_->dropped_batches();
  }
  uint64_t dropped_observations() const override {
    return memory_.dropped_observations() + spool_->dropped_observations();
  }

 private:
  Spool* const spool_;
  MemoryPendingBatches memory_;  // on the wire, not on disk (at most a window)
};

}  // namespace hoplat

#endif  // HOPLAT_AGENT_SPILLING_BATCHES_H_
