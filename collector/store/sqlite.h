#ifndef HOPLAT_COLLECTOR_STORE_SQLITE_H_
#define HOPLAT_COLLECTOR_STORE_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hoplat {

// Thin RAII layer over the SQLite C API; every failure becomes an
// absl::Status. SQLITE_FULL (disk full, or --max_db_bytes reached) maps to
// RESOURCE_EXHAUSTED so that it reaches agents as such.
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what);

class Db {
 public:
  // Opens (creating if asked) the database file with the settings every
  // hoplat connection uses: WAL, foreign keys off, a busy timeout.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, bool create);
  ~Db();

  absl::Status Exec(absl::string_view sql);
  sqlite3* get() const { return db_; }
  int64_t changes() const { return sqlite3_changes64(db_); }
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// A prepared statement, reset after each execution by Step()/Run().
class Stmt {
 public:
  Stmt(Db* db, absl::string_view sql);  // a bad statement is a bug: aborts with the message
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, uint64_t v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, absl::string_view text);
  Stmt& BindBlob(int i, absl::string_view blob);

  // Steps once: true while a row is available. When it returns false, the
  // statement was reset; *status (if non-null) receives any error.
  bool Step(absl::Status* status);
  // Runs to completion (for statements returning no rows) and resets.
  absl::Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  uint64_t UInt(int col) const { return static_cast<uint64_t>(Int(col)); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  absl::string_view Text(int col) const;
  absl::string_view Blob(int col) const;

 private:
  Db* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_SQLITE_H_
