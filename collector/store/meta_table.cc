#include "collector/store/meta_table.h"

#include "absl/strings/str_cat.h"

namespace hoplat {

absl::StatusOr<int64_t> ReadMeta(Db* db, absl::string_view key) {
  Stmt s(db, "SELECT value FROM meta WHERE key = ?");
  s.Bind(1, key);
  absl::Status status;
  if (!s.Step(&status)) {
    return status.ok() ? absl::DataLossError(absl::StrCat("meta key ", key, " missing")) : status;
  }
  const int64_t v = s.Int(0);
  s.Reset();
  return v;
}

absl::Status WriteMeta(Db* db, absl::string_view key, int64_t value) {
  Stmt s(db, "UPDATE meta SET value = ? WHERE key = ?");
  return s.Bind(1, value).Bind(2, key).Run();
}

absl::Status RaiseMeta(Db* db, absl::string_view key, int64_t value) {
  Stmt s(db, "UPDATE meta SET value = max(value, ?) WHERE key = ?");
  return s.Bind(1, value).Bind(2, key).Run();
}

absl::Status AddToMeta(Db* db, absl::string_view key, int64_t delta) {
  Stmt s(db, "UPDATE meta SET value = value + ? WHERE key = ?");
  return s.Bind(1, delta).Bind(2, key).Run();
}

}  // namespace hoplat
