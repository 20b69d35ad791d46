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

TEST(AggregateKeyTest, InterfaceKeysReadBackAndRejectWhatTheyDidNotWrite) {
  EXPECT_EQ(InterfaceKeyText("r2", 5), "r2:5");
  std::string node;
  uint32_t ifindex = 0;
  ASSERT_TRUE(ParseInterfaceKey(InterfaceKeyText("r2.lab-1", 4294967295u), &node, &ifindex));
  EXPECT_EQ(node, "r2.lab-1");
  EXPECT_EQ(ifindex, 4294967295u);
  for (const char* bad : {"r2", ":5", "r2:", "r2:x", "r2:4294967296", "r2:-1"}) {
    EXPECT_FALSE(ParseInterfaceKey(bad, &node, &ifindex)) << bad;
  }
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
