#include "collector/store/dirty_minutes_table.h"

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

}  // namespace hoplat
