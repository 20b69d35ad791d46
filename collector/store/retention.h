#ifndef HOPLAT_COLLECTOR_STORE_RETENTION_H_
#define HOPLAT_COLLECTOR_STORE_RETENTION_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "collector/store/sqlite.h"

namespace hoplat {

// What is old enough to go.
struct RetentionCutoffs {
  int64_t raw_before_ns;             // batches and hash index blocks
  int64_t aggregates_before_minute;  // aggregate rows of every kind
};
RetentionCutoffs CutoffsAt(absl::Time now, absl::Duration retention,
                           absl::Duration aggregate_retention);

// Runs a body in a transaction of the writer's (Store::RunInTransaction).
using InTransaction = std::function<absl::Status(const std::function<absl::Status()>& body)>;

// Deletes everything older than the cutoffs: raw batches in slices, each in
// its own transaction, so that the writer never holds one long transaction;
// then hash index blocks and the aggregates of every kind.
absl::Status ApplyRetention(Db* db, const RetentionCutoffs& cutoffs,
                            const InTransaction& in_transaction);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_RETENTION_H_
