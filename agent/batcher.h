#ifndef HOPLAT_AGENT_BATCHER_H_
#define HOPLAT_AGENT_BATCHER_H_

#include <cstdint>

#include "absl/time/time.h"
#include "agent/lab_clock.h"
#include "hoplat/v1/ingest.pb.h"
#include "kmod/include/uapi/linux/hoplat.h"

namespace hoplat {

// Collects device records into one columnar ObservationBatch; the agent
// sends it when it is full or its oldest record has waited long enough.
// Each record's arrival and exit are read through `clock` (the real clock
// unless the lab options set one); its monotonic residence is kept as it is.
class Batcher {
 public:
  explicit Batcher(size_t capacity, LabClock clock = LabClock())
      : capacity_(capacity), clock_(clock) {}

  void Add(const hoplat_record& r, absl::Time now);
  size_t size() const { return static_cast<size_t>(batch_.hash_size()); }
  bool full() const { return size() >= capacity_; }
  // When the oldest record in the batch arrived (InfiniteFuture if empty).
  absl::Time oldest() const { return oldest_; }

  // The batch so far, numbered; the batcher starts empty again.
  v1::ObservationBatch Take(uint64_t seq);

 private:
  const size_t capacity_;
  const LabClock clock_;
  v1::ObservationBatch batch_;
  absl::Time oldest_ = absl::InfiniteFuture();
};

}  // namespace hoplat

#endif  // HOPLAT_AGENT_BATCHER_H_
