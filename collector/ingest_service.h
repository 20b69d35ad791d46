#ifndef HOPLAT_COLLECTOR_INGEST_SERVICE_H_
#define HOPLAT_COLLECTOR_INGEST_SERVICE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/correlation_worker.h"
#include "collector/store/store.h"
#include "hoplat/v1/ingest.grpc.pb.h"

namespace hoplat {

struct IngestOptions {
  uint32_t max_batch_observations = 65536;
  // Observation times further than this from the collector's clock are
  // rejected as absurd (a broken clock, or garbage).
  absl::Duration max_past = absl::Hours(24 * 7);
  absl::Duration max_future = absl::Minutes(10);
  // Batches one stream may have submitted but not acknowledged; past this the
  // stream stops reading and HTTP/2 flow control pushes back on the agent.
  int max_in_flight_per_stream = 16;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// hoplat.v1.Ingest on gRPC's callback API: no thread per stream, and an
// error status can end a stream at any time. See ingest.proto for the
// protocol; this file enforces it.
// The stream's messages arrive as raw bytes and are decoded here, so that a
// message that cannot be decoded (garbage, a string that is not UTF-8) ends
// the stream with INVALID_ARGUMENT instead of looking like its end.
class IngestService final : public v1::Ingest::WithRawCallbackMethod_Stream<v1::Ingest::Service> {
 public:
  IngestService(IngestOptions options, Store* store, CorrelationWorker* worker)
      : options_(std::move(options)), store_(store), worker_(worker) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Stream(
      grpc::CallbackServerContext* context) override;

  bool IsConnected(const std::string& node) const;
  // Streams refused since the collector started because another stream
  // held the node id (two routers with one name, a copied disk image).
  uint64_t RefusedStreams(const std::string& node) const;

 private:
  class Reactor;
  // One live stream per node id: false (and counted) if another holds it.
  bool Claim(const std::string& node);
  void Unclaim(const std::string& node);
  void Connected(const std::string& node);
  void Disconnected(const std::string& node);

  const IngestOptions options_;
  Store* const store_;
  CorrelationWorker* const worker_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> connected_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> claimed_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> refused_streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_INGEST_SERVICE_H_
