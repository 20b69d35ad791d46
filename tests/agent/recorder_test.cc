// agent/recorder: --record writes what it reads as a replay file.
#include "agent/recorder.h"

#include <atomic>
#include <cstring>
#include <vector>

#include "agent/replay_source.h"
#include "gtest/gtest.h"
#include "tests/agent/test_records.h"

namespace hoplat::testing {
namespace {

TEST(RecorderTest, WritesWhatItReadsAsAReplayFile) {
  TempDir dir;
  const std::vector<hoplat_record> records = Records(10'000, 1'000'000);
  ASSERT_TRUE(WriteReplayFile(dir.file("in.rec"), records).ok());
  std::atomic<bool> stop{false};
  for (uint64_t limit : {0u, 4097u}) {
    auto source = ReplaySource::Open(dir.file("in.rec"));
    ASSERT_TRUE(source.ok());
    absl::StatusOr<uint64_t> n = RecordToFile(source->get(), dir.file("out.rec"), limit, stop);
    ASSERT_TRUE(n.ok()) << n.status();
    const size_t want = limit == 0 ? records.size() : limit;
    EXPECT_EQ(*n, want);
    auto replay = ReplaySource::Open(dir.file("out.rec"));
    ASSERT_TRUE(replay.ok());
    std::vector<hoplat_record> back;
    while ((*replay)->Read(5000, absl::ZeroDuration(), &back).ok()) {
    }
    ASSERT_EQ(back.size(), want);
    EXPECT_EQ(std::memcmp(back.data(), records.data(), want * sizeof(hoplat_record)), 0);
  }
  auto source = ReplaySource::Open(dir.file("in.rec"));
  EXPECT_FALSE(RecordToFile(source->get(), dir.file("no/such/dir"), 0, stop).ok());
}

}  // namespace
}  // namespace hoplat::testing
