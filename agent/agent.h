#ifndef HOPLAT_AGENT_AGENT_H_
#define HOPLAT_AGENT_AGENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/lab_clock.h"
#include "agent/record_source.h"
#include "common/ingest_client.h"
#include "common/pending_batches.h"
#include "hoplat/v1/common.pb.h"

namespace hoplat {

struct AgentOptions {
  IngestClientOptions client;
  // ClockState.clock_domain in the Hello and every NodeReport: routers with
  // one non-empty domain read one kernel's clock (ClockDomainFor in
  // clock_state.h: from the flags, the kernel's boot id). Empty: none.
  std::string clock_domain;
  // A lab tool (--clock_offset, --clock_drift_ppm): every record's arrival
  // and exit, and each NodeReport's time, read through this clock instead
  // of the real one (lab_clock.h). Default: the real clock.
  LabClock lab_clock;
  size_t batch_size = 4096;
  absl::Duration flush_interval = absl::Milliseconds(200);
  absl::Duration report_interval = absl::Seconds(10);
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(30);
  // How long Run() keeps trying to deliver what it holds once told to stop.
  absl::Duration drain_timeout = absl::Seconds(30);
  // Where batches wait for the collector's acknowledgement (not owned):
  // with --spool_dir, SpillingBatches (in memory while the collector keeps
  // up, on disk in the spool when it does not, which survives the agent).
  // Without one they wait in memory, bounded by memory_max_bytes.
  PendingBatches* pending = nullptr;
  uint64_t memory_max_bytes = 256ull << 20;
  // The module's counters for NodeReports (empty for a replay source).
  std::function<absl::StatusOr<v1::ModuleCounters>()> module_counters;
  // Adds the router's interfaces to a NodeReport (empty for a replay source).
  std::function<void(v1::NodeReport*)> interfaces;
};

// Reads records from a source, batches them, and streams the batches to the
// collector. A broken stream is reopened with exponential backoff and
// jitter; everything unacknowledged is resent and stored once.
class Agent {
 public:
  Agent(AgentOptions options, RecordSource* source);

  // Runs until the source ends or Stop() is called, then delivers what it
  // holds (up to drain_timeout). OK if everything read was acknowledged, or
  // (with a spool) waits there for the next start.
  absl::Status Run();
  void Stop() { stop_.store(true); }  // safe from any thread

  v1::AgentCounters counters() const;

 private:
  // The clock state the Hello and each NodeReport carry.
  v1::ClockState ClockNow() const;
  // Connects if there is no stream and the backoff allows; true if a new
  // stream is up.
  bool TryConnect(absl::Time now);
  // The next wait before reconnecting (jittered), and doubles the backoff.
  absl::Duration NextBackoff();
  void MaybeReport(absl::Time now, bool force);
  void Deliver(v1::ObservationBatch batch);
  // Whether reading must wait for the collector before holding more.
  bool MustWaitForCollector() const;
  // After the last read: delivers what is held, up to drain_timeout.
  absl::Status Drain();
  void CountRejected();  // batches the collector refused for good

  AgentOptions options_;
  RecordSource* const source_;
  std::unique_ptr<PendingBatches> owned_pending_;  // when options_.pending is null
  PendingBatches* const pending_;
  IngestClient client_;
  std::atomic<bool> stop_{false};
  uint64_t next_seq_;
  absl::Time next_report_ = absl::InfinitePast();
  absl::Time next_attempt_ = absl::InfinitePast();
  absl::Duration backoff_;
  const uint64_t dropped_at_start_;  // the spool's count persists across runs

  std::atomic<uint64_t> records_read_{0};
  std::atomic<uint64_t> batches_sent_{0};
  std::atomic<uint64_t> rejected_batches_{0};
  std::atomic<uint64_t> rejected_observations_{0};
};

}  // namespace hoplat

#endif  // HOPLAT_AGENT_AGENT_H_
