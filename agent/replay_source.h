#ifndef HOPLAT_AGENT_REPLAY_SOURCE_H_
#define HOPLAT_AGENT_REPLAY_SOURCE_H_

#include <cstdio>
#include <memory>
#include <string>

#include "agent/record_source.h"

namespace hoplat {

// Plays back a file of raw records in the UAPI format (what the device
// returns, back to back), so the agent runs and is tested without the module.
class ReplaySource : public RecordSource {
 public:
  // INVALID_ARGUMENT if the file's size is not a whole number of records.
  static absl::StatusOr<std::unique_ptr<ReplaySource>> Open(const std::string& path);
  ~ReplaySource() override;

  // Never waits; OUT_OF_RANGE once the file is played. A record of another
  // version is DATA_LOSS.
  absl::StatusOr<size_t> Read(size_t max, absl::Duration timeout,
                              std::vector<hoplat_record>* out) override;

 private:
  ReplaySource(FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  FILE* f_;
  std::string path_;
  uint64_t index_ = 0;
};

// Appends records to a replay file.
absl::Status WriteReplayFile(const std::string& path, const std::vector<hoplat_record>& records);

}  // namespace hoplat

#endif  // HOPLAT_AGENT_REPLAY_SOURCE_H_
