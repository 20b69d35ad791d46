// The real hoplat-collector binary dies between receiving a batch and
// committing it; the agent's resend after the restart is stored exactly once.
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/collector/collector_fixture.h"

extern char** environ;

namespace hoplat::testing {
namespace {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class Process {
 public:
  explicit Process(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  }
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
  }
  // Exit status as the shell shows it (128 + signal for a signal).
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  int Stop() {
    kill(pid_, SIGTERM);
    return Wait();
  }

 private:
  pid_t pid_ = -1;
};

std::vector<Observation> Obs(int n, uint64_t first) {
  std::vector<Observation> v;
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  for (int i = 0; i < n; ++i) {
    Observation o;
    o.hash = TestHash(first + i);
    o.arrival_ns = now + static_cast<uint64_t>(i);
    o.exit_ns = o.arrival_ns + 1000;
    v.push_back(o);
  }
  return v;
}

TEST(CrashTest, BatchReceivedButNotCommittedIsResentAndStoredOnce) {
  TempDir dir;
  const std::string db = dir.file("crash.db");
  const int port = FreePort();
  const std::string listen = "127.0.0.1:" + std::to_string(port);

  IngestClientOptions options;
  options.target = listen;
  options.node_id = "r1";
  options.max_in_flight = 1;  // one batch at a time: batch 3 is alone in its commit
  IngestClient client(options);

  {
    Process collector({HOPLAT_COLLECTOR_BINARY, "--listen=" + listen, "--db=" + db,
                       "--testonly_exit_before_commit_seq=3"});
    ASSERT_TRUE(client.Connect().ok());
    for (uint64_t seq = 1; seq <= 2; ++seq) {
      ASSERT_TRUE(client.Send(MakeBatch(seq, Obs(100, seq * 100))).ok());
      ASSERT_TRUE(client.Flush(absl::Seconds(30)).ok());
    }
    ASSERT_TRUE(client.Send(MakeBatch(3, Obs(100, 300))).ok());
    // The collector received batch 3 and died before committing it.
    EXPECT_EQ(collector.Wait(), 86);
    EXPECT_FALSE(client.Flush(absl::Seconds(30)).ok());
    EXPECT_EQ(client.acked_batches(), 2u);
    EXPECT_EQ(client.unacked_batches(), 1u);
  }
  Process collector({HOPLAT_COLLECTOR_BINARY, "--listen=" + listen, "--db=" + db});
  ASSERT_TRUE(client.Connect().ok());  // resends batch 3
  EXPECT_EQ(client.welcome().highest_committed_seq(), 2u);
  ASSERT_TRUE(client.Send(MakeBatch(4, Obs(100, 400))).ok());
  // And resend batch 2 as if its ack had been lost: stored nothing.
  ASSERT_TRUE(client.Send(MakeBatch(2, Obs(100, 200))).ok());
  ASSERT_TRUE(client.Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(client.duplicate_acks(), 1u);
  ASSERT_TRUE(client.Close().ok());

  auto channel = grpc::CreateChannel(listen, grpc::InsecureChannelCredentials());
  auto query = v1::Query::NewStub(channel);
  grpc::ClientContext ctx;
  v1::ListNodesResponse nodes;
  ASSERT_TRUE(query->ListNodes(&ctx, v1::ListNodesRequest(), &nodes).ok());
  ASSERT_EQ(nodes.nodes_size(), 1);
  EXPECT_EQ(nodes.nodes(0).batches_stored(), 4u);
  EXPECT_EQ(nodes.nodes(0).observations_stored(), 400u);
  EXPECT_EQ(nodes.nodes(0).duplicate_batches(), 1u);
  for (uint64_t h : {300u, 399u}) {
    grpc::ClientContext tctx;
    v1::TracePacketRequest req;
    req.set_hash(TestHash(h));
    v1::TracePacketResponse trace;
    ASSERT_TRUE(query->TracePacket(&tctx, req, &trace).ok());
    ASSERT_EQ(trace.trajectories_size(), 1);
    EXPECT_EQ(trace.trajectories(0).observations_size(), 1);
  }
  EXPECT_EQ(collector.Stop(), 0) << "clean shutdown on SIGTERM";
}

TEST(CrashTest, UnopenableDatabaseAndBusyPortFailAtStartWithMessage) {
  TempDir dir;
  Process bad_db({HOPLAT_COLLECTOR_BINARY, "--listen=127.0.0.1:0", "--db=/nonexistent/dir/x.db"});
  EXPECT_EQ(bad_db.Wait(), 1);

  const std::string listen = "127.0.0.1:" + std::to_string(FreePort());
  Process first({HOPLAT_COLLECTOR_BINARY, "--listen=" + listen, "--db=" + dir.file("a.db")});
  // Wait until the first one serves, then a second on the same port must fail.
  auto channel = grpc::CreateChannel(listen, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(20))));
  Process second({HOPLAT_COLLECTOR_BINARY, "--listen=" + listen, "--db=" + dir.file("b.db")});
  EXPECT_EQ(second.Wait(), 1);
  EXPECT_EQ(first.Stop(), 0);

  Process bad_flag({HOPLAT_COLLECTOR_BINARY, "--no_such_flag"});
  EXPECT_NE(bad_flag.Wait(), 0);
}

}  // namespace
}  // namespace hoplat::testing
