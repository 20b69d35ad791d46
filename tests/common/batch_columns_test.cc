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

}  // namespace
}  // namespace hoplat
