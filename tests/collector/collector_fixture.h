#ifndef HOPLAT_TESTS_COLLECTOR_COLLECTOR_FIXTURE_H_
#define HOPLAT_TESTS_COLLECTOR_COLLECTOR_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collector/collector.h"
#include "common/batch_columns.h"
#include "common/ingest_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "hoplat/v1/query.grpc.pb.h"
#include "tests/collector/test_util.h"

namespace hoplat::testing {

// Packet time and the collector's clock start on a minute boundary in 2026.
inline constexpr int64_t kMinute0 = 29'500'000;
inline const uint64_t kT0 = static_cast<uint64_t>(kMinute0) * kNsPerMinute;

inline v1::ObservationBatch MakeBatch(uint64_t seq, const std::vector<Observation>& obs) {
  v1::ObservationBatch b;
  b.set_seq(seq);
  for (const Observation& o : obs) AppendToBatch(o, &b);
  return b;
}

// A collector on an ephemeral loopback port with a database in a temporary
// directory and a clock the test moves.
class CollectorTest : public ::testing::Test {
 protected:
  CollectorTest() : clock_(absl::FromUnixNanos(static_cast<int64_t>(kT0))) {}

  void StartCollector(const std::function<void(CollectorOptions*)>& tweak = nullptr) {
    CollectorOptions options;
    options.listen = "127.0.0.1:0";
    options.store.path = dir_.file("hoplat.db");
    options.clock = clock_.fn();
    if (tweak) tweak(&options);
    options_ = options;
    absl::StatusOr<std::unique_ptr<Collector>> c = Collector::Start(options);
    ASSERT_TRUE(c.ok()) << c.status();
    collector_ = std::move(*c);
    channel_ = grpc::CreateChannel(collector_->target(), grpc::InsecureChannelCredentials());
    query_ = v1::Query::NewStub(channel_);
  }
  void StopCollector() { collector_.reset(); }

  // A client whose Hello says its clock is synchronised to within
  // `clock_error_ns`, in no clock domain; or says `clock`.
  std::unique_ptr<IngestClient> Client(const std::string& node, uint64_t clock_error_ns = 0) {
    v1::ClockState clock;
    clock.set_synchronized(true);
    clock.set_estimated_error_ns(clock_error_ns);
    return Client(node, clock);
  }
  std::unique_ptr<IngestClient> Client(const std::string& node, const v1::ClockState& clock) {
    IngestClientOptions o;
    o.target = collector_->target();
    o.node_id = node;
    o.clock = clock;
    return std::make_unique<IngestClient>(o);
  }

  static v1::ObservationBatch Batch(uint64_t seq, const std::vector<Observation>& obs) {
    return MakeBatch(seq, obs);
  }

  // Every node falls silent for longer than the seal timeout, so every minute
  // is sealed; returns once the seals are committed.
  void SealEverything() {
    ASSERT_TRUE(collector_->Sync().ok());
    clock_.Advance(options_.correlator.seal_timeout + absl::Seconds(1));
    ASSERT_TRUE(collector_->Sync().ok());
  }

  v1::ListNodesResponse Nodes() {
    grpc::ClientContext ctx;
    v1::ListNodesResponse r;
    EXPECT_TRUE(query_->ListNodes(&ctx, v1::ListNodesRequest(), &r).ok());
    return r;
  }
  const v1::Node* FindNode(const v1::ListNodesResponse& r, const std::string& id) {
    for (const v1::Node& n : r.nodes()) {
      if (n.node_id() == id) return &n;
    }
    return nullptr;
  }

  TempDir dir_;
  FakeClock clock_;
  CollectorOptions options_;
  std::unique_ptr<Collector> collector_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Query::Stub> query_;
};

}  // namespace hoplat::testing

#endif  // HOPLAT_TESTS_COLLECTOR_COLLECTOR_FIXTURE_H_
