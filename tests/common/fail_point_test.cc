// common/fail_point: HOPLAT_FAILPOINTS, read once per process. One TEST, so
// that the variable is set before the first lookup (this binary holds no
// other test that could look one up first).
#include "common/fail_point.h"

#include <stdlib.h>

#include "gtest/gtest.h"

namespace hoplat {
namespace {

TEST(FailPointTest, SetPointsHaveTheirValueAndMalformedItemsAreIgnored) {
  ASSERT_EQ(setenv("HOPLAT_FAILPOINTS",
                   "test.first=3; test.no_number=x;test.no_value;;test.big=18446744073709551615;"
                   "test.negative=-1",
                   /*overwrite=*/1),
            0);
  EXPECT_EQ(FailPointValue("test.first"), 3u) << "a set point";
  EXPECT_EQ(FailPointValue("test.big"), UINT64_MAX) << "a set point after malformed ones";
  EXPECT_EQ(FailPointValue("test.unset"), std::nullopt) << "a point that is not set";
  EXPECT_EQ(FailPointValue("collector.exit_before_commit_seq"), std::nullopt);
  // Malformed items are ignored, not taken as some value.
  EXPECT_EQ(FailPointValue("test.no_number"), std::nullopt);
  EXPECT_EQ(FailPointValue("test.no_value"), std::nullopt);
  EXPECT_EQ(FailPointValue("test.negative"), std::nullopt);

  // Read once: a later change of the environment changes nothing.
  ASSERT_EQ(setenv("HOPLAT_FAILPOINTS", "test.first=4;test.unset=1", 1), 0);
  EXPECT_EQ(FailPointValue("test.first"), 3u);
  EXPECT_EQ(FailPointValue("test.unset"), std::nullopt);
}

}  // namespace
}  // namespace hoplat
