#include "common/flags_usage.h"

#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hoplat {
namespace {
const char* own_file = "";
bool IsOwnFlag(absl::string_view file) { return absl::EndsWith(file, own_file); }
}  // namespace

void SetUpFlagsUsage(const char* main_file, const char* program, const char* usage) {
  own_file = main_file;
  const std::string version = absl::StrCat(program, " " HOPLAT_VERSION "\n");
  absl::FlagsUsageConfig config;
  config.contains_help_flags = IsOwnFlag;
  config.contains_helpshort_flags = IsOwnFlag;
  config.version_string = [version] { return version; };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);
}

}  // namespace hoplat
