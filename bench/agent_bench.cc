// hoplat-agent's throughput: a replay file through the real Agent to a sink
// (a forked process that acknowledges every batch and stores nothing) over
// loopback. Prints records/s, CPU seconds per million records and the peak
// RSS of the agent's process (the sink runs in its own process).
//   build/bench/agent_bench [--records N]
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/replay_source.h"
#include "grpcpp/grpcpp.h"
#include "hoplat/v1/ingest.grpc.pb.h"

namespace {

// Acknowledges every batch at once; Welcome for Hello; ignores reports.
class Sink final : public hoplat::v1::Ingest::Service {
  grpc::Status Stream(grpc::ServerContext*, grpc::ServerReaderWriter<hoplat::v1::IngestResponse,
                                                                     hoplat::v1::IngestRequest>* s)
      override {
    hoplat::v1::IngestRequest req;
    hoplat::v1::IngestResponse resp;
    while (s->Read(&req)) {
      resp.Clear();
      if (req.has_hello()) {
        resp.mutable_welcome()->set_max_batch_observations(65536);
      } else if (req.has_batch()) {
        resp.mutable_ack()->set_seq(req.batch().seq());
      } else {
        continue;
      }
      if (!s->Write(resp)) break;
    }
    return grpc::Status::OK;
  }
};

double CpuSeconds(const rusage& r) {
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec +
         r.ru_stime.tv_usec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  long records = 5'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--records")) records = std::atol(argv[i + 1]);
  }
  const std::string file = "/tmp/hoplat-agent-bench.rec";
  {
    std::remove(file.c_str());
    std::vector<hoplat_record> chunk(100'000);
    const uint64_t t0 = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
    for (long done = 0; done < records; done += static_cast<long>(chunk.size())) {
      for (size_t i = 0; i < chunk.size(); ++i) {
        hoplat_record& r = chunk[i];
        r = hoplat_record{};
        const uint64_t n = static_cast<uint64_t>(done) + i;
        r.hash = n * 0x9e3779b97f4a7c15ULL;
        r.arrival_ns = t0 + n * 1000;
        r.exit_ns = r.arrival_ns + 20'000;
        r.ifindex_in = 2;
        r.ifindex_out = 3;
        r.length = 1400;
        r.flags = HOPLAT_F_FORWARDED;
        r.version = HOPLAT_RECORD_VERSION;
      }
      if (!hoplat::WriteReplayFile(file, chunk).ok()) return 1;
    }
  }
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  const pid_t sink = fork();
  if (sink == 0) {  // the sink: its own process, so the agent's figures are its own
    Sink service;
    int port = 0;
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&service);
    b.SetMaxReceiveMessageSize(64 << 20);
    auto server = b.BuildAndStart();
    if (write(pipefd[1], &port, sizeof(port)) != sizeof(port)) _exit(1);
    server->Wait();
    _exit(0);
  }
  int port = 0;
  if (read(pipefd[0], &port, sizeof(port)) != sizeof(port)) return 1;

  auto source = hoplat::ReplaySource::Open(file);
  if (!source.ok()) return 1;
  hoplat::AgentOptions options;
  options.client.target = "127.0.0.1:" + std::to_string(port);
  options.client.node_id = "bench";
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  const absl::Time start = absl::Now();
  hoplat::Agent agent(options, source->get());
  const absl::Status s = agent.Run();
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  getrusage(RUSAGE_SELF, &after);
  kill(sink, SIGKILL);
  waitpid(sink, nullptr, 0);
  std::remove(file.c_str());
  if (!s.ok()) {
    std::fprintf(stderr, "agent: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const double cpu = CpuSeconds(after) - CpuSeconds(before);
  const hoplat::v1::AgentCounters counters = agent.counters();
  std::printf("agent: %ld records (replay) to a discarding sink over loopback in %.2f s: "
              "%.2f M records/s (%llu read, %llu batches acknowledged)\n",
              records, secs, records / secs / 1e6,
              static_cast<unsigned long long>(counters.records_read()),
              static_cast<unsigned long long>(counters.batches_acked()));
  std::printf("  CPU: %.2f s per million records (agent process, all threads); "
              "peak RSS %.1f MB\n", cpu / (records / 1e6), after.ru_maxrss / 1024.0);
  return 0;
}
