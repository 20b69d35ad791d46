#include "agent/clock_state.h"

#include <sys/timex.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/node_id.h"
#include "common/log.h"

namespace hoplat {

v1::ClockState ReadClockState(absl::string_view clock_domain) {
  v1::ClockState state;
  state.set_clock_domain(std::string(clock_domain));
  struct timex tx = {};
  const int rc = adjtimex(&tx);  // modes = 0: read only, no privilege needed
  state.set_source("adjtimex");
  if (rc < 0) return state;
  state.set_synchronized(rc != TIME_ERROR && !(tx.status & STA_UNSYNC));
  state.set_estimated_error_ns(static_cast<uint64_t>(tx.esterror) * 1000);  // µs -> ns
  return state;
}

absl::StatusOr<std::string> ReadBootId(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  char buf[128];
  const size_t n = std::fread(buf, 1, sizeof(buf), f);
  std::fclose(f);
  std::string id(absl::StripAsciiWhitespace(absl::string_view(buf, n)));
  if (id.empty()) return absl::DataLossError(absl::StrCat(path, ": empty"));
  return id;
}

absl::Status ValidateClockDomain(absl::string_view domain) {
  return ValidateName("clock domain", domain);
}

absl::StatusOr<std::string> ClockDomainFor(absl::string_view configured, bool replay,
                                           const std::string& boot_id_path) {
  if (!configured.empty()) {
    if (absl::Status s = ValidateClockDomain(configured); !s.ok()) return s;
    return std::string(configured);
  }
  if (replay) return std::string();  // not this kernel's timestamps
  absl::StatusOr<std::string> boot_id = ReadBootId(boot_id_path);
  absl::Status valid = boot_id.ok() ? ValidateClockDomain(*boot_id) : boot_id.status();
  if (!valid.ok()) {
    Logf("no clock domain (the kernel's boot id: %s): latencies to routers on this kernel "
         "are bounded by the reported clock errors; --clock_domain names it",
         valid.message());
    return std::string();
  }
  return *boot_id;
}

}  // namespace hoplat
