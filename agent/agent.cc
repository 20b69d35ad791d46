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
      backoff_(options_.initial_backoff) {
  // After the spool's newest, even if the clock stepped back meanwhile: the
  // spool releases by "acknowledged up to seq", which needs order.
  if (options_.spool != nullptr) next_seq_ = std::max(next_seq_, options_.spool->last_seq() + 1);
}

v1::AgentCounters Agent::counters() const {
  v1::AgentCounters c;
  c.set_records_read(records_read_.load());
  c.set_batches_sent(batches_sent_.load());
  c.set_batches_acked(client_.acked_batches());
  c.set_rejected_batches(rejected_batches_.load());
  c.set_rejected_observations(rejected_observations_.load());
  if (options_.spool != nullptr) {
    c.set_spooled_batches(options_.spool->batches());
    c.set_spool_bytes(options_.spool->bytes());
    c.set_spool_dropped_batches(options_.spool->dropped_batches());
    c.set_spool_dropped_observations(options_.spool->dropped_observations());
  }
  return c;
}

void Agent::CountRejected() {
  for (const IngestClient::Rejected& r : client_.TakeRejected()) {
    Logf("collector refused batch %d (%d observations) for good, dropped: %s", r.seq,
         r.observations, r.reason);
    ++rejected_batches_;
    rejected_observations_ += r.observations;
    if (options_.spool != nullptr) options_.spool->Discard(r.seq);
  }
}

void Agent::Park() {
  // Ends the stream first, so that no ack arrives after the release below.
  std::vector<v1::ObservationBatch> unacked = client_.TakeUnacked();
  CountRejected();
  options_.spool->Release(client_.last_acked_seq());
  // Batches sent from the spool are still there (Append keeps them as they are).
  for (v1::ObservationBatch& b : unacked) {
    if (absl::Status s = options_.spool->Append(b); !s.ok()) Logf("spool: %s", s.message());
  }
  options_.spool->Unsend();
}

absl::Duration Agent::NextBackoff() {
  // Exponential backoff with jitter, so that a fleet does not reconnect in
  // lockstep after a collector restart.
  static thread_local std::mt19937_64 rng(std::random_device{}());
  const absl::Duration wait = backoff_ * std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  return wait;
}

void Agent::TryConnect(absl::Time now) {
  if (client_.connected() || now < next_attempt_) return;
  const absl::Status connected = client_.Connect();
  CountRejected();
  if (connected.ok()) {
    backoff_ = options_.initial_backoff;
    return;
  }
  Park();
  next_attempt_ = absl::Now() + NextBackoff();
}

void Agent::DrainSpool() {
  Spool* spool = options_.spool;
  // Files stay until acknowledged: a batch in flight when the agent is
  // killed is sent again by the next start.
  spool->Release(client_.last_acked_seq());
  // A window's worth per turn, so that reading the device is not held up.
  for (int i = 0; i < options_.client.max_in_flight && client_.connected() &&
                  spool->has_unsent() && !client_.window_full();
       ++i) {
    const uint64_t dropped = spool->dropped_batches();
    absl::StatusOr<v1::ObservationBatch> b = spool->NextUnsent();
    if (spool->dropped_batches() != dropped) Logf("spool: damaged batch files dropped");
    if (!b.ok()) return;
    const uint64_t seq = b->seq();
    if (!client_.Send(std::move(*b)).ok()) {
      Park();
      return;
    }
    spool->MarkSent(seq);
  }
}

void Agent::Deliver(v1::ObservationBatch batch) {
  ++batches_sent_;
  if (options_.spool == nullptr) {
    if (!client_.Send(std::move(batch)).ok()) {
      Reconnect(absl::InfiniteFuture()).IgnoreError();  // kept by the client: resent
    }
    return;
  }
  // A slow collector (window full) must not hold up reading: the batch
  // waits on disk instead, and goes after the ones before it.
  if (client_.connected() && !options_.spool->has_unsent() && !client_.window_full()) {
    if (client_.Send(std::move(batch)).ok()) return;
    Park();  // includes this batch
    return;
  }
  if (absl::Status s = options_.spool->Append(batch); !s.ok()) Logf("spool: %s", s.message());
}

absl::Status Agent::Reconnect(absl::Time deadline) {
  for (;;) {
    absl::Status s = client_.Connect();  // resends everything unacknowledged
    CountRejected();
    if (s.ok()) {
      backoff_ = options_.initial_backoff;
      return s;
    }
    // Told to stop while the collector is away: the drain below has its own deadline.
    if (absl::Now() >= deadline || (stop_.load() && deadline == absl::InfiniteFuture())) return s;
    const absl::Duration wait = NextBackoff();
    Logf("collector %s: %s; retrying in %s", options_.client.target, s.message(),
         absl::FormatDuration(wait));
    absl::SleepFor(std::min(wait, deadline - absl::Now()));
  }
}

void Agent::MaybeReport(absl::Time now, bool force) {
  if (!force && now < next_report_) return;
  next_report_ = now + options_.report_interval;
  v1::NodeReport report;
  *report.mutable_time() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(now));
  *report.mutable_agent() = counters();
  if (options_.module_counters) {
    absl::StatusOr<v1::ModuleCounters> module = options_.module_counters();
    if (module.ok()) {
      *report.mutable_module() = *module;
    } else {
      Logf("%s", module.status().message());
    }
  }
  *report.mutable_clock() = ReadClockState();
  client_.SendReport(report).IgnoreError();  // a broken stream is found by the next batch
}

absl::Status Agent::Run() {
  Batcher batcher(options_.batch_size);
  std::vector<hoplat_record> records;
  records.reserve(options_.batch_size);
  bool eof = false;
  absl::Status status;
  if (options_.spool == nullptr) {
    status = Reconnect(absl::InfiniteFuture());
  } else {
    TryConnect(absl::Now());
  }
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
    if (batcher.full() || (batcher.size() > 0 && t - batcher.oldest() >= options_.flush_interval)) {
      Deliver(batcher.Take(next_seq_++));
    }
    if (options_.spool != nullptr) {
      TryConnect(t);
      DrainSpool();
    }
    MaybeReport(t, false);
  }
  // Deliver what is left: the partial batch, the spool, everything
  // unacknowledged; what cannot be delivered in time stays in the spool.
  const absl::Time deadline = absl::Now() + options_.drain_timeout;
  if (batcher.size() > 0) Deliver(batcher.Take(next_seq_++));
  if (options_.spool != nullptr) {
    // Until everything is acknowledged or the deadline: a stream that
    // breaks meanwhile parks its batches and the drain starts again.
    bool reported = false;
    while (absl::Now() < deadline) {
      TryConnect(absl::Now());
      DrainSpool();
      if (!client_.connected()) {
        absl::SleepFor(std::min(absl::Milliseconds(50), deadline - absl::Now()));  // backoff pacing
        continue;
      }
      if (options_.spool->has_unsent()) {
        client_.WaitForRoom(deadline - absl::Now());  // acks make room; no spinning
        continue;
      }
      if (!reported) MaybeReport(absl::Now(), true);
      reported = true;
      if (client_.Flush(deadline - absl::Now()).ok()) {
        options_.spool->Release(client_.last_acked_seq());
        if (options_.spool->empty()) break;
      } else if (!client_.connected()) {
        Park();
        reported = false;
      }
    }
    if (options_.spool->empty() && client_.connected()) {
      client_.Close().IgnoreError();  // a clean end: the final report is read first
    } else {
      Park();  // whatever is still unacknowledged waits on disk for the next start
    }
    CountRejected();
    if (!options_.spool->empty()) {
      Logf("%d batches wait in the spool for the collector", options_.spool->batches());
    }
    return status;
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
