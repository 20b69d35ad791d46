#include "agent/agent.h"

#include <algorithm>
#include <random>
#include <vector>

#include "agent/batcher.h"
#include "agent/clock_state.h"
#include "common/memory_pending_batches.h"
#include "common/log.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"

namespace hoplat {

Agent::Agent(AgentOptions options, RecordSource* source)
    : options_(std::move(options)),
      source_(source),
      owned_pending_(options_.pending == nullptr
                         ? std::make_unique<MemoryPendingBatches>(options_.memory_max_bytes)
                         : nullptr),
      pending_(options_.pending != nullptr ? options_.pending : owned_pending_.get()),
      client_(
          [&] {
            IngestClientOptions c = options_.client;
            c.clock = ClockNow();
            return c;
          }(),
          pending_),
      // Sequence numbers from the clock: unique across restarts of the agent
      // (a restarted agent must not reuse a number the collector has seen),
      // and after the spool's newest even if the clock stepped back: the
      // spool sends oldest first by seq.
      next_seq_(std::max(static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())),
                         pending_->last_seq() + 1)),
      backoff_(options_.initial_backoff),
      dropped_at_start_(pending_->dropped_batches()) {}

v1::ClockState Agent::ClockNow() const {
  v1::ClockState clock = ReadClockState(options_.clock_domain);
  // A lab clock says so, with what it applies: the lab's truth.
  if (!options_.lab_clock.real()) {
    clock.set_source(absl::StrCat(options_.lab_clock.Describe(), " over ", clock.source()));
  }
  return clock;
}

v1::AgentCounters Agent::counters() const {
  v1::AgentCounters c;
  c.set_records_read(records_read_.load());
  c.set_batches_sent(batches_sent_.load());
  c.set_batches_acked(client_.acked_batches());
  c.set_rejected_batches(rejected_batches_.load());
  c.set_rejected_observations(rejected_observations_.load());
  c.set_spooled_batches(pending_->batches());
  c.set_spool_bytes(pending_->bytes());
  c.set_spool_dropped_batches(pending_->dropped_batches());
  c.set_spool_dropped_observations(pending_->dropped_observations());
  return c;
}

void Agent::CountRejected() {
  for (const IngestClient::Rejected& r : client_.TakeRejected()) {
    if (r.code == absl::StatusCode::kAlreadyExists) {
      Logf("CONFLICT: the collector holds another batch %d for node %s: is another router "
           "using this node id? Batch dropped (%d observations): %s",
           r.seq, options_.client.node_id, r.observations, r.reason);
    } else {
      Logf("collector refused batch %d (%d observations) for good, dropped: %s", r.seq,
           r.observations, r.reason);
    }
    ++rejected_batches_;
    rejected_observations_ += r.observations;
  }
}

absl::Duration Agent::NextBackoff() {
  // Exponential backoff with jitter, so that a fleet does not reconnect in
  // lockstep after a collector restart.
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const absl::Duration wait = backoff_ * std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  return wait;
}

bool Agent::TryConnect(absl::Time now) {
  if (client_.connected() || now < next_attempt_) return false;
  const absl::Status connected = client_.Connect();  // resends what is unacknowledged
  CountRejected();
  if (connected.ok()) {
    backoff_ = options_.initial_backoff;
    return true;
  }
  const absl::Duration wait = NextBackoff();
  next_attempt_ = absl::Now() + wait;
  Logf("collector %s: %s; retrying in %s", options_.client.target, connected.message(),
       absl::FormatDuration(wait));
  return false;
}

bool Agent::MustWaitForCollector() const {
  // The device is never held up (its rings would drop): what a slow or
  // absent collector cannot take waits in the spool or in memory, bounded,
  // the oldest dropped and counted. A file can wait: without a spool,
  // reading it stays a window ahead of a connected collector, so that
  // nothing of it is dropped for memory.
  return source_->can_wait() && !pending_->durable() && client_.connected() &&
         pending_->batches() >= 2 * static_cast<size_t>(options_.client.max_in_flight);
}

void Agent::Deliver(v1::ObservationBatch batch) {
  ++batches_sent_;
  while (MustWaitForCollector() && !stop_.load()) {
    client_.WaitForProgress(absl::Milliseconds(100));
    client_.Pump().IgnoreError();
  }
  // Kept until acknowledged; sent now if the window has room. What cannot
  // be kept (the bound) is counted as dropped.
  if (absl::Status s = client_.Queue(std::move(batch)); !s.ok()) Logf("%s", s.message());
}

void Agent::MaybeReport(absl::Time now, bool force) {
  if (!force && now < next_report_) return;
  next_report_ = now + options_.report_interval;
  v1::NodeReport report;
  // By this node's clock: the lab clock's, if it has one.
  const uint64_t now_ns = options_.lab_clock.Apply(static_cast<uint64_t>(absl::ToUnixNanos(now)));
  *report.mutable_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(now_ns));
  *report.mutable_agent() = counters();
  if (options_.module_counters) {
    absl::StatusOr<v1::ModuleCounters> module = options_.module_counters();
    if (module.ok()) {
      *report.mutable_module() = *module;
    } else {
      Logf("%s", module.status().message());
    }
  }
  *report.mutable_clock() = ClockNow();
  if (options_.interfaces) options_.interfaces(&report);
  client_.SendReport(report).IgnoreError();  // a broken stream is found by the next batch
}

absl::Status Agent::Run() {
  Batcher batcher(options_.batch_size, options_.lab_clock);
  std::vector<hoplat_record> records;
  records.reserve(options_.batch_size);
  bool eof = false;
  absl::Status status;
  TryConnect(absl::Now());
  while (!eof && !stop_.load()) {
    const absl::Time now = absl::Now();
    const absl::Duration wait =
        batcher.size() == 0 ? options_.flush_interval
                            : std::max(absl::ZeroDuration(),
                                       batcher.oldest() + options_.flush_interval - now);
    records.clear();
    absl::StatusOr<size_t> n = source_->Read(options_.batch_size - batcher.size(), wait, &records);
    if (absl::IsOutOfRange(n.status())) {
      eof = true;
    } else if (!n.ok()) {
      status = n.status();
      break;
    }
    const absl::Time t = absl::Now();
    for (const hoplat_record& r : records) batcher.Add(r, t);
    records_read_ += records.size();
    if (batcher.full() || (batcher.size() > 0 && t - batcher.oldest() >= options_.flush_interval)) {
      Deliver(batcher.Take(next_seq_++));
    }
    TryConnect(t);
    client_.Pump().IgnoreError();  // acks release, the window refills
    CountRejected();
    MaybeReport(t, false);
  }
  if (batcher.size() > 0) Deliver(batcher.Take(next_seq_++));
  absl::Status drained = Drain();
  return status.ok() ? drained : status;
}

absl::Status Agent::Drain() {
  // Until everything is acknowledged or the deadline: a stream that breaks
  // meanwhile is reopened and gets the final report too. Once nothing is
  // held, an unreachable collector only misses the final report: no wait.
  const absl::Time deadline = absl::Now() + options_.drain_timeout;
  bool reported = false;
  while (absl::Now() < deadline) {
    if (TryConnect(absl::Now())) reported = false;
    client_.Pump().IgnoreError();
    CountRejected();
    if (client_.connected() && !pending_->has_unsent() && !reported) {
      MaybeReport(absl::Now(), true);
      reported = true;
    }
    if (pending_->empty() && (reported || !client_.connected())) break;
    if (!client_.connected()) {
      absl::SleepFor(std::min(absl::Milliseconds(50), deadline - absl::Now()));  // backoff pacing
      continue;
    }
    client_.WaitForProgress(deadline - absl::Now());  // acks make room; no spinning
  }
  if (pending_->empty() && reported && client_.connected()) {
    client_.Close().IgnoreError();  // a clean end: the final report is read first
  } else {
    client_.Abort();  // what is unacknowledged stays pending (a spool writes it to disk)
  }
  client_.Pump().IgnoreError();  // the last acks
  CountRejected();
  if (pending_->empty() && !reported) Logf("the collector did not get the final report");
  if (!pending_->durable()) {
    const uint64_t dropped = pending_->dropped_batches() - dropped_at_start_;
    if (!pending_->empty()) {
      return absl::DataLossError(absl::StrFormat(
          "%d batches could not be delivered before the drain timeout%s", pending_->batches(),
          dropped > 0 ? absl::StrFormat(", %d more were dropped for memory", dropped) : ""));
    }
    if (dropped > 0) {
      return absl::DataLossError(absl::StrFormat(
          "%d batches were dropped while the collector was away (--spool_max_bytes)", dropped));
    }
  } else if (!pending_->empty()) {
    Logf("%d batches wait in the spool for the collector", pending_->batches());
  }
  return absl::OkStatus();
}

}  // namespace hoplat
