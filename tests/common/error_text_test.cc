// common/error_text: a client's input quoted in an error, short and escaped.
#include "common/error_text.h"

#include <string>

#include "gtest/gtest.h"

namespace hoplat {
namespace {

TEST(ErrorTextTest, ShortInputIsQuotedWhole) {
  EXPECT_EQ(QuoteInput("r1"), "\"r1\"");
  EXPECT_EQ(QuoteInput(std::string("a\"b\n\x01", 5)), "\"a\\\"b\\n\\x01\"");
}

TEST(ErrorTextTest, LongInputIsCutToAPrefixAndItsLength) {
  const std::string quoted = QuoteInput(std::string(10'000, 'x'));
  EXPECT_EQ(quoted, "\"" + std::string(40, 'x') + "\"... (10000 bytes)");
  EXPECT_EQ(QuoteInput("abcdef", 3), "\"abc\"... (6 bytes)");
  // Escaping cannot make it long either: at most four bytes per byte.
  EXPECT_LT(QuoteInput(std::string(10'000, '\xff')).size(), 4u * 40 + 32);
}

}  // namespace
}  // namespace hoplat
