#ifndef HOPLAT_AGENT_RECORDER_H_
#define HOPLAT_AGENT_RECORDER_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "agent/record_source.h"

namespace hoplat {

// Copies records from a source (the device) to a replay file, for
// `hoplat-agent --record FILE`: until `limit` records (0: no limit), the end
// of the source, or `stop`. Returns how many were written; the file holds
// whole records only.
absl::StatusOr<uint64_t> RecordToFile(RecordSource* source, const std::string& path,
                                      uint64_t limit, const std::atomic<bool>& stop);

}  // namespace hoplat

#endif  // HOPLAT_AGENT_RECORDER_H_
