#include "collector/ingest_service.h"

#include <algorithm>
#include <deque>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collector/store/batches_table.h"
#include "common/batch_columns.h"
#include "common/error_text.h"
#include "common/grpc_status.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "common/timestamps.h"
#include "common/ingest_metadata.h"
#include "common/node_id.h"
#include "common/observation_codec.h"

namespace hoplat {
namespace {
constexpr absl::Duration kClaimGrace = absl::Seconds(1);
}  // namespace

// One Ingest stream. Reactions run on gRPC's threads and store callbacks on
// the writer thread; all state is under mu_, and gRPC operations are started
// after mu_ is released (a reaction may run inline).
//
// Lifetime: OnDone() deletes the reactor once Finish() was called and every
// operation completed. So Finish() is called only when no store callback is
// pending, no write is in progress, and no other thread is between deciding
// on an operation and starting it (starting_). Every entry point changes state
// and decides what to do next in one critical section (Pump(update)), so no
// thread touches the reactor after another may have finished it.
class IngestService::Reactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Reactor(IngestService* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    Pump([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {});  // starts the first read
  }

  void OnReadDone(bool ok) override {
    // Decoded here, outside mu_: the one outstanding read owns request_.
    const bool decoded =
        ok && grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::IngestRequest>(&read_buffer_,
                                                                                &request_)
                  .ok();
    Pump([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      reading_ = false;
      if (!ok) {
        reads_done_ = true;
      } else if (!decoded) {
        Fail(absl::InvalidArgumentError(
            "a message on the stream is not a valid IngestRequest (undecodable, or a string "
            "field that is not UTF-8): stream ended"));
      } else if (status_.ok()) {
        Handle();
      }
    });
  }

  void OnWriteDone(bool ok) override {
    Pump([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      writing_ = false;
      if (!ok) Fail(absl::CancelledError("agent went away"));
    });
  }

  void OnCancel() override {
    Pump([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { Fail(absl::CancelledError("stream cancelled")); });
  }

  void OnDone() override { delete this; }

 private:
  enum class Phase { kHello, kRegistering, kStreaming };

  void Fail(absl::Status s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (status_.ok()) status_ = std::move(s);
    // An agent that will not read its acks gets none; one that sent garbage
    // still gets the acks of what was committed before, then the error.
    if (absl::IsCancelled(status_)) acks_.clear();
  }

  void Handle() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    switch (request_.msg_case()) {
      case v1::IngestRequest::kHello:
        if (phase_ != Phase::kHello) {
          Fail(absl::FailedPreconditionError("Hello sent twice on one stream"));
        } else {
          HandleHello();
        }
        return;
      case v1::IngestRequest::kBatch:
      case v1::IngestRequest::kReport:
        if (phase_ != Phase::kStreaming) {
          Fail(absl::FailedPreconditionError(
              "the first message on an Ingest stream must be a Hello naming the node"));
          return;
        }
        if (request_.has_batch()) {
          // Decoded, checked and encoded by Pump() outside mu_: a large batch
          // must not hold up the writer's callbacks for this stream.
          pending_raw_.emplace();
          pending_raw_->Swap(request_.mutable_batch());
          ++in_flight_;
          processing_ = true;
        } else if (absl::Status t = ValidateReport(request_.report()); !t.ok()) {
          Fail(t);
        } else {
          if (request_.report().has_clock()) {
            service_->worker_->SetNodeClock(node_, NodeClockOf(request_.report().clock()));
          }
          service_->store_->SubmitReport(node_id_, request_.report());
        }
        return;
      case v1::IngestRequest::MSG_NOT_SET:
        Fail(absl::InvalidArgumentError("empty IngestRequest (no hello, batch or report)"));
        return;
    }
  }

  static absl::Status ValidateReport(const v1::NodeReport& report) {
    if (!report.has_time()) return absl::OkStatus();
    return TimestampToNanos(report.time(), "NodeReport time").status();
  }

  void HandleHello() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const v1::Hello& hello = request_.hello();
    if (absl::Status s = ValidateNodeId(hello.node_id()); !s.ok()) {
      Fail(s);
      return;
    }
    if (!service_->Claim(hello.node_id())) {
      // The first stream keeps working; this one may come back once it ends.
      Fail(absl::AlreadyExistsError(absl::StrFormat(
          "node %s already has a live stream to this collector (two routers with one name, "
          "or a disk image copied from another router?): this stream is refused",
          QuoteInput(hello.node_id()))));
      return;
    }
    claimed_ = hello.node_id();
    phase_ = Phase::kRegistering;
    pending_name_ = hello.node_id();
    // Submitted by Pump() once mu_ is released (the store may answer at once).
    pending_hello_ = hello;
  }

  void Register(const v1::Hello& hello) {
    service_->store_->RegisterNode(hello, [this, clock = NodeClockOf(hello.clock())](
                                              absl::StatusOr<NodeRegistration> reg) {
      Pump([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        if (!reg.ok()) {
          phase_ = Phase::kHello;
          Fail(reg.status());
          return;
        }
        phase_ = Phase::kStreaming;
        node_id_ = reg->node_id;
        node_ = pending_name_;
        // Before any of its data: which clocks it shares decides what is corrected.
        service_->worker_->SetNodeClock(node_, clock);
        service_->Connected(node_);
        if (absl::IsCancelled(status_)) return;
        v1::IngestResponse welcome;
        welcome.mutable_welcome()->set_collector_version(HOPLAT_VERSION);
        welcome.mutable_welcome()->set_highest_committed_seq(reg->highest_committed_seq);
        welcome.mutable_welcome()->set_max_batch_observations(
            service_->options_.max_batch_observations);
        acks_.push_back(std::move(welcome));
      });
    });
  }

  absl::Status Validate(const v1::ObservationBatch& batch, const std::vector<Observation>& obs) {
    const IngestOptions& o = service_->options_;
    if (batch.seq() == 0) return absl::InvalidArgumentError("batch seq must be > 0");
    if (obs.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("batch ", batch.seq(), " is empty"));
    }
    if (obs.size() > o.max_batch_observations) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "batch %d has %d observations; at most %d per batch", batch.seq(), obs.size(),
          o.max_batch_observations));
    }
    const absl::Time now = o.clock();
    const uint64_t lo = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixNanos(now - o.max_past)));
    const uint64_t hi = static_cast<uint64_t>(absl::ToUnixNanos(now + o.max_future));
    for (size_t i = 0; i < obs.size(); ++i) {
      for (uint64_t t : {obs[i].arrival_ns, obs[i].exit_ns}) {
        if (t < lo || t > hi) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "batch %d observation %d: time %d ns (%s) is absurdly far from the collector's "
              "clock (%s); accepted: %s before to %s after",
              batch.seq(), i, t,
              absl::FormatTime(absl::FromUnixNanos(static_cast<int64_t>(t)), absl::UTCTimeZone()),
              absl::FormatTime(now, absl::UTCTimeZone()), absl::FormatDuration(o.max_past),
              absl::FormatDuration(o.max_future)));
        }
      }
      // The departure (exit plus the queue) is held to the same bound, so
      // that no queue time can wrap it.
      if (obs[i].has_queue() && obs[i].queue_ns > hi - obs[i].exit_ns) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "batch %d observation %d: queue_ns %d puts its departure absurdly far past the "
            "collector's clock (%s); accepted: up to %s after",
            batch.seq(), i, obs[i].queue_ns, absl::FormatTime(now, absl::UTCTimeZone()),
            absl::FormatDuration(o.max_future)));
      }
    }
    return absl::OkStatus();
  }

  // Runs outside mu_; node_id and node are fixed once streaming.
  absl::Status BuildJob(const v1::ObservationBatch& batch, int64_t node_id,
                        const std::string& node, BatchJob* job) {
    // Its message names the batch ("batch N: ..."), once.
    if (absl::Status s = ObservationsFromBatch(batch, &job->observations); !s.ok()) return s;
    if (absl::Status s = Validate(batch, job->observations); !s.ok()) return s;
    job->node_id = node_id;
    job->node_name = node;
    job->seq = batch.seq();
    size_t core_size = 0;
    job->encoded = EncodeObservations(job->observations, &core_size);
    job->digest = ContentDigest(job->encoded, core_size);
    job->min_arrival_ns = UINT64_MAX;
    for (const Observation& o : job->observations) {
      job->min_arrival_ns = std::min(job->min_arrival_ns, o.arrival_ns);
      job->max_arrival_ns = std::max(job->max_arrival_ns, o.arrival_ns);
    }
    const uint64_t seq = batch.seq();
    job->done = [this, seq](absl::Status status, bool duplicate) {
      Pump([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        --in_flight_;
        if (absl::IsAlreadyExists(status)) {
          // A conflict is the batch's own: resending it cannot help.
          if (status_.ok()) refused_seq_ = seq;
          Fail(status);
        } else if (!status.ok()) {
          Fail(absl::Status(status.code(),
                            absl::StrCat("batch ", seq, " not stored: ", status.message())));
        } else if (!absl::IsCancelled(status_)) {
          v1::IngestResponse ack;
          ack.mutable_ack()->set_seq(seq);
          ack.mutable_ack()->set_duplicate(duplicate);
          acks_.push_back(std::move(ack));
        }
      });
    };
    return absl::OkStatus();
  }

  // Applies `update` and starts whatever gRPC operations the new state
  // allows; repeats until nothing more is to be started.
  template <typename Update>
  void Pump(const Update& update) {
    bool holding = false;  // this thread counts in starting_
    bool first = true;
    for (;;) {
      const grpc::ByteBuffer* write = nullptr;
      bool read = false;
      std::optional<v1::Hello> hello;
      std::optional<v1::ObservationBatch> raw;
      int64_t node_id = 0;
      std::optional<grpc::Status> finish;
      {
        absl::MutexLock lock(&mu_);
        if (first) update();
        first = false;
        if (holding) --starting_;
        holding = false;
        if (built_) {  // the batch this thread built last round is handed on
          processing_ = false;
          if (!built_->ok()) {
            --in_flight_;
            if (status_.ok()) refused_seq_ = built_seq_;  // the batch's own fault
            Fail(*built_);
          }
          built_.reset();
        }
        if (finished_) return;
        if (!writing_ && !acks_.empty()) {
          writing_ = true;
          bool own_buffer;
          grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::IngestResponse>(
              acks_.front(), &write_buffer_, &own_buffer)
              .IgnoreError();  // an ack or a Welcome: small, always serializable
          acks_.pop_front();
          write = &write_buffer_;
        }
        // One batch at a time between read and store, so that the store
        // sees (and acknowledges) batches in the order they came.
        if (!reading_ && !reads_done_ && !processing_ && status_.ok() &&
            (phase_ == Phase::kHello ||
             (phase_ == Phase::kStreaming &&
              in_flight_ < service_->options_.max_in_flight_per_stream))) {
          reading_ = true;
          read = true;
        }
        hello.swap(pending_hello_);
        raw.swap(pending_raw_);
        node_id = node_id_;
        if (write != nullptr || read || hello || raw) {
          ++starting_;
          holding = true;
        } else if (starting_ == 0 && in_flight_ == 0 && !processing_ && !writing_ && acks_.empty() &&
                   phase_ != Phase::kRegistering && (reads_done_ || !status_.ok())) {
          finished_ = true;
          finish = ToGrpcStatus(status_);
        }
      }
      if (hello) Register(*hello);
      if (raw) {
        BatchJob job;
        absl::Status s = BuildJob(*raw, node_id, node_, &job);
        if (s.ok()) service_->store_->SubmitBatch(std::move(job));
        absl::MutexLock lock(&mu_);  // held: the reactor cannot finish meanwhile
        built_ = std::move(s);
        built_seq_ = raw->seq();
      }
      if (write != nullptr) StartWrite(write);
      if (read) StartRead(&read_buffer_);
      if (finish) {
        // Before Finish: once the agent sees the stream end, correlation
        // already knows the node is gone (tests and the lab rely on it).
        if (!node_.empty()) service_->Disconnected(node_);
        if (!claimed_.empty()) service_->Unclaim(claimed_);
        if (refused_seq_) {  // seq 0 too: every refused batch is named
          context_->AddTrailingMetadata(kRefusedBatchMetadata, std::to_string(*refused_seq_));
        }
        Finish(*finish);
        return;
      }
      if (!holding) return;
    }
  }

  IngestService* const service_;
  grpc::CallbackServerContext* const context_;
  absl::Mutex mu_;
  grpc::ByteBuffer read_buffer_;   // target of the one outstanding read
  v1::IngestRequest request_;      // what it held, decoded
  grpc::ByteBuffer write_buffer_;  // source of the one outstanding write
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kHello;
  std::string pending_name_ ABSL_GUARDED_BY(mu_);
  std::string node_;  // set once registered, under mu_; read once finished_
  std::string claimed_;  // the node id this stream holds (same rules as node_)
  int64_t node_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<v1::IngestResponse> acks_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::Hello> pending_hello_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::ObservationBatch> pending_raw_ ABSL_GUARDED_BY(mu_);
  bool processing_ ABSL_GUARDED_BY(mu_) = false;  // a batch between read and store
  std::optional<absl::Status> built_ ABSL_GUARDED_BY(mu_);  // outcome, for the next round
  uint64_t built_seq_ ABSL_GUARDED_BY(mu_) = 0;            // ...of this batch
  // The batch that ended the stream by its own fault (0: none): told to the agent.
  std::optional<uint64_t> refused_seq_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int starting_ ABSL_GUARDED_BY(mu_) = 0;  // threads between deciding on and starting an op
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* IngestService::Stream(
    grpc::CallbackServerContext* context) {
  return new Reactor(this, context);
}

void IngestService::Connected(const std::string& node) {
  {
    absl::MutexLock lock(&mu_);
    if (++connected_[node] > 1) return;
  }
  worker_->NodeConnected(node);
}

void IngestService::Disconnected(const std::string& node) {
  {
    absl::MutexLock lock(&mu_);
    auto it = connected_.find(node);
    if (it == connected_.end() || --it->second > 0) return;
    connected_.erase(it);
  }
  worker_->NodeDisconnected(node);
}

bool IngestService::Claim(const std::string& node) {
  absl::MutexLock lock(&mu_);
  // A stream that its agent has just abandoned to reconnect may not have
  // ended here yet (the cancellation is on its way): it gets a moment. Only
  // a second Hello for a name that is really in use waits this long.
  auto free = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !claimed_.contains(node); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&free), kClaimGrace)) {
    ++refused_streams_[node];
    return false;
  }
  claimed_.insert(node);
  return true;
}

void IngestService::Unclaim(const std::string& node) {
  absl::MutexLock lock(&mu_);
  claimed_.erase(node);
}

uint64_t IngestService::RefusedStreams(const std::string& node) const {
  absl::MutexLock lock(&mu_);
  auto it = refused_streams_.find(node);
  return it == refused_streams_.end() ? 0 : it->second;
}

bool IngestService::IsConnected(const std::string& node) const {
  absl::MutexLock lock(&mu_);
  return connected_.contains(node);
}

}  // namespace hoplat
