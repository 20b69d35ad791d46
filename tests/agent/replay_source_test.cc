// agent/replay_source: records from a file or a pipe.
#include "agent/replay_source.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/agent/test_records.h"

namespace hoplat::testing {
namespace {

TEST(ReplaySourceTest, RejectsWhatIsNotARecordFile) {
  TempDir dir;
  EXPECT_EQ(ReplaySource::Open(dir.file("missing")).status().code(), absl::StatusCode::kNotFound);
  FILE* f = std::fopen(dir.file("short").c_str(), "wb");
  std::fwrite("0123456789", 1, 10, f);
  std::fclose(f);
  EXPECT_EQ(ReplaySource::Open(dir.file("short")).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<hoplat_record> bad = Records(3, 1);
  bad[2].version = 99;
  ASSERT_TRUE(WriteReplayFile(dir.file("bad"), bad).ok());
  auto source = ReplaySource::Open(dir.file("bad"));
  ASSERT_TRUE(source.ok());
  std::vector<hoplat_record> out;
  EXPECT_EQ((*source)->Read(10, absl::ZeroDuration(), &out).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(ReplaySourceTest, VersionOneRecordsAreRead) {
  // Recorded before the TTL was: the byte is reserved (zero).
  TempDir dir;
  std::vector<hoplat_record> old = Records(3, 1);
  for (hoplat_record& r : old) r.version = 1, r.ttl = 0;
  ASSERT_TRUE(WriteReplayFile(dir.file("v1"), old).ok());
  auto source = ReplaySource::Open(dir.file("v1"));
  ASSERT_TRUE(source.ok());
  std::vector<hoplat_record> out;
  absl::StatusOr<size_t> n = (*source)->Read(10, absl::ZeroDuration(), &out);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 3u);
}

TEST(ReplaySourceTest, PipeIsReadAsRecordsArriveEvenSplitAcrossWrites) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string path = "/proc/self/fd/" + std::to_string(fds[0]);
  auto source = ReplaySource::Open(path);
  ASSERT_TRUE(source.ok()) << source.status();
  const std::vector<hoplat_record> records = Records(3, 1'000'000);
  const char* bytes = reinterpret_cast<const char*>(records.data());
  std::vector<hoplat_record> out;

  EXPECT_EQ(*(*source)->Read(10, absl::Milliseconds(1), &out), 0u) << "nothing yet: times out";
  // One and a half records: one now, the half waits for the rest.
  ASSERT_EQ(write(fds[1], bytes, 96), 96);
  EXPECT_EQ(*(*source)->Read(10, absl::Seconds(10), &out), 1u);
  ASSERT_EQ(write(fds[1], bytes + 96, 96), 96);
  EXPECT_EQ(*(*source)->Read(10, absl::Seconds(10), &out), 2u);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(std::memcmp(out.data(), records.data(), sizeof(hoplat_record) * 3), 0);
  // Half a record, then the end: that is damage, not a silent short file.
  ASSERT_EQ(write(fds[1], bytes, 10), 10);
  close(fds[1]);
  absl::StatusOr<size_t> last;
  for (int i = 0; i < 3 && (last = (*source)->Read(10, absl::Seconds(10), &out)).ok(); ++i) {
    EXPECT_EQ(*last, 0u);
  }
  EXPECT_EQ(last.status().code(), absl::StatusCode::kDataLoss);
  close(fds[0]);
}

}  // namespace
}  // namespace hoplat::testing
