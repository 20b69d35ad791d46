// common/flags_usage through the real binaries: --help exits 0 with the
// program's headings and every one of its flags, and nothing of Abseil's
// own listing (source paths, "Flags from ..."); --version exits 0.
#include <sys/wait.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"

namespace hoplat::testing {
namespace {

// The program's standard output and error, and its exit status.
CommandResult Start(const std::string& binary, const std::string& args) {
  return RunCommand(absl::StrCat(binary, " ", args, " 2>&1 </dev/null"));
}

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The flags a source file defines: ABSL_FLAG(type, name, ...).
std::vector<std::string> FlagsDefinedIn(const std::string& source) {
  std::ifstream in(std::string(HOPLAT_SOURCE_DIR) + "/" + source);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  std::vector<std::string> names;
  constexpr char kMacro[] = "ABSL_FLAG(";
  for (size_t at = s.find(kMacro); at != std::string::npos; at = s.find(kMacro, at + 1)) {
    size_t i = s.find(',', at);  // after the type (no flag type of ours has a comma)
    if (i == std::string::npos) break;
    for (++i; i < s.size() && std::isspace(static_cast<unsigned char>(s[i])); ++i) {
    }
    size_t end = i;
    while (end < s.size() && IsNameChar(s[end])) ++end;
    if (end > i) names.emplace_back(s.substr(i, end - i));
  }
  return names;
}

// An entry of its own for `--name`: a line that starts with it (not a
// mention in another flag's text, nor the start of a longer flag's name).
bool ListsFlag(const std::string& help, const std::string& name) {
  const std::string want = "\n  --" + name;
  for (size_t at = help.find(want); at != std::string::npos; at = help.find(want, at + 1)) {
    const size_t next = at + want.size();
    if (next == help.size() || help[next] == ' ' || help[next] == '\n') return true;
  }
  return false;
}

void ExpectHelp(const std::string& binary, const std::string& source,
                const std::vector<std::string>& headings) {
  const CommandResult help = Start(binary, "--help");
  EXPECT_EQ(help.rc, 0) << help.out;
  for (const std::string& heading : headings) {
    EXPECT_NE(help.out.find("\n" + heading + "\n"), std::string::npos) << heading << "\n"
                                                                       << help.out;
  }
  const std::vector<std::string> flags = FlagsDefinedIn(source);
  EXPECT_GE(flags.size(), 5u) << "the flags of " << source;
  for (const std::string& flag : flags) {
    EXPECT_TRUE(ListsFlag(help.out, flag)) << "--" << flag << " (" << source << ")\n" << help.out;
  }
  for (const char* abseil : {"main.cc", "flags.cc", ".cc:", "Flags from", "absl/"}) {
    EXPECT_EQ(help.out.find(abseil), std::string::npos) << abseil << "\n" << help.out;
  }
  // A heading table naming a flag that is not defined says so in the text.
  EXPECT_EQ(help.out.find("(no such flag)"), std::string::npos) << help.out;
  EXPECT_TRUE(ListsFlag(help.out, "help"));
  EXPECT_TRUE(ListsFlag(help.out, "version"));
  for (const char* other : {"-h", "--helpshort", "-help", "--help=main", "--helpon=x",
                            "--collector=127.0.0.1:1 --help"}) {
    const CommandResult same = Start(binary, other);
    EXPECT_EQ(same.rc, 0) << other;
    EXPECT_EQ(same.out, help.out) << other;
  }
}

void ExpectVersion(const std::string& binary, const std::string& program) {
  const CommandResult version = Start(binary, "--version");
  EXPECT_EQ(version.rc, 0) << version.out;
  EXPECT_NE(version.out.find(absl::StrCat(program, " ", HOPLAT_VERSION)), std::string::npos)
      << version.out;
}

TEST(FlagsUsageTest, CollectorHelpListsEveryFlagUnderItsHeadings) {
  ExpectHelp(HOPLAT_COLLECTOR_BINARY, "collector/main.cc",
             {"Serving:", "Storage:", "Correlation:"});
  ExpectVersion(HOPLAT_COLLECTOR_BINARY, "hoplat-collector");
}

TEST(FlagsUsageTest, AgentHelpListsEveryFlagUnderItsHeadings) {
  ExpectHelp(HOPLAT_AGENT_BINARY, "agent/flags.cc",
             {"Batching and delivery:", "While the collector is away:"});
  ExpectVersion(HOPLAT_AGENT_BINARY, "hoplat-agent");
  // A flag's value that looks like -h is the value, not a request for help.
  const CommandResult config = Start(HOPLAT_AGENT_BINARY, "--config -h");
  EXPECT_EQ(config.rc, 1) << config.out;
  EXPECT_EQ(config.out.find("Batching and delivery:"), std::string::npos) << config.out;
}

TEST(FlagsUsageTest, CliHelpListsEveryFlag) {
  ExpectHelp(HOPLAT_CLI_BINARY, "tools/hoplat_cli.cc", {"Flags:"});
  ExpectVersion(HOPLAT_CLI_BINARY, "hoplat");
}

}  // namespace
}  // namespace hoplat::testing
