#ifndef HOPLAT_COMMON_INGEST_CLIENT_H_
#define HOPLAT_COMMON_INGEST_CLIENT_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/pending_batches.h"
#include "grpcpp/grpcpp.h"
#include "hoplat/v1/ingest.grpc.pb.h"

namespace hoplat {

struct IngestClientOptions {
  std::string target;  // host:port of the collector
  std::string node_id;
  std::string agent_version = HOPLAT_VERSION;
  v1::ClockState clock;
  // Batches on the wire not yet acknowledged (the window).
  int max_in_flight = 8;
  absl::Duration connect_timeout = absl::Seconds(5);
  // The longest wait for the collector's Welcome once connected (it
  // registers the node first, a database write behind others).
  absl::Duration hello_timeout = absl::Seconds(5);
  // A collector that holds batches this long without acknowledging any (or
  // a Close() this long without an answer) is taken as hung: the stream is
  // torn down, and the caller reconnects or spools.
  absl::Duration ack_timeout = absl::Seconds(30);
};

// The client side of hoplat.v1.Ingest/Stream, for one node: the stream
// only. The batches themselves belong to a PendingBatches (memory or
// disk), which keeps each one until the collector acknowledges it: the
// client sends from there as the window allows, and tells it what was
// acknowledged. When the stream breaks, Connect() opens a new one and
// everything unacknowledged goes again, in order; the collector stores a
// resent batch once.
//
// Not thread-safe: one thread calls the methods, and only that thread
// touches the PendingBatches. Each stream has two background threads: one
// reads acks, one (the watchdog) tears the stream down when the collector
// stops answering (hello_timeout, ack_timeout).
class IngestClient {
 public:
  // `pending` (not owned) holds the batches; without one the client keeps
  // an unbounded one in memory (tools and tests).
  explicit IngestClient(IngestClientOptions options, PendingBatches* pending = nullptr);
  ~IngestClient();

  IngestClient(const IngestClient&) = delete;
  IngestClient& operator=(const IngestClient&) = delete;

  // Opens a stream, says Hello, waits for Welcome, then sends what is
  // unacknowledged as the window allows.
  absl::Status Connect();

  // Keeps the batch among the pending ones and sends what the window
  // allows. Never blocks; an error means the batch could not be kept.
  absl::Status Queue(v1::ObservationBatch batch);
  // Queue(), then waits while the window is full until the batch is on the
  // wire. An error means the stream is broken: Connect() again (nothing is
  // lost).
  absl::Status Send(v1::ObservationBatch batch);
  // Releases what was acknowledged, then sends pending batches while the
  // window has room. Never blocks; returns the stream's state.
  absl::Status Pump();
  absl::Status SendReport(const v1::NodeReport& report);

  // True while max_in_flight batches are unacknowledged on the wire.
  bool window_full() const;
  // Waits up to `timeout` for an ack, room in the window, or a broken stream.
  void WaitForProgress(absl::Duration timeout);

  // Sends everything pending and waits until it is acknowledged (or the
  // stream breaks, or the timeout).
  absl::Status Flush(absl::Duration timeout);

  // Half-closes the stream, waits for the collector to finish it, and returns
  // the stream's final status.
  absl::Status Close();

  // Tears the stream down at once (as a crash or a cable pull would);
  // unacknowledged batches stay pending for the next Connect().
  void Abort();

  bool connected() const;

  // Batches the collector refused for good (it ended a stream naming the
  // batch in kRefusedBatchMetadata: resending cannot help). They are taken
  // out of the pending batches, never resent, and wait here for the caller
  // to count and log.
  struct Rejected {
    uint64_t seq;
    uint64_t observations;
    std::string reason;
    // ALREADY_EXISTS: the seq was committed with other content (another
    // router with this node id?).
    absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  };
  std::vector<Rejected> TakeRejected();

  const v1::Welcome& welcome() const { return welcome_; }
  uint64_t acked_batches() const;
  uint64_t duplicate_acks() const;
  // Pending batches not yet acknowledged (sent or not).
  size_t unacked_batches();

 private:
  void ReadAcks();
  // Hands what was acknowledged to the pending batches (caller's thread).
  void ReleaseAcked();
  // Writes one batch; false if the stream broke.
  bool Write(v1::ObservationBatch batch);
  bool RoomOrBrokenLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Watch();
  void StopWatch();
  absl::Status StreamStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Finish();
  void NoteRejection(uint64_t seq, const absl::Status& why);

  const IngestClientOptions options_;
  std::unique_ptr<PendingBatches> owned_pending_;
  PendingBatches* const pending_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Ingest::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::IngestRequest, v1::IngestResponse>> stream_;
  std::thread reader_;
  std::thread watchdog_;
  v1::Welcome welcome_;

  mutable absl::Mutex mu_;
  // Seqs written on this stream and not yet acknowledged, in the order sent.
  std::deque<uint64_t> in_flight_ ABSL_GUARDED_BY(mu_);
  // Acknowledged, not yet released from the pending batches.
  std::vector<uint64_t> acked_seqs_ ABSL_GUARDED_BY(mu_);
  bool broken_ ABSL_GUARDED_BY(mu_) = true;
  std::string protocol_error_ ABSL_GUARDED_BY(mu_);
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_watch_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t duplicates_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Rejected> rejected_;  // caller's thread only
};

}  // namespace hoplat

#endif  // HOPLAT_COMMON_INGEST_CLIENT_H_
