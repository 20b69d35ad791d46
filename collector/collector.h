#ifndef HOPLAT_COLLECTOR_COLLECTOR_H_
#define HOPLAT_COLLECTOR_COLLECTOR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "collector/correlation_worker.h"
#include "collector/correlator.h"
#include "collector/ingest_service.h"
#include "collector/query_service.h"
#include "collector/store/store.h"
#include "grpcpp/grpcpp.h"

namespace hoplat {

struct CollectorOptions {
  std::string listen = "127.0.0.1:50051";  // port 0: pick a free one (tests)
  int max_message_bytes = 16 << 20;
  StoreOptions store;
  CorrelatorOptions correlator;
  IngestOptions ingest;
  // One clock for every part (tests drive it); wall clock by default.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// The whole collector: store, correlation and the gRPC server (Ingest, Query,
// reflection, health). What main() runs and what tests start in-process.
class Collector {
 public:
  static absl::StatusOr<std::unique_ptr<Collector>> Start(CollectorOptions options);
  ~Collector();

  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  // Tests: returns once every batch received so far is committed and
  // correlated, and every minute the watermarks allow is sealed in the database.
  absl::Status Sync();

  // Stops accepting, lets streams end (acknowledging what commits), then
  // stops correlation and the writer.
  void Shutdown();

 private:
  Collector() = default;

  std::unique_ptr<Store> store_;
  std::unique_ptr<CorrelationWorker> worker_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<QueryService> query_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_COLLECTOR_H_
