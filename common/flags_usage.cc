#include "common/flags_usage.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hoplat {
namespace {

// No flag is Abseil's to list for --help/--helpshort (ours are, below).
bool IsListed(absl::string_view) { return false; }

// Help text wrapped at 78 columns, indented.
void AppendWrapped(absl::string_view text, std::string* out) {
  constexpr size_t kWidth = 78;
  constexpr absl::string_view kIndent = "      ";
  std::string line(kIndent);
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (line.size() > kIndent.size() && line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(out, line, "\n");
      line = std::string(kIndent);
    }
    if (line.size() > kIndent.size()) line += ' ';
    absl::StrAppend(&line, word);
  }
  absl::StrAppend(out, line, "\n");
}

// --help, -help, --help=..., --helpshort, --helpon=..., --helpmatch=..., -h;
// not --helpfull (Abseil's listing of every linked flag) or --helppackage.
bool IsHelpArg(absl::string_view arg) {
  if (arg == "-h") return true;
  if (!absl::ConsumePrefix(&arg, "--")) absl::ConsumePrefix(&arg, "-");
  const absl::string_view name = arg.substr(0, arg.find('='));
  return name == "help" || name == "helpshort" || name == "helpon" || name == "helpmatch";
}

// Whether the argument after `arg` is its value ("--config FILE"), not a flag.
bool TakesNextArg(absl::string_view arg) {
  if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) return false;
  if (arg.find('=') != absl::string_view::npos) return false;
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(arg);
  return flag != nullptr && !flag->IsOfType<bool>();
}

}  // namespace

std::string HelpText(const ProgramUsage& usage) {
  std::string out = absl::StrCat(usage.usage, "\n");
  for (const FlagSection& section : usage.sections) {
    absl::StrAppend(&out, "\n", section.heading, ":\n");
    for (const std::string& name : section.flags) {
      const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
      if (flag == nullptr) {  // a typo in a program's table: its test lists every flag
        absl::StrAppend(&out, "  --", name, "  (no such flag)\n");
        continue;
      }
      const std::string def = flag->DefaultValue();
      absl::StrAppend(&out, "  --", name, def.empty() ? "" : absl::StrCat("  (default: ", def, ")"),
                      "\n");
      AppendWrapped(flag->Help(), &out);
    }
  }
  absl::StrAppend(&out, "\n  --help     this text\n  --version  the version\n");
  return out;
}

std::vector<char*> ParseCommandLineWithUsage(int argc, char** argv, const ProgramUsage& usage) {
  const std::string version = absl::StrCat(usage.program, " " HOPLAT_VERSION "\n");
  absl::FlagsUsageConfig config;
  // Abseil's own --help would list flags by source file path and exit 1:
  // ours is handled below.
  config.contains_help_flags = IsListed;
  config.contains_helpshort_flags = IsListed;
  config.version_string = [version] { return version; };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage.usage);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;
    if (IsHelpArg(argv[i])) {
      std::fputs(HelpText(usage).c_str(), stdout);
      std::exit(0);
    }
    if (TakesNextArg(argv[i])) ++i;  // "--config -h" names a file called -h
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace hoplat
