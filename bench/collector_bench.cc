// Collector benchmark. Prints:
//  1. raw SQLite append rate, one row per observation (the baseline to beat);
//  2. durable and correlated ingest rate from loopback gRPC clients (three
//     routers, batches of 4096), sustained for --seconds;
//  3. PathLatency and TracePacket latency over 24 h of data;
//  4. how long correlating one minute again after late data takes (the
//     writer is busy for that long).
// Usage: build/bench/collector_bench [--seconds 12] [--dir /tmp]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "collector/collector.h"
#include "collector/store/reseal.h"
#include "collector/store/batches_table.h"
#include "collector/store/schema.h"
#include "collector/store/sqlite.h"
#include "common/observation_codec.h"
#include "common/batch_columns.h"
#include "common/ingest_client.h"
#include "google/protobuf/util/time_util.h"
#include "hoplat/v1/query.grpc.pb.h"
#include "tests/collector/test_util.h"

ABSL_FLAG(double, seconds, 12, "How long each throughput phase runs.");
ABSL_FLAG(std::string, dir, "/tmp", "Where the benchmark databases go (removed afterwards).");
ABSL_FLAG(int32_t, batch, 4096, "Observations per batch.");
ABSL_FLAG(int32_t, trace_minutes, 1440, "Minutes of data for the query phase (1440 = 24 h).");
ABSL_FLAG(std::string, phases, "append,ingest,query,reseal", "Which phases to run, comma-separated.");
ABSL_FLAG(int32_t, reseal_packets, 100'000, "Packets in the minute correlated again (3 routers).");
ABSL_FLAG(absl::Duration, packet_gap, absl::Microseconds(1),
          "Ingest: packet time between one packet and the next. The clock corrections start "
          "after 12 s of packet time: 10us lets a 12 s run reach them.");
ABSL_FLAG(bool, two_way, true,
          "Ingest: every other packet goes r3 -> r2 -> r1 (what the clock offset estimator "
          "needs); false: all r1 -> r2 -> r3.");
ABSL_FLAG(bool, separate_clocks, true,
          "Ingest: each router says a clock domain of its own, r2's clock 3 ms ahead and r3's "
          "1.5 ms behind (the collector estimates and corrects); false: one domain (exact).");
ABSL_FLAG(bool, correct_clocks, true,
          "Ingest: the collector's --correct_clocks (false: separate clocks stay unsynchronised).");
ABSL_FLAG(bool, ttl, true,
          "Observations carry TTLs (record version 2): paths ordered by TTL, every hop fed to "
          "the clock offset estimator. false: as from an older agent.");

namespace hoplat {
namespace {

using testing::FakeClock;
using testing::TestHash;

std::string Fresh(const std::string& name) {
  const std::string path = absl::GetFlag(FLAGS_dir) + "/" + name;
  for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(path + ext);
  return path;
}

double SqliteAppendRate(double seconds) {
  const std::string path = Fresh("hoplat-bench-raw.db");
  auto db = std::move(*Db::Open(path, true));
  db->Exec("PRAGMA synchronous=NORMAL").IgnoreError();
  db->Exec("CREATE TABLE obs(node INTEGER, hash INTEGER, arrival INTEGER, exit INTEGER, "
           "ifin INTEGER, ifout INTEGER, len INTEGER, flags INTEGER)")
      .IgnoreError();
  Stmt insert(db.get(), "INSERT INTO obs VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const absl::Time start = absl::Now();
  uint64_t rows = 0;
  while (absl::Now() - start < absl::Seconds(seconds)) {
    db->Exec("BEGIN").IgnoreError();
    for (int i = 0; i < 10'000; ++i, ++rows) {
      insert.Bind(1, static_cast<int64_t>(rows % 3)).Bind(2, TestHash(rows))
          .Bind(3, static_cast<int64_t>(rows * 1000)).Bind(4, static_cast<int64_t>(rows * 1000 + 500))
          .Bind(5, 2).Bind(6, 3).Bind(7, 1400).Bind(8, 0);
      insert.Run().IgnoreError();
    }
    db->Exec("COMMIT").IgnoreError();
  }
  const double rate = rows / absl::ToDoubleSeconds(absl::Now() - start);
  db.reset();
  Fresh("hoplat-bench-raw.db");
  return rate;
}

v1::ObservationBatch MakeBatch(int router, uint64_t seq, uint64_t first_packet, int n,
                               uint64_t t0, uint64_t step_ns) {
  v1::ObservationBatch b;
  b.set_seq(seq);
  for (int i = 0; i < n; ++i) {
    const uint64_t p = first_packet + static_cast<uint64_t>(i);
    Observation o;
    o.hash = TestHash(p);
    // The k-th router on the way sees packet p k * 1 ms later (every other
    // packet the way back, with --two_way); 20 us inside each router; a
    // router's clock off by its lab offset (--separate_clocks).
    const bool back = absl::GetFlag(FLAGS_two_way) && p % 2 == 1;
    const int place = back ? 2 - router : router;
    static constexpr int64_t kClockOffset[3] = {0, 3'000'000, -1'500'000};
    const int64_t offset = absl::GetFlag(FLAGS_separate_clocks) ? kClockOffset[router] : 0;
    o.arrival_ns = static_cast<uint64_t>(static_cast<int64_t>(t0 + p * step_ns +
                                                              static_cast<uint64_t>(place) * 1'000'000) +
                                         offset);
    o.exit_ns = o.arrival_ns + 20'000;
    o.ifindex_in = 2;
    o.ifindex_out = 3;
    o.length = 1400;
    o.residence_ns = 20'000;
    o.ttl = absl::GetFlag(FLAGS_ttl) ? static_cast<uint32_t>(64 - place) : 0;
    AppendToBatch(o, &b);
  }
  return b;
}

void IngestThroughput(double seconds) {
  CollectorOptions options;
  options.listen = "127.0.0.1:0";
  options.store.path = Fresh("hoplat-bench-ingest.db");
  options.correlator.correct_clocks = absl::GetFlag(FLAGS_correct_clocks);
  absl::StatusOr<std::unique_ptr<Collector>> collector = Collector::Start(options);
  if (!collector.ok()) {
    std::fprintf(stderr, "cannot start collector: %s\n", collector.status().ToString().c_str());
    std::exit(1);
  }
  const int batch = absl::GetFlag(FLAGS_batch);
  // Packet time starts a second ago and advances --packet_gap per packet.
  const uint64_t t0 = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now() - absl::Seconds(1)));
  std::atomic<bool> stop{false};
  std::vector<uint64_t> sent(3, 0);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      IngestClientOptions o;
      o.target = (*collector)->target();
      o.node_id = "r" + std::to_string(r + 1);
      o.max_in_flight = 8;
      o.clock.set_clock_domain(absl::GetFlag(FLAGS_separate_clocks) ? "bench-" + o.node_id
                                                                     : "bench");
      IngestClient client(o);
      if (!client.Connect().ok()) return;
      uint64_t seq = 0;
      while (!stop.load()) {
        const uint64_t gap =
            static_cast<uint64_t>(absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_packet_gap)));
        if (!client.Send(MakeBatch(r, ++seq, sent[r], batch, t0, gap)).ok()) break;
        sent[r] += static_cast<uint64_t>(batch);
      }
      client.Flush(absl::Seconds(120)).IgnoreError();
      client.Close().IgnoreError();
    });
  }
  absl::SleepFor(absl::Seconds(seconds));  // the measured interval itself, not synchronisation
  stop = true;
  for (std::thread& t : threads) t.join();
  const absl::Duration acked_in = absl::Now() - start;
  if (absl::Status s = (*collector)->Sync(); !s.ok()) std::fprintf(stderr, "sync: %s\n", s.ToString().c_str());
  const absl::Duration correlated_in = absl::Now() - start;
  uint64_t total = sent[0] + sent[1] + sent[2];

  auto stub = v1::Query::NewStub(
      grpc::CreateChannel((*collector)->target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::PathLatencyRequest req;
  req.set_from_node("r1");
  req.set_to_node("r3");
  v1::PathLatencyResponse resp;
  stub->PathLatency(&ctx, req, &resp);
  (*collector)->Shutdown();
  const uint64_t bytes = std::filesystem::file_size(options.store.path) +
                         (std::filesystem::exists(options.store.path + "-wal")
                              ? std::filesystem::file_size(options.store.path + "-wal") : 0);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("ingest: %llu observations (3 routers, batches of %d; %s, %s, correction %s) in "
              "%.1f s\n",
              static_cast<unsigned long long>(total), batch,
              absl::GetFlag(FLAGS_two_way) ? "both ways" : "one way",
              absl::GetFlag(FLAGS_separate_clocks) ? "three clock domains" : "one clock domain",
              absl::GetFlag(FLAGS_correct_clocks) ? "on" : "off", absl::ToDoubleSeconds(acked_in));
  std::printf("  durable (acknowledged after commit): %.2f M obs/s\n",
              total / absl::ToDoubleSeconds(acked_in) / 1e6);
  std::printf("  durable and correlated:              %.2f M obs/s (%llu trajectories r1->r3 so far: "
              "%llu corrected, %llu unsynchronised; bound %.1f us)\n",
              total / absl::ToDoubleSeconds(correlated_in) / 1e6,
              static_cast<unsigned long long>(resp.latency().count() +
                                              resp.latency().unsynchronized()),
              static_cast<unsigned long long>(resp.latency().count()),
              static_cast<unsigned long long>(resp.latency().unsynchronized()),
              resp.latency().clock_bound().nanos() / 1e3);
  std::printf("  database: %.1f bytes/observation; peak RSS of this process %.0f MB\n",
              static_cast<double>(bytes) / total, ru.ru_maxrss / 1024.0);
  Fresh("hoplat-bench-ingest.db");
}

template <typename Fn>
void Time(const char* what, int calls, Fn fn) {
  std::vector<double> ms;
  for (int i = 0; i < calls; ++i) {
    const absl::Time t = absl::Now();
    fn(i);
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
  }
  std::sort(ms.begin(), ms.end());
  std::printf("  %-36s median %.2f ms, p90 %.2f ms, max %.2f ms (%d calls)\n", what,
              ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms.back(), calls);
}

void QueryLatency() {
  const int minutes = absl::GetFlag(FLAGS_trace_minutes);
  const int per_minute = 1000;  // packets per minute through r1 -> r2 -> r3
  const uint64_t t0 = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now() - absl::Hours(25))) /
                      kNsPerMinute * kNsPerMinute;
  FakeClock clock(absl::FromUnixNanos(static_cast<int64_t>(t0)));
  CollectorOptions options;
  options.listen = "127.0.0.1:0";
  options.store.path = Fresh("hoplat-bench-query.db");
  options.store.retention = absl::Hours(26);  // all 24 h stay traceable
  options.clock = clock.fn();
  // The clock jumps a minute at a time: keep nodes live across the jumps.
  options.correlator.idle_timeout = absl::Minutes(2);
  auto collector = std::move(*Collector::Start(options));
  std::vector<std::unique_ptr<IngestClient>> clients;
  for (int r = 0; r < 3; ++r) {
    IngestClientOptions o;
    o.target = collector->target();
    o.node_id = "r" + std::to_string(r + 1);
    clients.push_back(std::make_unique<IngestClient>(o));
    if (!clients.back()->Connect().ok()) std::exit(1);
  }
  const absl::Time fill = absl::Now();
  const uint64_t step = kNsPerMinute / per_minute;
  for (int m = 0; m < minutes; ++m) {
    for (int r = 0; r < 3; ++r) {
      clients[r]->Send(MakeBatch(r, m + 1, static_cast<uint64_t>(m) * per_minute, per_minute, t0, step))
          .IgnoreError();
    }
    for (auto& c : clients) c->Flush(absl::Seconds(60)).IgnoreError();
    collector->Sync().IgnoreError();
    clock.Advance(absl::Minutes(1));  // the writer flushes its hash index once a minute
  }
  for (auto& c : clients) c->Close().IgnoreError();
  clock.Advance(absl::Minutes(10));
  collector->Sync().IgnoreError();
  std::printf("query: %d minutes of data (%d packets/min over 3 routers) loaded in %.1f s\n",
              minutes, per_minute, absl::ToDoubleSeconds(absl::Now() - fill));

  auto stub = v1::Query::NewStub(
      grpc::CreateChannel(collector->target(), grpc::InsecureChannelCredentials()));
  using google::protobuf::util::TimeUtil;
  uint64_t count = 0;
  Time("PathLatency r1->r3 over 24 h:", 200, [&](int) {
    grpc::ClientContext ctx;
    v1::PathLatencyRequest req;
    req.set_from_node("r1");
    req.set_to_node("r3");
    *req.mutable_range()->mutable_start() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(t0));
    *req.mutable_range()->mutable_end() =
        TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(t0) + minutes * kNsPerMinute);
    v1::PathLatencyResponse resp;
    stub->PathLatency(&ctx, req, &resp);
    count = resp.latency().count();
  });
  std::printf("    (it summarised %llu packets)\n", static_cast<unsigned long long>(count));
  uint64_t found = 0;
  Time("TracePacket, random packet in 24 h:", 200, [&](int i) {
    grpc::ClientContext ctx;
    v1::TracePacketRequest req;
    req.set_hash(TestHash(static_cast<uint64_t>(i) * 7919 % (static_cast<uint64_t>(minutes) * per_minute)));
    v1::TracePacketResponse resp;
    stub->TracePacket(&ctx, req, &resp);
    found += resp.trajectories_size() == 1 && resp.trajectories(0).observations_size() == 3;
  });
  std::printf("    (%llu of 200 traced across all 3 routers)\n", static_cast<unsigned long long>(found));
  collector->Shutdown();
  Fresh("hoplat-bench-query.db");
}

void ResealLatency() {
  const int packets = absl::GetFlag(FLAGS_reseal_packets);
  const int64_t minute = absl::ToUnixSeconds(absl::Now()) / 60 - 10;
  const uint64_t t0 = static_cast<uint64_t>(minute) * kNsPerMinute;
  auto db = std::move(*Db::Open(Fresh("hoplat-bench-reseal.db"), true));
  if (!MigrateSchema(db.get()).ok()) std::exit(1);
  db->Exec("INSERT INTO nodes(id, name, first_seen_ns, last_seen_ns) VALUES "
           "(1, 'r1', 0, 0), (2, 'r2', 0, 0), (3, 'r3', 0, 0)")
      .IgnoreError();
  // The minute plus a window either side, in batches of --batch per router.
  const uint64_t step = (kNsPerMinute + 2'000'000'000ULL) / static_cast<uint64_t>(packets);
  const int batch = absl::GetFlag(FLAGS_batch);
  db->Exec("BEGIN").IgnoreError();
  {
    BatchInserter inserter(db.get());
    uint64_t seq = 0;
    for (int r = 0; r < 3; ++r) {
      for (int first = 0; first < packets; first += batch) {
        v1::ObservationBatch b = MakeBatch(r, ++seq, static_cast<uint64_t>(first),
                                           std::min(batch, packets - first), t0 - 1'000'000'000ULL, step);
        std::vector<Observation> obs;
        if (!ObservationsFromBatch(b, &obs).ok()) std::exit(1);
        inserter.Insert(r + 1, seq, obs.size(), obs.front().arrival_ns, obs.back().arrival_ns,
                        EncodeObservations(obs), ContentDigest(obs))
            .IgnoreError();
      }
    }
  }
  db->Exec("COMMIT").IgnoreError();
  std::printf("reseal: one minute of %d packets over 3 routers (%d observations)\n", packets,
              3 * packets);
  // Each run in a transaction rolled back, so that every run does the same work.
  uint64_t paths = 0;
  Time("correlate the minute again:", 5, [&](int) {
    db->Exec("BEGIN IMMEDIATE").IgnoreError();
    if (absl::Status s = ResealMinute(db.get(), minute, CorrelatorOptions{}, absl::InfinitePast());
        !s.ok()) {
      std::fprintf(stderr, "reseal: %s\n", s.ToString().c_str());
    }
    Stmt count(db.get(), "SELECT coalesce(sum(packets), 0) FROM aggregates WHERE kind = 1 AND minute = ?");
    count.Bind(1, minute);
    absl::Status status;
    if (count.Step(&status)) paths = count.UInt(0);
    count.Reset();
    db->Exec("ROLLBACK").IgnoreError();
  });
  std::printf("    (%llu trajectories r1->r2->r3 counted in the minute)\n",
              static_cast<unsigned long long>(paths));
  db.reset();
  Fresh("hoplat-bench-reseal.db");
}

}  // namespace
}  // namespace hoplat

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const std::vector<std::string> phases = absl::StrSplit(absl::GetFlag(FLAGS_phases), ',');
  auto want = [&](const char* p) { return std::find(phases.begin(), phases.end(), p) != phases.end(); };
  if (want("append")) {
    std::printf("raw SQLite append, one row per observation (WAL, synchronous=NORMAL, "
                "10k-row transactions, no index): %.2f M rows/s\n",
                hoplat::SqliteAppendRate(seconds / 2) / 1e6);
  }
  if (want("ingest")) hoplat::IngestThroughput(seconds);
  if (want("query")) hoplat::QueryLatency();
  if (want("reseal")) hoplat::ResealLatency();
  return 0;
}
