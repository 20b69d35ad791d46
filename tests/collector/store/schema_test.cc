// collector/store/schema: migrations bring an older database up to date.
#include "collector/store/schema.h"

#include "collector/store/sqlite.h"
#include "gtest/gtest.h"
#include "tests/collector/test_util.h"

namespace hoplat::testing {
namespace {

int64_t Value(Db* db, const char* sql) {
  Stmt s(db, sql);
  absl::Status status;
  EXPECT_TRUE(s.Step(&status)) << status;
  const int64_t v = s.Int(0);
  s.Reset();
  return v;
}

TEST(SchemaTest, AVersionOneDatabaseIsMigratedWithWhatItHolds) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(dir.file("s.db"), /*create=*/true);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(MigrateSchema(db->get()).ok());
  EXPECT_EQ(Value(db->get(), "PRAGMA user_version"), CurrentSchemaVersion());
  // Make it a version 1 database with two batches of r1 and none of r2.
  ASSERT_TRUE((*db)->Exec("ALTER TABLE nodes DROP COLUMN last_packet_ns;"
                          "ALTER TABLE nodes DROP COLUMN conflicting_batches;"
                          "ALTER TABLE batches DROP COLUMN digest; DROP TABLE dirty_minutes;"
                          "ALTER TABLE aggregates DROP COLUMN unsynchronized;"
                          "ALTER TABLE aggregates DROP COLUMN bound_max_ns;"
                          "ALTER TABLE aggregates DROP COLUMN bound_sum_ns;"
                          "ALTER TABLE aggregates DROP COLUMN bound_method;"
                          "INSERT INTO aggregates(kind, key, minute, packets, clock_errors, "
                          "slowest_hash, histogram) VALUES (3, 'r1>r2', 5, 10, 0, 0, x'');"
                          "DELETE FROM meta WHERE key = 'resealed_minutes';"
                          "PRAGMA user_version = 1;"
                          "INSERT INTO nodes(id, name, first_seen_ns, last_seen_ns) VALUES "
                          "(1, 'r1', 0, 0), (2, 'r2', 0, 0);"
                          "INSERT INTO batches(node, seq, count, min_arrival_ns, max_arrival_ns, "
                          "data) VALUES (1, 1, 1, 10, 500, x''), (1, 2, 1, 600, 700, x'');")
                  .ok());
  ASSERT_TRUE(MigrateSchema(db->get()).ok());
  EXPECT_EQ(Value(db->get(), "PRAGMA user_version"), CurrentSchemaVersion());
  EXPECT_EQ(Value(db->get(), "SELECT last_packet_ns FROM nodes WHERE name = 'r1'"), 700);
  EXPECT_EQ(Value(db->get(), "SELECT last_packet_ns FROM nodes WHERE name = 'r2'"), 0);
  // Version 3: batches from before have no digest (0: a resend is a
  // duplicate, as before), and no node has had a conflict.
  EXPECT_EQ(Value(db->get(), "SELECT count(*) FROM batches WHERE digest = 0"), 2);
  EXPECT_EQ(Value(db->get(), "SELECT sum(conflicting_batches) FROM nodes"), 0);
  // Version 4: nothing waits to be correlated again, nothing was.
  EXPECT_EQ(Value(db->get(), "SELECT count(*) FROM dirty_minutes"), 0);
  EXPECT_EQ(Value(db->get(), "SELECT value FROM meta WHERE key = 'resealed_minutes'"), 0);
  // Version 5: rows from before say nothing of clocks (method 0: raw, not
  // corrected), and nothing was unsynchronised.
  EXPECT_EQ(Value(db->get(), "SELECT bound_method + bound_max_ns + bound_sum_ns + unsynchronized "
                             "FROM aggregates WHERE key = 'r1>r2'"),
            0);
}

TEST(SchemaTest, ADatabaseFromANewerCollectorIsRefused) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(dir.file("s.db"), /*create=*/true);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 99").ok());
  const absl::Status s = MigrateSchema(db->get());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

}  // namespace
}  // namespace hoplat::testing
