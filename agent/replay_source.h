#ifndef HOPLAT_AGENT_REPLAY_SOURCE_H_
#define HOPLAT_AGENT_REPLAY_SOURCE_H_

#include <memory>
#include <string>

#include "agent/record_source.h"

namespace hoplat {

// Plays back a file of raw records in the UAPI format (what the device
// returns, back to back, as `hoplat-agent --record` writes them), so the
// agent runs and is tested without the module. "-" is standard input; a pipe
// is read as records arrive.
class ReplaySource : public RecordSource {
 public:
  // INVALID_ARGUMENT if the file's size is not a whole number of records.
  static absl::StatusOr<std::unique_ptr<ReplaySource>> Open(const std::string& path);
  ~ReplaySource() override;

  // A regular file never waits; a pipe waits up to `timeout` for data.
  // OUT_OF_RANGE once the file is played. A record of another version, or a
  // file ending inside a record, is DATA_LOSS.
  bool can_wait() const override { return true; }
  absl::StatusOr<size_t> Read(size_t max, absl::Duration timeout,
                              std::vector<hoplat_record>* out) override;

 private:
  ReplaySource(int fd, bool regular, std::string path)
      : fd_(fd), regular_(regular), path_(std::move(path)) {}
  const int fd_;
  const bool regular_;
  const std::string path_;
  uint64_t index_ = 0;
  char partial_[sizeof(hoplat_record)];  // a record split across two read()s
  size_t partial_bytes_ = 0;
};

// Appends records to a replay file.
absl::Status WriteReplayFile(const std::string& path, const std::vector<hoplat_record>& records);

}  // namespace hoplat

#endif  // HOPLAT_AGENT_REPLAY_SOURCE_H_
