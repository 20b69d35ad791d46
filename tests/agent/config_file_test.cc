// agent/config_file: settings from a file, reloaded at SIGHUP; which flags
// the command line set.
#include "agent/config_file.h"

#include <fstream>
#include <set>
#include <string>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"
#include "tests/collector/test_util.h"

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

}  // namespace
}  // namespace hoplat::testing
