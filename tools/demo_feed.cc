// hoplat-demo-feed: plays the agents of three routers in a line,
//   h1 -- r1 -- r2 -- r3 -- h2,
// with a known extra delay on r2 -> r3 (as `tc netem` would add), and streams
// their observations to a collector through the real Ingest API.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/flags_usage.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/batch_columns.h"
#include "common/ingest_client.h"
#include "kmod/include/uapi/linux/hoplat.h"

ABSL_FLAG(std::string, collector, "127.0.0.1:50051", "Collector address, HOST:PORT.");
ABSL_FLAG(int32_t, packets_per_second, 2000, "Packets per second h1 -> h2 (and as many back).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "Traffic time to play; it ends now (timestamps are backdated), so it is sent at once.");
ABSL_FLAG(absl::Duration, delay, absl::Milliseconds(20), "Extra delay on r2 -> r3.");
ABSL_FLAG(absl::Duration, jitter, absl::Milliseconds(2), "Standard deviation of that delay.");
ABSL_FLAG(uint64_t, seed, 1, "Random seed (same seed, same traffic).");
ABSL_FLAG(std::string, write_replay, "",
          "Instead of streaming, write DIR/r1.rec, r2.rec, r3.rec: replay files (raw UAPI "
          "records) for `hoplat-agent --replay`.");

namespace {

struct Router {
  std::string name;
  std::vector<hoplat::Observation> observations;
};

}  // namespace

int main(int argc, char** argv) {
  const hoplat::ProgramUsage usage{
      "hoplat-demo-feed",
      "Streams three routers' worth of synthetic observations (h1 - r1 - r2 - r3 - h2,\n"
      "extra delay on r2 -> r3) to a hoplat collector.\n"
      "Usage: hoplat-demo-feed [--collector HOST:PORT] [--delay 20ms] [flags]",
      {{"Flags",
        {"collector", "packets_per_second", "duration", "delay", "jitter", "seed",
         "write_replay"}}}};
  hoplat::ParseCommandLineWithUsage(argc, argv, usage);

  const int pps = absl::GetFlag(FLAGS_packets_per_second);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  if (pps <= 0 || duration <= absl::ZeroDuration()) {
    std::fprintf(stderr, "hoplat-demo-feed: --packets_per_second and --duration must be > 0\n");
    return 2;
  }
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  std::exponential_distribution<double> residence(1.0 / 15'000);  // ~15 us in a router
  std::normal_distribution<double> wire(100'000, 10'000);         // 100 us between routers
  std::normal_distribution<double> netem(absl::ToDoubleNanoseconds(absl::GetFlag(FLAGS_delay)),
                                         absl::ToDoubleNanoseconds(absl::GetFlag(FLAGS_jitter)));
  std::uniform_real_distribution<double> unit(0, 1);

  std::vector<Router> routers = {{"r1", {}}, {"r2", {}}, {"r3", {}}};
  const int64_t total = static_cast<int64_t>(pps * absl::ToDoubleSeconds(duration));
  const int64_t start = absl::ToUnixNanos(absl::Now() - duration - absl::Seconds(1));
  const int64_t step = 1'000'000'000 / pps;
  for (int64_t i = 0; i < 2 * total; ++i) {
    const bool forward = i % 2 == 0;  // h1 -> h2, then a reply h2 -> h1
    // 1 % of forward packets are delivered to r2 itself; 0.5 % only ever seen by their first router.
    const double fate = unit(rng);
    const int hops = fate < 0.005 ? 1 : (forward && fate < 0.015 ? 2 : 3);
    uint64_t t = static_cast<uint64_t>(start + (i / 2) * step + (forward ? 0 : step / 2));
    const uint64_t hash = rng();
    for (int k = 0; k < hops; ++k) {
      const int r = forward ? k : 2 - k;
      hoplat::Observation o;
      o.hash = hash;
      o.arrival_ns = t;
      o.exit_ns = t + static_cast<uint64_t>(std::max(1000.0, residence(rng)));
      o.ifindex_in = forward ? 2 : 3;
      o.ifindex_out = forward ? 3 : 2;
      o.length = forward ? 1400 : 52;
      routers[r].observations.push_back(o);
      // r2 -> r3 (forward only) carries the netem delay.
      double d = std::max(5'000.0, wire(rng));
      if (forward && r == 1) d += std::max(0.0, netem(rng));
      t = o.exit_ns + static_cast<uint64_t>(d);
    }
  }

  if (!absl::GetFlag(FLAGS_write_replay).empty()) {
    for (const Router& router : routers) {
      const std::string path = absl::GetFlag(FLAGS_write_replay) + "/" + router.name + ".rec";
      FILE* f = std::fopen(path.c_str(), "wb");
      if (f == nullptr) {
        std::fprintf(stderr, "hoplat-demo-feed: cannot write %s\n", path.c_str());
        return 1;
      }
      for (const hoplat::Observation& o : router.observations) {
        hoplat_record r = {};
        r.hash = o.hash;
        r.arrival_ns = o.arrival_ns;
        r.exit_ns = o.exit_ns;
        r.residence_ns = o.exit_ns - o.arrival_ns;
        r.ifindex_in = o.ifindex_in;
        r.ifindex_out = o.ifindex_out;
        r.length = o.length;
        r.flags = HOPLAT_F_FORWARDED;
        r.gso_segs = 1;
        r.version = HOPLAT_RECORD_VERSION;
        std::fwrite(&r, sizeof(r), 1, f);
      }
      if (std::fclose(f) != 0) {
        std::fprintf(stderr, "hoplat-demo-feed: cannot write %s\n", path.c_str());
        return 1;
      }
    }
    std::printf("wrote %s/r1.rec, r2.rec, r3.rec\n", absl::GetFlag(FLAGS_write_replay).c_str());
    return 0;
  }

  std::vector<std::thread> threads;
  std::vector<std::string> errors(routers.size());
  for (size_t r = 0; r < routers.size(); ++r) {
    threads.emplace_back([&, r] {
      hoplat::IngestClientOptions options;
      options.target = absl::GetFlag(FLAGS_collector);
      options.node_id = routers[r].name;
      options.agent_version = "demo-feed " HOPLAT_VERSION;
      options.clock.set_synchronized(true);
      options.clock.set_estimated_error_ns(50'000);  // as chrony would claim on a LAN
      options.clock.set_source("demo");
      hoplat::IngestClient client(options);
      // Sequence numbers from the clock: a rerun never collides with a previous run.
      uint64_t seq = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
      absl::Status s = client.Connect();
      const auto& obs = routers[r].observations;
      for (size_t i = 0; s.ok() && i < obs.size(); i += 1024) {
        hoplat::v1::ObservationBatch batch;
        batch.set_seq(++seq);
        for (size_t j = i; j < std::min(obs.size(), i + 1024); ++j) {
          hoplat::AppendToBatch(obs[j], &batch);
        }
        s = client.Send(std::move(batch));
      }
      if (s.ok()) s = client.Flush(absl::Seconds(60));
      if (s.ok()) s = client.Close();
      if (!s.ok()) errors[r] = std::string(s.message());
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t r = 0; r < routers.size(); ++r) {
    if (!errors[r].empty()) {
      std::fprintf(stderr, "hoplat-demo-feed: %s: %s\n", routers[r].name.c_str(), errors[r].c_str());
      return 1;
    }
  }
  std::printf("demo feed: %lld packets each way over %s; r1 %zu, r2 %zu, r3 %zu observations; "
              "r2 -> r3 delayed %s +- %s\n",
              static_cast<long long>(total), absl::FormatDuration(duration).c_str(),
              routers[0].observations.size(), routers[1].observations.size(),
              routers[2].observations.size(),
              absl::FormatDuration(absl::GetFlag(FLAGS_delay)).c_str(),
              absl::FormatDuration(absl::GetFlag(FLAGS_jitter)).c_str());
  return 0;
}
