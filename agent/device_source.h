#ifndef HOPLAT_AGENT_DEVICE_SOURCE_H_
#define HOPLAT_AGENT_DEVICE_SOURCE_H_

#include <memory>
#include <string>

#include "agent/record_source.h"

namespace hoplat {

// Reads /dev/hoplat: poll() for readiness, then one large read() takes as
// many whole records as the buffer holds.
class DeviceSource : public RecordSource {
 public:
  // Clear errors: no device (is the module loaded?), no permission, busy
  // (another reader in this namespace).
  static absl::StatusOr<std::unique_ptr<DeviceSource>> Open(const std::string& path);
  ~DeviceSource() override;

  absl::StatusOr<size_t> Read(size_t max, absl::Duration timeout,
                              std::vector<hoplat_record>* out) override;

 private:
  explicit DeviceSource(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace hoplat

#endif  // HOPLAT_AGENT_DEVICE_SOURCE_H_
