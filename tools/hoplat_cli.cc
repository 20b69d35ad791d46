// hoplat: query a hoplat collector from a terminal.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/flags_usage.h"
#include "common/grpc_status.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "hoplat/v1/query.grpc.pb.h"
#include "tools/cli_format.h"

ABSL_FLAG(std::string, collector, "127.0.0.1:50051", "Collector address, HOST:PORT.");
ABSL_FLAG(absl::Duration, since, absl::Hours(1), "Look back this far from --until.");
ABSL_FLAG(std::string, until, "", "End of the time range (RFC 3339, e.g. 2026-11-30T12:00:00Z); default: now.");
ABSL_FLAG(bool, json, false, "Print the raw response as JSON (as grpcurl would).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "Deadline of each call.");

namespace {

using google::protobuf::util::TimeUtil;
namespace v1 = hoplat::v1;

constexpr char kUsage[] =
    "Queries a hoplat collector.\n"
    "Usage: hoplat [flags] COMMAND [ARGS]\n"
    "Commands:\n"
    "  nodes               routers that reported: last seen, clock, loss counters\n"
    "  paths               observed paths with packet counts and latency\n"
    "  path FROM TO        latency from FROM's arrival to TO's exit\n"
    "  hops [NODE]         per-hop latency and per-router residence time (of NODE)\n"
    "  hops FROM TO        the same along the observed path from FROM to TO\n"
    "  trace HASH          every observation of one packet, in path order\n"
    "  clocks              each pair of adjacent routers' clocks: offset, drift, bound\n"
    "Latencies between routers are corrected for their clocks' offset; the\n"
    "'clock bound' says how well that offset is known and how (shared clock,\n"
    "measured both ways, reported by NTP/PTP). UNCERTAIN: the bound is a\n"
    "quarter of the median or more. NOT SYNC: packets left out because nothing\n"
    "bounds their clocks' offset (one-way traffic between unsynchronised clocks).\n"
    "Examples:\n"
    "  hoplat --collector 127.0.0.1:50051 path r1 r3\n"
    "  hoplat hops r1 r3 --since 10m\n"
    "  hoplat --since 24h paths\n"
    "  hoplat trace 3f2a9c0d11b7e845";


int Fail(const std::string& message) {
  std::fprintf(stderr, "hoplat: %s\n", message.c_str());
  return 1;
}

int FailRpc(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Fail(absl::StrCat("cannot reach the collector at ", absl::GetFlag(FLAGS_collector),
                             " (is hoplat-collector running there? --collector HOST:PORT): ",
                             s.error_message()));
  }
  return Fail(absl::StrCat(
      "collector ", absl::GetFlag(FLAGS_collector), ": ",
      absl::StatusCodeToString(hoplat::FromGrpcStatus(s).code()), ": ",
      s.error_message()));
}

bool Range(v1::TimeRange* range, std::string* error) {
  absl::Time until = absl::Now();
  const std::string text = absl::GetFlag(FLAGS_until);
  if (!text.empty() && !absl::ParseTime(absl::RFC3339_full, text, &until, error)) return false;
  *range->mutable_end() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(until));
  *range->mutable_start() =
      TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(until - absl::GetFlag(FLAGS_since)));
  return true;
}

void Prepare(grpc::ClientContext* ctx) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_timeout)));
}

int PrintJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  std::cout << out;
  return 0;
}

std::string Ago(const google::protobuf::Timestamp& t) {
  const absl::Duration d = absl::Now() - absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
  if (d < absl::Seconds(1)) return "just now";
  return absl::StrCat(absl::FormatDuration(absl::Trunc(d, absl::Seconds(1))), " ago");
}

int Nodes(v1::Query::Stub* q) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::ListNodesResponse r;
  if (grpc::Status s = q->ListNodes(&ctx, v1::ListNodesRequest(), &r); !s.ok()) return FailRpc(s);
  if (absl::GetFlag(FLAGS_json)) return PrintJson(r);
  // Losses, each where it happened: the module's ring full, nobody reading
  // the device, the agent's spool full.
  hoplat::Table t({"node", "connected", "last seen", "clock", "stored", "late", "ring drops",
                   "no reader", "spool lost"});
  // Shared with another listed node (one kernel: exact between them), or
  // the node's own synchronisation.
  const std::vector<std::string> clocks = hoplat::ClockCells(r);
  for (int i = 0; i < r.nodes_size(); ++i) {
    const v1::Node& n = r.nodes(i);
    t.Add({n.node_id(), n.connected() ? "yes" : "no", Ago(n.last_seen()), clocks[i],
           absl::StrCat(n.observations_stored()), absl::StrCat(n.late_observations()),
           absl::StrCat(n.module().ring_drops()), absl::StrCat(n.module().no_reader()),
           absl::StrCat(n.agent().spool_dropped_observations())});
  }
  std::cout << t.Render();
  // Late data re-opens sealed minutes; say how much of that is pending.
  const v1::Correlation& c = r.correlation();
  if (c.resealed_minutes() > 0 || c.minutes_to_reseal() > 0) {
    std::cout << "minutes correlated again after late data: " << c.resealed_minutes()
              << ", waiting: " << c.minutes_to_reseal() << "\n";
  }
  return 0;
}

int Paths(v1::Query::Stub* q) {
  v1::ListPathsRequest req;
  std::string error;
  if (!Range(req.mutable_range(), &error)) return Fail("--until: " + error);
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::ListPathsResponse r;
  if (grpc::Status s = q->ListPaths(&ctx, req, &r); !s.ok()) return FailRpc(s);
  if (absl::GetFlag(FLAGS_json)) return PrintJson(r);
  std::vector<std::string> header = hoplat::SummaryHeader("path");
  header.push_back("slowest packet");
  header.push_back("clock bound");
  hoplat::Table t(header);
  for (const v1::PathSummary& p : r.paths()) {
    std::vector<std::string> row =
        hoplat::SummaryCells(absl::StrJoin(p.nodes(), " > "), p.latency());
    row.push_back(p.slowest_hash_hex());
    row.push_back(hoplat::SummaryClockCell(p.latency()));
    t.Add(row);
  }
  std::cout << t.Render();
  std::cout << "packets seen by one router only: " << r.single_node_packets() << "\n";
  // Loops are no latency: their own lines, with a hash to trace.
  for (const v1::LoopSummary& l : r.loops()) {
    std::cout << "ROUTING LOOP " << absl::StrJoin(l.nodes(), " > ") << ": " << l.packets()
              << " packets, longest " << hoplat::FormatDuration(l.longest())
              << " (trace " << l.slowest_hash_hex() << ")\n";
  }
  return 0;
}

int Path(v1::Query::Stub* q, const std::string& from, const std::string& to) {
  v1::PathLatencyRequest req;
  req.set_from_node(from);
  req.set_to_node(to);
  std::string error;
  if (!Range(req.mutable_range(), &error)) return Fail("--until: " + error);
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::PathLatencyResponse r;
  if (grpc::Status s = q->PathLatency(&ctx, req, &r); !s.ok()) return FailRpc(s);
  if (absl::GetFlag(FLAGS_json)) return PrintJson(r);
  hoplat::Table t(hoplat::SummaryHeader("from > to"));
  t.Add(hoplat::SummaryCells(absl::StrCat(from, " > ", to), r.latency()));
  std::cout << t.Render();
  const v1::LatencySummary& l = r.latency();
  if (l.count() > 0 || l.clock_errors() > 0) {
    std::cout << "clock bound: " << hoplat::FormatClockBound(l.clock_bound(), l.clock_method());
    if (l.clock_method() != v1::CLOCK_METHOD_SHARED_CLOCK) {
      std::cout << ", mean ±" << hoplat::FormatDuration(l.clock_bound_mean());
    }
    if (hoplat::ClockUncertain(l)) {
      std::cout << "\nUNCERTAIN: the clocks' offset is known to no better than a quarter of the "
                   "median (see hoplat clocks)";
    }
    std::cout << "\n";
  }
  if (l.unsynchronized() > 0) {
    std::cout << l.unsynchronized()
              << " packets between clocks that nothing synchronises: left out "
                 "(see hoplat clocks)\n";
  }
  return 0;
}

// The consecutive pairs of observed paths from `from` to `to`, in path
// order, and the routers on the way.
bool SegmentOf(v1::Query::Stub* q, const v1::TimeRange& range, const std::string& from,
               const std::string& to, std::vector<std::pair<std::string, std::string>>* hops,
               std::vector<std::string>* routers, int* rc) {
  v1::ListPathsRequest req;
  *req.mutable_range() = range;
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::ListPathsResponse paths;
  if (grpc::Status s = q->ListPaths(&ctx, req, &paths); !s.ok()) {
    *rc = FailRpc(s);
    return false;
  }
  for (const v1::PathSummary& p : paths.paths()) {
    const auto& n = p.nodes();
    const auto a = std::find(n.begin(), n.end(), from);
    const auto b = a == n.end() ? n.end() : std::find(a + 1, n.end(), to);
    if (b == n.end()) continue;
    for (auto it = a; it != b + 1; ++it) {
      if (std::find(routers->begin(), routers->end(), *it) == routers->end()) routers->push_back(*it);
      if (it == b) break;
      const std::pair<std::string, std::string> hop(*it, *(it + 1));
      if (std::find(hops->begin(), hops->end(), hop) == hops->end()) hops->push_back(hop);
    }
  }
  return true;
}

int Hops(v1::Query::Stub* q, const std::string& node, const std::string& to) {
  v1::HopLatencyRequest req;
  if (to.empty()) req.set_node(node);
  std::string error;
  if (!Range(req.mutable_range(), &error)) return Fail("--until: " + error);
  std::vector<std::pair<std::string, std::string>> segment;
  std::vector<std::string> routers;
  if (!to.empty()) {
    int rc = 0;
    if (!SegmentOf(q, req.range(), node, to, &segment, &routers, &rc)) return rc;
    if (segment.empty()) {
      std::cout << "no packet went from " << node << " to " << to << " in the time range\n";
      return 0;
    }
  }
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::HopLatencyResponse r;
  if (grpc::Status s = q->HopLatency(&ctx, req, &r); !s.ok()) return FailRpc(s);
  if (!to.empty()) {  // keep the segment's hops and routers, in path order
    v1::HopLatencyResponse kept;
    for (const auto& [a, b] : segment) {
      for (const v1::HopSummary& h : r.hops()) {
        if (h.from_node() == a && h.to_node() == b) *kept.add_hops() = h;
      }
    }
    for (const std::string& n : routers) {
      for (const v1::ResidenceSummary& s : r.residences()) {
        if (s.node() == n) *kept.add_residences() = s;
      }
    }
    // Queues of the nodes that send along the segment (not its last: its
    // queue is after the segment), per interface: a router's row over all
    // its interfaces holds traffic to elsewhere too. (Which interface leads
    // to the next node is not known here: each is shown.)
    for (const v1::QueueSummary& s : r.queues()) {
      if (s.ifindex() != 0 && s.node() != to &&
          std::find(routers.begin(), routers.end(), s.node()) != routers.end()) {
        *kept.add_queues() = s;
      }
    }
    r = kept;
  }
  if (absl::GetFlag(FLAGS_json)) return PrintJson(r);
  std::vector<std::string> header = hoplat::SummaryHeader("hop");
  header.push_back("clock bound");
  hoplat::Table hops(header);
  for (const v1::HopSummary& h : r.hops()) {
    // Routers without hoplat in between (from the TTL) are named in the hop.
    std::string name = absl::StrCat(h.from_node(), " > ", h.to_node());
    if (h.has_hidden_routers() && h.hidden_routers_max() > 0) {
      absl::StrAppend(&name, " (", h.hidden_routers(),
                      h.hidden_routers_max() != h.hidden_routers()
                          ? absl::StrCat("-", h.hidden_routers_max())
                          : "",
                      " unseen between)");
    }
    std::vector<std::string> row = hoplat::SummaryCells(name, h.latency());
    row.push_back(hoplat::SummaryClockCell(h.latency()));
    hops.Add(row);
  }
  hoplat::Table res(hoplat::SummaryHeader("residence"));
  for (const v1::ResidenceSummary& s : r.residences()) res.Add(hoplat::SummaryCells(s.node(), s.latency()));
  std::cout << hops.Render() << "\n" << res.Render();
  if (r.queues_size() > 0) {
    hoplat::Table queues(hoplat::SummaryHeader("egress queue"));
    for (const v1::QueueSummary& s : r.queues()) {
      queues.Add(hoplat::SummaryCells(hoplat::QueueName(s), s.latency()));
    }
    std::cout << "\n" << queues.Render();
  }
  return 0;
}

int Trace(v1::Query::Stub* q, const std::string& hash) {
  v1::TracePacketRequest req;
  req.set_hash_hex(hash);
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::TracePacketResponse r;
  if (grpc::Status s = q->TracePacket(&ctx, req, &r); !s.ok()) return FailRpc(s);
  if (absl::GetFlag(FLAGS_json)) return PrintJson(r);
  if (r.trajectories_size() == 0) {
    std::cout << "packet " << r.hash_hex() << ": no observation within retention\n";
    return 0;
  }
  for (int i = 0; i < r.trajectories_size(); ++i) {
    const v1::Trajectory& tr = r.trajectories(i);
    std::cout << "packet " << r.hash_hex() << ", crossing " << i + 1 << " of "
              << r.trajectories_size() << ": path latency "
              << hoplat::FormatDuration(tr.path_latency()) << "\n";
    hoplat::Table t({"node", "arrival (UTC)", "hop", "residence", "in", "out", "len"});
    for (const v1::Observation& o : tr.observations()) {
      t.Add({o.node_id(),
             absl::FormatTime("%H:%M:%E9S", absl::FromUnixNanos(static_cast<int64_t>(o.arrival_ns())),
                              absl::UTCTimeZone()),
             o.has_hop_from_previous()
                 ? hoplat::FormatDuration(o.hop_from_previous()) + (o.clock_error() ? " (clock!)" : "")
                 : "-",
             hoplat::FormatDuration(o.residence()), absl::StrCat(o.ifindex_in()),
             absl::StrCat(o.ifindex_out()), absl::StrCat(o.length())});
    }
    std::cout << t.Render();
  }
  return 0;
}

int Clocks(v1::Query::Stub* q) {
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::ClockOffsetsResponse r;
  if (grpc::Status s = q->ClockOffsets(&ctx, v1::ClockOffsetsRequest(), &r); !s.ok()) {
    return FailRpc(s);
  }
  if (absl::GetFlag(FLAGS_json)) return PrintJson(r);
  // B's clock minus A's: what to subtract from a raw hop A > B.
  hoplat::Table t({"a", "b", "b - a", "bound", "drift", "samples", "updated"});
  for (const v1::ClockOffset& o : r.offsets()) {
    t.Add({o.node_a(), o.node_b(), hoplat::FormatDuration(o.offset()),
           hoplat::FormatClockBound(o.bound(), o.method()),
           o.method() == v1::CLOCK_METHOD_PASSIVE_TWO_WAY ? absl::StrFormat("%+.1f ppm", o.drift_ppm())
                                                          : "-",
           absl::StrCat(o.samples()), o.has_updated() ? Ago(o.updated()) : "-"});
  }
  std::cout << t.Render();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const hoplat::ProgramUsage usage{
      "hoplat", kUsage, {{"Flags", {"collector", "since", "until", "json", "timeout"}}}};
  std::vector<char*> args = hoplat::ParseCommandLineWithUsage(argc, argv, usage);
  if (args.size() < 2) {
    std::fprintf(stderr, "%s\n(--help for flags)\n", kUsage);
    return 2;
  }
  const std::string command = args[1];
  auto arg = [&](size_t i) { return i < args.size() ? std::string(args[i]) : std::string(); };
  auto channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_collector), grpc::InsecureChannelCredentials());
  auto stub = v1::Query::NewStub(channel);
  if (command == "nodes" && args.size() == 2) return Nodes(stub.get());
  if (command == "paths" && args.size() == 2) return Paths(stub.get());
  if (command == "path" && args.size() == 4) return Path(stub.get(), arg(2), arg(3));
  if (command == "hops" && args.size() <= 4) return Hops(stub.get(), arg(2), arg(3));
  if (command == "trace" && args.size() == 3) return Trace(stub.get(), arg(2));
  if (command == "clocks" && args.size() == 2) return Clocks(stub.get());
  std::fprintf(stderr, "hoplat: bad command line\n%s\n", kUsage);
  return 2;
}
