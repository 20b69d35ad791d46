#include "common/ingest_client.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/ingest_metadata.h"
#include "common/memory_pending_batches.h"

namespace hoplat {

IngestClient::IngestClient(IngestClientOptions options, PendingBatches* pending)
    : options_(std::move(options)),
      owned_pending_(pending == nullptr ? std::make_unique<MemoryPendingBatches>() : nullptr),
      pending_(pending == nullptr ? owned_pending_.get() : pending) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  channel_ = grpc::CreateCustomChannel(options_.target, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::Ingest::NewStub(channel_);
}

IngestClient::~IngestClient() { Abort(); }

absl::Status IngestClient::Connect() {
  Abort();  // whatever was left of a previous stream
  context_ = std::make_unique<grpc::ClientContext>();
  context_->set_wait_for_ready(true);
  context_->set_deadline(std::chrono::system_clock::now() + std::chrono::hours(24 * 365));
  if (!channel_->WaitForConnected(absl::ToChronoTime(absl::Now() + options_.connect_timeout))) {
    return absl::UnavailableError(
        absl::StrCat("collector ", options_.target, " not reachable"));
  }
  stream_ = stub_->Stream(context_.get());
  {
    absl::MutexLock lock(&mu_);
    welcomed_ = false;
    closing_ = false;
    stop_watch_ = false;
    protocol_error_.clear();  // the previous stream's
  }
  watchdog_ = std::thread([this] { Watch(); });  // bounds the wait for Welcome too
  v1::IngestRequest hello;
  hello.mutable_hello()->set_node_id(options_.node_id);
  hello.mutable_hello()->set_agent_version(options_.agent_version);
  *hello.mutable_hello()->mutable_clock() = options_.clock;
  v1::IngestResponse response;
  if (!stream_->Write(hello)) {
    context_->TryCancel();  // the collector may still be waiting for us
    const absl::Status status = Finish();
    return status.ok() ? absl::UnavailableError("collector did not take Hello") : status;
  }
  if (!stream_->Read(&response)) {
    // The collector ended the stream (a refused Hello): its status says why.
    const absl::Status status = Finish();
    return status.ok() ? absl::UnavailableError("collector did not answer Hello") : status;
  }
  if (!response.has_welcome()) {
    context_->TryCancel();
    Finish().IgnoreError();
    return absl::InternalError("collector answered Hello with something else");
  }
  welcome_ = response.welcome();
  bool gave_up;
  {
    absl::MutexLock lock(&mu_);
    gave_up = !protocol_error_.empty();  // the watchdog, just as Welcome came
    if (!gave_up) {
      welcomed_ = true;
      broken_ = false;
      in_flight_.clear();
    }
  }
  if (gave_up) return Finish();
  reader_ = std::thread([this] { ReadAcks(); });
  // What the previous stream left unacknowledged goes again, oldest first.
  pending_->Unsend();
  return Pump();
}

void IngestClient::ReadAcks() {
  v1::IngestResponse response;
  while (stream_->Read(&response)) {
    absl::MutexLock lock(&mu_);
    if (!response.has_ack() || in_flight_.empty() || in_flight_.front() != response.ack().seq()) {
      protocol_error_ = absl::StrCat("unexpected response from collector: ",
                                     response.ShortDebugString());
      broken_ = true;
      context_->TryCancel();
      return;
    }
    acked_seqs_.push_back(in_flight_.front());
    in_flight_.pop_front();
    ++acked_;
    if (response.ack().duplicate()) ++duplicates_;
  }
  absl::MutexLock lock(&mu_);
  broken_ = true;
}

absl::Status IngestClient::StreamStatusLocked() const {
  if (!protocol_error_.empty()) return absl::InternalError(protocol_error_);
  if (broken_) return absl::UnavailableError("stream to collector is broken");
  return absl::OkStatus();
}

absl::Status IngestClient::Queue(v1::ObservationBatch batch) {
  ReleaseAcked();
  bool now;
  {
    absl::MutexLock lock(&mu_);
    now = stream_ != nullptr && !broken_ && RoomOrBrokenLocked() && !pending_->has_unsent();
  }
  absl::Status kept = now ? pending_->AppendSendingNow(std::move(batch))
                          : pending_->Append(std::move(batch));
  Pump().IgnoreError();  // a broken stream is the caller's to find (connected())
  return kept;
}

absl::Status IngestClient::Send(v1::ObservationBatch batch) {
  const uint64_t seq = batch.seq();
  if (absl::Status s = pending_->Append(std::move(batch)); !s.ok()) return s;
  for (;;) {
    if (absl::Status s = Pump(); !s.ok()) return s;
    bool on_wire;
    {
      absl::MutexLock lock(&mu_);
      on_wire = std::find(in_flight_.begin(), in_flight_.end(), seq) != in_flight_.end() ||
                std::find(acked_seqs_.begin(), acked_seqs_.end(), seq) != acked_seqs_.end();
      if (!on_wire) mu_.Await(absl::Condition(this, &IngestClient::RoomOrBrokenLocked));
    }
    // Sent and already acknowledged, or refused: gone from the pending ones.
    if (on_wire || (!pending_->has_unsent() && connected())) return absl::OkStatus();
  }
}

absl::Status IngestClient::Pump() {
  ReleaseAcked();
  for (;;) {
    bool up, room;
    absl::Status stream;
    {
      absl::MutexLock lock(&mu_);
      up = !broken_ && stream_ != nullptr;
      room = RoomOrBrokenLocked();
      stream = StreamStatusLocked();
    }
    if (!up) {
      pending_->Unsend();  // all of it goes again on the next stream
      return stream;
    }
    if (!room || !pending_->has_unsent()) return absl::OkStatus();
    absl::StatusOr<v1::ObservationBatch> batch = pending_->NextUnsent();
    if (!batch.ok()) return absl::OkStatus();  // the rest could not be read: dropped, counted
    pending_->MarkSent(batch->seq());
    // A broken stream is found at the top of the next turn.
    Write(*std::move(batch));
  }
}

bool IngestClient::Write(v1::ObservationBatch batch) {
  const uint64_t seq = batch.seq();
  v1::IngestRequest request;
  *request.mutable_batch() = std::move(batch);
  {
    absl::MutexLock lock(&mu_);
    in_flight_.push_back(seq);
  }
  if (stream_->Write(request)) return true;
  absl::MutexLock lock(&mu_);
  broken_ = true;
  return false;
}

void IngestClient::ReleaseAcked() {
  std::vector<uint64_t> acked;
  {
    absl::MutexLock lock(&mu_);
    acked.swap(acked_seqs_);
  }
  for (uint64_t seq : acked) pending_->Release(seq);
}

absl::Status IngestClient::SendReport(const v1::NodeReport& report) {
  v1::IngestRequest request;
  *request.mutable_report() = report;
  {
    absl::MutexLock lock(&mu_);
    if (broken_ || !stream_) return StreamStatusLocked();
  }
  if (!stream_->Write(request)) {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    return StreamStatusLocked();
  }
  return absl::OkStatus();
}

absl::Status IngestClient::Flush(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const absl::Status pumped = Pump();
    if (pending_->empty()) return absl::OkStatus();
    if (!pumped.ok()) return pumped;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(pending_->batches(), " batches still unacknowledged"));
    }
    WaitForProgress(deadline - absl::Now());
  }
}

void IngestClient::Watch() {
  absl::MutexLock lock(&mu_);
  const absl::Time start = absl::Now();
  absl::Time progress_at = start;
  uint64_t acked_seen = acked_;
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop_watch_), absl::Milliseconds(100))) {
    const absl::Time now = absl::Now();
    if (welcomed_ && broken_ && !closing_) return;  // ended already: its status stands
    if (!welcomed_) {
      if (now - start < options_.hello_timeout) continue;
    } else if (acked_ != acked_seen || (in_flight_.empty() && !closing_)) {
      acked_seen = acked_;  // progress, or nothing to wait for
      progress_at = now;
      continue;
    } else if (now - progress_at < options_.ack_timeout) {
      continue;
    }
    // Hung: no Welcome, no ack, or no end of stream in time.
    if (protocol_error_.empty()) {
      protocol_error_ = welcomed_ ? absl::StrCat("collector acknowledged nothing for ",
                                                 absl::FormatDuration(options_.ack_timeout))
                                  : "collector did not answer Hello in time";
    }
    broken_ = true;
    context_->TryCancel();
    return;
  }
}

void IngestClient::StopWatch() {
  {
    absl::MutexLock lock(&mu_);
    stop_watch_ = true;
  }
  if (watchdog_.joinable()) watchdog_.join();
}

absl::Status IngestClient::Finish() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;  // the watchdog bounds the wait for the end below
  }
  if (reader_.joinable()) reader_.join();
  grpc::Status status = stream_->Finish();
  StopWatch();
  const absl::Status result = FromGrpcStatus(status);
  // A batch refused for its own fault: never resent (see ingest_metadata.h).
  const auto& trailers = context_->GetServerTrailingMetadata();
  if (auto it = trailers.find(kRefusedBatchMetadata); it != trailers.end()) {
    uint64_t seq;
    if (absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &seq)) {
      NoteRejection(seq, result);
    }
  }
  stream_.reset();
  context_.reset();
  {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    if (!protocol_error_.empty()) return absl::InternalError(protocol_error_);
  }
  return result;
}

void IngestClient::NoteRejection(uint64_t seq, const absl::Status& why) {
  ReleaseAcked();  // so that only a batch still pending is counted
  if (const std::optional<uint64_t> observations = pending_->Discard(seq)) {
    rejected_.push_back({seq, *observations, std::string(why.message()), why.code()});
  }
}

std::vector<IngestClient::Rejected> IngestClient::TakeRejected() {
  std::vector<Rejected> out;
  out.swap(rejected_);
  return out;
}

absl::Status IngestClient::Close() {
  if (!stream_) return absl::OkStatus();
  stream_->WritesDone();
  return Finish();
}

void IngestClient::Abort() {
  if (!stream_) return;
  bool ended;
  {
    absl::MutexLock lock(&mu_);
    ended = broken_;
  }
  // A stream the collector already ended keeps its status (a refused
  // batch is named there); cancelling would replace it with CANCELLED.
  if (!ended) context_->TryCancel();
  Finish().IgnoreError();
}

bool IngestClient::connected() const {
  absl::MutexLock lock(&mu_);
  return stream_ != nullptr && !broken_;
}

void IngestClient::WaitForProgress(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto progress = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return broken_ || !acked_seqs_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&progress), timeout);
}

bool IngestClient::RoomOrBrokenLocked() const {
  return broken_ || in_flight_.size() < static_cast<size_t>(options_.max_in_flight);
}

bool IngestClient::window_full() const {
  absl::MutexLock lock(&mu_);
  return !RoomOrBrokenLocked();
}

uint64_t IngestClient::acked_batches() const {
  absl::MutexLock lock(&mu_);
  return acked_;
}
uint64_t IngestClient::duplicate_acks() const {
  absl::MutexLock lock(&mu_);
  return duplicates_;
}
size_t IngestClient::unacked_batches() {
  ReleaseAcked();
  return pending_->batches();
}

}  // namespace hoplat
