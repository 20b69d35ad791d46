// The README's lab, run for real (scripts/lab.sh: QEMU guest, the module,
// three agents, traffic through netem), against a collector this test
// starts: the injected delay is measured on the right hop and nowhere else.
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "hoplat/v1/query.grpc.pb.h"
#include "tests/collector/test_util.h"
#include "tests/subprocess.h"

namespace hoplat::testing {
namespace {

constexpr int kDelayMs = 20;

double Ms(const google::protobuf::Duration& d) {
  return google::protobuf::util::TimeUtil::DurationToNanoseconds(d) / 1e6;
}

TEST(LabTest, NetemDelayShowsOnTheRightHopOnly) {
  TempDir dir;
  const std::string addr = absl::StrCat("127.0.0.1:", FreePort());
  Subprocess collector({HOPLAT_COLLECTOR_BINARY, "--listen=" + addr, "--db=" + dir.file("lab.db")});
  Subprocess lab({HOPLAT_SOURCE_DIR "/scripts/lab.sh", "--prebuilt", HOPLAT_BUILD_DIR,
                  "--collector", addr, "--delay", std::to_string(kDelayMs), "--seconds", "5"});
  ASSERT_EQ(lab.Wait(), 0) << "scripts/lab.sh failed (its output is above)";

  auto query = v1::Query::NewStub(grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::HopLatencyResponse hops;
  ASSERT_TRUE(query->HopLatency(&ctx, v1::HopLatencyRequest(), &hops).ok());
  int seen = 0;
  for (const v1::HopSummary& h : hops.hops()) {
    const double p50 = Ms(h.latency().p50());
    const std::string hop = h.from_node() + " > " + h.to_node();
    std::printf("hop %s: %llu packets, p50 %.3f ms\n", hop.c_str(),
                static_cast<unsigned long long>(h.latency().count()), p50);
    EXPECT_GE(h.latency().count(), 100u) << hop;
    if (h.from_node() == "r2" && h.to_node() == "r3") {
      EXPECT_NEAR(p50, kDelayMs, 1.0) << "the netem hop";
    } else {
      EXPECT_LT(p50, 5.0) << hop << " carries no added delay";
    }
    ++seen;
  }
  EXPECT_EQ(seen, 4) << "r1>r2, r2>r3 and back";
  // Residence is time inside a router: netem, an egress qdisc, is not in it.
  for (const v1::ResidenceSummary& r : hops.residences()) {
    EXPECT_LT(Ms(r.latency().p50()), 5.0) << r.node();
  }
  EXPECT_EQ(collector.Stop(), 0);
}

}  // namespace
}  // namespace hoplat::testing
