#include "collector/store/retention.h"

#include <string>
#include <vector>

#include "collector/aggregate.h"
#include "collector/store/aggregates_table.h"
#include "collector/store/batches_table.h"
#include "collector/store/hash_index_table.h"
#include "collector/store/schema.h"
#include "collector/store/sqlite.h"
#include "common/observation_codec.h"
#include "gtest/gtest.h"
#include "tests/collector/test_util.h"

namespace hoplat::testing {
namespace {

constexpr int64_t kMinute = 29'500'000;  // minutes since the epoch, in 2026

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(dir_.file("r.db"), /*create=*/true);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(MigrateSchema(db_.get()).ok());
    ASSERT_TRUE(db_->Exec("INSERT INTO nodes(id, name, first_seen_ns, last_seen_ns) "
                          "VALUES (1, 'r1', 0, 0)")
                    .ok());
  }
  InTransaction Tx() {
    return [this](const std::function<absl::Status()>& body) -> absl::Status {
      if (absl::Status s = db_->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
      absl::Status s = body();
      if (s.ok()) s = db_->Exec("COMMIT");
      if (!s.ok()) db_->Exec("ROLLBACK").IgnoreError();
      return s;
    };
  }
  // A row of every kind in `minute`.
  void AggregatesAt(int64_t minute) {
    MinuteRows m;
    m.minute = minute;
    for (AggKind kind : kAllAggKinds) {
      LatencyAggregate agg;
      agg.Add(1000, 0xabc);
      m.rows.push_back({AggregateKey{kind, "r1>r2"}, agg});
    }
    ASSERT_TRUE(MergeMinuteRows(db_.get(), {m}).ok());
  }
  int Aggregates(AggKind kind) {
    int n = 0;
    EXPECT_TRUE(ForEachAggregate(db_.get(), kind, nullptr, 0, kMinute * 2,
                                 [&](const std::string&, const LatencyAggregate&) { ++n; })
                    .ok());
    return n;
  }
  void BatchAt(uint64_t seq, uint64_t arrival_ns) {
    const std::vector<Observation> obs = {Observation{seq, arrival_ns, arrival_ns + 10, 1, 2, 60, 0}};
    BatchInserter insert(db_.get());
    absl::StatusOr<BatchInserter::Outcome> stored =
        insert.Insert(1, seq, 1, arrival_ns, arrival_ns, EncodeObservations(obs),
                      ContentDigest(obs));
    ASSERT_TRUE(stored.ok() && stored->id > 0);
  }
  int Batches() {
    int n = 0;
    EXPECT_TRUE(
        ForEachBatchAfter(db_.get(), 0, [&](int64_t, std::vector<Observation>) { ++n; }).ok());
    return n;
  }

  TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(RetentionTest, EveryAggregateKindAndRawDataOlderThanTheCutoffsGoes) {
  AggregatesAt(kMinute - 10);
  AggregatesAt(kMinute + 10);
  const uint64_t t = static_cast<uint64_t>(kMinute) * kNsPerMinute;
  for (uint64_t i = 0; i < 2500; ++i) BatchAt(i + 1, t - 1000 - i);  // more than one slice
  BatchAt(10'000, t + 1000);
  HashIndexBuffer::Block old_block{1, t - 5000, t - 1000, std::string(16, '\0')};
  HashIndexBuffer::Block new_block{1, t + 1000, t + 5000, std::string(16, '\0')};
  ASSERT_TRUE(InsertIndexBlocks(db_.get(), {old_block, new_block}).ok());

  ASSERT_TRUE(ApplyRetention(db_.get(), RetentionCutoffs{static_cast<int64_t>(t), kMinute}, Tx())
                  .ok());
  for (AggKind kind : kAllAggKinds) {
    EXPECT_EQ(Aggregates(kind), 1) << "kind " << static_cast<int>(kind);
  }
  EXPECT_EQ(Batches(), 1);
  int blocks = 0;
  ASSERT_TRUE(ForEachIndexBlock(db_.get(), 1, 0, INT64_MAX, [&](absl::string_view) { ++blocks; })
                  .ok());
  EXPECT_EQ(blocks, 1);
}

TEST_F(RetentionTest, CutoffsComeFromTheClockAndBothRetentions) {
  const absl::Time now = absl::FromUnixNanos(kMinute * kNsPerMinute);
  const RetentionCutoffs c = CutoffsAt(now, absl::Hours(24), absl::Hours(48));
  EXPECT_EQ(c.raw_before_ns, kMinute * kNsPerMinute - absl::ToInt64Nanoseconds(absl::Hours(24)));
  EXPECT_EQ(c.aggregates_before_minute, kMinute - 48 * 60);
}

}  // namespace
}  // namespace hoplat::testing
