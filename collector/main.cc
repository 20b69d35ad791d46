// hoplat-collector: receives observations from hoplat agents, stores them in
// SQLite, correlates them into per-hop and path latencies, and answers queries.
#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/flags_usage.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "collector/collector.h"
#include "common/log.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "HOST:PORT to serve gRPC on (Ingest, Query, reflection, health). "
          "Use 0.0.0.0:50051 or [::]:50051 to accept agents from other hosts.");
ABSL_FLAG(std::string, db, "hoplat.db", "SQLite database file (created if missing).");
ABSL_FLAG(absl::Duration, retention, absl::Hours(24),
          "How long raw observations are kept for TracePacket.");
ABSL_FLAG(absl::Duration, aggregate_retention, absl::Hours(24 * 30),
          "How long per-minute latency aggregates are kept.");
ABSL_FLAG(absl::Duration, window, absl::Seconds(1),
          "Correlation window: the longest a packet may take across the network; "
          "sightings of one hash further apart are different crossings.");
ABSL_FLAG(absl::Duration, reorder_slack, absl::Milliseconds(500),
          "How far out of arrival order one node's observations may come.");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(10),
          "A node that sends nothing for this long stops holding back correlation.");
ABSL_FLAG(absl::Duration, seal_timeout, absl::Minutes(5),
          "A node that sends nothing for this long, or whose data runs this far behind the "
          "others', stops holding back sealing of minutes; its later data re-opens them.");
ABSL_FLAG(uint64_t, max_pending_observations, 4'000'000,
          "Memory bound of correlation: past this, the oldest packets are correlated early "
          "(and their minutes again from the stored rows once sealed).");
ABSL_FLAG(uint64_t, max_db_bytes, 0,
          "Largest size of the database file (0: no limit). Past it, batches are refused "
          "with RESOURCE_EXHAUSTED until retention frees space.");
ABSL_FLAG(bool, correct_clocks, true,
          "Take the offsets between routers' clocks, measured from their traffic both ways, out "
          "of every latency between them (docs/clocks.md). false: only routers in one clock "
          "domain, or with clocks that report their sync error, give figures; the others count "
          "as unsynchronised.");
ABSL_FLAG(int32_t, max_message_bytes, 16 << 20, "Largest gRPC message accepted.");
ABSL_FLAG(uint32_t, max_batch_observations, 65536, "Largest batch accepted.");
ABSL_FLAG(absl::Duration, max_past, absl::Hours(24 * 7),
          "Observations older than this (by the collector's clock) are refused as absurd.");
ABSL_FLAG(absl::Duration, max_future, absl::Minutes(10),
          "Observations further in the future than this are refused as absurd.");

int main(int argc, char** argv) {
  hoplat::SetLogProgramName("hoplat-collector");
  const hoplat::ProgramUsage usage{
      "hoplat-collector",
      "Stores hoplat observations and answers latency queries.\n"
      "Usage: hoplat-collector [--listen HOST:PORT] [--db PATH] [flags]\n"
      "Query it with grpcurl (reflection is on), e.g.\n"
      "  grpcurl -plaintext 127.0.0.1:50051 list\n"
      "  grpcurl -plaintext -d '{\"from_node\":\"r1\",\"to_node\":\"r3\"}' "
      "127.0.0.1:50051 hoplat.v1.Query/PathLatency",
      {{"Serving", {"listen", "max_message_bytes"}},
       {"Storage", {"db", "retention", "aggregate_retention", "max_db_bytes"}},
       {"Correlation",
        {"window", "reorder_slack", "idle_timeout", "seal_timeout", "max_pending_observations",
         "correct_clocks"}},
       {"What a batch may hold", {"max_batch_observations", "max_past", "max_future"}}}};
  std::vector<char*> rest = hoplat::ParseCommandLineWithUsage(argc, argv, usage);
  if (rest.size() > 1) {
    std::fprintf(stderr, "hoplat-collector: unexpected argument \"%s\" (see --help)\n", rest[1]);
    return 2;
  }

  // Signals are taken by a dedicated sigwait() below; block them before any
  // thread starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  hoplat::CollectorOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.store.path = absl::GetFlag(FLAGS_db);
  options.store.max_db_bytes = absl::GetFlag(FLAGS_max_db_bytes);
  options.store.retention = absl::GetFlag(FLAGS_retention);
  options.store.aggregate_retention = absl::GetFlag(FLAGS_aggregate_retention);
  options.correlator.window = absl::GetFlag(FLAGS_window);
  options.correlator.reorder_slack = absl::GetFlag(FLAGS_reorder_slack);
  options.correlator.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  options.correlator.seal_timeout = absl::GetFlag(FLAGS_seal_timeout);
  options.correlator.max_pending_observations = absl::GetFlag(FLAGS_max_pending_observations);
  options.correlator.correct_clocks = absl::GetFlag(FLAGS_correct_clocks);
  options.ingest.max_batch_observations = absl::GetFlag(FLAGS_max_batch_observations);
  options.ingest.max_past = absl::GetFlag(FLAGS_max_past);
  options.ingest.max_future = absl::GetFlag(FLAGS_max_future);
  if (options.correlator.idle_timeout > options.correlator.seal_timeout) {
    std::fprintf(stderr,
                 "hoplat-collector: --idle_timeout must not exceed --seal_timeout (a minute "
                 "would be sealed while packets in it still wait for a node)\n");
    return 2;
  }
  if (options.correlator.window <= absl::ZeroDuration() ||
      options.correlator.reorder_slack < absl::ZeroDuration()) {
    std::fprintf(stderr, "hoplat-collector: --window must be > 0 and --reorder_slack >= 0\n");
    return 2;
  }

  absl::StatusOr<std::unique_ptr<hoplat::Collector>> collector =
      hoplat::Collector::Start(options);
  if (!collector.ok()) {
    std::fprintf(stderr, "hoplat-collector: %s\n", std::string(collector.status().message()).c_str());
    return 1;
  }
  hoplat::Logf("listening on %s (port %d), database %s", options.listen, (*collector)->port(),
               options.store.path);

  int sig = 0;
  sigwait(&signals, &sig);
  hoplat::Logf("signal %d: shutting down", sig);
  (*collector)->Shutdown();
  hoplat::Logf("stopped");
  return 0;
}
