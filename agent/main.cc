// hoplat-agent: streams the kernel module's records (or a replay file) to a
// hoplat collector.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "agent/agent.h"
#include "agent/device_source.h"
#include "agent/module_control.h"
#include "agent/replay_source.h"
#include "agent/spool.h"
#include "common/flags_usage.h"
#include "common/log.h"
#include "common/node_id.h"

ABSL_FLAG(std::string, collector, "127.0.0.1:50051", "Collector address, HOST:PORT.");
ABSL_FLAG(std::string, node_id, "", "This router's name in every query (default: the hostname).");
ABSL_FLAG(std::string, device, HOPLAT_DEVICE, "The kernel module's device.");
ABSL_FLAG(std::string, replay, "",
          "Read records from this file (raw UAPI records, back to back) instead of the device; "
          "exit once it is delivered.");
ABSL_FLAG(uint32_t, batch_size, 4096, "Observations per batch.");
ABSL_FLAG(absl::Duration, flush_interval, absl::Milliseconds(200),
          "Longest a record waits in a partial batch.");
ABSL_FLAG(int32_t, max_in_flight, 8, "Batches sent but not yet acknowledged.");
ABSL_FLAG(absl::Duration, report_interval, absl::Seconds(10), "How often counters are reported.");
ABSL_FLAG(std::string, spool_dir, "/var/spool/hoplat",
          "Where batches wait on disk while the collector is away (created if missing); "
          "empty: no spool (stop reading until the collector is back).");
ABSL_FLAG(uint32_t, sample_one_in, 0,
          "Set the module to keep one packet in N, by hash (1: all; 0: leave it as it is). "
          "Use the same N on every router.");
ABSL_FLAG(std::string, hash_key_file, "",
          "Set the module's hash key from this file (16 bytes, readable only by its owner). "
          "Use the same key on every router.");
ABSL_FLAG(uint64_t, spool_max_bytes, 256ull << 20,
          "Largest spool; when full, the oldest batches are dropped and counted.");

namespace {

std::string Hostname() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "hoplat-agent: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  hoplat::SetLogProgramName("hoplat-agent");
  hoplat::SetUpFlagsUsage("agent/main.cc", "hoplat-agent",
                          "Streams hoplat records from /dev/hoplat (or --replay FILE) to a "
                          "collector.\nUsage: hoplat-agent --collector HOST:PORT [--node_id NAME] "
                          "[flags]");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) return Fail(std::string("unexpected argument \"") + rest[1] + "\" (see --help)");

  hoplat::AgentOptions options;
  options.client.target = absl::GetFlag(FLAGS_collector);
  options.client.node_id = absl::GetFlag(FLAGS_node_id).empty() ? Hostname()
                                                                 : absl::GetFlag(FLAGS_node_id);
  options.client.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.flush_interval = absl::GetFlag(FLAGS_flush_interval);
  options.report_interval = absl::GetFlag(FLAGS_report_interval);
  if (absl::Status s = hoplat::ValidateNodeId(options.client.node_id); !s.ok()) {
    return Fail(std::string(s.message()) + " (set --node_id)");
  }
  if (options.batch_size == 0 || options.batch_size > 65536) return Fail("--batch_size: 1 to 65536");

  std::unique_ptr<hoplat::Spool> spool;
  if (!absl::GetFlag(FLAGS_spool_dir).empty()) {
    const std::string dir = absl::GetFlag(FLAGS_spool_dir);
    // Parents too (mkdir -p): /var/spool may not exist on a small router.
    for (size_t i = 1; i < dir.size(); ++i) {
      if (dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0755);
    }
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
    hoplat::ModuleControl::Config config;
    if (absl::GetFlag(FLAGS_sample_one_in) > 0) config.sample_one_in = absl::GetFlag(FLAGS_sample_one_in);
    if (!absl::GetFlag(FLAGS_hash_key_file).empty()) {
      auto key = hoplat::ReadHashKeyFile(absl::GetFlag(FLAGS_hash_key_file));
      if (!key.ok()) return Fail(std::string(key.status().message()));
      config.hash_key = *key;
    }
    if (config.sample_one_in || config.hash_key) {
      if (absl::Status s = control->Configure(config); !s.ok()) return Fail(std::string(s.message()));
    }
    hoplat::ModuleControl* c = control.get();
    options.module_counters = [c] { return c->Counters(); };
  }

  // SIGINT/SIGTERM: stop reading, deliver what is held, exit.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  hoplat::Agent agent(options, source.get());
  std::thread waiter([&] {
    int sig;
    sigwait(&signals, &sig);
    hoplat::Logf("signal %d: delivering what is held, then exiting", sig);
    agent.Stop();
  });
  waiter.detach();

  hoplat::Logf("node %s -> collector %s", options.client.node_id, options.client.target);
  const absl::Status status = agent.Run();
  const hoplat::v1::AgentCounters c = agent.counters();
  hoplat::Logf("read %d records, sent %d batches, %d acknowledged", c.records_read(),
               c.batches_sent(), c.batches_acked());
  if (!status.ok()) return Fail(std::string(status.message()));
  return 0;
}
