// common/node_id: which node names are accepted.
#include "common/node_id.h"

#include <string>

#include "gtest/gtest.h"

namespace hoplat {
namespace {

TEST(NodeIdTest, AcceptsNamesAndRejectsSeparators) {
  EXPECT_TRUE(ValidateNodeId("r1").ok());
  EXPECT_TRUE(ValidateNodeId("edge-01.fra_2").ok());
  EXPECT_FALSE(ValidateNodeId("").ok());
  EXPECT_FALSE(ValidateNodeId("a>b").ok());
  EXPECT_FALSE(ValidateNodeId("a b").ok());
  EXPECT_FALSE(ValidateNodeId(std::string(65, 'a')).ok());
}

}  // namespace
}  // namespace hoplat
