// hoplat.v1.Query end to end: three routers stream observations, then every
// Query call is checked against values known from the synthetic traffic.
#include <cstdlib>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "common/hash_text.h"
#include "google/protobuf/util/time_util.h"
#include "kmod/include/uapi/linux/hoplat.h"
#include "tests/collector/collector_fixture.h"

namespace hoplat::testing {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kPackets = 2000;
// r1 -> r2 -> r3: residences 10/20/30 us, hops 1 ms and 20 ms (netem on r2 -> r3),
// plus a per-packet jitter on the second hop so percentiles have work to do.
constexpr int64_t kRes[3] = {10'000, 20'000, 30'000};
constexpr int64_t kHop1 = 1'000'000;
int64_t Hop2(int i) { return 20'000'000 + (i % 100) * 10'000; }  // 20 .. 20.99 ms

class QueryTest : public CollectorTest {
 protected:
  void SetUp() override {
    StartCollector();
    Send(0, kPackets);
  }

  // Streams packets [first, first + n) from all three routers, each
  // synchronised to within (its number) us; or saying `clocks`.
  void Send(int first, int n) {
    v1::ClockState clocks[3];
    for (int r = 0; r < 3; ++r) {
      clocks[r].set_synchronized(true);
      clocks[r].set_estimated_error_ns(static_cast<uint64_t>(r + 1) * 1000);
    }
    Send(first, n, clocks);
  }
  void Send(int first, int n, const v1::ClockState (&clocks)[3]) {
    std::vector<std::vector<Observation>> per(3);
    for (int i = first; i < first + n; ++i) {
      const Crossing c = Cross(TestHash(i), kT0 + static_cast<uint64_t>(i) * 1'000'000,
                               {kRes[0], kRes[1], kRes[2]}, {kHop1, Hop2(i)});
      for (int r = 0; r < 3; ++r) per[r].push_back(c.per_router[r]);
      exact_.push_back(kRes[0] + kHop1 + kRes[1] + Hop2(i) + kRes[2]);
    }
    for (int r = 0; r < 3; ++r) {
      auto client = Client("r" + std::to_string(r + 1), clocks[r]);
      ASSERT_TRUE(client->Connect().ok());
      for (size_t i = 0; i < per[r].size(); i += 500) {
        std::vector<Observation> chunk(per[r].begin() + i,
                                       per[r].begin() + std::min(per[r].size(), i + 500));
        ASSERT_TRUE(client->Send(Batch(next_seq_[r]++, chunk)).ok());
      }
      ASSERT_TRUE(client->Flush(absl::Seconds(30)).ok());
      ASSERT_TRUE(client->Close().ok());
    }
  }

  v1::TimeRange WholeRange() {
    v1::TimeRange r;
    *r.mutable_start() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(kT0));
    *r.mutable_end() =
        TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(kT0) + 10 * kNsPerMinute);
    return r;
  }

  v1::PathLatencyResponse PathLatency(const std::string& from, const std::string& to,
                                      grpc::Status* status = nullptr,
                                      const v1::TimeRange* range = nullptr) {
    grpc::ClientContext ctx;
    v1::PathLatencyRequest req;
    req.set_from_node(from);
    req.set_to_node(to);
    *req.mutable_range() = range != nullptr ? *range : WholeRange();
    v1::PathLatencyResponse resp;
    grpc::Status s = query_->PathLatency(&ctx, req, &resp);
    if (status) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return resp;
  }

  std::vector<int64_t> exact_;
  uint64_t next_seq_[3] = {1, 1, 1};
};

int64_t Ns(const google::protobuf::Duration& d) { return TimeUtil::DurationToNanoseconds(d); }

TEST_F(QueryTest, PathLatencyMatchesTheTrafficBeforeAndAfterSealing) {
  ASSERT_TRUE(collector_->Sync().ok());
  // Nodes are idle (disconnected): correlation is done, minutes not sealed
  // yet, and the answer comes from memory.
  for (int phase = 0; phase < 2; ++phase) {
    const v1::PathLatencyResponse r = PathLatency("r1", "r3");
    std::vector<int64_t> sorted = exact_;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(r.latency().count(), static_cast<uint64_t>(kPackets)) << "phase " << phase;
    EXPECT_EQ(Ns(r.latency().min()), sorted.front());
    EXPECT_EQ(Ns(r.latency().max()), sorted.back());
    const double p99 = static_cast<double>(sorted[static_cast<size_t>(0.99 * kPackets) - 1]);
    EXPECT_NEAR(static_cast<double>(Ns(r.latency().p99())), p99, p99 * 0.01);
    EXPECT_EQ(r.latency().clock_errors(), 0u);
    EXPECT_EQ(Ns(r.clock_error_bound()), 1000 + 3000) << "the ends' reported errors";
    EXPECT_EQ(Ns(r.latency().clock_bound()), 1000 + 3000);
    EXPECT_TRUE(r.clocks_synchronized());
    EXPECT_EQ(r.clock_method(), v1::CLOCK_METHOD_REPORTED);
    SealEverything();
  }
}

TEST_F(QueryTest, PathLatencyRejectsBadRequests) {
  grpc::Status s;
  PathLatency("r1", "r1", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  PathLatency("r1", "nowhere", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  PathLatency("r1", "", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext ctx;
  v1::PathLatencyRequest req;
  req.set_from_node("r1");
  req.set_to_node("r3");
  *req.mutable_range()->mutable_start() = TimeUtil::NanosecondsToTimestamp(2000);
  *req.mutable_range()->mutable_end() = TimeUtil::NanosecondsToTimestamp(1000);
  v1::PathLatencyResponse resp;
  EXPECT_EQ(query_->PathLatency(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // An invalid Timestamp is refused with a reason.
  grpc::ClientContext ctx2;
  req.mutable_range()->mutable_start()->set_nanos(1'000'000'000);
  const grpc::Status nanos = query_->PathLatency(&ctx2, req, &resp);
  EXPECT_EQ(nanos.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(nanos.error_message().find("nanos"), std::string::npos) << nanos.error_message();
  // A node id of 10 KB is quoted, not echoed.
  grpc::ClientContext ctx3;
  req.set_from_node(std::string(10'000, '#'));
  *req.mutable_range() = WholeRange();
  const grpc::Status long_id = query_->PathLatency(&ctx3, req, &resp);
  EXPECT_EQ(long_id.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(long_id.error_message().size(), 200u) << long_id.error_message();
}

TEST_F(QueryTest, RangesAreClampedToWhatTheStoreHoldsAndSayWhatTheyCovered) {
  SealEverything();
  // Years 1 to 9999: every packet, not 0 (and not "start must be before end").
  v1::TimeRange all;
  all.mutable_start()->set_seconds(-62'135'596'800);       // 0001-01-01
  all.mutable_end()->set_seconds(253'402'300'799);         // 9999-12-31T23:59:59
  all.mutable_end()->set_nanos(999'999'999);
  for (const v1::TimeRange& range : {all, WholeRange()}) {
    grpc::ClientContext ctx;
    v1::PathLatencyRequest req;
    req.set_from_node("r1");
    req.set_to_node("r3");
    *req.mutable_range() = range;
    v1::PathLatencyResponse resp;
    const grpc::Status s = query_->PathLatency(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.latency().count(), static_cast<uint64_t>(kPackets));
    EXPECT_TRUE(resp.has_covered());
  }
  // The covered range is the asked one rounded out to whole minutes.
  v1::TimeRange odd;
  *odd.mutable_start() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(kT0) + 1'000'000'000);
  *odd.mutable_end() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(kT0) + 61'000'000'000);
  grpc::ClientContext ctx;
  v1::HopLatencyRequest hreq;
  *hreq.mutable_range() = odd;
  v1::HopLatencyResponse hops;
  ASSERT_TRUE(query_->HopLatency(&ctx, hreq, &hops).ok());
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(hops.covered().start()), static_cast<int64_t>(kT0));
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(hops.covered().end()),
            static_cast<int64_t>(kT0) + 2 * kNsPerMinute);
  grpc::ClientContext ctx2;
  v1::ListPathsRequest preq;
  *preq.mutable_range() = odd;
  v1::ListPathsResponse paths;
  ASSERT_TRUE(query_->ListPaths(&ctx2, preq, &paths).ok());
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(paths.covered().start()), static_cast<int64_t>(kT0));
}

TEST_F(QueryTest, ListPathsAndTraceTheSlowestPacket) {
  SealEverything();
  grpc::ClientContext ctx;
  v1::ListPathsRequest req;
  *req.mutable_range() = WholeRange();
  v1::ListPathsResponse paths;
  ASSERT_TRUE(query_->ListPaths(&ctx, req, &paths).ok());
  ASSERT_EQ(paths.paths_size(), 1);
  const v1::PathSummary& p = paths.paths(0);
  EXPECT_EQ(std::vector<std::string>(p.nodes().begin(), p.nodes().end()),
            (std::vector<std::string>{"r1", "r2", "r3"}));
  EXPECT_EQ(p.latency().count(), static_cast<uint64_t>(kPackets));
  EXPECT_EQ(paths.single_node_packets(), 0u);

  grpc::ClientContext tctx;
  v1::TracePacketRequest treq;
  treq.set_hash_hex(p.slowest_hash_hex());
  v1::TracePacketResponse trace;
  ASSERT_TRUE(query_->TracePacket(&tctx, treq, &trace).ok());
  ASSERT_EQ(trace.trajectories_size(), 1);
  EXPECT_EQ(trace.trajectories(0).path_latency_ns(), Ns(p.latency().max()));
}

TEST_F(QueryTest, HopLatencyGivesEveryHopAndResidence) {
  SealEverything();
  grpc::ClientContext ctx;
  v1::HopLatencyRequest req;
  *req.mutable_range() = WholeRange();
  v1::HopLatencyResponse r;
  ASSERT_TRUE(query_->HopLatency(&ctx, req, &r).ok());
  ASSERT_EQ(r.hops_size(), 2);
  EXPECT_EQ(r.hops(0).from_node(), "r1");
  EXPECT_EQ(r.hops(0).to_node(), "r2");
  EXPECT_EQ(Ns(r.hops(0).latency().min()), kHop1);
  EXPECT_EQ(Ns(r.hops(0).latency().max()), kHop1);
  EXPECT_EQ(Ns(r.hops(0).clock_error_bound()), 1000 + 2000);
  EXPECT_EQ(r.hops(0).clock_method(), v1::CLOCK_METHOD_REPORTED);
  EXPECT_EQ(Ns(r.hops(1).latency().min()), Hop2(0));
  EXPECT_EQ(Ns(r.hops(1).latency().max()), Hop2(99));
  ASSERT_EQ(r.residences_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.residences(i).node(), "r" + std::to_string(i + 1));
    EXPECT_EQ(Ns(r.residences(i).latency().p50()), kRes[i]);
    EXPECT_EQ(r.residences(i).latency().count(), static_cast<uint64_t>(kPackets));
  }

  grpc::ClientContext ctx2;
  req.set_node("r3");
  v1::HopLatencyResponse only;
  ASSERT_TRUE(query_->HopLatency(&ctx2, req, &only).ok());
  EXPECT_EQ(only.hops_size(), 1);
  EXPECT_EQ(only.residences_size(), 1);

  grpc::ClientContext ctx3;
  req.set_node("nowhere");
  v1::HopLatencyResponse none;
  EXPECT_EQ(query_->HopLatency(&ctx3, req, &none).error_code(), grpc::StatusCode::NOT_FOUND)
      << "an unknown node is NOT_FOUND here as in PathLatency";
}

// r2's egress queue, timed at the hand-off: the router's (over its
// interfaces and per interface, named from its agent's report), not the
// next hop's.
TEST_F(QueryTest, HopLatencyGivesEachRoutersEgressQueuesByInterface) {
  auto report = Client("r2", 2000);
  ASSERT_TRUE(report->Connect().ok());
  v1::NodeReport r2;
  for (auto [index, name] : {std::pair<uint32_t, const char*>{2, "r2-r1"}, {3, "r2-r3"}}) {
    v1::NetworkInterface* i = r2.add_interfaces();
    i->set_ifindex(index);
    i->set_name(name);
  }
  ASSERT_TRUE(report->SendReport(r2).ok());
  ASSERT_TRUE(report->Close().ok());
  // Three minutes later, 500 packets of which r2 timed the queue toward
  // interface 3 (5 ms) and, for every fifth, toward interface 4 (1 ms).
  const uint64_t start = kT0 + 3 * static_cast<uint64_t>(kNsPerMinute);
  std::vector<std::vector<Observation>> per(3);
  for (int i = 0; i < 500; ++i) {
    Crossing c = Cross(TestHash(100'000 + i), start + static_cast<uint64_t>(i) * 1'000'000,
                       {kRes[0], kRes[1], kRes[2]}, {kHop1, Hop2(i)});
    Observation& q = c.per_router[1];
    q.flags |= Observation::kFlagHandoff;
    q.ifindex_out = i % 5 == 0 ? 4 : 3;
    q.queue_ns = i % 5 == 0 ? 1'000'000 : 5'000'000;
    for (int r = 0; r < 3; ++r) per[r].push_back(c.per_router[r]);
  }
  for (int r = 0; r < 3; ++r) {
    auto client = Client("r" + std::to_string(r + 1), 1000);
    ASSERT_TRUE(client->Connect().ok());
    ASSERT_TRUE(client->Send(Batch(next_seq_[r]++, per[r])).ok());
    const absl::Status flushed = client->Flush(absl::Seconds(30));
    ASSERT_TRUE(flushed.ok()) << flushed;
    ASSERT_TRUE(client->Close().ok());
  }
  SealEverything();
  grpc::ClientContext ctx;
  v1::HopLatencyRequest req;
  *req.mutable_range()->mutable_start() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(start));
  *req.mutable_range()->mutable_end() =
      TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(start) + kNsPerMinute);
  v1::HopLatencyResponse r;
  ASSERT_TRUE(query_->HopLatency(&ctx, req, &r).ok());
  ASSERT_EQ(r.queues_size(), 3) << r.ShortDebugString();
  EXPECT_EQ(r.queues(0).node(), "r2");
  EXPECT_EQ(r.queues(0).ifindex(), 0u);
  EXPECT_EQ(r.queues(0).latency().count(), 500u);
  EXPECT_EQ(Ns(r.queues(0).latency().min()), 1'000'000);
  EXPECT_EQ(Ns(r.queues(0).latency().max()), 5'000'000);
  EXPECT_EQ(r.queues(1).ifindex(), 3u);
  EXPECT_EQ(r.queues(1).interface_name(), "r2-r3");
  EXPECT_EQ(r.queues(1).latency().count(), 400u);
  EXPECT_EQ(Ns(r.queues(1).latency().p50()), 5'000'000);
  EXPECT_EQ(r.queues(2).ifindex(), 4u);
  EXPECT_EQ(r.queues(2).interface_name(), "") << "not in the report";
  EXPECT_EQ(r.queues(2).latency().count(), 100u);
  // The hop r2 -> r3 is what is left of it after the queue.
  ASSERT_EQ(r.hops_size(), 2);
  EXPECT_EQ(r.hops(1).from_node(), "r2");
  EXPECT_EQ(Ns(r.hops(1).latency().min()), Hop2(1) - 5'000'000);
  EXPECT_EQ(Ns(r.hops(1).latency().max()), Hop2(95) - 1'000'000);
  // Residence stays forwarding only.
  EXPECT_EQ(Ns(r.residences(1).latency().max()), kRes[1]);
  // A trace shows the queue beside the residence.
  grpc::ClientContext tctx;
  v1::TracePacketRequest treq;
  treq.set_hash(TestHash(100'001));
  v1::TracePacketResponse trace;
  ASSERT_TRUE(query_->TracePacket(&tctx, treq, &trace).ok());
  ASSERT_EQ(trace.trajectories_size(), 1);
  ASSERT_EQ(trace.trajectories(0).observations_size(), 3);
  EXPECT_FALSE(trace.trajectories(0).observations(0).has_queue());
  EXPECT_EQ(Ns(trace.trajectories(0).observations(1).queue()), 5'000'000);
  EXPECT_EQ(trace.trajectories(0).observations(2).hop_from_previous_ns(), Hop2(1) - 5'000'000);
}

// The clock state a node's Hello gives (the stored one until its next
// Hello or report).
v1::ClockState Clock(bool synchronized, uint64_t error_ns, const std::string& domain) {
  v1::ClockState c;
  c.set_synchronized(synchronized);
  c.set_estimated_error_ns(error_ns);
  c.set_clock_domain(domain);
  return c;
}

// Each figure carries the bound and method it was corrected with, as the
// clocks were when its packets were correlated: each case below sends its
// own traffic, in its own ten minutes, after its Hellos.
TEST_F(QueryTest, EachFigureCarriesTheClockBoundAndMethodOfItsClocks) {
  int next = kPackets;  // the fixture's traffic is in the first ten minutes
  auto send = [&](v1::ClockState a, v1::ClockState b, v1::ClockState c) -> v1::TimeRange {
    // 10 minutes later than the case before, the hash numbers moved on.
    next += 600'000;
    clock_.Advance(absl::Minutes(10));  // the collector's clock goes along
    const v1::ClockState clocks[3] = {a, b, c};
    Send(next, kPackets, clocks);
    EXPECT_TRUE(collector_->Sync().ok());
    v1::TimeRange r;
    *r.mutable_start() =
        TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(kT0) + next * 1'000'000LL);
    *r.mutable_end() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(kT0) +
                                                        next * 1'000'000LL + 5 * kNsPerMinute);
    return r;
  };
  auto hops = [&](const v1::TimeRange& range) {
    grpc::ClientContext ctx;
    v1::HopLatencyRequest req;
    *req.mutable_range() = range;
    v1::HopLatencyResponse r;
    EXPECT_TRUE(query_->HopLatency(&ctx, req, &r).ok());
    EXPECT_EQ(r.hops_size(), 2);
    return r;
  };

  // r1 and r3 on one kernel, r2 on another; all synchronised.
  v1::TimeRange range = send(Clock(true, 1000, "kernel-a"), Clock(true, 2000, "kernel-b"),
                             Clock(true, 3000, "kernel-a"));
  const v1::ListNodesResponse nodes = Nodes();
  EXPECT_EQ(FindNode(nodes, "r1")->clock().clock_domain(), "kernel-a") << "from the Hello";
  EXPECT_EQ(FindNode(nodes, "r2")->clock().clock_domain(), "kernel-b");
  v1::PathLatencyResponse path = PathLatency("r1", "r3", nullptr, &range);
  EXPECT_EQ(path.latency().count(), static_cast<uint64_t>(kPackets));
  EXPECT_EQ(Ns(path.latency().clock_bound()), 0) << "one clock: no offset at all";
  EXPECT_EQ(path.latency().clock_method(), v1::CLOCK_METHOD_SHARED_CLOCK);
  EXPECT_EQ(Ns(path.clock_error_bound()), 0) << "the older fields say the same";
  EXPECT_TRUE(path.clocks_synchronized());
  EXPECT_EQ(path.clock_method(), v1::CLOCK_METHOD_SHARED_CLOCK);
  path = PathLatency("r1", "r2", nullptr, &range);
  EXPECT_EQ(Ns(path.latency().clock_bound()), 1000 + 2000);
  EXPECT_EQ(Ns(path.latency().clock_bound_mean()), 1000 + 2000);
  EXPECT_EQ(path.latency().clock_method(), v1::CLOCK_METHOD_REPORTED);
  v1::HopLatencyResponse h = hops(range);
  ASSERT_EQ(h.hops_size(), 2);
  EXPECT_EQ(Ns(h.hops(0).latency().clock_bound()), 1000 + 2000);  // r1 > r2
  EXPECT_EQ(h.hops(0).latency().clock_method(), v1::CLOCK_METHOD_REPORTED);
  EXPECT_EQ(Ns(h.hops(1).latency().clock_bound()), 2000 + 3000);  // r2 > r3
  EXPECT_EQ(Ns(h.hops(1).clock_error_bound()), 2000 + 3000);
  EXPECT_EQ(h.hops(1).clock_method(), v1::CLOCK_METHOD_REPORTED);
  for (const v1::ResidenceSummary& r : h.residences()) {
    EXPECT_EQ(r.latency().clock_method(), v1::CLOCK_METHOD_SHARED_CLOCK) << r.node();
  }

  // None synchronised (the VM lab): r1 and r2 share a kernel, r3 says no
  // domain. One clock needs no synchronisation; across clocks nothing bounds
  // the offset (traffic one way only: nothing to measure it by), so those
  // figures are counted as unsynchronised, never shown.
  range = send(Clock(false, 16'000'000'000, "kernel-a"), Clock(false, 16'000'000'000, "kernel-a"),
               Clock(false, 16'000'000'000, ""));
  path = PathLatency("r1", "r2", nullptr, &range);
  EXPECT_EQ(path.latency().count(), static_cast<uint64_t>(kPackets));
  EXPECT_EQ(Ns(path.latency().clock_bound()), 0);
  EXPECT_EQ(path.latency().clock_method(), v1::CLOCK_METHOD_SHARED_CLOCK);
  path = PathLatency("r1", "r3", nullptr, &range);
  EXPECT_EQ(path.latency().count(), 0u);
  EXPECT_FALSE(path.latency().has_p50());
  EXPECT_EQ(path.latency().unsynchronized(), static_cast<uint64_t>(kPackets));
  EXPECT_EQ(path.latency().clock_method(), v1::CLOCK_METHOD_NONE);
  EXPECT_FALSE(path.clocks_synchronized());
  h = hops(range);
  ASSERT_EQ(h.hops_size(), 2);
  EXPECT_EQ(h.hops(0).latency().clock_method(), v1::CLOCK_METHOD_SHARED_CLOCK);
  EXPECT_EQ(h.hops(1).latency().clock_method(), v1::CLOCK_METHOD_NONE);
  EXPECT_EQ(h.hops(1).latency().unsynchronized(), static_cast<uint64_t>(kPackets));

  // An empty domain is no domain: two nodes without one are not one clock.
  range = send(Clock(false, 7, ""), Clock(false, 7, ""), Clock(true, 7, "kernel-a"));
  h = hops(range);
  EXPECT_EQ(h.hops(0).latency().clock_method(), v1::CLOCK_METHOD_NONE);

  // An absurd error saturates instead of wrapping into a small bound.
  range = send(Clock(true, UINT64_MAX, ""), Clock(true, UINT64_MAX, ""),
               Clock(true, UINT64_MAX, ""));
  path = PathLatency("r1", "r3", nullptr, &range);
  EXPECT_EQ(Ns(path.latency().clock_bound()), INT64_MAX);
  EXPECT_EQ(path.latency().clock_method(), v1::CLOCK_METHOD_REPORTED);
}

TEST_F(QueryTest, TracePacketGivesObservationsInPathOrderWithHops) {
  ASSERT_TRUE(collector_->Sync().ok());  // hash index still in memory
  for (int round = 0; round < 2; ++round) {
    grpc::ClientContext ctx;
    v1::TracePacketRequest req;
    req.set_hash(TestHash(17));
    v1::TracePacketResponse r;
    ASSERT_TRUE(query_->TracePacket(&ctx, req, &r).ok());
    EXPECT_EQ(r.hash_hex(), HashToHex(TestHash(17)));
    ASSERT_EQ(r.trajectories_size(), 1) << "round " << round;
    const v1::Trajectory& t = r.trajectories(0);
    ASSERT_EQ(t.observations_size(), 3);
    EXPECT_EQ(t.observations(0).node_id(), "r1");
    EXPECT_EQ(t.observations(1).node_id(), "r2");
    EXPECT_EQ(t.observations(2).node_id(), "r3");
    EXPECT_FALSE(t.observations(0).has_hop_from_previous());
    EXPECT_EQ(t.observations(1).hop_from_previous_ns(), kHop1);
    EXPECT_EQ(t.observations(2).hop_from_previous_ns(), Hop2(17));
    EXPECT_EQ(Ns(t.observations(2).residence()), kRes[2]);
    EXPECT_EQ(t.observations(0).arrival_ns(), kT0 + 17 * 1'000'000);
    EXPECT_EQ(t.path_latency_ns(), exact_[17]);
    // Second round: after the index is written to disk by a restart.
    StopCollector();
    StartCollector();
  }
}

TEST_F(QueryTest, TracePacketRejectsMissingOrConflictingHash) {
  grpc::ClientContext c1;
  v1::TracePacketResponse r;
  EXPECT_EQ(query_->TracePacket(&c1, v1::TracePacketRequest(), &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext c2;
  v1::TracePacketRequest req;
  req.set_hash_hex("zz");
  EXPECT_EQ(query_->TracePacket(&c2, req, &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Exactly 16 digits: a short string (a decimal hash pasted from JSON, a
  // prefix) is refused, never taken as another packet.
  for (const char* bad : {"1234", "0x1234", "12345678901234567", "18446744073709551615"}) {
    grpc::ClientContext c;
    req.set_hash_hex(bad);
    EXPECT_EQ(query_->TracePacket(&c, req, &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad;
  }
  // A long input is quoted, not echoed: the message stays short.
  grpc::ClientContext c4;
  req.set_hash_hex(std::string(10'000, 'z'));
  const grpc::Status long_hash = query_->TracePacket(&c4, req, &r);
  EXPECT_EQ(long_hash.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(long_hash.error_message().size(), 200u) << long_hash.error_message();
  EXPECT_NE(long_hash.error_message().find("10000 bytes"), std::string::npos);
  grpc::ClientContext c3;
  req.set_hash_hex("0x0000000000001234");
  const grpc::Status unknown = query_->TracePacket(&c3, req, &r);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND) << "like an unknown node";
  EXPECT_NE(unknown.error_message().find("0000000000001234"), std::string::npos)
      << unknown.error_message();
}

TEST_F(QueryTest, ListNodesReportsCountersAndClock) {
  auto client = Client("r1", 1000);
  ASSERT_TRUE(client->Connect().ok());
  v1::NodeReport report;
  report.mutable_module()->set_ring_drops(12);
  report.mutable_agent()->set_spool_dropped_batches(3);
  ASSERT_TRUE(client->SendReport(report).ok());
  ASSERT_TRUE(client->Close().ok());
  ASSERT_TRUE(collector_->Sync().ok());
  const v1::ListNodesResponse nodes = Nodes();
  ASSERT_EQ(nodes.nodes_size(), 3);
  const v1::Node* r1 = FindNode(nodes, "r1");
  EXPECT_EQ(r1->observations_stored(), static_cast<uint64_t>(kPackets));
  EXPECT_EQ(r1->module().ring_drops(), 12u);
  EXPECT_EQ(r1->agent().spool_dropped_batches(), 3u);
  EXPECT_TRUE(r1->clock().synchronized());
  EXPECT_EQ(r1->clock().estimated_error_ns(), 1000u);
  EXPECT_FALSE(r1->connected());
  // The newest packet r1 saw (its clock), apart from when the collector
  // heard from it (the collector's).
  EXPECT_EQ(TimeUtil::TimestampToNanoseconds(r1->last_packet()),
            static_cast<int64_t>(kT0) + (kPackets - 1) * 1'000'000);
  auto live = Client("r2");
  ASSERT_TRUE(live->Connect().ok());
  const v1::ListNodesResponse now = Nodes();
  EXPECT_TRUE(FindNode(now, "r2")->connected());
}

TEST_F(QueryTest, RestartKeepsEverythingAndCountsNothingTwice) {
  ASSERT_TRUE(collector_->Sync().ok());
  // Restart before any minute is sealed: the correlation state is rebuilt
  // from the stored observations.
  StopCollector();
  StartCollector();
  // The routers have one idle period to come back before correlation moves on.
  clock_.Advance(options_.correlator.idle_timeout);
  ASSERT_TRUE(collector_->Sync().ok());
  EXPECT_EQ(PathLatency("r1", "r3").latency().count(), static_cast<uint64_t>(kPackets));
  SealEverything();
  // Restart after sealing: aggregates come from the database.
  StopCollector();
  StartCollector();
  EXPECT_EQ(PathLatency("r1", "r3").latency().count(), static_cast<uint64_t>(kPackets));
  // New traffic in a later minute adds to it, once.
  Send(kPackets + 60'000, 100);
  SealEverything();
  EXPECT_EQ(PathLatency("r1", "r3").latency().count(), static_cast<uint64_t>(kPackets + 100));
}

TEST_F(QueryTest, SingleNodePacketsAreCounted) {
  auto client = Client("r1");
  ASSERT_TRUE(client->Connect().ok());
  ASSERT_TRUE(client->Send(Batch(100, {Cross(0xfeed, kT0 + 5'000'000'000ULL, {1000}, {}).per_router[0]})).ok());
  ASSERT_TRUE(client->Flush(absl::Seconds(10)).ok());
  ASSERT_TRUE(client->Close().ok());
  SealEverything();
  grpc::ClientContext ctx;
  v1::ListPathsRequest req;
  *req.mutable_range() = WholeRange();
  v1::ListPathsResponse paths;
  ASSERT_TRUE(query_->ListPaths(&ctx, req, &paths).ok());
  EXPECT_EQ(paths.single_node_packets(), 1u);
}

// A forwarded packet seen at `arrival` with `ttl`, 10 us in the router by
// its wall clock and residence_ns by its monotonic one.
Observation Forwarded(uint64_t hash, uint64_t arrival, uint32_t ttl, uint64_t residence_ns) {
  Observation o;
  o.hash = hash;
  o.arrival_ns = arrival;
  o.exit_ns = arrival + 10'000;
  o.residence_ns = residence_ns;
  o.ttl = ttl;
  o.flags = HOPLAT_F_FORWARDED;
  return o;
}

TEST_F(QueryTest, LoopsAreListedApartAndTracesMarkThem) {
  // r1 (64) -> r2 (63) -> r1 (62) -> r2 (61), and one ordinary packet.
  auto at = [](uint64_t hash, uint64_t arrival, uint32_t ttl) {
    return Forwarded(hash, arrival, ttl, /*residence_ns=*/9'000);
  };
  const uint64_t t = kT0 + 5'000'000'000ULL;
  auto r1 = Client("a1");  // nodes of their own: the fixture has traffic on r1..r3
  auto r2 = Client("a2");
  ASSERT_TRUE(r1->Connect().ok());
  ASSERT_TRUE(r2->Connect().ok());
  // 0x300 crosses two routers without hoplat between a1 and a2.
  ASSERT_TRUE(r1->Send(Batch(1, {at(0x100, t, 64), at(0x100, t + 200'000, 62), at(0x200, t, 64),
                                 at(0x300, t + 500'000, 64)}))
                  .ok());
  ASSERT_TRUE(r2->Send(Batch(1, {at(0x100, t + 100'000, 63), at(0x100, t + 300'000, 61),
                                 at(0x200, t + 100'000, 63), at(0x300, t + 700'000, 61)}))
                  .ok());
  for (auto* c : {r1.get(), r2.get()}) {
    const absl::Status flushed = c->Flush(absl::Seconds(10));
    ASSERT_TRUE(flushed.ok()) << flushed;
    ASSERT_TRUE(c->Close().ok());
  }
  SealEverything();
  grpc::ClientContext ctx;
  v1::ListPathsRequest req;
  *req.mutable_range() = WholeRange();
  v1::ListPathsResponse paths;
  ASSERT_TRUE(query_->ListPaths(&ctx, req, &paths).ok());
  ASSERT_EQ(paths.loops_size(), 1);
  EXPECT_EQ(absl::StrJoin(paths.loops(0).nodes(), ">"), "a1>a2>a1>a2");
  EXPECT_EQ(paths.loops(0).packets(), 1u);
  EXPECT_EQ(paths.loops(0).slowest_hash(), 0x100u);
  EXPECT_EQ(TimeUtil::DurationToNanoseconds(paths.loops(0).longest()), 310'000);
  uint64_t through_a = 0;
  for (const v1::PathSummary& p : paths.paths()) {
    if (p.nodes(0) == "a1") {
      EXPECT_EQ(absl::StrJoin(p.nodes(), ">"), "a1>a2");
      through_a += p.latency().count();
    }
  }
  EXPECT_EQ(through_a, 2u) << "the loop is in no path";

  grpc::ClientContext hctx;
  v1::HopLatencyRequest hreq;
  *hreq.mutable_range() = WholeRange();
  hreq.set_node("a1");
  v1::HopLatencyResponse hops;
  ASSERT_TRUE(query_->HopLatency(&hctx, hreq, &hops).ok());
  ASSERT_EQ(hops.hops_size(), 1);
  ASSERT_TRUE(hops.hops(0).has_hidden_routers());
  EXPECT_EQ(hops.hops(0).hidden_routers(), 0u) << "the median of 0 and 2";
  EXPECT_EQ(hops.hops(0).hidden_routers_max(), 2u);

  grpc::ClientContext tctx;
  v1::TracePacketRequest treq;
  treq.set_hash(0x100);
  v1::TracePacketResponse trace;
  ASSERT_TRUE(query_->TracePacket(&tctx, treq, &trace).ok());
  ASSERT_EQ(trace.trajectories_size(), 1);
  EXPECT_TRUE(trace.trajectories(0).loop());
  ASSERT_EQ(trace.trajectories(0).observations_size(), 4);
  EXPECT_EQ(trace.trajectories(0).observations(2).ttl(), 62u);
  EXPECT_EQ(TimeUtil::DurationToNanoseconds(trace.trajectories(0).observations(2).residence()), 9'000)
      << "the monotonic residence";
}

TEST_F(QueryTest, ClockOffsetsAreMeasuredFromTrafficBothWays) {
  // c2's clock is 3 ms ahead of c1's, and neither is synchronised: only the
  // packets between them can tell. 20 s of traffic, 50 packets a second
  // each way, 200 us of wire plus random queueing.
  const int64_t theta = 3'000'000;
  std::mt19937_64 rng(5);
  auto obs = [](uint64_t hash, uint64_t arrival, uint32_t ttl) {
    return Forwarded(hash, arrival, ttl, /*residence_ns=*/10'000);
  };
  std::vector<Observation> c1, c2;
  uint64_t hash = 0xc0c0'0000;
  for (uint64_t t = kT0 + 1'000'000'000ULL; t < kT0 + 21'000'000'000ULL; t += 20'000'000) {
    const uint64_t q1 = rng() % 3 == 0 ? 0 : rng() % 1'000'000;
    c1.push_back(obs(++hash, t, 64));  // c1 -> c2
    c2.push_back(obs(hash, t + 10'000 + 200'000 + q1 + theta, 63));
    const uint64_t q2 = rng() % 3 == 0 ? 0 : rng() % 1'000'000;
    c2.push_back(obs(++hash, t + 5'000'000 + theta, 64));  // c2 -> c1
    c1.push_back(obs(hash, t + 5'000'000 + 10'000 + 200'000 + q2, 63));
  }
  auto a = Client("c1", Clock(false, 0, "kernel-c1"));
  auto b = Client("c2", Clock(false, 0, "kernel-c2"));
  ASSERT_TRUE(a->Connect().ok());
  ASSERT_TRUE(b->Connect().ok());
  ASSERT_TRUE(a->Send(Batch(1, c1)).ok());
  ASSERT_TRUE(b->Send(Batch(1, c2)).ok());
  for (auto* c : {a.get(), b.get()}) {
    ASSERT_TRUE(c->Flush(absl::Seconds(10)).ok());
    ASSERT_TRUE(c->Close().ok());
  }
  SealEverything();
  grpc::ClientContext ctx;
  v1::ClockOffsetsResponse r;
  ASSERT_TRUE(query_->ClockOffsets(&ctx, v1::ClockOffsetsRequest(), &r).ok());
  bool found = false;
  for (const v1::ClockOffset& o : r.offsets()) {
    if (o.node_a() == "c1" && o.node_b() == "c2") {
      found = true;
      EXPECT_EQ(o.method(), v1::CLOCK_METHOD_PASSIVE_TWO_WAY);
      EXPECT_LE(std::llabs(o.offset_ns() - theta), Ns(o.bound())) << o.ShortDebugString();
      EXPECT_LE(Ns(o.bound()), 250'000) << "half the fastest round trip, and a little drift";
      EXPECT_NEAR(o.drift_ppm(), 0, 5);
      EXPECT_GT(o.samples(), 0u);
    } else {
      // The fixture's traffic goes one way only: nothing measured.
      EXPECT_NE(o.method(), v1::CLOCK_METHOD_PASSIVE_TWO_WAY) << o.ShortDebugString();
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace hoplat::testing
