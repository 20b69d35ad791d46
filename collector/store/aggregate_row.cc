#include "collector/store/aggregate_row.h"

namespace hoplat {

absl::Status ReadAggregateColumns(const Stmt& s, int first, LatencyAggregate* out) {
  out->packets = s.UInt(first);
  out->clock_errors = s.UInt(first + 1);
  out->slowest_hash = s.UInt(first + 2);
  return out->latency.Deserialize(s.Blob(first + 3));
}

}  // namespace hoplat
