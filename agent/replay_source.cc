#include "agent/replay_source.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"

namespace hoplat {

absl::StatusOr<std::unique_ptr<ReplaySource>> ReplaySource::Open(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("replay file ", path, ": ", strerror(errno)));
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || st.st_size % sizeof(hoplat_record) != 0) {
    std::fclose(f);
    return absl::InvalidArgumentError(absl::StrCat(
        "replay file ", path, ": size is not a whole number of ", sizeof(hoplat_record),
        "-byte records"));
  }
  return std::unique_ptr<ReplaySource>(new ReplaySource(f, path));
}

ReplaySource::~ReplaySource() { std::fclose(f_); }

absl::StatusOr<size_t> ReplaySource::Read(size_t max, absl::Duration,
                                          std::vector<hoplat_record>* out) {
  const size_t base = out->size();
  out->resize(base + max);
  const size_t n = std::fread(out->data() + base, sizeof(hoplat_record), max, f_);
  out->resize(base + n);
  for (size_t i = base; i < base + n; ++i, ++index_) {
    if ((*out)[i].version != HOPLAT_RECORD_VERSION) {
      out->resize(base);
      return absl::DataLossError(absl::StrCat("replay file ", path_, ": record ", index_,
                                              " has version ", (*out)[i].version));
    }
  }
  if (n == 0) {
    if (std::ferror(f_)) return absl::DataLossError(absl::StrCat("replay file ", path_, ": read error"));
    return absl::OutOfRangeError("end of replay file");
  }
  return n;
}

absl::Status WriteReplayFile(const std::string& path, const std::vector<hoplat_record>& records) {
  FILE* f = std::fopen(path.c_str(), "ab");
  if (f == nullptr) return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
  // An empty vector's data() may be null, which fwrite must not get.
  const size_t n = records.empty()
                       ? 0
                       : std::fwrite(records.data(), sizeof(hoplat_record), records.size(), f);
  const bool ok = n == records.size() && std::fclose(f) == 0;
  if (!ok) return absl::UnavailableError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

}  // namespace hoplat
