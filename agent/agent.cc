#include "agent/agent.h"

#include <random>
#include <vector>

#include "agent/batcher.h"
#include "agent/clock_state.h"
#include "common/log.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/time_util.h"

namespace hoplat {

Agent::Agent(AgentOptions options, RecordSource* source)
    : options_(std::move(options)),
      source_(source),
      client_([&] {
        IngestClientOptions c = options_.client;
        c.clock = ReadClockState();
        return c;
      }()),
      // Sequence numbers from the clock: unique across restarts of the agent
      // (a restarted agent must not reuse a number the collector has seen).
      next_seq_(static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))),
      backoff_(options_.initial_backoff) {}

v1::AgentCounters Agent::counters() const {
  v1::AgentCounters c;
  c.set_records_read(records_read_.load());
  c.set_batches_sent(batches_sent_.load());
  c.set_batches_acked(client_.acked_batches());
  return c;
}

absl::Status Agent::Reconnect(absl::Time deadline) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  for (;;) {
    absl::Status s = client_.Connect();  // resends everything unacknowledged
    if (s.ok()) {
      backoff_ = options_.initial_backoff;
      return s;
    }
    // Told to stop while the collector is away: the drain below has its own deadline.
    if (absl::Now() >= deadline || (stop_.load() && deadline == absl::InfiniteFuture())) return s;
    // Exponential backoff with full jitter, so that a fleet does not
    // reconnect in lockstep after a collector restart.
    const double jitter = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
    Logf("collector %s: %s; retrying in %s", options_.client.target, s.message(),
         absl::FormatDuration(backoff_ * jitter));
    absl::SleepFor(std::min(backoff_ * jitter, deadline - absl::Now()));
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  }
}

void Agent::MaybeReport(absl::Time now, bool force) {
  if (!force && now < next_report_) return;
  next_report_ = now + options_.report_interval;
  v1::NodeReport report;
  *report.mutable_time() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(now));
  *report.mutable_agent() = counters();
  *report.mutable_clock() = ReadClockState();
  client_.SendReport(report).IgnoreError();  // a broken stream is found by the next batch
}

absl::Status Agent::Run() {
  Batcher batcher(options_.batch_size);
  std::vector<hoplat_record> records;
  records.reserve(options_.batch_size);
  bool eof = false;
  absl::Status status = Reconnect(absl::InfiniteFuture());
  while (status.ok() && !eof && !stop_.load()) {
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
    if (batcher.full() || (batcher.size() > 0 && t - batcher.oldest() >= options_.flush_interval) ||
        (eof && batcher.size() > 0)) {
      if (!client_.Send(batcher.Take(next_seq_++)).ok()) {
        // Kept by the client: the reconnect resends it.
        status = Reconnect(absl::InfiniteFuture());
      }
      ++batches_sent_;
    }
    MaybeReport(t, false);
  }
  // Deliver what is left: the partial batch, then everything unacknowledged.
  const absl::Time deadline = absl::Now() + options_.drain_timeout;
  if (batcher.size() > 0) {
    client_.Send(batcher.Take(next_seq_++)).IgnoreError();
    ++batches_sent_;
  }
  MaybeReport(absl::Now(), true);
  for (;;) {
    absl::Status flushed = client_.Flush(deadline - absl::Now());
    if (flushed.ok() || absl::Now() >= deadline) {
      if (!flushed.ok() && status.ok()) status = flushed;
      break;
    }
    if (!Reconnect(deadline).ok()) continue;
  }
  client_.Close().IgnoreError();  // the acks are what counts, checked below
  if (status.ok() && client_.unacked_batches() > 0) {
    status = absl::DataLossError(absl::StrFormat(
        "%d batches could not be delivered before the drain timeout", client_.unacked_batches()));
  }
  return status;
}

}  // namespace hoplat
