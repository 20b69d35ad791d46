#include "collector/store/retention.h"

#include "collector/aggregate.h"
#include "collector/store/aggregates_table.h"
#include "collector/store/batches_table.h"
#include "collector/store/hash_index_table.h"

namespace hoplat {
namespace {
constexpr int kBatchesPerSlice = 2000;
}  // namespace

RetentionCutoffs CutoffsAt(absl::Time now, absl::Duration retention,
                           absl::Duration aggregate_retention) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  return RetentionCutoffs{
      now_ns - absl::ToInt64Nanoseconds(retention),
      (now_ns - absl::ToInt64Nanoseconds(aggregate_retention)) / kNsPerMinute};
}

absl::Status ApplyRetention(Db* db, const RetentionCutoffs& cutoffs,
                            const InTransaction& in_transaction) {
  for (;;) {
    int64_t deleted = 0;
    absl::Status s = in_transaction([&]() -> absl::Status {
      absl::StatusOr<int64_t> n = DeleteBatchesBefore(db, cutoffs.raw_before_ns, kBatchesPerSlice);
      if (!n.ok()) return n.status();
      deleted = *n;
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    if (deleted == 0) break;
  }
  return in_transaction([&]() -> absl::Status {
    if (absl::Status s = DeleteIndexBlocksBefore(db, cutoffs.raw_before_ns); !s.ok()) return s;
    for (AggKind kind : kAllAggKinds) {
      if (absl::Status s = DeleteAggregatesBefore(db, kind, cutoffs.aggregates_before_minute);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace hoplat
