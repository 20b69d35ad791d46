// What grpcurl does: list and describe services through server reflection,
// then call a method from JSON knowing nothing but what reflection said.
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "tests/collector/collector_fixture.h"

namespace hoplat::testing {
namespace {

namespace refl = grpc::reflection::v1alpha;

class ReflectionTest : public CollectorTest {
 protected:
  void SetUp() override { StartCollector(); }

  refl::ServerReflectionResponse Ask(const refl::ServerReflectionRequest& req) {
    auto stub = refl::ServerReflection::NewStub(channel_);
    grpc::ClientContext ctx;
    auto stream = stub->ServerReflectionInfo(&ctx);
    EXPECT_TRUE(stream->Write(req));
    stream->WritesDone();
    refl::ServerReflectionResponse resp;
    EXPECT_TRUE(stream->Read(&resp));
    EXPECT_TRUE(stream->Finish().ok());
    return resp;
  }

  // Loads the file defining `symbol` and everything it imports into pool_.
  void Load(const std::string& symbol) {
    refl::ServerReflectionRequest req;
    req.set_file_containing_symbol(symbol);
    const refl::ServerReflectionResponse resp = Ask(req);
    ASSERT_TRUE(resp.has_file_descriptor_response()) << resp.ShortDebugString();
    // Dependencies come in the same answer; add them until all resolve.
    std::vector<google::protobuf::FileDescriptorProto> files;
    for (const std::string& bytes : resp.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto f;
      ASSERT_TRUE(f.ParseFromString(bytes));
      files.push_back(f);
    }
    // Build each file once everything it imports is in the pool.
    for (size_t pass = 0; pass < files.size(); ++pass) {
      for (const auto& f : files) {
        if (pool_.FindFileByName(f.name()) != nullptr) continue;
        bool ready = true;
        for (const std::string& dep : f.dependency()) {
          ready = ready && pool_.FindFileByName(dep) != nullptr;
        }
        if (ready) {
          ASSERT_NE(pool_.BuildFile(f), nullptr) << f.name();
        }
      }
    }
  }

  google::protobuf::DescriptorPool pool_;
};

TEST_F(ReflectionTest, ListsHoplatHealthAndReflectionServices) {
  refl::ServerReflectionRequest req;
  req.set_list_services("");
  const refl::ServerReflectionResponse resp = Ask(req);
  std::vector<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
  EXPECT_THAT(names, ::testing::IsSupersetOf({"hoplat.v1.Ingest", "hoplat.v1.Query",
                                              "grpc.health.v1.Health"}));
}

TEST_F(ReflectionTest, DescribesEveryQueryMethodAndTheHealthService) {
  Load("hoplat.v1.Query");
  const google::protobuf::ServiceDescriptor* q = pool_.FindServiceByName("hoplat.v1.Query");
  ASSERT_NE(q, nullptr);
  for (const char* m : {"ListNodes", "ListPaths", "PathLatency", "HopLatency", "TracePacket"}) {
    EXPECT_NE(q->FindMethodByName(m), nullptr) << m;
  }
  Load("hoplat.v1.Ingest");
  EXPECT_NE(pool_.FindServiceByName("hoplat.v1.Ingest"), nullptr);
  Load("grpc.health.v1.Health");
  EXPECT_NE(pool_.FindServiceByName("grpc.health.v1.Health"), nullptr);
}

// grpcurl -plaintext -d '{"from_node":"r1","to_node":"r3"}' HOST hoplat.v1.Query/PathLatency,
// with the request and answer types taken from reflection only.
TEST_F(ReflectionTest, CallsQueryMethodsFromJsonLikeGrpcurl) {
  Load("hoplat.v1.Query");
  Load("grpc.health.v1.Health");
  google::protobuf::DynamicMessageFactory factory(&pool_);
  grpc::GenericStub generic(channel_);

  auto call = [&](const std::string& service, const std::string& method, const std::string& json,
                  std::string* out_json) -> grpc::Status {
    const google::protobuf::MethodDescriptor* m =
        pool_.FindServiceByName(service)->FindMethodByName(method);
    std::unique_ptr<google::protobuf::Message> req(factory.GetPrototype(m->input_type())->New());
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, req.get()).ok()) << json;
    grpc::ByteBuffer send;
    bool own;
    grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(*req, &send, &own);
    grpc::ClientContext ctx;
    grpc::ByteBuffer recv;
    grpc::Status status;
    absl::Notification done;
    generic.UnaryCall(&ctx, "/" + service + "/" + method, grpc::StubOptions(), &send, &recv,
                      [&](grpc::Status s) {
                        status = s;
                        done.Notify();
                      });
    done.WaitForNotification();
    if (!status.ok()) return status;
    std::unique_ptr<google::protobuf::Message> resp(factory.GetPrototype(m->output_type())->New());
    EXPECT_TRUE((grpc::GenericDeserialize<grpc::ProtoBufferReader, google::protobuf::Message>(
                     &recv, resp.get()))
                    .ok());
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(*resp, out_json).ok());
    return status;
  };

  // Some traffic so that the answers are not empty.
  auto client1 = Client("r1");
  auto client3 = Client("r3");
  ASSERT_TRUE(client1->Connect().ok());
  ASSERT_TRUE(client3->Connect().ok());
  const Crossing c = Cross(0xabcdef, kT0, {1000, 1000}, {2'000'000});
  ASSERT_TRUE(client1->Send(Batch(1, {c.per_router[0]})).ok());
  ASSERT_TRUE(client3->Send(Batch(1, {c.per_router[1]})).ok());
  ASSERT_TRUE(client1->Flush(absl::Seconds(10)).ok());
  ASSERT_TRUE(client3->Flush(absl::Seconds(10)).ok());
  client1->Close().IgnoreError();
  client3->Close().IgnoreError();
  ASSERT_TRUE(collector_->Sync().ok());

  std::string out;
  const std::string range = R"("range":{"start":"2026-01-01T00:00:00Z","end":"2027-01-01T00:00:00Z"})";
  ASSERT_TRUE(call("hoplat.v1.Query", "PathLatency",
                   R"({"from_node":"r1","to_node":"r3",)" + range + "}", &out)
                  .ok());
  EXPECT_NE(out.find(R"("count":"1")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("max":"0.002002s")"), std::string::npos) << out;
  ASSERT_TRUE(call("hoplat.v1.Query", "ListNodes", "{}", &out).ok());
  EXPECT_NE(out.find(R"("nodeId":"r3")"), std::string::npos) << out;
  ASSERT_TRUE(call("hoplat.v1.Query", "ListPaths", "{" + range + "}", &out).ok());
  EXPECT_NE(out.find(R"("nodes":["r1","r3"])"), std::string::npos) << out;
  ASSERT_TRUE(call("hoplat.v1.Query", "HopLatency", "{" + range + "}", &out).ok());
  EXPECT_NE(out.find(R"("fromNode":"r1")"), std::string::npos) << out;
  ASSERT_TRUE(call("hoplat.v1.Query", "TracePacket", R"({"hash_hex":"0000000000abcdef"})", &out).ok());
  EXPECT_NE(out.find(R"("hopFromPreviousNs":"2000000")"), std::string::npos) << out;
  ASSERT_TRUE(call("grpc.health.v1.Health", "Check", "{}", &out).ok());
  EXPECT_NE(out.find(R"("status":"SERVING")"), std::string::npos) << out;
  for (const char* service : {"hoplat.v1.Ingest", "hoplat.v1.Query"}) {
    out.clear();
    ASSERT_TRUE(call("grpc.health.v1.Health", "Check",
                     absl::StrCat(R"({"service":")", service, R"("})"), &out)
                    .ok())
        << service;
    EXPECT_NE(out.find(R"("status":"SERVING")"), std::string::npos) << service << ": " << out;
  }
  EXPECT_EQ(call("grpc.health.v1.Health", "Check", R"({"service":"hoplat.v1.Nothing"})", &out)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace hoplat::testing
