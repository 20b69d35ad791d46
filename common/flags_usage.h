#ifndef HOPLAT_COMMON_FLAGS_USAGE_H_
#define HOPLAT_COMMON_FLAGS_USAGE_H_

#include <string>
#include <vector>

namespace hoplat {

// One heading of --help and the flags listed under it, in order.
struct FlagSection {
  std::string heading;
  std::vector<std::string> flags;
};

// What --help prints: the usage text, then each section's flags with their
// defaults and help. --help (also -help, -h, --helpshort, --help=X,
// --helpon=X, --helpmatch=X) prints it and exits 0; --version prints the
// version and exits 0. Flags of linked libraries are left out (--helpfull
// lists everything, Abseil's way).
struct ProgramUsage {
  const char* program;
  const char* usage;
  std::vector<FlagSection> sections;
};

// Handles the usage flags, then parses the command line (Abseil). Returns
// the positional arguments, argv[0] first.
std::vector<char*> ParseCommandLineWithUsage(int argc, char** argv, const ProgramUsage& usage);

// The --help text (for tests and for the above).
std::string HelpText(const ProgramUsage& usage);

}  // namespace hoplat

#endif  // HOPLAT_COMMON_FLAGS_USAGE_H_
