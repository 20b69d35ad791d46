#include "collector/aggregate_key.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hoplat::testing {
namespace {

TEST(AggregateKeyTest, TextNamesTheNodesInOrderAndReadsBack) {
  const std::vector<std::string> path = {"r1", "r2", "r3"};
  EXPECT_EQ(KeyText(path), "r1>r2>r3");
  EXPECT_EQ(KeyNodes(KeyText(path)), path);
  EXPECT_EQ(KeyText("r1", "r3"), "r1>r3");
  EXPECT_EQ(KeyNodes("r1>r3"), (std::vector<std::string>{"r1", "r3"}));
  EXPECT_EQ(KeyText(std::vector<std::string>{"r1"}), "r1");
  EXPECT_EQ(KeyNodes("r1"), std::vector<std::string>{"r1"});
}

TEST(AggregateKeyTest, KindAndTextBothDistinguishKeys) {
  std::map<AggregateKey, int> keys;
  keys[{AggKind::kHop, "r1>r2"}] = 1;
  keys[{AggKind::kSpan, "r1>r2"}] = 2;
  keys[{AggKind::kHop, "r2>r1"}] = 3;
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ((keys[{AggKind::kSpan, "r1>r2"}]), 2);
  EXPECT_TRUE((AggregateKey{AggKind::kResidence, "r1"} == AggregateKey{AggKind::kResidence, "r1"}));
  EXPECT_FALSE((AggregateKey{AggKind::kResidence, "r1"} == AggregateKey{AggKind::kSingleNode, "r1"}));
}

}  // namespace
}  // namespace hoplat::testing
