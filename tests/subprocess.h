#ifndef HOPLAT_TESTS_SUBPROCESS_H_
#define HOPLAT_TESTS_SUBPROCESS_H_

// Real binaries under test: start, signal, wait.
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

#include "gtest/gtest.h"

extern char** environ;

namespace hoplat::testing {

// Polls `done` until it holds or `timeout` passes: a test that watches other
// processes can only observe their progress.
inline bool WaitFor(absl::Duration timeout, const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// A loopback TCP port nobody listened on a moment ago.
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// What a shell command printed on its standard output, and its exit status
// (-1 if it did not exit normally).
struct CommandResult {
  int rc = -1;
  std::string out;
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) result.out.append(buf, n);
  const int status = pclose(p);
  result.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A child process, killed with SIGKILL if the test leaves it running.
class Subprocess {
 public:
  // `env`: NAME=value entries added to this process's environment (e.g. a
  // fail point, see tests/README.md).
  explicit Subprocess(std::vector<std::string> args, std::vector<std::string> env = {}) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), envp.data()), 0);
  }
  ~Subprocess() {
    if (pid_ > 0) Kill();
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Exit status as the shell shows it (128 + signal for a signal).
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  int Stop() {  // SIGTERM, then wait
    kill(pid_, SIGTERM);
    return Wait();
  }
  int Kill() {  // SIGKILL: nothing of the process's own runs any more
    kill(pid_, SIGKILL);
    return Wait();
  }
  void Signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace hoplat::testing

#endif  // HOPLAT_TESTS_SUBPROCESS_H_
