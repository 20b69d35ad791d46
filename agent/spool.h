#ifndef HOPLAT_AGENT_SPOOL_H_
#define HOPLAT_AGENT_SPOOL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "hoplat/v1/ingest.pb.h"

namespace hoplat {

// Batches waiting on disk while the collector is away, oldest first, one
// file per batch named by its sequence number. Bounded: when a new batch
// does not fit, the oldest are dropped and counted, and the counts persist
// (they reach the collector in NodeReports). Survives a restart of the
// agent, even a SIGKILL: a batch's file is removed only once the collector
// has acknowledged it, so a batch sent from the spool but not yet
// acknowledged is sent again after a restart (the collector stores it once).
// Not thread-safe: the agent's loop owns it.
class Spool {
 public:
  // Creates the directory if needed; fails clearly if it is not writable.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(const std::string& dir, uint64_t max_bytes);

  // Keeps the batch on disk (a batch already there is kept as it is).
  absl::Status Append(const v1::ObservationBatch& batch);
  bool empty() const { return files_.empty(); }
  size_t batches() const { return files_.size(); }
  uint64_t bytes() const { return bytes_; }

  // Sending: the oldest batch not yet sent on the current stream. A damaged
  // file is dropped and counted, and the next one returned; NOT_FOUND when
  // every batch has been sent.
  bool has_unsent() const { return files_.upper_bound(sent_through_) != files_.end(); }
  absl::StatusOr<v1::ObservationBatch> NextUnsent();
  void MarkSent(uint64_t seq) { sent_through_ = seq; }
  // The collector acknowledged everything up to `seq` (acks come in order).
  void Release(uint64_t seq);
  // The stream broke: whatever was sent and not acknowledged is sent again.
  void Unsend() { sent_through_ = 0; }
  // The collector refused this batch for good: it leaves (counted by the caller).
  void Discard(uint64_t seq);
  // The newest batch's seq (0 if empty): a restarted agent numbers after it.
  uint64_t last_seq() const { return files_.empty() ? 0 : files_.rbegin()->first; }

  uint64_t dropped_batches() const { return dropped_batches_; }
  uint64_t dropped_observations() const { return dropped_observations_; }

 private:
  Spool(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string PathOf(uint64_t seq) const;
  // The batch in seq's file; nothing if the file is missing or damaged.
  std::optional<v1::ObservationBatch> ReadFile(uint64_t seq) const;
  absl::Status SaveDropped();
  void Remove(std::map<uint64_t, std::pair<uint64_t, uint64_t>>::iterator it);

  const std::string dir_;
  const uint64_t max_bytes_;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> files_;  // seq -> (bytes, observations)
  uint64_t bytes_ = 0;
  uint64_t sent_through_ = 0;  // batches up to this seq are in flight
  uint64_t dropped_batches_ = 0;
  uint64_t dropped_observations_ = 0;
};

}  // namespace hoplat

#endif  // HOPLAT_AGENT_SPOOL_H_
