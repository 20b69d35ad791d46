#include "common/log.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace hoplat {
namespace {
const char* program_name = "hoplat";
}  // namespace

void SetLogProgramName(const char* name) { program_name = name; }

void LogLine(const std::string& line) {
  const std::string when =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  // One fprintf call per line so that lines from different threads do not interleave.
  std::fprintf(stderr, "%s %s: %s\n", when.c_str(), program_name, line.c_str());
}

}  // namespace hoplat
