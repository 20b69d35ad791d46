#include "agent/replay_source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace hoplat {

absl::StatusOr<std::unique_ptr<ReplaySource>> ReplaySource::Open(const std::string& path) {
  const int fd = path == "-" ? dup(STDIN_FILENO) : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("replay file ", path, ": ", strerror(errno)));
  }
  // A regular file is checked whole; a pipe is read as it comes.
  struct stat st;
  if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && st.st_size % sizeof(hoplat_record) != 0)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(
        "replay file ", path, ": size is not a whole number of ", sizeof(hoplat_record),
        "-byte records"));
  }
  return std::unique_ptr<ReplaySource>(new ReplaySource(fd, S_ISREG(st.st_mode), path));
}

ReplaySource::~ReplaySource() { close(fd_); }

absl::StatusOr<size_t> ReplaySource::Read(size_t max, absl::Duration timeout,
                                          std::vector<hoplat_record>* out) {
  if (max == 0) return 0;
  if (!regular_) {  // a pipe: wait for data like the device does
    pollfd p = {fd_, POLLIN, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
    const int ready = poll(&p, 1, ms);
    if (ready < 0 && errno != EINTR) {
      return absl::DataLossError(absl::StrCat("replay file ", path_, ": ", strerror(errno)));
    }
    if (ready <= 0) return 0;
  }
  const size_t base = out->size();
  out->resize(base + max);
  char* dst = reinterpret_cast<char*>(out->data() + base);
  // A record cut by the previous read() starts this one.
  std::memcpy(dst, partial_, partial_bytes_);
  ssize_t got;
  do {
    got = read(fd_, dst + partial_bytes_, max * sizeof(hoplat_record) - partial_bytes_);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    out->resize(base);
    return absl::DataLossError(absl::StrCat("replay file ", path_, ": ", strerror(errno)));
  }
  const size_t bytes = partial_bytes_ + static_cast<size_t>(got);
  const size_t n = bytes / sizeof(hoplat_record);
  partial_bytes_ = bytes % sizeof(hoplat_record);
  std::memcpy(partial_, dst + n * sizeof(hoplat_record), partial_bytes_);
  out->resize(base + n);
  for (size_t i = base; i < base + n; ++i, ++index_) {
    // Version 1 files (before ttl) read as well.
    if ((*out)[i].version < 1 || (*out)[i].version > HOPLAT_RECORD_VERSION) {
      out->resize(base);
      return absl::DataLossError(absl::StrCat("replay file ", path_, ": record ", index_,
                                              " has version ", (*out)[i].version));
    }
  }
  if (got == 0) {
    if (partial_bytes_ != 0) {
      return absl::DataLossError(absl::StrCat("replay file ", path_, ": ends inside record ",
                                              index_));
    }
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
