// common/memory_pending_batches: the bookkeeping of batches waiting for an
// acknowledgement, in memory and bounded.
#include "common/memory_pending_batches.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "tests/common/numbered_batch.h"

namespace hoplat::testing {
namespace {

TEST(MemoryPendingBatchesTest, KeepsSeqOrderAndTracksWhatWasSent) {
  MemoryPendingBatches p;
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p.durable());
  EXPECT_EQ(p.last_seq(), 0u);
  EXPECT_EQ(p.NextUnsent().status().code(), absl::StatusCode::kNotFound);
  // Appended out of order, kept in seq order.
  for (uint64_t seq : {12, 10, 11}) ASSERT_TRUE(p.Append(NumberedBatch(seq, 5)).ok());
  EXPECT_EQ(p.batches(), 3u);
  EXPECT_EQ(p.last_seq(), 12u);
  // Memory held: at least the wire size.
  const uint64_t three = p.bytes();
  EXPECT_GE(three, NumberedBatch(10, 5).ByteSizeLong() + NumberedBatch(11, 5).ByteSizeLong() +
                       NumberedBatch(12, 5).ByteSizeLong());
  // A seq already held is kept as it is.
  ASSERT_TRUE(p.Append(NumberedBatch(11, 7)).ok());
  EXPECT_EQ(p.batches(), 3u);

  // NextUnsent skips what was sent.
  ASSERT_TRUE(p.has_unsent());
  EXPECT_EQ(p.NextUnsent()->seq(), 10u);
  p.MarkSent(10);
  EXPECT_EQ(p.NextUnsent()->seq(), 11u);
  EXPECT_EQ(p.NextUnsent()->hash_size(), 5) << "the first batch 11, not the second";
  p.MarkSent(11);
  p.MarkSent(99);  // not held: nothing to mark
  EXPECT_EQ(p.NextUnsent()->seq(), 12u);
  p.MarkSent(12);
  EXPECT_FALSE(p.has_unsent());
  EXPECT_EQ(p.NextUnsent().status().code(), absl::StatusCode::kNotFound);
  // The stream broke: everything goes again, oldest first.
  p.Unsend();
  ASSERT_TRUE(p.has_unsent());
  EXPECT_EQ(p.NextUnsent()->seq(), 10u);

  // Release(seq) removes exactly that batch.
  p.MarkSent(10);
  p.MarkSent(11);
  p.Release(11);
  EXPECT_EQ(p.batches(), 2u);
  EXPECT_LT(p.bytes(), three);
  EXPECT_GT(p.bytes(), 0u);
  EXPECT_EQ(p.NextUnsent()->seq(), 12u) << "10 still sent, 11 gone";
  p.Unsend();
  EXPECT_EQ(p.NextUnsent()->seq(), 10u) << "10 still held";
  p.Release(11);  // gone already
  p.Release(99);  // never held
  EXPECT_EQ(p.batches(), 2u);

  // Discard returns the observations the batch held.
  EXPECT_EQ(p.Discard(12), std::optional<uint64_t>(5));
  EXPECT_EQ(p.Discard(12), std::nullopt) << "gone already";
  EXPECT_EQ(p.Discard(99), std::nullopt) << "never held";
  EXPECT_EQ(p.batches(), 1u);
  EXPECT_EQ(p.last_seq(), 10u);
  p.Release(10);
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.bytes(), 0u);
  EXPECT_EQ(p.last_seq(), 0u);
  // Nothing here was dropped for room (a discarded batch is the caller's to count).
  EXPECT_EQ(p.dropped_batches(), 0u);
  EXPECT_EQ(p.dropped_observations(), 0u);
}

TEST(MemoryPendingBatchesTest, BoundDropsTheOldestAndRefusesABatchLargerThanItAll) {
  // Memory used as held: a batch moved in keeps the capacity it was built with.
  const uint64_t size = NumberedBatch(1, 10).SpaceUsedLong();
  // Room for three of the batches below (their sizes differ by a few bytes at most).
  MemoryPendingBatches p(size * 3 + size / 2);
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    ASSERT_TRUE(p.Append(NumberedBatch(seq, 10)).ok()) << seq;
    EXPECT_LE(p.bytes(), size * 3 + size / 2);
  }
  EXPECT_EQ(p.batches(), 3u);
  EXPECT_EQ(p.NextUnsent()->seq(), 8u) << "the oldest were dropped";
  EXPECT_EQ(p.last_seq(), 10u);
  EXPECT_EQ(p.dropped_batches(), 7u);
  EXPECT_EQ(p.dropped_observations(), 70u);

  // Larger than the whole bound: refused, counted, and nothing else dropped.
  const absl::Status big = p.Append(NumberedBatch(11, 1000));
  EXPECT_EQ(big.code(), absl::StatusCode::kResourceExhausted) << big;
  EXPECT_EQ(p.batches(), 3u);
  EXPECT_EQ(p.NextUnsent()->seq(), 8u);
  EXPECT_EQ(p.last_seq(), 10u);
  EXPECT_EQ(p.dropped_batches(), 8u);
  EXPECT_EQ(p.dropped_observations(), 1070u);
}

}  // namespace
}  // namespace hoplat::testing
