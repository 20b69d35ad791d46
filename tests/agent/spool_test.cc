// agent/spool: batches on disk until acknowledged (the bookkeeping; the
// agent with a spool is in agent_test.cc).
#include "agent/spool.h"

#include <fstream>

#include "gtest/gtest.h"
#include "tests/agent/test_records.h"
#include "tests/collector/test_util.h"

namespace hoplat::testing {
namespace {

v1::ObservationBatch Batch(uint64_t seq, int n) { return TestBatch(seq, n); }

TEST(SpoolTest, FilesStayUntilAcknowledgedAndAreResentAfterABreak) {
  TempDir dir;
  auto spool = Spool::Open(dir.file("spool"), 1 << 20);
  ASSERT_TRUE(spool.ok());
  Spool& s = **spool;
  for (uint64_t seq : {10, 11, 12}) ASSERT_TRUE(s.Append(Batch(seq, 5)).ok());
  ASSERT_TRUE(s.has_unsent());
  absl::StatusOr<v1::ObservationBatch> b = s.NextUnsent();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->seq(), 10u);
  s.MarkSent(10);
  EXPECT_EQ(s.NextUnsent()->seq(), 11u);
  s.MarkSent(11);
  s.Release(10);  // 10 acknowledged; 11 in flight
  EXPECT_EQ(s.batches(), 2u);
  // The stream breaks: the client hands 11 back, and it is already here.
  ASSERT_TRUE(s.Append(Batch(11, 5)).ok());
  EXPECT_EQ(s.batches(), 2u);
  s.Unsend();
  EXPECT_EQ(s.NextUnsent()->seq(), 11u) << "sent again after the break";

  // A new process sees what was never acknowledged.
  auto reopened = Spool::Open(dir.file("spool"), 1 << 20);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->batches(), 2u);
  EXPECT_EQ((*reopened)->NextUnsent()->seq(), 11u);

  // A damaged file is dropped, counted, and skipped.
  std::ofstream(dir.file("spool/00000000000000000011.batch"), std::ios::trunc) << "garbage!";
  EXPECT_EQ((*reopened)->NextUnsent()->seq(), 12u);
  EXPECT_EQ((*reopened)->dropped_batches(), 1u);
  (*reopened)->MarkSent(12);
  EXPECT_FALSE((*reopened)->has_unsent());
  EXPECT_EQ((*reopened)->NextUnsent().status().code(), absl::StatusCode::kNotFound);
  (*reopened)->Release(12);
  EXPECT_TRUE((*reopened)->empty());
  EXPECT_EQ((*reopened)->bytes(), 0u);
}

TEST(SpoolTest, FullSpoolDropsTheOldestNotOnTheWireFirst) {
  TempDir dir;
  const uint64_t one = Batch(1, 5).ByteSizeLong();
  auto spool = Spool::Open(dir.file("spool"), one * 3 + one / 2);  // room for three
  ASSERT_TRUE(spool.ok());
  Spool& s = **spool;
  for (uint64_t seq : {1, 2, 3}) ASSERT_TRUE(s.Append(Batch(seq, 5)).ok());
  s.MarkSent(1);  // on the wire: likely acknowledged soon
  ASSERT_TRUE(s.Append(Batch(4, 5)).ok());
  EXPECT_EQ(s.batches(), 3u);
  EXPECT_EQ(s.dropped_batches(), 1u);
  EXPECT_EQ(s.dropped_observations(), 5u);
  EXPECT_EQ(s.NextUnsent()->seq(), 3u) << "2 went, not 1 (in flight)";
  s.Release(1);
  EXPECT_EQ(s.batches(), 2u);
}

TEST(SpoolTest, BatchLargerThanTheSpoolIsRefusedWithoutEmptyingIt) {
  TempDir dir;
  auto spool = Spool::Open(dir.file("spool"), Batch(1, 5).ByteSizeLong() * 3);
  ASSERT_TRUE(spool.ok());
  Spool& s = **spool;
  ASSERT_TRUE(s.Append(Batch(1, 5)).ok());
  EXPECT_EQ(s.Append(Batch(2, 500)).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.batches(), 1u) << "what was there stays";
  EXPECT_EQ(s.dropped_batches(), 1u);
  EXPECT_EQ(s.dropped_observations(), 500u);
  EXPECT_EQ(s.Discard(1), std::optional<uint64_t>(5));
  EXPECT_EQ(s.Discard(1), std::nullopt) << "not held any more";
}

}  // namespace
}  // namespace hoplat::testing
