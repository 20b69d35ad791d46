#ifndef HOPLAT_COMMON_LOG_H_
#define HOPLAT_COMMON_LOG_H_

#include <string>

#include "absl/strings/str_format.h"

namespace hoplat {

// Abseil 20220623 has no absl/log: this is the project's whole logging layer.
// One line to stderr, prefixed with UTC time and the program's name.
void SetLogProgramName(const char* name);
void LogLine(const std::string& line);

template <typename... Args>
void Logf(const absl::FormatSpec<Args...>& format, const Args&... args) {
  LogLine(absl::StrFormat(format, args...));
}

}  // namespace hoplat

#endif  // HOPLAT_COMMON_LOG_H_
