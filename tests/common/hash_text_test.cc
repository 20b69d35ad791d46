// common/hash_text: packet hashes as 16 hex digits.
#include "common/hash_text.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace hoplat {
namespace {

TEST(HashTextTest, FormatsAndParses) {
  EXPECT_EQ(HashToHex(0xabc), "0000000000000abc");
  EXPECT_EQ(*HashFromHex("0x0000000000000ABC"), 0xabcu);
  EXPECT_EQ(*HashFromHex("ffffffffffffffff"), UINT64_MAX);
  EXPECT_FALSE(HashFromHex("").ok());
  EXPECT_FALSE(HashFromHex("12345678901234567").ok());
  EXPECT_FALSE(HashFromHex("xyz").ok());
}

TEST(HashTextTest, TakesExactlySixteenDigits) {
  // A short string could be a decimal hash pasted from JSON, or a prefix:
  // never another packet.
  EXPECT_FALSE(HashFromHex("abc").ok());
  EXPECT_FALSE(HashFromHex("0xabc").ok());
  EXPECT_FALSE(HashFromHex("123456789012345").ok());
  EXPECT_EQ(*HashFromHex("0X00000000000000ff"), 0xffu);
  EXPECT_FALSE(HashFromHex("000000000000000g").ok());
}

}  // namespace
}  // namespace hoplat
