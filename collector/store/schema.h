#ifndef HOPLAT_COLLECTOR_STORE_SCHEMA_H_
#define HOPLAT_COLLECTOR_STORE_SCHEMA_H_

#include "absl/status/status.h"
#include "collector/store/sqlite.h"

namespace hoplat {

// Brings the database to the current schema version (PRAGMA user_version),
// one migration at a time, each in its own transaction. Refuses a database
// written by a newer collector.
absl::Status MigrateSchema(Db* db);

// The schema version this build writes.
int CurrentSchemaVersion();

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_SCHEMA_H_
