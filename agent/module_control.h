#ifndef HOPLAT_AGENT_MODULE_CONTROL_H_
#define HOPLAT_AGENT_MODULE_CONTROL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "hoplat/v1/common.pb.h"

struct nl_sock;

namespace hoplat {

// The module's generic netlink family "hoplat", through libnl-3: sets the
// configuration of this network namespace and reads its counters.
// Thread-safe (the agent's loop reads counters while SIGHUP reconfigures).
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
  absl::Mutex mu_;  // one request and its reply at a time on the socket
  nl_sock* const sock_;
  const int family_;
};

// "all", "none", or a comma list of forward, local_out, local_in (which
// packets) and ipv4, ipv6 (which families): HOPLAT_PATH_* bits. A list that
// names no family means both; one that names no path means all three.
absl::StatusOr<uint32_t> ParsePaths(const std::string& text);

// Reads a 16-byte hash key from a file that only root may read.
absl::StatusOr<std::string> ReadHashKeyFile(const std::string& path);

}  // namespace hoplat

#endif  // HOPLAT_AGENT_MODULE_CONTROL_H_
