#ifndef HOPLAT_AGENT_MODULE_CONTROL_H_
#define HOPLAT_AGENT_MODULE_CONTROL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "hoplat/v1/common.pb.h"

struct nl_sock;

namespace hoplat {

// The module's generic netlink family "hoplat", through libnl-3: sets the
// configuration of this network namespace and reads its counters.
class ModuleControl {
 public:
  // UNAVAILABLE if the family is not registered (module not loaded).
  static absl::StatusOr<std::unique_ptr<ModuleControl>> Open();
  ~ModuleControl();

  struct Config {
    std::optional<uint32_t> sample_one_in;
    std::optional<std::string> hash_key;  // exactly 16 bytes
    std::optional<uint32_t> paths;        // HOPLAT_PATH_* bits
  };
  // PERMISSION_DENIED without CAP_NET_ADMIN; INVALID_ARGUMENT for values the
  // module refuses.
  absl::Status Configure(const Config& config);

  absl::StatusOr<v1::ModuleCounters> Counters();

 private:
  ModuleControl(nl_sock* sock, int family) : sock_(sock), family_(family) {}
  nl_sock* sock_;
  int family_;
};

// Reads a 16-byte hash key from a file that only root may read.
absl::StatusOr<std::string> ReadHashKeyFile(const std::string& path);

}  // namespace hoplat

#endif  // HOPLAT_AGENT_MODULE_CONTROL_H_
