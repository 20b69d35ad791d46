#ifndef HOPLAT_AGENT_SPOOL_H_
#define HOPLAT_AGENT_SPOOL_H_

#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/pending_batches.h"
#include "hoplat/v1/ingest.pb.h"

namespace hoplat {

// Batches waiting for an acknowledgement, on disk: one file per batch named
// by its sequence number. Bounded: when a new batch does not fit, the
// oldest are dropped and counted, and the counts persist (they reach the
// collector in NodeReports). Survives a restart of the agent, even a
// SIGKILL: a batch's file is removed only once the collector has
// acknowledged it, so a batch sent but not yet acknowledged is sent again
// after a restart (the collector stores it once). Not thread-safe: the
// agent's loop owns it.
class Spool : public PendingBatches {
 public:
  // Creates the directory if needed; fails clearly if it is not writable.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(const std::string& dir, uint64_t max_bytes);

  // PendingBatches (see there). A file that cannot be read back is
  // dropped and counted by NextUnsent().
  absl::Status Append(v1::ObservationBatch batch) override;
  bool has_unsent() const override { return files_.size() > sent_.size(); }
  absl::StatusOr<v1::ObservationBatch> NextUnsent() override;
  void MarkSent(uint64_t seq) override {
    if (files_.count(seq) != 0) sent_.insert(seq);
  }
  void Release(uint64_t seq) override;
  void Unsend() override { sent_.clear(); }
  std::optional<uint64_t> Discard(uint64_t seq) override;

  bool empty() const override { return files_.empty(); }
  size_t batches() const override { return files_.size(); }
  uint64_t bytes() const override { return bytes_; }
  uint64_t last_seq() const override { return files_.empty() ? 0 : files_.rbegin()->first; }
  bool durable() const override { return true; }
  uint64_t dropped_batches() const override { return dropped_batches_; }
  uint64_t dropped_observations() const override { return dropped_observations_; }

 private:
  Spool(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string PathOf(uint64_t seq) const;
  // The batch in seq's file; nothing if the file is missing or damaged.
  std::optional<v1::ObservationBatch> ReadFile(uint64_t seq) const;
  using Files = std::map<uint64_t, std::pair<uint64_t, uint64_t>>;  // seq -> (bytes, observations)
  absl::Status SaveDropped();
  uint64_t ObservationsIn(Files::iterator it) const;
  void Remove(Files::iterator it);  // the file and its bookkeeping

  const std::string dir_;
  const uint64_t max_bytes_;
  Files files_;
  uint64_t bytes_ = 0;
  std::set<uint64_t> sent_;  // held and in flight on the current stream
  uint64_t dropped_batches_ = 0;
  uint64_t dropped_observations_ = 0;
};

}  // namespace hoplat

#endif  // HOPLAT_AGENT_SPOOL_H_
