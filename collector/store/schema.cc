#include "collector/store/schema.h"

#include <iterator>

#include "absl/strings/str_cat.h"

namespace hoplat {
namespace {

// Append only: never edit a migration that has shipped.
//
// batches: one row per acknowledged batch, observations compactly encoded
//   (common/observation_codec.h). UNIQUE(node, seq) makes resends idempotent.
//   No index on packet hashes here: see hash_index.
// hash_index: sorted (hash, batch id) blocks, one per hash bucket per flush,
//   written in bulk by the writer (collector/store/hash_index.h).
// aggregates: one row per (kind, key, minute) of sealed minutes.
// meta: sealed_end_minute, indexed_through_batch, resealed_minutes.
// dirty_minutes: sealed minutes whose rows wait to be correlated again.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE meta(
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE nodes(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  first_seen_ns INTEGER NOT NULL,
  last_seen_ns INTEGER NOT NULL,
  agent_version TEXT NOT NULL DEFAULT '',
  clock BLOB,
  report BLOB,
  batches INTEGER NOT NULL DEFAULT 0,
  observations INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  late INTEGER NOT NULL DEFAULT 0,
  highest_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE batches(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  node INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  count INTEGER NOT NULL,
  min_arrival_ns INTEGER NOT NULL,
  max_arrival_ns INTEGER NOT NULL,
  data BLOB NOT NULL,
  UNIQUE(node, seq)
);
CREATE INDEX batches_by_time ON batches(max_arrival_ns);
CREATE TABLE hash_index(
  id INTEGER PRIMARY KEY,
  bucket INTEGER NOT NULL,
  min_arrival_ns INTEGER NOT NULL,
  max_arrival_ns INTEGER NOT NULL,
  entries BLOB NOT NULL
);
CREATE INDEX hash_index_by_bucket ON hash_index(bucket, max_arrival_ns);
CREATE INDEX hash_index_by_time ON hash_index(max_arrival_ns);
CREATE TABLE aggregates(
  kind INTEGER NOT NULL,
  key TEXT NOT NULL,
  minute INTEGER NOT NULL,
  packets INTEGER NOT NULL,
  clock_errors INTEGER NOT NULL,
  slowest_hash INTEGER NOT NULL,
  histogram BLOB NOT NULL
);
CREATE UNIQUE INDEX aggregates_by_key ON aggregates(kind, key, minute);
CREATE INDEX aggregates_by_minute ON aggregates(kind, minute);
INSERT INTO meta(key, value) VALUES ('sealed_end_minute', 0), ('indexed_through_batch', 0);
)sql",
    // 2: the newest packet arrival each node reported (by its clock).
    R"sql(
ALTER TABLE nodes ADD COLUMN last_packet_ns INTEGER NOT NULL DEFAULT 0;
UPDATE nodes SET last_packet_ns =
  coalesce((SELECT max(max_arrival_ns) FROM batches WHERE batches.node = nodes.id), 0);
)sql",
    // 3: a digest of each batch's content, so that a resend with the same seq
    // but other content is a conflict, not a duplicate (0: from before, not
    // known), and how many such conflicts each node had.
    R"sql(
ALTER TABLE batches ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN conflicting_batches INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4: sealed minutes to correlate again from the stored observations (data
    // came for them after they were sealed), and how many were; the time
    // index also holds min arrivals, so that finding the batches of a
    // minute reads no row.
    R"sql(
CREATE TABLE dirty_minutes(
  minute INTEGER PRIMARY KEY
) WITHOUT ROWID;
DROP INDEX batches_by_time;
CREATE INDEX batches_by_time ON batches(max_arrival_ns, min_arrival_ns);
INSERT INTO meta(key, value) VALUES ('resealed_minutes', 0);
)sql",
    // 5: clock corrections. Per row: samples kept out for unsynchronised
    // clocks, and the bound of the corrected ones (largest, its method,
    // sum). Rows from before keep method 0: raw, not corrected.
    R"sql(
ALTER TABLE aggregates ADD COLUMN unsynchronized INTEGER NOT NULL DEFAULT 0;
ALTER TABLE aggregates ADD COLUMN bound_max_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE aggregates ADD COLUMN bound_sum_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE aggregates ADD COLUMN bound_method INTEGER NOT NULL DEFAULT 0;
)sql",
};

}  // namespace

int CurrentSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

absl::Status MigrateSchema(Db* db) {
  Stmt version(db, "PRAGMA user_version");
  absl::Status status;
  if (!version.Step(&status)) return status;
  const int64_t have = version.Int(0);
  version.Reset();
  if (have > CurrentSchemaVersion()) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", have, " is newer than this collector's (",
                     CurrentSchemaVersion(), "): upgrade hoplat-collector"));
  }
  for (int v = static_cast<int>(have); v < CurrentSchemaVersion(); ++v) {
    const std::string sql = absl::StrCat("BEGIN IMMEDIATE;\n", kMigrations[v],
                                         "\nPRAGMA user_version = ", v + 1, ";\nCOMMIT;");
    if (absl::Status s = db->Exec(sql); !s.ok()) {
      db->Exec("ROLLBACK").IgnoreError();
      return absl::Status(s.code(), absl::StrCat("schema migration to version ", v + 1,
                                                 " failed: ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace hoplat
