#include "agent/config_file.h"

#include <errno.h>
#include <string.h>

#include <fstream>
#include <map>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hoplat {

absl::Status ConfigFile::Load() {
  std::ifstream in(path_);
  if (!in) return absl::NotFoundError(absl::StrCat("config file ", path_, ": ", strerror(errno)));
  // Parse and check everything first: a bad file changes nothing.
  std::map<std::string, std::string> settings;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("config file ", path_, " line ", n, ": ", what));
    };
    const size_t eq = text.find('=');
    if (eq == absl::string_view::npos) return error("want \"name = value\"");
    const std::string name(absl::StripAsciiWhitespace(text.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(text.substr(eq + 1)));
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || settable_.count(name) == 0) {
      return error(absl::StrCat("unknown setting \"", name, "\""));
    }
    if (settings.count(name) != 0) return error(absl::StrCat("\"", name, "\" set twice"));
    // Parse into a scratch copy of the flag's current value to check it.
    const std::string before = flag->CurrentValue();
    std::string why;
    if (!flag->ParseFrom(value, &why)) return error(absl::StrCat(name, ": ", why));
    flag->ParseFrom(before, &why);
    settings[name] = value;
  }
  for (const std::string& name : set_by_file_) {
    if (settings.count(name) == 0 && from_command_line_.count(name) == 0) {
      absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
      std::string why;
      flag->ParseFrom(flag->DefaultValue(), &why);
    }
  }
  set_by_file_.clear();
  for (const auto& [name, value] : settings) {
    if (from_command_line_.count(name) != 0) continue;
    std::string why;
    absl::FindCommandLineFlag(name)->ParseFrom(value, &why);
    set_by_file_.insert(name);
  }
  return absl::OkStatus();
}

std::set<std::string> FlagsOnCommandLine(int argc, char** argv) {
  std::set<std::string> names;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "-")) continue;
    absl::ConsumePrefix(&arg, "-");
    const std::string name(arg.substr(0, arg.find('=')));
    names.insert(name);
    if (absl::StartsWith(name, "no")) names.insert(name.substr(2));
  }
  return names;
}

}  // namespace hoplat
