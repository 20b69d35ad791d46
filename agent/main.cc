// hoplat-agent: streams the kernel module's records (or a replay file) to a
// hoplat collector.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent.h"
#include "agent/config_file.h"
#include "agent/device_source.h"
#include "agent/flags.h"
#include "agent/interfaces.h"
#include "agent/module_control.h"
#include "agent/recorder.h"
#include "agent/replay_source.h"
#include "agent/spilling_batches.h"
#include "agent/spool.h"
#include "common/log.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "hoplat-agent: %s\n", message.c_str());
  return 1;
}

absl::Status ConfigureModule(hoplat::ModuleControl* control) {
  absl::StatusOr<hoplat::ModuleControl::Config> config = hoplat::ModuleConfigFromFlags();
  if (!config.ok()) return config.status();
  if (!config->sample_one_in && !config->hash_key && !config->paths) return absl::OkStatus();
  return control->Configure(*config);
}

// SIGHUP: re-read the config file and apply what can change while running.
void Reload(hoplat::ConfigFile* file, hoplat::ModuleControl* control) {
  const std::map<std::string, std::string> before = hoplat::SettableFlagValues();
  if (absl::Status s = file->Load(); !s.ok()) {
    hoplat::Logf("SIGHUP: %s; keeping the running configuration", s.message());
    return;
  }
  for (const auto& [name, value] : hoplat::SettableFlagValues()) {
    if (value != before.at(name) && !hoplat::IsReloadable(name)) {
      hoplat::Logf("SIGHUP: %s changed; it takes effect when the agent restarts", name);
    }
  }
  if (control == nullptr) return;
  if (absl::Status s = ConfigureModule(control); !s.ok()) {
    hoplat::Logf("SIGHUP: %s", s.message());
    return;
  }
  hoplat::Logf("SIGHUP: %s re-read, module configured", file->path());
}

void MakeParents(const std::string& dir) {
  // mkdir -p: /var/spool may not exist on a small router.
  for (size_t i = 1; i < dir.size(); ++i) {
    if (dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0755);
  }
}

}  // namespace

int main(int argc, char** argv) {
  hoplat::SetLogProgramName("hoplat-agent");
  std::vector<char*> rest = hoplat::ParseCommandLineWithUsage(argc, argv, hoplat::AgentUsage());
  if (rest.size() > 1) return Fail(std::string("unexpected argument \"") + rest[1] + "\" (see --help)");

  std::unique_ptr<hoplat::ConfigFile> config_file;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    config_file = std::make_unique<hoplat::ConfigFile>(absl::GetFlag(FLAGS_config), hoplat::SettableFlags(),
                                                       hoplat::FlagsOnCommandLine(argc, argv));
    if (absl::Status s = config_file->Load(); !s.ok()) return Fail(std::string(s.message()));
  }

  // Signals go to one thread, which acts on them (SIGINT/SIGTERM: stop
  // reading, deliver what is held, exit; SIGHUP: reload).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stop{false};

  if (!absl::GetFlag(FLAGS_record).empty()) {
    if (absl::GetFlag(FLAGS_clock_offset) != absl::ZeroDuration() ||
        absl::GetFlag(FLAGS_clock_drift_ppm) != 0) {
      return Fail("--record copies the device's records as they are: give --clock_offset and "
                  "--clock_drift_ppm when replaying the file");
    }
    auto device = hoplat::DeviceSource::Open(absl::GetFlag(FLAGS_device));
    if (!device.ok()) return Fail(std::string(device.status().message()));
    std::thread([&] {
      int sig;
      do sigwait(&signals, &sig);
      while (sig == SIGHUP);
      stop.store(true);
    }).detach();
    absl::StatusOr<uint64_t> n = hoplat::RecordToFile(device->get(), absl::GetFlag(FLAGS_record),
                                                      absl::GetFlag(FLAGS_record_count), stop);
    if (!n.ok()) return Fail(std::string(n.status().message()));
    hoplat::Logf("%d records written to %s", *n, absl::GetFlag(FLAGS_record));
    return 0;
  }

  absl::StatusOr<hoplat::AgentOptions> options_or = hoplat::AgentOptionsFromFlags();
  if (!options_or.ok()) return Fail(std::string(options_or.status().message()));
  hoplat::AgentOptions options = *std::move(options_or);

  std::unique_ptr<hoplat::Spool> spool;
  std::unique_ptr<hoplat::SpillingBatches> spilling;
  if (!absl::GetFlag(FLAGS_spool_dir).empty()) {
    const std::string dir = absl::GetFlag(FLAGS_spool_dir);
    MakeParents(dir);
    auto opened = hoplat::Spool::Open(dir, absl::GetFlag(FLAGS_spool_max_bytes));
    if (!opened.ok()) return Fail(std::string(opened.status().message()));
    spool = std::move(*opened);
    spilling = std::make_unique<hoplat::SpillingBatches>(spool.get());
    options.pending = spilling.get();
  }
  const uint64_t dropped_before = spool != nullptr ? spool->dropped_batches() : 0;

  std::unique_ptr<hoplat::RecordSource> source;
  std::unique_ptr<hoplat::ModuleControl> control;
  std::unique_ptr<hoplat::InterfaceTable> interfaces;
  if (!absl::GetFlag(FLAGS_replay).empty()) {
    auto replay = hoplat::ReplaySource::Open(absl::GetFlag(FLAGS_replay));
    if (!replay.ok()) return Fail(std::string(replay.status().message()));
    source = std::move(*replay);
  } else {
    auto device = hoplat::DeviceSource::Open(absl::GetFlag(FLAGS_device));
    if (!device.ok()) return Fail(std::string(device.status().message()));
    source = std::move(*device);
    auto opened = hoplat::ModuleControl::Open();
    if (!opened.ok()) return Fail(std::string(opened.status().message()));
    control = std::move(*opened);
    if (absl::Status s = ConfigureModule(control.get()); !s.ok()) return Fail(std::string(s.message()));
    hoplat::ModuleControl* c = control.get();
    options.module_counters = [c] { return c->Counters(); };
    // Interface names are for the collector's tables only: without them
    // the agent still runs (the queues are named by index).
    auto table = hoplat::InterfaceTable::Open();
    if (!table.ok()) {
      hoplat::Logf("%s: reports carry no interface names", table.status().message());
    } else {
      interfaces = std::move(*table);
      hoplat::InterfaceTable* t = interfaces.get();
      options.interfaces = [t](hoplat::v1::NodeReport* report) {
        if (absl::Status s = t->AddTo(report); !s.ok()) hoplat::Logf("%s", s.message());
      };
    }
  }

  // The device and the netlink sockets are bound to this namespace now;
  // every socket from here on (gRPC's) is made in the collector's. No other
  // thread exists yet, so all that gRPC starts inherit it.
  if (!absl::GetFlag(FLAGS_collector_netns).empty()) {
    const std::string path = absl::GetFlag(FLAGS_collector_netns);
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail("--collector_netns " + path + ": " + strerror(errno));
    const int rc = setns(fd, CLONE_NEWNET);
    const int err = errno;
    close(fd);
    if (rc != 0) {
      return Fail("--collector_netns " + path + ": " + strerror(err) +
                  (err == EPERM ? " (needs CAP_SYS_ADMIN)" : ""));
    }
  }

  hoplat::Agent agent(options, source.get());
  // The signal thread is detached and uses main()'s objects: it does so
  // only under `signal_mu`, after checking `finished`, which main() sets
  // under the same lock before anything is torn down.
  static absl::Mutex signal_mu;
  static bool finished = false;
  std::thread([&] {
    bool stopping = false;
    for (;;) {
      int sig;
      sigwait(&signals, &sig);
      absl::MutexLock lock(&signal_mu);
      if (finished) return;
      if (sig == SIGHUP) {
        if (config_file == nullptr) {
          hoplat::Logf("SIGHUP: no --config file to re-read");
        } else {
          Reload(config_file.get(), control.get());
        }
        continue;
      }
      if (stopping) {  // a second SIGINT/SIGTERM: do not wait for the drain
        hoplat::Logf("signal %d again: exiting now; the spool keeps what it holds", sig);
        _exit(1);
      }
      stopping = true;
      hoplat::Logf("signal %d: delivering what is held (again to exit at once)", sig);
      agent.Stop();
    }
  }).detach();

  hoplat::Logf("node %s -> collector %s, clock domain %s%s", options.client.node_id,
               options.client.target,
               options.clock_domain.empty() ? "none" : options.clock_domain,
               options.lab_clock.real()
                   ? ""
                   : absl::StrFormat(" (LAB CLOCK: offset %s, drift %g ppm)",
                                     absl::FormatDuration(absl::GetFlag(FLAGS_clock_offset)),
                                     options.lab_clock.drift_ppm()));
  absl::Status status = agent.Run();
  {
    absl::MutexLock lock(&signal_mu);
    finished = true;
  }
  const hoplat::v1::AgentCounters c = agent.counters();
  hoplat::Logf("read %d records, sent %d batches, %d acknowledged", c.records_read(),
               c.batches_sent(), c.batches_acked());
  if (!status.ok()) return Fail(std::string(status.message()));
  // A replay is done only once all of it is stored.
  if (!absl::GetFlag(FLAGS_replay).empty()) {
    if (spool != nullptr && !spool->empty()) {
      return Fail(std::to_string(spool->batches()) + " batches of the replay wait in the spool " +
                  "(the collector is away): run again to deliver them");
    }
    if (c.rejected_batches() > 0) {
      return Fail(std::to_string(c.rejected_batches()) + " batches were refused by the collector");
    }
    if (c.spool_dropped_batches() > dropped_before) {
      return Fail(std::to_string(c.spool_dropped_batches() - dropped_before) +
                  " batches of the replay were dropped: the spool was full (--spool_max_bytes)");
    }
  }
  return 0;
}
