#ifndef HOPLAT_COLLECTOR_STORE_AGGREGATE_ROW_H_
#define HOPLAT_COLLECTOR_STORE_AGGREGATE_ROW_H_

#include "absl/status/status.h"
#include "collector/aggregate.h"
#include "collector/store/sqlite.h"

namespace hoplat {

// How a LatencyAggregate sits in an `aggregates` row: the four columns
// packets, clock_errors, slowest_hash, histogram, in that order, starting at
// column `first` of the current row of `s`.
absl::Status ReadAggregateColumns(const Stmt& s, int first, LatencyAggregate* out);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_AGGREGATE_ROW_H_
