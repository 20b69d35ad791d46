#include "collector/store/dirty_minutes_table.h"

#include <algorithm>

#include "collector/aggregate.h"

namespace hoplat {

absl::Status MarkMinutesDirty(Db* db, const std::vector<int64_t>& minutes) {
  if (minutes.empty()) return absl::OkStatus();
  Stmt s(db, "INSERT OR IGNORE INTO dirty_minutes(minute) VALUES (?)");
  for (int64_t m : minutes) {
    if (absl::Status st = s.Bind(1, m).Run(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status ClearDirtyMinute(Db* db, int64_t minute) {
  Stmt s(db, "DELETE FROM dirty_minutes WHERE minute = ?");
  return s.Bind(1, minute).Run();
}

absl::StatusOr<std::vector<int64_t>> DirtyMinutes(Db* db) {
  Stmt s(db, "SELECT minute FROM dirty_minutes ORDER BY minute");
  std::vector<int64_t> out;
  absl::Status status;
  while (s.Step(&status)) out.push_back(s.Int(0));
  if (!status.ok()) return status;
  return out;
}

std::vector<int64_t> SealedMinutesTouched(absl::Span<const Observation> observations,
                                          int64_t sealed_end_minute, absl::Duration window,
                                          absl::Duration after) {
  std::vector<int64_t> minutes;
  if (sealed_end_minute <= 0) return minutes;
  const uint64_t window_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(window));
  const uint64_t after_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(after));
  const uint64_t limit = static_cast<uint64_t>(sealed_end_minute) * kNsPerMinute + window_ns;
  for (const Observation& o : observations) {
    if (o.arrival_ns >= limit) continue;
    const int64_t first = static_cast<int64_t>(
        (o.arrival_ns > window_ns ? o.arrival_ns - window_ns : 0) / kNsPerMinute);
    const int64_t last = std::min(static_cast<int64_t>((o.arrival_ns + after_ns) / kNsPerMinute),
                                  sealed_end_minute - 1);
    for (int64_t m = first; m <= last; ++m) {
      if (minutes.empty() || minutes.back() != m) minutes.push_back(m);
    }
  }
  std::sort(minutes.begin(), minutes.end());
  minutes.erase(std::unique(minutes.begin(), minutes.end()), minutes.end());
  return minutes;
}

}  // namespace hoplat
