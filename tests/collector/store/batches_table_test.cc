// collector/store/batches_table: the digest that tells a resend from a
// conflict is stored, so it must never change.
#include "collector/store/batches_table.h"

#include <algorithm>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace hoplat::testing {
namespace {

TEST(BatchesTableTest, DigestIsStableAcrossBuilds) {
  // Golden values: if these change, digests already stored no longer match
  // and every resend after an upgrade would be refused as a conflict.
  EXPECT_EQ(BatchDigest(""), 0x298b6babada73603ULL);
  EXPECT_EQ(BatchDigest("hoplat batch digest, 8+ bytes and a tail"), 0xbc0e7cc6319f73d4ULL);
}

TEST(BatchesTableTest, DigestTellsContentsApartAndIsNeverZero) {
  std::set<uint64_t> seen;
  std::string data(100, '\0');
  for (int i = 0; i < 100; ++i) {
    data[i] = 1;  // one bit more each time, anywhere in the words or the tail
    const size_t len = std::max<size_t>(i + 1, 37 + i % 50);  // the byte set is in it
    const uint64_t d = BatchDigest(absl::string_view(data).substr(0, len));
    EXPECT_NE(d, 0u) << "0 means not known";
    EXPECT_TRUE(seen.insert(d).second) << i;
  }
}

}  // namespace
}  // namespace hoplat::testing
