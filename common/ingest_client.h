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
#include "grpcpp/grpcpp.h"
#include "hoplat/v1/ingest.grpc.pb.h"

namespace hoplat {

struct IngestClientOptions {
  std::string target;  // host:port of the collector
  std::string node_id;
  std::string agent_version = HOPLAT_VERSION;
  v1::ClockState clock;
  // Batches sent but not yet acknowledged before Send() blocks.
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

// The client side of hoplat.v1.Ingest/Stream, for one node.
//
// Every batch is kept until the collector acknowledges it. When the stream
// breaks, Connect() opens a new one and resends everything unacknowledged, in
// order; the collector stores a resent batch once. Not thread-safe: one
// thread calls the methods (a background thread only reads acks).
class IngestClient {
 public:
  explicit IngestClient(IngestClientOptions options);
  ~IngestClient();

  IngestClient(const IngestClient&) = delete;
  IngestClient& operator=(const IngestClient&) = delete;

  // Opens a stream, says Hello, waits for Welcome, resends unacknowledged batches.
  absl::Status Connect();

  // True while max_in_flight batches are unacknowledged: Send() would block.
  bool window_full() const;
  // Waits up to `timeout` until the window has room or the stream breaks.
  void WaitForRoom(absl::Duration timeout);

  // Queues the batch for sending; blocks while max_in_flight are unacknowledged.
  // An error means the stream is broken: Connect() again (nothing is lost).
  absl::Status Send(v1::ObservationBatch batch);
  absl::Status SendReport(const v1::NodeReport& report);

  // Waits until every sent batch is acknowledged (or the stream breaks).
  absl::Status Flush(absl::Duration timeout);

  // Half-closes the stream, waits for the collector to finish it, and returns
  // the stream's final status.
  absl::Status Close();

  // Tears the stream down at once (as a crash or a cable pull would);
  // unacknowledged batches stay queued for the next Connect().
  void Abort();

  // Gives up on the stream (if any) and hands back every unacknowledged
  // batch, oldest first, e.g. to keep them in a disk spool.
  std::vector<v1::ObservationBatch> TakeUnacked();
  bool connected() const;

  // Batches the collector refused for good (it ended a stream naming the
  // batch in kRefusedBatchMetadata: resending cannot help).
  // They are taken out of the unacknowledged ones, never resent, and wait
  // here for the caller to count and log.
  struct Rejected {
    uint64_t seq;
    uint64_t observations;
    std::string reason;
  };
  std::vector<Rejected> TakeRejected();

  const v1::Welcome& welcome() const { return welcome_; }
  uint64_t acked_batches() const;
  // The newest acknowledged batch's seq (acks come in the order sent); 0 before any.
  uint64_t last_acked_seq() const;
  uint64_t duplicate_acks() const;
  size_t unacked_batches() const;

 private:
  void ReadAcks();
  // Send() may go on: the window has room, or the stream is broken (it fails).
  bool RoomOrBrokenLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tears the stream down when the collector stops answering (see
  // ack_timeout); a thread per stream.
  void Watch();
  void StopWatch();
  absl::Status StreamStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Finish();
  void NoteRejection(uint64_t seq, absl::string_view reason);

  const IngestClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Ingest::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::IngestRequest, v1::IngestResponse>> stream_;
  std::thread reader_;
  std::thread watchdog_;
  v1::Welcome welcome_;

  mutable absl::Mutex mu_;
  // Sent or waiting to be sent, oldest first; popped when acknowledged.
  std::deque<v1::ObservationBatch> unacked_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // how many of unacked_ went out on this stream
  bool broken_ ABSL_GUARDED_BY(mu_) = true;
  std::string protocol_error_ ABSL_GUARDED_BY(mu_);
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_acked_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Rejected> rejected_ ABSL_GUARDED_BY(mu_);
  bool welcomed_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_watch_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t duplicates_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hoplat

#endif  // HOPLAT_COMMON_INGEST_CLIENT_H_
