// The agent's parts one by one: config file, paths, recorder, replay from a
// pipe, spool bookkeeping.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>

#include "absl/flags/flag.h"
#include "agent/config_file.h"
#include "agent/module_control.h"
#include "agent/recorder.h"
#include "agent/replay_source.h"
#include "agent/spool.h"
#include "common/batch_columns.h"
#include "gtest/gtest.h"
#include "tests/agent/test_records.h"

ABSL_FLAG(std::string, cf_collector, "127.0.0.1:50051", "test");
ABSL_FLAG(uint32_t, cf_batch_size, 4096, "test");
ABSL_FLAG(std::string, cf_node_id, "", "test");
ABSL_FLAG(std::string, cf_replay, "", "test: not settable from a file");

namespace hoplat::testing {
namespace {

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(ConfigFileTest, FileSetsFlagsTheCommandLineDidNotAndReloadResetsRemovedOnes) {
  TempDir dir;
  const std::string path = dir.file("agent.conf");
  WriteText(path,
            "# a comment\n\n  cf_collector = 192.0.2.1:50051  \ncf_batch_size=100\n"
            "cf_node_id = from-file\n");
  absl::SetFlag(&FLAGS_cf_node_id, "from-command-line");
  ConfigFile file(path, {"cf_collector", "cf_batch_size", "cf_node_id"}, {"cf_node_id"});
  ASSERT_TRUE(file.Load().ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_cf_collector), "192.0.2.1:50051");
  EXPECT_EQ(absl::GetFlag(FLAGS_cf_batch_size), 100u);
  EXPECT_EQ(absl::GetFlag(FLAGS_cf_node_id), "from-command-line") << "the command line wins";

  // Reload (SIGHUP) with cf_batch_size gone and cf_collector changed.
  WriteText(path, "cf_collector = 198.51.100.7:1\n");
  ASSERT_TRUE(file.Load().ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_cf_collector), "198.51.100.7:1");
  EXPECT_EQ(absl::GetFlag(FLAGS_cf_batch_size), 4096u) << "back to its default";

  // A bad file changes nothing, and says which line.
  WriteText(path, "cf_collector = 203.0.113.9:1\ncf_batch_size = lots\n");
  const absl::Status bad = file.Load();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("line 2"), std::string::npos) << bad;
  EXPECT_EQ(absl::GetFlag(FLAGS_cf_collector), "198.51.100.7:1");
  EXPECT_EQ(absl::GetFlag(FLAGS_cf_batch_size), 4096u);

  for (const char* text : {"cf_replay = x\n", "no_such = 1\n", "cf_collector\n",
                           "cf_collector = a:1\ncf_collector = b:1\n"}) {
    WriteText(path, text);
    EXPECT_EQ(file.Load().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_EQ(ConfigFile(dir.file("missing"), {}, {}).Load().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigFileTest, FlagsOnCommandLineFindsEveryForm) {
  const char* argv[] = {"agent", "--collector=a:1", "-node_id", "x", "--nospool", "--",
                        "--after_dashes"};
  const std::set<std::string> names = FlagsOnCommandLine(7, const_cast<char**>(argv));
  EXPECT_TRUE(names.count("collector"));
  EXPECT_TRUE(names.count("node_id"));
  EXPECT_TRUE(names.count("spool")) << "--noNAME sets NAME";
  EXPECT_FALSE(names.count("x"));
  EXPECT_FALSE(names.count("after_dashes"));
}

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

v1::ObservationBatch Batch(uint64_t seq, int n) {
  v1::ObservationBatch b;
  b.set_seq(seq);
  for (int i = 0; i < n; ++i) {
    AppendToBatch(Observation{TestHash(seq * 1000 + i), 1, 2, 2, 3, 60, 1}, &b);
  }
  return b;
}

TEST(SpoolTest, FilesStayUntilAcknowledgedAndAreResentAfterABreak) {
  TempDir dir;
  auto spool = Spool::Open(dir.file("spool"), 1 << 20);
  ASSERT_TRUE(spool.ok());
  Spool& s = **spool;
  for (uint64_t seq : {10, 11, 12}) ASSERT_TRUE(s.Append(Batch(seq, 5)).ok());
  ASSERT_TRUE(s.has_unsent());
  absl::StatusOr<v1::ObservationBatch> b = s.NextUnsent();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->seq(), 10u);
  s.MarkSent(10);
  EXPECT_EQ(s.NextUnsent()->seq(), 11u);
  s.MarkSent(11);
  s.Release(10);  // 10 acknowledged; 11 in flight
  EXPECT_EQ(s.batches(), 2u);
  // The stream breaks: the client hands 11 back, and it is already here.
  ASSERT_TRUE(s.Append(Batch(11, 5)).ok());
  EXPECT_EQ(s.batches(), 2u);
  s.Unsend();
  EXPECT_EQ(s.NextUnsent()->seq(), 11u) << "sent again after the break";

  // A new process sees what was never acknowledged.
  auto reopened = Spool::Open(dir.file("spool"), 1 << 20);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->batches(), 2u);
  EXPECT_EQ((*reopened)->NextUnsent()->seq(), 11u);

  // A damaged file is dropped, counted, and skipped.
  std::ofstream(dir.file("spool/00000000000000000011.batch"), std::ios::trunc) << "garbage!";
  EXPECT_EQ((*reopened)->NextUnsent()->seq(), 12u);
  EXPECT_EQ((*reopened)->dropped_batches(), 1u);
  (*reopened)->MarkSent(12);
  EXPECT_FALSE((*reopened)->has_unsent());
  EXPECT_EQ((*reopened)->NextUnsent().status().code(), absl::StatusCode::kNotFound);
  (*reopened)->Release(12);
  EXPECT_TRUE((*reopened)->empty());
  EXPECT_EQ((*reopened)->bytes(), 0u);
}

}  // namespace
}  // namespace hoplat::testing
