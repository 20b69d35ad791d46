#ifndef HOPLAT_COLLECTOR_STORE_RESEAL_H_
#define HOPLAT_COLLECTOR_STORE_RESEAL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "collector/correlator.h"
#include "collector/store/sqlite.h"

namespace hoplat {

// Correlates one sealed minute again from the stored observations of every
// node (MinuteRecorrelator) and replaces its aggregate rows, clears its
// dirty mark and counts it in meta resealed_minutes. Runs inside the
// caller's transaction on the writer's connection, so it sees every batch
// committed before it. A minute whose observations reach back past
// raw_cutoff (--retention) keeps its rows: only its mark goes.
// options: the live correlator's (window, clock corrections).
absl::Status ResealMinute(Db* db, int64_t minute, const CorrelatorOptions& options,
                          absl::Time raw_cutoff);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_RESEAL_H_
