// hoplat.v1.Ingest over real gRPC on a loopback port.
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "common/ingest_metadata.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "tests/collector/collector_fixture.h"

namespace hoplat::testing {
namespace {

using RawStream = grpc::ClientReaderWriter<v1::IngestRequest, v1::IngestResponse>;

std::vector<Observation> Obs(int n, uint64_t first_hash, uint64_t t = kT0) {
  std::vector<Observation> v;
  for (int i = 0; i < n; ++i) {
    Observation o;
    o.hash = TestHash(first_hash + i);
    o.arrival_ns = t + static_cast<uint64_t>(i) * 1000;
    o.exit_ns = o.arrival_ns + 500;
    o.length = 100;
    v.push_back(o);
  }
  return v;
}

class IngestTest : public CollectorTest {
 protected:
  void SetUp() override { StartCollector(); }

  std::unique_ptr<RawStream> Open(grpc::ClientContext* ctx) {
    auto stub = v1::Ingest::NewStub(channel_);
    return stub->Stream(ctx);
  }
  static v1::IngestRequest Hello(const std::string& node) {
    v1::IngestRequest r;
    r.mutable_hello()->set_node_id(node);
    return r;
  }
  static v1::IngestRequest BatchRequest(const v1::ObservationBatch& b) {
    v1::IngestRequest r;
    *r.mutable_batch() = b;
    return r;
  }
  // Sends hello + the requests, half-closes, reads everything; returns the
  // final status and collects the acks.
  // `refused`: the seq the collector named as refused for good (trailing
  // metadata), if any.
  grpc::Status Exchange(const std::vector<v1::IngestRequest>& requests,
                        std::vector<v1::Ack>* acks = nullptr,
                        std::optional<std::string>* refused = nullptr) {
    grpc::ClientContext ctx;
    auto s = Open(&ctx);
    for (const v1::IngestRequest& r : requests) s->Write(r);
    s->WritesDone();
    v1::IngestResponse resp;
    while (s->Read(&resp)) {
      if (resp.has_ack() && acks) acks->push_back(resp.ack());
    }
    const grpc::Status status = s->Finish();
    if (refused != nullptr) {
      const auto& trailers = ctx.GetServerTrailingMetadata();
      auto it = trailers.find(kRefusedBatchMetadata);
      if (it == trailers.end()) {
        refused->reset();
      } else {
        *refused = std::string(it->second.data(), it->second.size());
      }
    }
    return status;
  }
};

TEST_F(IngestTest, EveryObservationStoredOnceAcrossAForcedReconnect) {
  auto client = Client("r1");
  ASSERT_TRUE(client->Connect().ok());
  uint64_t seq = 0;
  for (int b = 0; b < 10; ++b) ASSERT_TRUE(client->Send(Batch(++seq, Obs(100, b * 100))).ok());
  // Cut the stream with batches in flight: some may be committed, some not.
  client->Abort();
  for (int b = 10; b < 20; ++b) client->Send(Batch(++seq, Obs(100, b * 100))).IgnoreError();
  ASSERT_TRUE(client->Connect().ok());  // resends everything unacknowledged
  for (int b = 20; b < 30; ++b) ASSERT_TRUE(client->Send(Batch(++seq, Obs(100, b * 100))).ok());
  ASSERT_TRUE(client->Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(client->unacked_batches(), 0u);
  ASSERT_TRUE(client->Close().ok());
  ASSERT_TRUE(collector_->Sync().ok());

  const v1::ListNodesResponse nodes = Nodes();
  const v1::Node* r1 = FindNode(nodes, "r1");
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->batches_stored(), 30u);
  EXPECT_EQ(r1->observations_stored(), 3000u);
  EXPECT_EQ(r1->duplicate_batches(), client->duplicate_acks());

  // Each packet is stored exactly once.
  for (uint64_t h : {0u, 950u, 1500u, 2999u}) {
    grpc::ClientContext ctx;
    v1::TracePacketRequest req;
    req.set_hash(TestHash(h));
    v1::TracePacketResponse resp;
    ASSERT_TRUE(query_->TracePacket(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.trajectories_size(), 1) << h;
    EXPECT_EQ(resp.trajectories(0).observations_size(), 1) << h;
  }
}

TEST_F(IngestTest, ResentBatchIsAcknowledgedAsDuplicateAndStoredOnce) {
  const v1::ObservationBatch batch = Batch(7, Obs(10, 0));
  std::vector<v1::Ack> acks;
  ASSERT_TRUE(Exchange({Hello("r1"), BatchRequest(batch)}, &acks).ok());
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(acks[0].duplicate());
  acks.clear();
  ASSERT_TRUE(Exchange({Hello("r1"), BatchRequest(batch), BatchRequest(batch)}, &acks).ok());
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_TRUE(acks[0].duplicate());
  EXPECT_TRUE(acks[1].duplicate());
  const v1::ListNodesResponse nodes = Nodes();
  const v1::Node* r1 = FindNode(nodes, "r1");
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->observations_stored(), 10u);
  EXPECT_EQ(r1->duplicate_batches(), 2u);
}

TEST_F(IngestTest, WelcomeTellsTheHighestCommittedSeq) {
  auto client = Client("r2");
  ASSERT_TRUE(client->Connect().ok());
  EXPECT_EQ(client->welcome().highest_committed_seq(), 0u);
  ASSERT_TRUE(client->Send(Batch(41, Obs(1, 0))).ok());
  ASSERT_TRUE(client->Flush(absl::Seconds(10)).ok());
  ASSERT_TRUE(client->Close().ok());
  ASSERT_TRUE(client->Connect().ok());
  EXPECT_EQ(client->welcome().highest_committed_seq(), 41u);
  EXPECT_EQ(client->welcome().max_batch_observations(), 65536u);
}

TEST_F(IngestTest, BatchBeforeHelloIsFailedPrecondition) {
  const grpc::Status s = Exchange({BatchRequest(Batch(1, Obs(1, 0)))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "Hello")) << s.error_message();
}

TEST_F(IngestTest, BadNodeIdIsInvalidArgument) {
  const grpc::Status s = Exchange({Hello("r1>r2")});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(IngestTest, UnequalColumnsRejectedAfterEarlierBatchesAreAcknowledged) {
  v1::ObservationBatch bad = Batch(2, Obs(5, 100));
  bad.add_exit_ns(1);
  std::vector<v1::Ack> acks;
  const grpc::Status s =
      Exchange({Hello("r1"), BatchRequest(Batch(1, Obs(5, 0))), BatchRequest(bad)}, &acks);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "unequal")) << s.error_message();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].seq(), 1u);
  const v1::ListNodesResponse nodes = Nodes();
  EXPECT_EQ(FindNode(nodes, "r1")->observations_stored(), 5u);
}

TEST_F(IngestTest, EmptyBatchAndZeroSeqAreInvalid) {
  std::optional<std::string> refused;
  EXPECT_EQ(Exchange({Hello("r1"), BatchRequest(Batch(1, {}))}, nullptr, &refused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused, std::optional<std::string>("1"));
  EXPECT_EQ(Exchange({Hello("r1"), BatchRequest(Batch(0, Obs(1, 0)))}, nullptr, &refused)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused, std::optional<std::string>("0")) << "seq 0 is named like any other";
}

TEST_F(IngestTest, ErrorsNameTheBatchOnceAndQuoteNoUnboundedInput) {
  v1::ObservationBatch bad = Batch(3, Obs(5, 100));
  bad.add_exit_ns(1);
  const grpc::Status s = Exchange({Hello("r1"), BatchRequest(bad)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "batch 3:")) << s.error_message();
  EXPECT_FALSE(absl::StrContains(s.error_message(), "batch 3: batch 3")) << s.error_message();
  // A 10 KB node id: refused with a short message (a status travels in a
  // header; common clients drop the connection past 8 KB).
  const grpc::Status id = Exchange({Hello(std::string(10'000, 'x'))});
  EXPECT_EQ(id.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(id.error_message().size(), 200u) << id.error_message();
  EXPECT_TRUE(absl::StrContains(id.error_message(), "10000 bytes")) << id.error_message();
}

// Bytes on the wire, as a client that is not ours might send them.
grpc::ByteBuffer Bytes(const std::string& data) {
  grpc::Slice slice(data);
  return grpc::ByteBuffer(&slice, 1);
}
grpc::ByteBuffer Serialized(const v1::IngestRequest& r) { return Bytes(r.SerializeAsString()); }

TEST_F(IngestTest, UndecodableMessageEndsTheStreamWithInvalidArgumentNotOk) {
  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  auto next = [&cq] {
    void* tag;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    return ok;
  };
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      generic.PrepareCall(&ctx, "/hoplat.v1.Ingest/Stream", &cq);
  call->StartCall(nullptr);
  ASSERT_TRUE(next());
  call->Write(Serialized(Hello("r1")), nullptr);
  ASSERT_TRUE(next());
  call->Write(Bytes("\xff\xff\xff\xff\xff garbage"), nullptr);  // not an IngestRequest
  ASSERT_TRUE(next());
  // A valid batch after it is neither acknowledged nor dropped without a word.
  call->Write(Serialized(BatchRequest(Batch(1, Obs(5, 0)))), nullptr);
  next();
  call->WritesDone(nullptr);
  next();
  int acks = 0;
  for (;;) {
    grpc::ByteBuffer response;
    call->Read(&response, nullptr);
    if (!next()) break;
    v1::IngestResponse decoded;
    ASSERT_TRUE((grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::IngestResponse>(&response,
                                                                                   &decoded))
                    .ok());
    acks += decoded.has_ack();
  }
  grpc::Status status;
  call->Finish(&status, nullptr);
  ASSERT_TRUE(next());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "not a valid IngestRequest"))
      << status.error_message();
  EXPECT_EQ(acks, 0);
  ASSERT_TRUE(collector_->Sync().ok());
  const v1::ListNodesResponse nodes = Nodes();
  EXPECT_EQ(FindNode(nodes, "r1")->observations_stored(), 0u);
}

TEST_F(IngestTest, StringThatIsNotUtf8IsInvalidArgumentNotOk) {
  v1::IngestRequest hello = Hello("r1");
  hello.mutable_hello()->set_agent_version("\xc3\x28");  // not UTF-8
  const grpc::Status s = Exchange({hello, BatchRequest(Batch(1, Obs(5, 0)))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
}

TEST_F(IngestTest, SecondLiveStreamForANodeIsRefusedAndTheFirstKeepsWorking) {
  auto first = Client("r1");
  auto second = Client("r1");  // another router with the same name
  ASSERT_TRUE(first->Connect().ok());
  ASSERT_TRUE(first->Send(Batch(1, Obs(5, 0))).ok());
  const absl::Status refused = second->Connect();
  EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "already has a live stream")) << refused;
  ASSERT_TRUE(first->Send(Batch(2, Obs(5, 100))).ok());
  ASSERT_TRUE(first->Flush(absl::Seconds(10)).ok()) << "the first stream keeps working";
  ASSERT_TRUE(collector_->Sync().ok());
  v1::ListNodesResponse nodes = Nodes();
  EXPECT_EQ(FindNode(nodes, "r1")->observations_stored(), 10u);
  EXPECT_EQ(FindNode(nodes, "r1")->refused_streams(), 1u);
  // Once the first is gone, the name is free again.
  ASSERT_TRUE(first->Close().ok());
  EXPECT_TRUE(second->Connect().ok());
}

TEST_F(IngestTest, SameSeqWithOtherContentIsAConflictNeverAnAck) {
  std::vector<v1::Ack> acks;
  ASSERT_TRUE(Exchange({Hello("r1"), BatchRequest(Batch(5, Obs(4, 0)))}, &acks).ok());
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_FALSE(acks[0].duplicate());
  // The same batch again: a duplicate, as always.
  acks.clear();
  ASSERT_TRUE(Exchange({Hello("r1"), BatchRequest(Batch(5, Obs(4, 0)))}, &acks).ok());
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].duplicate());
  // Seq 5 with other content (another router's batch 5): refused, named.
  acks.clear();
  std::optional<std::string> refused;
  const grpc::Status s =
      Exchange({Hello("r1"), BatchRequest(Batch(5, Obs(4, 1000)))}, &acks, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "other content")) << s.error_message();
  EXPECT_TRUE(acks.empty()) << "never acknowledged";
  EXPECT_EQ(refused, std::optional<std::string>("5"));
  ASSERT_TRUE(collector_->Sync().ok());
  const v1::ListNodesResponse nodes = Nodes();
  const v1::Node* r1 = FindNode(nodes, "r1");
  EXPECT_EQ(r1->observations_stored(), 4u);
  EXPECT_EQ(r1->duplicate_batches(), 1u);
  EXPECT_EQ(r1->conflicting_batches(), 1u);
}

TEST_F(IngestTest, ReportWithAnInvalidTimeIsInvalidArgument) {
  for (auto [seconds, nanos] : {std::pair<int64_t, int32_t>{1, 1'000'000'000},
                                {1, -1},
                                {253'402'300'799, 0}}) {  // 9999: beyond int64 nanoseconds
    v1::IngestRequest report;
    report.mutable_report()->mutable_time()->set_seconds(seconds);
    report.mutable_report()->mutable_time()->set_nanos(nanos);
    const grpc::Status s = Exchange({Hello("r1"), report});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << seconds << " " << nanos;
    EXPECT_TRUE(absl::StrContains(s.error_message(), "NodeReport time")) << s.error_message();
  }
}

TEST_F(IngestTest, AbsurdTimestampsAreInvalidArgument) {
  std::vector<Observation> obs = Obs(3, 0);
  obs[2].arrival_ns = kT0 + 3600ULL * 1'000'000'000;  // an hour in the future
  grpc::Status s = Exchange({Hello("r1"), BatchRequest(Batch(1, obs))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "observation 2")) << s.error_message();
  obs = Obs(3, 0, 1'000'000);  // 1970
  s = Exchange({Hello("r1"), BatchRequest(Batch(1, obs))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A queue time that would wrap the departure past the collector's bound.
  obs = Obs(3, 0);
  obs[1].flags |= Observation::kFlagHandoff;
  obs[1].queue_ns = UINT64_MAX - 5;
  s = Exchange({Hello("r1"), BatchRequest(Batch(1, obs))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "observation 1: queue_ns")) << s.error_message();
  const v1::ListNodesResponse nodes = Nodes();
  EXPECT_EQ(FindNode(nodes, "r1")->observations_stored(), 0u);
}

TEST_F(IngestTest, TooManyObservationsInOneBatchIsInvalidArgument) {
  StopCollector();
  StartCollector([](CollectorOptions* o) { o->ingest.max_batch_observations = 100; });
  const grpc::Status s = Exchange({Hello("r1"), BatchRequest(Batch(1, Obs(101, 0)))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(IngestTest, OversizedMessageIsResourceExhausted) {
  StopCollector();
  StartCollector([](CollectorOptions* o) { o->max_message_bytes = 64 << 10; });
  const grpc::Status s = Exchange({Hello("r1"), BatchRequest(Batch(1, Obs(10'000, 0)))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
}

TEST_F(IngestTest, FullDatabaseIsResourceExhaustedAndAckedBatchesSurvive) {
  StopCollector();
  StartCollector([](CollectorOptions* o) { o->store.max_db_bytes = 512 << 10; });
  auto client = Client("r1");
  ASSERT_TRUE(client->Connect().ok());
  absl::Status status;
  uint64_t seq = 0;
  while (status.ok() && seq < 1000) {
    ++seq;
    status = client->Send(Batch(seq, Obs(1000, seq * 1000)));
    if (status.ok()) status = client->Flush(absl::Seconds(10));
  }
  const absl::Status end = client->Close();
  EXPECT_EQ(end.code(), absl::StatusCode::kResourceExhausted) << end;
  EXPECT_TRUE(absl::StrContains(end.message(), "not stored")) << end;
  const uint64_t acked = client->acked_batches();
  ASSERT_GT(acked, 0u);
  ASSERT_TRUE(collector_->Sync().ok());
  const v1::ListNodesResponse nodes = Nodes();
  const v1::Node* r1 = FindNode(nodes, "r1");
  EXPECT_EQ(r1->batches_stored(), acked);
  EXPECT_EQ(client->unacked_batches(), seq - acked) << "the refused batch stays with the agent";
  EXPECT_TRUE(client->TakeRejected().empty()) << "a full database is not the batch's fault";
}

TEST_F(IngestTest, ClientCancellingMidBatchLeavesNoPartialBatch) {
  const int kObs = 60'000;  // ~2 MB on the wire
  int started = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    grpc::ClientContext ctx;
    auto s = Open(&ctx);
    ASSERT_TRUE(s->Write(Hello("r1")));
    std::thread writer([&] { s->Write(BatchRequest(Batch(attempt + 1, Obs(kObs, attempt * kObs)))); });
    ctx.TryCancel();
    writer.join();
    s->Finish().ok();
    ++started;
  }
  ASSERT_TRUE(collector_->Sync().ok());
  const v1::ListNodesResponse nodes = Nodes();
  const v1::Node* r1 = FindNode(nodes, "r1");
  const uint64_t stored = r1 ? r1->observations_stored() : 0;
  EXPECT_EQ(stored % kObs, 0u) << "a batch was stored in part";
  EXPECT_EQ(r1 ? r1->batches_stored() * kObs : 0, stored);
  EXPECT_EQ(started, 5);
}

TEST_F(IngestTest, ManyConcurrentStreamsAllStored) {
  const int kNodes = 6, kBatches = 40, kObs = 500;
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    threads.emplace_back([&, n] {
      auto client = Client("n" + std::to_string(n));
      ASSERT_TRUE(client->Connect().ok());
      for (int b = 0; b < kBatches; ++b) {
        ASSERT_TRUE(client->Send(Batch(b + 1, Obs(kObs, (n * kBatches + b) * kObs))).ok());
      }
      ASSERT_TRUE(client->Flush(absl::Seconds(60)).ok());
      ASSERT_TRUE(client->Close().ok());
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(collector_->Sync().ok());
  const v1::ListNodesResponse nodes = Nodes();
  ASSERT_EQ(nodes.nodes_size(), kNodes);
  for (const v1::Node& n : nodes.nodes()) {
    EXPECT_EQ(n.observations_stored(), static_cast<uint64_t>(kBatches * kObs)) << n.node_id();
    EXPECT_FALSE(n.connected()) << n.node_id();
  }
}

}  // namespace
}  // namespace hoplat::testing
