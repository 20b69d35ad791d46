#include "collector/store/reseal.h"

#include <string>
#include <vector>

#include "collector/minute_recorrelator.h"
#include "collector/store/aggregates_table.h"
#include "collector/store/batches_table.h"
#include "collector/store/dirty_minutes_table.h"
#include "collector/store/meta_table.h"
#include "collector/store/nodes_table.h"
#include "common/log.h"

namespace hoplat {

absl::Status ResealMinute(Db* db, int64_t minute, const CorrelatorOptions& options,
                          absl::Time raw_cutoff) {
  MinuteRecorrelator recorrelate(minute, options);
  absl::StatusOr<std::vector<NodeRow>> nodes = ReadNodes(db);
  if (!nodes.ok()) return nodes.status();
  for (const NodeRow& n : *nodes) recorrelate.SetNodeClock(n.name, NodeClockOf(n.clock));
  if (absl::FromUnixNanos(static_cast<int64_t>(recorrelate.from_ns())) < raw_cutoff) {
    Logf("minute %d not correlated again: its observations are past --retention", minute);
    return ClearDirtyMinute(db, minute);
  }
  if (absl::Status s = ForEachBatchOverlapping(
          db, static_cast<int64_t>(recorrelate.from_ns()), static_cast<int64_t>(recorrelate.to_ns()),
          [&](const std::string& node, uint64_t min_arrival_ns, std::vector<Observation> obs) {
            recorrelate.Add(node, min_arrival_ns, obs);
          });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ReplaceMinuteRows(db, recorrelate.Finish()); !s.ok()) return s;
  if (absl::Status s = ClearDirtyMinute(db, minute); !s.ok()) return s;
  return AddToMeta(db, kResealedMinutes, 1);
}

}  // namespace hoplat
