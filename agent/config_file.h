#ifndef HOPLAT_AGENT_CONFIG_FILE_H_
#define HOPLAT_AGENT_CONFIG_FILE_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace hoplat {

// The agent's optional config file: one setting per line, named like the
// flag that sets it,
//
//   # /etc/hoplat/agent.conf
//   collector = 192.0.2.10:50051
//   sample_one_in = 64
//
// blank lines and lines starting with '#' ignored. Flags given on the
// command line win over the file; the file wins over the defaults.
class ConfigFile {
 public:
  // `settable`: the flags a file may set; `from_command_line`: the flags the
  // command line gave, which the file must not change.
  ConfigFile(std::string path, std::set<std::string> settable,
             std::set<std::string> from_command_line)
      : path_(std::move(path)),
        settable_(std::move(settable)),
        from_command_line_(std::move(from_command_line)) {}

  // Reads the file and sets the flags it names. A setting the previous
  // Load() made and this file no longer has goes back to its default. On
  // error (unreadable file, "line N: ..." for an unknown name or a bad
  // value) no flag is changed.
  absl::Status Load();

  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const std::set<std::string> settable_;
  const std::set<std::string> from_command_line_;
  std::set<std::string> set_by_file_;
};

// The names of the flags given in argv ("--name=value", "--name value",
// "-name", "--noname").
std::set<std::string> FlagsOnCommandLine(int argc, char** argv);

}  // namespace hoplat

#endif  // HOPLAT_AGENT_CONFIG_FILE_H_
