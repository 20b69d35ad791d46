// common/batch_columns: observations in an ObservationBatch's columns.
#include "common/batch_columns.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/test_observations.h"

namespace hoplat {
namespace {

TEST(BatchColumnsTest, RoundTripAndUnequalColumns) {
  const std::vector<Observation> in = RandomObservations(10, 9);
  v1::ObservationBatch batch;
  for (const Observation& o : in) AppendToBatch(o, &batch);
  std::vector<Observation> out;
  ASSERT_TRUE(ObservationsFromBatch(batch, &out).ok());
  EXPECT_EQ(out, in);
  batch.add_length(1);
  const absl::Status s = ObservationsFromBatch(batch, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("length 11"), std::string::npos) << s;
}

TEST(BatchColumnsTest, AnOlderAgentsBatchWithoutTheNewColumnsIsRead) {
  const std::vector<Observation> in = RandomObservations(10, 4);
  v1::ObservationBatch batch;
  for (const Observation& o : in) AppendToBatch(o, &batch);
  batch.clear_residence_ns();
  batch.clear_ttl();
  batch.clear_gso_segs();
  batch.clear_queue_ns();
  int had_queue = 0;
  for (const Observation& o : in) had_queue += o.has_queue();
  ASSERT_GT(had_queue, 0);
  std::vector<Observation> out;
  ASSERT_TRUE(ObservationsFromBatch(batch, &out).ok());
  ASSERT_EQ(out.size(), in.size());
  for (const Observation& o : out) {
    EXPECT_EQ(o.residence_ns, 0u);
    EXPECT_EQ(o.ttl, 0u);
    EXPECT_EQ(o.gso_segs, 1u);
    // No queue time sent: none claimed, whatever the flags said.
    EXPECT_FALSE(o.has_queue());
    EXPECT_EQ(o.departure_ns(), o.exit_ns);
  }
  // Present, they must be whole.
  batch.add_ttl(64);
  const absl::Status s = ObservationsFromBatch(batch, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("ttl 1"), std::string::npos) << s;
}

}  // namespace
}  // namespace hoplat
