#ifndef HOPLAT_COMMON_PENDING_BATCHES_H_
#define HOPLAT_COMMON_PENDING_BATCHES_H_

#include <cstdint>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "hoplat/v1/ingest.pb.h"

namespace hoplat {

// Batches waiting for the collector's acknowledgement: the one owner of a
// batch from the moment it is made until the collector has committed it.
// The ingest client sends from here, oldest (lowest seq) first, and hands
// each acknowledgement back; nothing else holds a copy.
//
// Bounded: when a new batch does not fit, the oldest not on the wire are
// dropped and counted (the counts reach the collector in NodeReports).
//
// Implementations: in memory (common/memory_pending_batches.h) and on disk
// (agent/spool.h, survives the agent). Not thread-safe: the thread that
// drives the ingest client owns it.
class PendingBatches {
 public:
  virtual ~PendingBatches() = default;

  // Keeps the batch until acknowledged. A batch whose seq is already held
  // is kept as it is. An error means the batch could not be kept (counted
  // as dropped).
  virtual absl::Status Append(v1::ObservationBatch batch) = 0;
  // The same, for a batch the caller sends at once (the window has room and
  // nothing older waits): a store may keep it more cheaply until the stream
  // breaks (see agent/spilling_batches.h).
  virtual absl::Status AppendSendingNow(v1::ObservationBatch batch) {
    return Append(std::move(batch));
  }

  // The oldest batch not yet sent on the current stream. A batch that
  // cannot be read back (a damaged file) is dropped, counted, and the next
  // one returned; NOT_FOUND when every batch has been sent.
  virtual bool has_unsent() const = 0;
  virtual absl::StatusOr<v1::ObservationBatch> NextUnsent() = 0;
  virtual void MarkSent(uint64_t seq) = 0;

  // The collector acknowledged this batch: it leaves.
  virtual void Release(uint64_t seq) = 0;
  // The stream broke: whatever was sent and not acknowledged goes again.
  virtual void Unsend() = 0;
  // The collector refused this batch for good: it leaves, never resent.
  // Returns how many observations it held; nothing if it was not held.
  virtual std::optional<uint64_t> Discard(uint64_t seq) = 0;

  virtual bool empty() const = 0;
  virtual size_t batches() const = 0;
  virtual uint64_t bytes() const = 0;
  // The newest batch's seq (0 if empty): new batches are numbered after it.
  virtual uint64_t last_seq() const = 0;
  // Whether what is held outlives the process.
  virtual bool durable() const = 0;

  virtual uint64_t dropped_batches() const = 0;
  virtual uint64_t dropped_observations() const = 0;
};

// The bookkeeping both implementations share, over their seq-ordered maps
// and the set of seqs on the wire.

// The oldest entry not on the wire (end() if all are). What is on the wire
// is at most a window, at the front: few to skip.
template <typename Map>
typename Map::iterator FirstUnsent(Map& held, const std::set<uint64_t>& sent) {
  auto it = held.begin();
  while (it != held.end() && sent.count(it->first) != 0) ++it;
  return it;
}

// What goes to make room: the oldest not on the wire (what is on the wire is
// likely acknowledged soon), else the oldest. `held` must not be empty.
template <typename Map>
typename Map::iterator DropForRoom(Map& held, const std::set<uint64_t>& sent) {
  auto it = FirstUnsent(held, sent);
  return it == held.end() ? held.begin() : it;
}

}  // namespace hoplat

#endif  // HOPLAT_COMMON_PENDING_BATCHES_H_
