// agent/clock_state: the clock domain an agent reports (the kernel's boot id
// unless --clock_domain names one; none for records replayed from a file),
// and the kernel's clock state carrying it.
#include "agent/clock_state.h"

#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "tests/collector/test_util.h"

namespace hoplat::testing {
namespace {

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// 8-4-4-4-12 lowercase hex digits, as the kernel prints a random UUID.
bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

TEST(ClockStateTest, BootIdIsThisKernelsUuidAndAValidDomain) {
  absl::StatusOr<std::string> id = ReadBootId();
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(IsUuid(*id)) << *id << ": the newline is trimmed, nothing else there";
  EXPECT_EQ(*ReadBootId(), *id) << "one kernel, one boot id";
  EXPECT_TRUE(ValidateClockDomain(*id).ok());
  // What the agent reports by default when it reads this kernel's module.
  EXPECT_EQ(*ClockDomainFor("", /*replay=*/false), *id);
}

TEST(ClockStateTest, BootIdFileIsTrimmedAndAMissingOrEmptyOneIsAnError) {
  TempDir dir;
  WriteText(dir.file("boot_id"), "  0b0392b0-29a4-4ae8-90a4-dbf4cb9c9983\n");
  EXPECT_EQ(*ReadBootId(dir.file("boot_id")), "0b0392b0-29a4-4ae8-90a4-dbf4cb9c9983");
  WriteText(dir.file("empty"), "\n");
  EXPECT_FALSE(ReadBootId(dir.file("empty")).ok());
  absl::StatusOr<std::string> missing = ReadBootId(dir.file("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir.file("missing")), std::string::npos)
      << missing.status() << ": names the file";
}

TEST(ClockStateTest, DomainsAreRestrictedLikeNodeIds) {
  EXPECT_TRUE(ValidateClockDomain("lab-kernel_1.a").ok());
  EXPECT_TRUE(ValidateClockDomain(std::string(64, 'a')).ok());
  for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("a b"),
                                std::string("a/b"), std::string("\xc2\xb1")}) {
    EXPECT_EQ(ValidateClockDomain(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ClockStateTest, ConfiguredDomainWinsReplayHasNoneAndABadBootIdGivesNone) {
  TempDir dir;
  WriteText(dir.file("boot_id"), "11111111-2222-3333-4444-555555555555\n");
  const std::string boot_id = dir.file("boot_id");
  EXPECT_EQ(*ClockDomainFor("", false, boot_id), "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(*ClockDomainFor("netns-host", false, boot_id), "netns-host");
  // Replayed records were timestamped by whichever kernel recorded them, not
  // this one: no domain unless one is named.
  EXPECT_EQ(*ClockDomainFor("", true, boot_id), "");
  EXPECT_EQ(*ClockDomainFor("recorded-on-r1", true, boot_id), "recorded-on-r1");
  // Without a usable boot id the agent still runs, sharing its clock with nobody.
  EXPECT_EQ(*ClockDomainFor("", false, dir.file("missing")), "");
  WriteText(dir.file("odd"), "not a boot id\n");
  EXPECT_EQ(*ClockDomainFor("", false, dir.file("odd")), "");
  EXPECT_EQ(ClockDomainFor("two words", false, boot_id).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClockStateTest, ClockStateCarriesTheDomain) {
  const v1::ClockState state = ReadClockState("netns-host");
  EXPECT_EQ(state.clock_domain(), "netns-host");
  EXPECT_EQ(state.source(), "adjtimex");
  EXPECT_EQ(ReadClockState("").clock_domain(), "");
}

}  // namespace
}  // namespace hoplat::testing
