#include "agent/flags.h"

#include <unistd.h>

#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "agent/clock_state.h"
#include "agent/lab_clock.h"
#include "common/node_id.h"

ABSL_FLAG(std::string, config, "",
          "Read settings from this file: \"name = value\" lines named like these flags, '#' "
          "comments. The command line wins over the file. SIGHUP re-reads it.");
ABSL_FLAG(std::string, collector, "127.0.0.1:50051", "Collector address, HOST:PORT.");
ABSL_FLAG(std::string, node_id, "", "This router's name in every query (default: the hostname).");
ABSL_FLAG(std::string, clock_domain, "",
          "This router's clock identity: routers with the same one read one kernel's clock "
          "(namespaces or containers on one host), so latencies between them are exact. "
          "Only for that, never for separate hosts however well synchronised. Default: the "
          "kernel's boot id (none with --replay: the records were made elsewhere).");
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
          "Batches sent but not yet acknowledged (the window); more wait in the spool, or "
          "in memory without one, meanwhile.");
ABSL_FLAG(absl::Duration, ack_timeout, absl::Seconds(30),
          "A collector that acknowledges nothing this long is taken as hung: reconnect "
          "(batches wait meanwhile).");
ABSL_FLAG(absl::Duration, report_interval, absl::Seconds(10), "How often counters are reported.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "At SIGTERM (or the end of --replay), how long to keep trying to deliver what is "
          "held; then it is left in the spool (without one it is lost, and the exit status "
          "says so).");
ABSL_FLAG(std::string, spool_dir, "/var/spool/hoplat",
          "Where batches wait on disk while the collector is away (created if missing); "
          "empty: no spool (batches wait in memory, within --spool_max_bytes, and are lost "
          "with the agent).");
ABSL_FLAG(uint64_t, spool_max_bytes, 256ull << 20,
          "Most bytes of batches waiting for an acknowledgement (on disk, or in memory without "
          "a spool); when full, the oldest are dropped and counted.");
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
ABSL_FLAG(absl::Duration, clock_offset, absl::ZeroDuration(),
          "Lab tool, never for a real router: read this node's clock as wrong by this much "
          "(e.g. 3ms, -1.5s) at the agent's start, so that routers sharing one clock look "
          "like routers with clocks of their own and an offset estimate can be checked "
          "against the truth. Every record's arrival and exit is moved; the monotonic "
          "residence is not. The node then reports a clock domain of its own (lab-<node_id> "
          "unless --clock_domain names one).");
ABSL_FLAG(double, clock_drift_ppm, 0,
          "Lab tool, never for a real router: let this node's clock run fast by this many "
          "parts per million (slow if negative; -1000 to 1000) from the agent's start, on top "
          "of --clock_offset. The node reports a clock domain of its own here too.");

namespace hoplat {
namespace {

// Every flag a config file may set; `reloadable`: SIGHUP applies it to the
// running agent (the module's settings); the others take effect at the
// next start. The per-invocation flags (config, replay, record,
// record_count) are not here.
struct Setting {
  const char* flag;
  bool reloadable;
};
constexpr Setting kSettings[] = {
    {"collector", false},       {"node_id", false},         {"clock_domain", false},
    {"device", false},          {"collector_netns", false}, {"batch_size", false},
    {"flush_interval", false},  {"max_in_flight", false},   {"ack_timeout", false},
    {"report_interval", false}, {"drain_timeout", false},   {"spool_dir", false},
    {"spool_max_bytes", false}, {"sample_one_in", true},    {"hash_key_file", true},
    {"paths", true},           {"clock_offset", false},    {"clock_drift_ppm", false},
};

constexpr uint64_t kMinSpoolBytes = 1 << 20;

std::string Hostname() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

}  // namespace

const std::set<std::string>& SettableFlags() {
  static const auto* names = [] {
    auto* out = new std::set<std::string>();
    for (const Setting& s : kSettings) out->insert(s.flag);
    return out;
  }();
  return *names;
}

bool IsReloadable(const std::string& flag) {
  for (const Setting& s : kSettings) {
    if (flag == s.flag) return s.reloadable;
  }
  return false;
}

const ProgramUsage& AgentUsage() {
  static const auto* usage = new ProgramUsage{
      "hoplat-agent",
      "Streams hoplat records from /dev/hoplat (or --replay FILE) to a collector.\n"
      "Usage: hoplat-agent --collector HOST:PORT [--node_id NAME] [--config FILE] [flags]\n"
      "       hoplat-agent --record FILE [--record_count N]",
      {{"Where from and where to",
        {"config", "collector", "node_id", "clock_domain", "device", "collector_netns",
         "replay"}},
       {"The module's settings", {"sample_one_in", "hash_key_file", "paths"}},
       {"Batching and delivery",
        {"batch_size", "flush_interval", "max_in_flight", "ack_timeout", "report_interval",
         "drain_timeout"}},
       {"While the collector is away", {"spool_dir", "spool_max_bytes"}},
       {"Capturing a replay file", {"record", "record_count"}},
       {"Lab tools (never on a real router)", {"clock_offset", "clock_drift_ppm"}}}};
  return *usage;
}

std::map<std::string, std::string> SettableFlagValues() {
  std::map<std::string, std::string> values;
  for (const std::string& name : SettableFlags()) {
    values[name] = absl::FindCommandLineFlag(name)->CurrentValue();
  }
  return values;
}

absl::StatusOr<AgentOptions> AgentOptionsFromFlags() {
  AgentOptions options;
  options.client.target = absl::GetFlag(FLAGS_collector);
  options.client.node_id =
      absl::GetFlag(FLAGS_node_id).empty() ? Hostname() : absl::GetFlag(FLAGS_node_id);
  options.client.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  options.client.ack_timeout = absl::GetFlag(FLAGS_ack_timeout);
  options.client.connect_timeout = absl::Seconds(1);  // a down collector must not stall reading
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.flush_interval = absl::GetFlag(FLAGS_flush_interval);
  options.report_interval = absl::GetFlag(FLAGS_report_interval);
  options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  options.memory_max_bytes = absl::GetFlag(FLAGS_spool_max_bytes);
  if (absl::Status s = ValidateNodeId(options.client.node_id); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(s.message(), " (set --node_id)"));
  }
  // The lab clock's reference: the agent's start by the real clock, read once.
  absl::StatusOr<LabClock> lab_clock =
      LabClock::Create(absl::GetFlag(FLAGS_clock_offset), absl::GetFlag(FLAGS_clock_drift_ppm),
                       static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())));
  if (!lab_clock.ok()) return lab_clock.status();
  options.lab_clock = *lab_clock;
  // A node with a lab clock no longer reads its neighbours' clock: a domain
  // of its own unless one is named.
  std::string configured_domain = absl::GetFlag(FLAGS_clock_domain);
  if (configured_domain.empty() && !options.lab_clock.real()) {
    absl::StatusOr<std::string> lab_domain = LabClockDomain(options.client.node_id);
    if (!lab_domain.ok()) return lab_domain.status();
    configured_domain = *std::move(lab_domain);
  }
  absl::StatusOr<std::string> domain =
      ClockDomainFor(configured_domain, !absl::GetFlag(FLAGS_replay).empty());
  if (!domain.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--clock_domain: ", domain.status().message()));
  }
  options.clock_domain = *std::move(domain);
  if (options.batch_size == 0 || options.batch_size > 65536) {
    return absl::InvalidArgumentError("--batch_size: 1 to 65536");
  }
  if (options.client.max_in_flight < 1) {
    return absl::InvalidArgumentError("--max_in_flight: at least 1");
  }
  if (options.flush_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--flush_interval: more than 0");
  }
  if (options.client.ack_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--ack_timeout: more than 0");
  }
  if (absl::GetFlag(FLAGS_spool_max_bytes) < kMinSpoolBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--spool_max_bytes: at least ", kMinSpoolBytes, " (a few batches)"));
  }
  if (!absl::GetFlag(FLAGS_paths).empty()) {
    if (absl::StatusOr<uint32_t> p = ParsePaths(absl::GetFlag(FLAGS_paths)); !p.ok()) {
      return p.status();
    }
  }
  return options;
}

absl::StatusOr<ModuleControl::Config> ModuleConfigFromFlags() {
  ModuleControl::Config config;
  if (absl::GetFlag(FLAGS_sample_one_in) > 0) {
    config.sample_one_in = absl::GetFlag(FLAGS_sample_one_in);
  }
  if (!absl::GetFlag(FLAGS_hash_key_file).empty()) {
    absl::StatusOr<std::string> key = ReadHashKeyFile(absl::GetFlag(FLAGS_hash_key_file));
    if (!key.ok()) return key.status();
    config.hash_key = *key;
  }
  if (!absl::GetFlag(FLAGS_paths).empty()) {
    absl::StatusOr<uint32_t> paths = ParsePaths(absl::GetFlag(FLAGS_paths));
    if (!paths.ok()) return paths.status();
    config.paths = *paths;
  }
  return config;
}

}  // namespace hoplat
