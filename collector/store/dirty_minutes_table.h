#ifndef HOPLAT_COLLECTOR_STORE_DIRTY_MINUTES_TABLE_H_
#define HOPLAT_COLLECTOR_STORE_DIRTY_MINUTES_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "collector/store/sqlite.h"
#include "common/observation.h"

namespace hoplat {

// The `dirty_minutes` table: sealed minutes that data reached after they
// were sealed, waiting to be correlated again from the stored observations.
// Written in the transaction that stores such data, so a restart never
// forgets one; cleared in the transaction that replaces the minute's rows.

absl::Status MarkMinutesDirty(Db* db, const std::vector<int64_t>& minutes);
absl::Status ClearDirtyMinute(Db* db, int64_t minute);
absl::StatusOr<std::vector<int64_t>> DirtyMinutes(Db* db);

// The minutes before sealed_end_minute that these observations may change:
// each one's own, any a window before it and any up to `after` after it
// (ReachAfter: a window, and the clock corrections that rest on it).
// Sorted, distinct.
std::vector<int64_t> SealedMinutesTouched(absl::Span<const Observation> observations,
                                          int64_t sealed_end_minute, absl::Duration window,
                                          absl::Duration after);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_DIRTY_MINUTES_TABLE_H_
