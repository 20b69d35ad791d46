#ifndef HOPLAT_COLLECTOR_QUERY_SERVICE_H_
#define HOPLAT_COLLECTOR_QUERY_SERVICE_H_

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "collector/correlation_worker.h"
#include "collector/store/query_store.h"
#include "collector/store/store.h"
#include "hoplat/v1/query.grpc.pb.h"

namespace hoplat {

struct QueryOptions {
  absl::Duration window = absl::Seconds(1);  // as the correlator's: splits TracePacket crossings
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  std::function<bool(const std::string&)> is_connected = [](const std::string&) { return false; };
  std::function<uint64_t(const std::string&)> refused_streams = [](const std::string&) {
    return uint64_t{0};
  };
};

// hoplat.v1.Query: sealed aggregates from the database plus the minutes still
// in memory, so answers include the last few seconds of traffic.
class QueryService final : public v1::Query::Service {
 public:
  QueryService(QueryOptions options, Store* store, CorrelationWorker* worker)
      : options_(std::move(options)), store_(store), worker_(worker), db_(store->path()) {}

  grpc::Status ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*,
                         v1::ListNodesResponse*) override;
  grpc::Status ListPaths(grpc::ServerContext*, const v1::ListPathsRequest*,
                         v1::ListPathsResponse*) override;
  grpc::Status PathLatency(grpc::ServerContext*, const v1::PathLatencyRequest*,
                           v1::PathLatencyResponse*) override;
  grpc::Status HopLatency(grpc::ServerContext*, const v1::HopLatencyRequest*,
                          v1::HopLatencyResponse*) override;
  grpc::Status TracePacket(grpc::ServerContext*, const v1::TracePacketRequest*,
                           v1::TracePacketResponse*) override;
  grpc::Status ClockOffsets(grpc::ServerContext*, const v1::ClockOffsetsRequest*,
                            v1::ClockOffsetsResponse*) override;

 private:
  const QueryOptions options_;
  Store* const store_;
  CorrelationWorker* const worker_;
  QueryStore db_;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_QUERY_SERVICE_H_
