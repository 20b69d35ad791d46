#include "agent/recorder.h"

#include <errno.h>
#include <string.h>

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hoplat {

absl::StatusOr<uint64_t> RecordToFile(RecordSource* source, const std::string& path,
                                      uint64_t limit, const std::atomic<bool>& stop) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
  constexpr size_t kChunk = 4096;
  std::vector<hoplat_record> records;
  records.reserve(kChunk);
  uint64_t written = 0;
  absl::Status status;
  while (!stop.load() && (limit == 0 || written < limit)) {
    records.clear();
    const size_t want = limit == 0 ? kChunk : std::min<uint64_t>(kChunk, limit - written);
    // A short timeout so that a signal is noticed on an idle device.
    absl::StatusOr<size_t> n = source->Read(want, absl::Milliseconds(200), &records);
    if (absl::IsOutOfRange(n.status())) break;
    if (!n.ok()) {
      status = n.status();
      break;
    }
    if (records.empty()) continue;
    if (std::fwrite(records.data(), sizeof(hoplat_record), records.size(), f) != records.size()) {
      status = absl::UnavailableError(absl::StrCat(path, ": write failed (disk full?)"));
      break;
    }
    written += records.size();
  }
  if (std::fclose(f) != 0 && status.ok()) {
    status = absl::UnavailableError(absl::StrCat(path, ": write failed (disk full?)"));
  }
  if (!status.ok()) return status;
  return written;
}

}  // namespace hoplat
