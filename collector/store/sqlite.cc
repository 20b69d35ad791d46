#include "collector/store/sqlite.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace hoplat {

absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
  const std::string message =
      absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
      return absl::FailedPreconditionError(message);
    case SQLITE_CORRUPT:
      return absl::DataLossError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, bool create) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteStatus(raw, rc, absl::StrCat("cannot open database ", path));
    sqlite3_close(raw);
    return status;
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 5000);
  // Reading the header catches "file is not a database" now, not at first use.
  if (absl::Status s = db->Exec("PRAGMA journal_mode=WAL"); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("cannot use database ", path, ": ", s.message()));
  }
  return db;
}

Db::~Db() { sqlite3_close(db_); }

absl::Status Db::Exec(absl::string_view sql) {
  const std::string copy(sql);
  return SqliteStatus(db_, sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr),
                      absl::StrCat("sql \"", sql.substr(0, 60), "\""));
}

Stmt::Stmt(Db* db, absl::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v3(db->get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    std::fprintf(stderr, "BUG: cannot prepare \"%.*s\": %s\n", static_cast<int>(sql.size()),
                 sql.data(), sqlite3_errmsg(db->get()));
    std::abort();
  }
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, absl::string_view text) {
  sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int i, absl::string_view blob) {
  // SQLITE_STATIC: callers keep the bytes alive until the step.
  sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
  return *this;
}

bool Stmt::Step(absl::Status* status) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (status != nullptr) *status = SqliteStatus(db_->get(), rc, "sqlite step");
  Reset();
  return false;
}

absl::Status Stmt::Run() {
  absl::Status status;
  while (Step(&status)) {
  }
  return status;
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

absl::string_view Stmt::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return absl::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}
absl::string_view Stmt::Blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  return absl::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

}  // namespace hoplat
