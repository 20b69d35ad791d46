#ifndef HOPLAT_COMMON_FLAGS_USAGE_H_
#define HOPLAT_COMMON_FLAGS_USAGE_H_

namespace hoplat {

// Makes --help list only the flags defined in the program's own source file
// (whose path ends with `main_file`), not those of every linked library, sets
// the usage text and --version. Call before absl::ParseCommandLine.
void SetUpFlagsUsage(const char* main_file, const char* program, const char* usage);

}  // namespace hoplat

#endif  // HOPLAT_COMMON_FLAGS_USAGE_H_
