#ifndef HOPLAT_COLLECTOR_STORE_QUERY_STORE_H_
#define HOPLAT_COLLECTOR_STORE_QUERY_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collector/aggregate.h"
#include "collector/store/nodes_table.h"
#include "collector/store/sqlite.h"
#include "common/observation.h"
#include "hoplat/v1/common.pb.h"
#include "hoplat/v1/ingest.pb.h"

namespace hoplat {

struct StoredObservation {
  std::string node;
  Observation observation;
};

// Read side of the database: its own connections (WAL lets them read while
// the writer commits), one per concurrent query, pooled.
class QueryStore {
 public:
  explicit QueryStore(std::string path) : path_(std::move(path)) {}

  absl::StatusOr<std::vector<NodeRow>> Nodes();

  struct CorrelationRow {
    int64_t sealed_end_minute = 0;
    int64_t resealed_minutes = 0;
  };
  absl::StatusOr<CorrelationRow> Correlation();

  // Calls fn for every sealed aggregate row of `kind` with minute in
  // [from, to) (and key == *key if key is non-null), all in one snapshot, and
  // returns the sealed end minute of that snapshot.
  absl::StatusOr<int64_t> SealedAggregates(
      AggKind kind, const std::string* key, int64_t from_minute, int64_t to_minute,
      const std::function<void(const std::string&, const LatencyAggregate&)>& fn);

  // Every stored observation of `hash` with arrival in [from, to): batches
  // named by the hash index blocks on disk, plus `batch_ids` (from the
  // in-memory part of the index).
  absl::StatusOr<std::vector<StoredObservation>> Trace(uint64_t hash, int64_t from_ns,
                                                       int64_t to_ns,
                                                       std::vector<int64_t> batch_ids);

 private:
  class Lease;
  absl::StatusOr<std::unique_ptr<Db>> Acquire();
  void Release(std::unique_ptr<Db> db);

  const std::string path_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Db>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_QUERY_STORE_H_
