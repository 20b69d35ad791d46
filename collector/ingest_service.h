#ifndef HOPLAT_COLLECTOR_INGEST_SERVICE_H_
#define HOPLAT_COLLECTOR_INGEST_SERVICE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
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
class IngestService final : public v1::Ingest::CallbackService {
 public:
  IngestService(IngestOptions options, Store* store, CorrelationWorker* worker)
      : options_(std::move(options)), store_(store), worker_(worker) {}

  grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* Stream(
      grpc::CallbackServerContext* context) override;

  bool IsConnected(const std::string& node) const;

 private:
  class Reactor;
  void Connected(const std::string& node);
  void Disconnected(const std::string& node);

  const IngestOptions options_;
  Store* const store_;
  CorrelationWorker* const worker_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> connected_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_INGEST_SERVICE_H_
