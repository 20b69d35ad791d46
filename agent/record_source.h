#ifndef HOPLAT_AGENT_RECORD_SOURCE_H_
#define HOPLAT_AGENT_RECORD_SOURCE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kmod/include/uapi/linux/hoplat.h"

namespace hoplat {

// Where records come from: the kernel module's device, or a replay file.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // Appends up to `max` records to *out, waiting at most `timeout` for the
  // first one. Returns how many were appended; OUT_OF_RANGE at the end of a
  // finite source (a replay file).
  virtual absl::StatusOr<size_t> Read(size_t max, absl::Duration timeout,
                                      std::vector<hoplat_record>* out) = 0;
  // Whether reading may wait for a slow collector without losing records:
  // a file can; the device cannot (its rings fill and drop meanwhile).
  virtual bool can_wait() const { return false; }
};

}  // namespace hoplat

#endif  // HOPLAT_AGENT_RECORD_SOURCE_H_
