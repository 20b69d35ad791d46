#include "collector/collector.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace hoplat {

absl::StatusOr<std::unique_ptr<Collector>> Collector::Start(CollectorOptions options) {
  std::unique_ptr<Collector> c(new Collector());
  options.store.clock = options.clock;
  options.store.correlation = options.correlator;
  options.ingest.clock = options.clock;

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options.store);
  if (!store.ok()) return store.status();
  c->store_ = std::move(*store);

  c->worker_ = std::make_unique<CorrelationWorker>(options.correlator, c->store_.get(),
                                                   options.clock);
  CorrelationWorker* worker = c->worker_.get();
  // The nodes' clocks first: which share one decides what is corrected.
  for (const NodeRow& n : c->store_->nodes_at_open()) {
    worker->SetNodeClock(n.name, NodeClockOf(n.clock));
  }
  if (absl::Status s = c->store_->Replay(
          [worker](const std::string& node, std::vector<Observation> obs) {
            worker->Replay(node, std::move(obs));
          });
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("replaying stored observations: ", s.message()));
  }
  worker->Start();
  c->store_->Start([worker](const std::string& node, int64_t batch_id, std::vector<Observation> obs) {
    worker->Enqueue(node, batch_id, std::move(obs));
  });

  c->ingest_ = std::make_unique<IngestService>(options.ingest, c->store_.get(), worker);
  QueryOptions query;
  query.window = options.correlator.window;
  query.clock = options.clock;
  IngestService* ingest = c->ingest_.get();
  query.is_connected = [ingest](const std::string& node) { return ingest->IsConnected(node); };
  query.refused_streams = [ingest](const std::string& node) {
    return ingest->RefusedStreams(node);
  };
  c->query_ = std::make_unique<QueryService>(query, c->store_.get(), worker);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this, a second collector on the same port would silently share
  // the traffic (gRPC sets SO_REUSEPORT by default).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &c->port_);
  builder.RegisterService(c->ingest_.get());
  builder.RegisterService(c->query_.get());
  c->server_ = builder.BuildAndStart();
  if (c->server_ == nullptr || c->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, " (address in use or invalid?)"));
  }
  // The empty name is the whole server; each service answers by its own
  // name too (grpcurl -d '{"service":"hoplat.v1.Query"}' ... Health/Check).
  for (const char* service : {"hoplat.v1.Ingest", "hoplat.v1.Query"}) {
    c->server_->GetHealthCheckService()->SetServingStatus(service, true);
  }
  return c;
}

Collector::~Collector() { Shutdown(); }

absl::Status Collector::Sync() {
  if (absl::Status s = store_->Sync(); !s.ok()) return s;
  worker_->Drain();
  return store_->Sync();
}

void Collector::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (worker_) worker_->Stop();
  if (store_) store_->Stop();
}

}  // namespace hoplat
