#include "agent/device_source.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace hoplat {

absl::StatusOr<std::unique_ptr<DeviceSource>> DeviceSource::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    switch (e) {
      case ENOENT:
      case ENODEV:
      case ENXIO:
        return absl::NotFoundError(
            absl::StrCat(path, ": no such device (is the hoplat module loaded?)"));
      case EACCES:
      case EPERM:
        return absl::PermissionDeniedError(absl::StrCat(path, ": permission denied (run as root)"));
      case EBUSY:
        return absl::UnavailableError(
            absl::StrCat(path, ": another reader has it open in this network namespace"));
      default:
        return absl::UnavailableError(absl::StrCat(path, ": ", strerror(e)));
    }
  }
  return std::unique_ptr<DeviceSource>(new DeviceSource(fd));
}

DeviceSource::~DeviceSource() { close(fd_); }

absl::StatusOr<size_t> DeviceSource::Read(size_t max, absl::Duration timeout,
                                          std::vector<hoplat_record>* out) {
  pollfd p{fd_, POLLIN, 0};
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  if (poll(&p, 1, ms) < 0 && errno != EINTR) {
    return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
  }
  const size_t base = out->size();
  out->resize(base + max);
  const ssize_t n = read(fd_, out->data() + base, max * sizeof(hoplat_record));
  if (n < 0) {
    out->resize(base);
    if (errno == EAGAIN || errno == EINTR) return 0;
    return absl::InternalError(absl::StrCat("read: ", strerror(errno)));
  }
  out->resize(base + static_cast<size_t>(n) / sizeof(hoplat_record));
  return static_cast<size_t>(n) / sizeof(hoplat_record);
}

}  // namespace hoplat
