// agent/spilling_batches: with a spool, batches on the wire wait in memory
// (no disk write while the collector keeps up); what has to wait, and what
// a broken stream leaves, is on disk.
#include "agent/spilling_batches.h"

#include <dirent.h>

#include "gtest/gtest.h"
#include "tests/agent/test_records.h"
#include "tests/collector/test_util.h"

namespace hoplat::testing {
namespace {

v1::ObservationBatch Batch(uint64_t seq, int n) { return TestBatch(seq, n); }

// Batch files in the spool directory.
int FilesIn(const std::string& dir) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) n += std::string(e->d_name).find(".batch") != std::string::npos;
  closedir(d);
  return n;
}

TEST(SpillingBatchesTest, BatchesOnTheWireTouchNoDiskUntilTheStreamBreaks) {
  TempDir dir;
  auto spool = Spool::Open(dir.file("spool"), 1 << 20);
  ASSERT_TRUE(spool.ok());
  SpillingBatches pending(spool->get());
  for (uint64_t seq : {1, 2}) {
    ASSERT_TRUE(pending.AppendSendingNow(Batch(seq, 5)).ok());
    ASSERT_EQ(pending.NextUnsent()->seq(), seq);
    pending.MarkSent(seq);
  }
  EXPECT_EQ(FilesIn(dir.file("spool")), 0) << "a healthy collector costs no disk write";
  EXPECT_EQ(pending.batches(), 2u);
  pending.Release(1);  // acknowledged
  EXPECT_EQ(pending.batches(), 1u);

  // The window is full: the next batch waits on disk.
  ASSERT_TRUE(pending.Append(Batch(3, 5)).ok());
  EXPECT_EQ(FilesIn(dir.file("spool")), 1);
  // While something waits on disk, a batch "sent now" goes there too, so
  // that sending stays in seq order.
  ASSERT_TRUE(pending.AppendSendingNow(Batch(4, 5)).ok());
  EXPECT_EQ(FilesIn(dir.file("spool")), 2);

  // The stream breaks: batch 2, on the wire from memory, is written to disk
  // and everything goes again, oldest first.
  pending.Unsend();
  EXPECT_EQ(FilesIn(dir.file("spool")), 3);
  EXPECT_EQ(pending.batches(), 3u);
  EXPECT_EQ(pending.NextUnsent()->seq(), 2u);
  pending.MarkSent(2);
  EXPECT_EQ(pending.NextUnsent()->seq(), 3u);
  EXPECT_EQ(pending.last_seq(), 4u);
  EXPECT_TRUE(pending.durable());

  // A new process finds what was never acknowledged.
  auto reopened = Spool::Open(dir.file("spool"), 1 << 20);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->batches(), 3u);
}

TEST(SpillingBatchesTest, RefusedBatchLeavesMemoryOrDiskAndIsCountedOnce) {
  TempDir dir;
  auto spool = Spool::Open(dir.file("spool"), 1 << 20);
  ASSERT_TRUE(spool.ok());
  SpillingBatches pending(spool->get());
  ASSERT_TRUE(pending.AppendSendingNow(Batch(1, 7)).ok());
  pending.MarkSent(1);
  ASSERT_TRUE(pending.Append(Batch(2, 9)).ok());
  EXPECT_EQ(pending.Discard(1), std::optional<uint64_t>(7));
  EXPECT_EQ(pending.Discard(2), std::optional<uint64_t>(9));
  EXPECT_EQ(pending.Discard(2), std::nullopt);
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(FilesIn(dir.file("spool")), 0);
}

}  // namespace
}  // namespace hoplat::testing
