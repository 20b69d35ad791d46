// agent/module_control: --paths words to the module's path bits.
#include "agent/module_control.h"

#include "gtest/gtest.h"
#include "kmod/include/uapi/linux/hoplat.h"

namespace hoplat::testing {
namespace {

TEST(ParsePathsTest, WordsBecomeUapiBits) {
  EXPECT_EQ(*ParsePaths("all"), HOPLAT_PATH_ALL);
  EXPECT_EQ(*ParsePaths("none"), 0u);
  EXPECT_EQ(*ParsePaths("forward"), HOPLAT_PATH_FORWARD | HOPLAT_PATH_IPV4 | HOPLAT_PATH_IPV6);
  EXPECT_EQ(*ParsePaths("ipv6"), HOPLAT_PATH_FORWARD | HOPLAT_PATH_LOCAL_OUT |
                                     HOPLAT_PATH_LOCAL_IN | HOPLAT_PATH_IPV6);
  EXPECT_EQ(*ParsePaths("forward, local_out,ipv4"),
            HOPLAT_PATH_FORWARD | HOPLAT_PATH_LOCAL_OUT | HOPLAT_PATH_IPV4);
  EXPECT_EQ(ParsePaths("forward,ipv7").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePaths("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hoplat::testing
