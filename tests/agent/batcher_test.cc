// agent/batcher: the module's records, of every version, into columns.
#include "agent/batcher.h"

#include <vector>

#include "absl/time/clock.h"
#include "common/batch_columns.h"
#include "gtest/gtest.h"

namespace hoplat::testing {
namespace {

hoplat_record Record(uint8_t version, uint32_t flags, uint64_t queue_ns) {
  hoplat_record r{};
  r.hash = 0x1234;
  r.arrival_ns = 1'790'000'000'000'000'000ULL;
  r.exit_ns = r.arrival_ns + 20'000;
  r.residence_ns = 20'000;
  r.flags = HOPLAT_F_FORWARDED | flags;
  r.gso_segs = 1;
  r.version = version;
  r.ttl = 63;
  r.queue_ns = queue_ns;
  return r;
}

std::vector<Observation> Batched(const std::vector<hoplat_record>& records) {
  Batcher batcher(records.size());
  for (const hoplat_record& r : records) batcher.Add(r, absl::Now());
  EXPECT_TRUE(batcher.full());
  std::vector<Observation> out;
  EXPECT_TRUE(ObservationsFromBatch(batcher.Take(1), &out).ok());
  return out;
}

TEST(BatcherTest, QueueTimeOnlyWhereTheModuleTimedTheHandOff) {
  const std::vector<Observation> got = Batched({
      Record(3, HOPLAT_F_HANDOFF, 5'000'000),  // timed
      Record(3, 0, 0),                         // not timed (a qdisc drop, a copy)
      Record(3, HOPLAT_F_SW_GSO, 0),           // segmented in software
      Record(2, HOPLAT_F_HANDOFF, 777),        // version 2: that word was reserved, no such flag
      Record(1, 0, 0),                         // version 1: no TTL either
  });
  ASSERT_EQ(got.size(), 5u);
  EXPECT_TRUE(got[0].has_queue());
  EXPECT_EQ(got[0].queue_ns, 5'000'000u);
  EXPECT_EQ(got[0].departure_ns(), got[0].exit_ns + 5'000'000);
  for (size_t i = 1; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(got[i].has_queue());
    EXPECT_EQ(got[i].queue_ns, 0u);
    EXPECT_EQ(got[i].departure_ns(), got[i].exit_ns);
  }
  EXPECT_NE(got[2].flags & HOPLAT_F_SW_GSO, 0u) << "kept: says why there is no queue time";
  EXPECT_EQ(got[3].ttl, 63u);
  EXPECT_EQ(got[4].ttl, 0u);
  EXPECT_EQ(got[0].residence_ns, 20'000u) << "forwarding, apart from the queue";
}

}  // namespace
}  // namespace hoplat::testing
