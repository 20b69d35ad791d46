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
#include <set>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent.h"
#include "agent/config_file.h"
#include "agent/device_source.h"
#include "agent/module_control.h"
#include "agent/recorder.h"
#include "agent/replay_source.h"
#include "agent/spool.h"
#include "common/flags_usage.h"
#include "common/log.h"
#include "common/node_id.h"

ABSL_FLAG(std::string, config, "",
          "Read settings from this file: \"name = value\" lines named like these flags, '#' "
          "comments. The command line wins over the file. SIGHUP re-reads it.");
ABSL_FLAG(std::string, collector, "127.0.0.1:50051", "Collector address, HOST:PORT.");
ABSL_FLAG(std::string, node_id, "", "This router's name in every query (default: the hostname).");
ABSL_FLAG(std::string, device, HOPLAT_DEVICE, "The kernel module's device.");
ABSL_FLAG(std::string, collector_netns, "",
          "Reach the collector from this network namespace (a path such as "
          "/run/netns/mgmt or /proc/1/ns/net), e.g. a management namespace; the device and "
          "the module's settings stay those of the namespace the agent starts in.");
ABSL_FLAG(std::string, replay, "",
          "Read records from this file (raw UAPI records, back to back, as --record writes "
          "them; - for standard input) instead of the device; exit once it is delivered.");
ABSL_FLAG(std::string, record, "",
          "Copy records from the device to this file (a replay file) instead of sending "
          "them; stop after --record_count records, or at SIGINT/SIGTERM.");
ABSL_FLAG(uint64_t, record_count, 0, "With --record: stop after this many records (0: no limit).");
ABSL_FLAG(uint32_t, batch_size, 4096, "Observations per batch.");
ABSL_FLAG(absl::Duration, flush_interval, absl::Milliseconds(200),
          "Longest a record waits in a partial batch.");
ABSL_FLAG(int32_t, max_in_flight, 8,
          "Batches sent but not yet acknowledged; with a spool, more wait there meanwhile.");
ABSL_FLAG(absl::Duration, ack_timeout, absl::Seconds(30),
          "A collector that acknowledges nothing this long is taken as hung: reconnect "
          "(and spool meanwhile).");
ABSL_FLAG(absl::Duration, report_interval, absl::Seconds(10), "How often counters are reported.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "At SIGTERM (or the end of --replay), how long to keep trying to deliver what is "
          "held before leaving it in the spool.");
ABSL_FLAG(std::string, spool_dir, "/var/spool/hoplat",
          "Where batches wait on disk while the collector is away (created if missing); "
          "empty: no spool (stop reading until the collector is back).");
ABSL_FLAG(uint64_t, spool_max_bytes, 256ull << 20,
          "Largest spool; when full, the oldest batches are dropped and counted.");
ABSL_FLAG(uint32_t, sample_one_in, 0,
          "Set the module to keep one packet in N, by hash (1: all; 0: leave it as it is). "
          "Use the same N on every router. SIGHUP applies a new value from --config.");
ABSL_FLAG(std::string, hash_key_file, "",
          "Set the module's hash key from this file (16 bytes, readable only by its owner). "
          "Use the same key on every router. SIGHUP re-reads it.");
ABSL_FLAG(std::string, paths, "",
          "Which packets the module records: all, none, or a comma list of forward, "
          "local_out, local_in and ipv4, ipv6 (no family named: both; no path named: all "
          "three). Empty: leave it as it is. SIGHUP applies a new value from --config.");

namespace {

// What a config file may set; the rest are per-invocation.
const std::set<std::string> kSettable = {
    "collector",     "node_id",         "device",        "batch_size",   "flush_interval",
    "collector_netns",
    "max_in_flight", "report_interval", "drain_timeout", "spool_dir",    "spool_max_bytes",
    "ack_timeout",
    "sample_one_in", "hash_key_file",   "paths"};
// What SIGHUP applies without a restart.
const std::set<std::string> kReloadable = {"sample_one_in", "hash_key_file", "paths"};

std::string Hostname() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "hoplat-agent: %s\n", message.c_str());
  return 1;
}

// The module settings the flags ask for (each unset one is left as it is).
absl::StatusOr<hoplat::ModuleControl::Config> ModuleConfigFromFlags() {
  hoplat::ModuleControl::Config config;
  if (absl::GetFlag(FLAGS_sample_one_in) > 0) config.sample_one_in = absl::GetFlag(FLAGS_sample_one_in);
  if (!absl::GetFlag(FLAGS_hash_key_file).empty()) {
    absl::StatusOr<std::string> key = hoplat::ReadHashKeyFile(absl::GetFlag(FLAGS_hash_key_file));
    if (!key.ok()) return key.status();
    config.hash_key = *key;
  }
  if (!absl::GetFlag(FLAGS_paths).empty()) {
    absl::StatusOr<uint32_t> paths = hoplat::ParsePaths(absl::GetFlag(FLAGS_paths));
    if (!paths.ok()) return paths.status();
    config.paths = *paths;
  }
  return config;
}

absl::Status ConfigureModule(hoplat::ModuleControl* control) {
  absl::StatusOr<hoplat::ModuleControl::Config> config = ModuleConfigFromFlags();
  if (!config.ok()) return config.status();
  if (!config->sample_one_in && !config->hash_key && !config->paths) return absl::OkStatus();
  return control->Configure(*config);
}

std::map<std::string, std::string> FlagValues() {
  std::map<std::string, std::string> values;
  for (const std::string& name : kSettable) {
    values[name] = absl::FindCommandLineFlag(name)->CurrentValue();
  }
  return values;
}

// SIGHUP: re-read the config file and apply what can change while running.
void Reload(hoplat::ConfigFile* file, hoplat::ModuleControl* control) {
  const std::map<std::string, std::string> before = FlagValues();
  if (absl::Status s = file->Load(); !s.ok()) {
    hoplat::Logf("SIGHUP: %s; keeping the running configuration", s.message());
    return;
  }
  for (const auto& [name, value] : FlagValues()) {
    if (value != before.at(name) && kReloadable.count(name) == 0) {
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
  hoplat::SetUpFlagsUsage("agent/main.cc", "hoplat-agent",
                          "Streams hoplat records from /dev/hoplat (or --replay FILE) to a "
                          "collector.\nUsage: hoplat-agent --collector HOST:PORT [--node_id NAME] "
                          "[--config FILE] [flags]\n       hoplat-agent --record FILE "
                          "[--record_count N]");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) return Fail(std::string("unexpected argument \"") + rest[1] + "\" (see --help)");

  std::unique_ptr<hoplat::ConfigFile> config_file;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    config_file = std::make_unique<hoplat::ConfigFile>(absl::GetFlag(FLAGS_config), kSettable,
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

  hoplat::AgentOptions options;
  options.client.target = absl::GetFlag(FLAGS_collector);
  options.client.node_id = absl::GetFlag(FLAGS_node_id).empty() ? Hostname()
                                                                 : absl::GetFlag(FLAGS_node_id);
  options.client.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  options.client.ack_timeout = absl::GetFlag(FLAGS_ack_timeout);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.flush_interval = absl::GetFlag(FLAGS_flush_interval);
  options.report_interval = absl::GetFlag(FLAGS_report_interval);
  options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  if (absl::Status s = hoplat::ValidateNodeId(options.client.node_id); !s.ok()) {
    return Fail(std::string(s.message()) + " (set --node_id)");
  }
  if (options.batch_size == 0 || options.batch_size > 65536) return Fail("--batch_size: 1 to 65536");
  if (options.client.max_in_flight < 1) return Fail("--max_in_flight: at least 1");
  if (options.flush_interval <= absl::ZeroDuration()) return Fail("--flush_interval: more than 0");
  if (options.client.ack_timeout <= absl::ZeroDuration()) return Fail("--ack_timeout: more than 0");
  if (!absl::GetFlag(FLAGS_paths).empty()) {
    if (absl::StatusOr<uint32_t> p = hoplat::ParsePaths(absl::GetFlag(FLAGS_paths)); !p.ok()) {
      return Fail(std::string(p.status().message()));
    }
  }

  std::unique_ptr<hoplat::Spool> spool;
  if (!absl::GetFlag(FLAGS_spool_dir).empty()) {
    const std::string dir = absl::GetFlag(FLAGS_spool_dir);
    MakeParents(dir);
    auto opened = hoplat::Spool::Open(dir, absl::GetFlag(FLAGS_spool_max_bytes));
    if (!opened.ok()) return Fail(std::string(opened.status().message()));
    spool = std::move(*opened);
    options.spool = spool.get();
  }
  options.client.connect_timeout = absl::Seconds(1);  // a down collector must not stall reading

  std::unique_ptr<hoplat::RecordSource> source;
  std::unique_ptr<hoplat::ModuleControl> control;
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
  }

  // The device and the genetlink socket are bound to this namespace now;
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

  hoplat::Logf("node %s -> collector %s", options.client.node_id, options.client.target);
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
  }
  return 0;
}
