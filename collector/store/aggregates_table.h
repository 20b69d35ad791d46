#ifndef HOPLAT_COLLECTOR_STORE_AGGREGATES_TABLE_H_
#define HOPLAT_COLLECTOR_STORE_AGGREGATES_TABLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "collector/aggregate.h"
#include "collector/correlator.h"
#include "collector/store/sqlite.h"

namespace hoplat {

// The `aggregates` table: one row per (kind, key, minute) of sealed
// minutes, the latency distribution as a serialized histogram. What every
// latency query reads; never raw observations.

// Adds the minutes' rows, merging with rows already there (a seal retried
// after a failed commit must neither lose nor double rows).
absl::Status MergeMinuteRows(Db* db, const std::vector<MinuteRows>& minutes);

// Replaces every row of one minute (all kinds) by these.
absl::Status ReplaceMinuteRows(Db* db, const MinuteRows& minute);

// Calls fn for every row of `kind` with minute in [from_minute, to_minute)
// (and key == *key when key is not null).
absl::Status ForEachAggregate(Db* db, AggKind kind, const std::string* key, int64_t from_minute,
                              int64_t to_minute,
                              const std::function<void(const std::string&,
                                                       const LatencyAggregate&)>& fn);

absl::Status DeleteAggregatesBefore(Db* db, AggKind kind, int64_t before_minute);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_AGGREGATES_TABLE_H_
