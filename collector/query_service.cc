#include "collector/query_service.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "collector/aggregate_key.h"
#include "collector/trajectory.h"
#include "common/grpc_status.h"
#include "common/hash_text.h"
#include "common/timestamps.h"
#include "common/node_id.h"
#include "google/protobuf/util/time_util.h"

namespace hoplat {
namespace {

using google::protobuf::util::TimeUtil;


// An unknown name answers NOT_FOUND everywhere (a node here, a packet in
// TracePacket), never an empty result that looks like "no traffic".
absl::StatusOr<const NodeRow*> FindNode(const std::vector<NodeRow>& nodes,
                                        const std::string& name) {
  auto it = std::find_if(nodes.begin(), nodes.end(),
                         [&](const NodeRow& r) { return r.name == name; });
  if (it == nodes.end()) {
    return absl::NotFoundError(absl::StrCat("no node \"", name, "\" has ever connected"));
  }
  return &*it;
}

struct Range {
  int64_t start_ns;
  int64_t end_ns;
  int64_t from_minute;  // whole minutes covering [start, end)
  int64_t to_minute;
};

// The range asked for, clamped to what the store holds, and the whole
// minutes around it (see TimeRange in query.proto).
absl::StatusOr<Range> ResolveRange(const v1::TimeRange& r, absl::Time now,
                                   absl::Duration default_span) {
  Range out;
  if (r.has_end()) {
    absl::StatusOr<int64_t> end = ClampedTimestampToNanos(r.end(), "time range end");
    if (!end.ok()) return end.status();
    out.end_ns = *end;
  } else {
    out.end_ns = std::min(absl::ToUnixNanos(now), kLatestNanos);
  }
  if (r.has_start()) {
    absl::StatusOr<int64_t> start = ClampedTimestampToNanos(r.start(), "time range start");
    if (!start.ok()) return start.status();
    out.start_ns = *start;
  } else {
    out.start_ns = std::max<int64_t>(0, out.end_ns - absl::ToInt64Nanoseconds(default_span));
  }
  if (out.start_ns >= out.end_ns) {
    return absl::InvalidArgumentError("time range: start must be before end");
  }
  out.from_minute = out.start_ns / kNsPerMinute;
  out.to_minute = (out.end_ns + kNsPerMinute - 1) / kNsPerMinute;
  return out;
}

void FillCovered(const Range& r, v1::TimeRange* out) {
  *out->mutable_start() = TimeUtil::NanosecondsToTimestamp(r.from_minute * kNsPerMinute);
  *out->mutable_end() = TimeUtil::NanosecondsToTimestamp(r.to_minute * kNsPerMinute);
}

google::protobuf::Duration Nanos(int64_t ns) { return TimeUtil::NanosecondsToDuration(ns); }

void FillSummary(const LatencyAggregate& a, v1::LatencySummary* out) {
  const Histogram& h = a.latency;
  out->set_count(h.count());
  out->set_clock_errors(a.clock_errors);
  out->set_unsynchronized(a.unsynchronized);
  out->set_clock_method(static_cast<v1::ClockMethod>(a.bound_method));
  *out->mutable_clock_bound() = Nanos(a.bound_max_ns);
  const uint64_t bounded = h.count() + a.clock_errors;
  if (bounded > 0) {
    *out->mutable_clock_bound_mean() =
        Nanos(static_cast<int64_t>(a.bound_sum_ns / bounded));
  }
  if (h.count() == 0) return;
  *out->mutable_min() = Nanos(h.min());
  *out->mutable_mean() = Nanos(static_cast<int64_t>(h.mean() + 0.5));
  *out->mutable_p50() = Nanos(h.Percentile(0.50));
  *out->mutable_p90() = Nanos(h.Percentile(0.90));
  *out->mutable_p99() = Nanos(h.Percentile(0.99));
  *out->mutable_p999() = Nanos(h.Percentile(0.999));
  *out->mutable_max() = Nanos(h.max());
}

}  // namespace

namespace {

// Sealed rows plus in-memory rows of one kind, merged per key.
absl::Status MergeAggregates(QueryStore* db, CorrelationWorker* worker, AggKind kind,
                             const std::string* key, const Range& range,
                             std::map<std::string, LatencyAggregate>* out) {
  absl::Status status;
  auto add = [&](const std::string& k, const LatencyAggregate& a) {
    if (key == nullptr || k == *key) (*out)[k].Merge(a);
  };
  worker->ReadAggregates(kind, range.from_minute, range.to_minute,
                         [&]() -> int64_t {
                           absl::StatusOr<int64_t> sealed = db->SealedAggregates(
                               kind, key, range.from_minute, range.to_minute, add);
                           if (!sealed.ok()) {
                             status = sealed.status();
                             return INT64_MAX;  // and skip memory: the answer is an error
                           }
                           return *sealed;
                         },
                         add);
  return status;
}

}  // namespace

grpc::Status QueryService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*,
                                     v1::ListNodesResponse* response) {
  absl::StatusOr<std::vector<NodeRow>> nodes = db_.Nodes();
  if (!nodes.ok()) return ToGrpcStatus(nodes.status());
  for (const NodeRow& r : *nodes) {
    v1::Node* n = response->add_nodes();
    n->set_node_id(r.name);
    *n->mutable_first_seen() = TimeUtil::NanosecondsToTimestamp(r.first_seen_ns);
    *n->mutable_last_seen() = TimeUtil::NanosecondsToTimestamp(r.last_seen_ns);
    if (r.last_packet_ns > 0) {
      *n->mutable_last_packet() =
          TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(r.last_packet_ns));
    }
    n->set_connected(options_.is_connected(r.name));
    n->set_refused_streams(options_.refused_streams(r.name));
    n->set_conflicting_batches(r.conflicting_batches);
    n->set_agent_version(r.agent_version);
    *n->mutable_clock() = r.clock;
    *n->mutable_module() = r.report.module();
    *n->mutable_agent() = r.report.agent();
    n->set_batches_stored(r.batches);
    n->set_observations_stored(r.observations);
    n->set_duplicate_batches(r.duplicates);
    n->set_late_observations(r.late);
  }
  absl::StatusOr<QueryStore::CorrelationRow> correlation = db_.Correlation();
  if (!correlation.ok()) return ToGrpcStatus(correlation.status());
  v1::Correlation* c = response->mutable_correlation();
  *c->mutable_sealed_end() =
      TimeUtil::NanosecondsToTimestamp(correlation->sealed_end_minute * kNsPerMinute);
  c->set_resealed_minutes(static_cast<uint64_t>(correlation->resealed_minutes));
  c->set_minutes_to_reseal(worker_->MinutesToReseal());
  return grpc::Status::OK;
}

grpc::Status QueryService::ListPaths(grpc::ServerContext*, const v1::ListPathsRequest* request,
                                     v1::ListPathsResponse* response) {
  absl::StatusOr<Range> range = ResolveRange(request->range(), options_.clock(), absl::Hours(1));
  if (!range.ok()) return ToGrpcStatus(range.status());
  std::map<std::string, LatencyAggregate> paths, singles;
  if (absl::Status s = MergeAggregates(&db_, worker_, AggKind::kPath, nullptr, *range, &paths);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s =
          MergeAggregates(&db_, worker_, AggKind::kSingleNode, nullptr, *range, &singles);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  std::vector<std::pair<std::string, LatencyAggregate>> sorted(paths.begin(), paths.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second.packets > b.second.packets;
  });
  for (const auto& [key, agg] : sorted) {
    v1::PathSummary* p = response->add_paths();
    for (std::string& node : KeyNodes(key)) p->add_nodes(std::move(node));
    FillSummary(agg, p->mutable_latency());
    p->set_slowest_hash(agg.slowest_hash);
    p->set_slowest_hash_hex(HashToHex(agg.slowest_hash));
  }
  uint64_t single = 0;
  for (const auto& [key, agg] : singles) single += agg.packets;
  response->set_single_node_packets(single);
  std::map<std::string, LatencyAggregate> loops;
  if (absl::Status s = MergeAggregates(&db_, worker_, AggKind::kLoop, nullptr, *range, &loops);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  for (const auto& [key, agg] : loops) {
    v1::LoopSummary* l = response->add_loops();
    for (std::string& node : KeyNodes(key)) l->add_nodes(std::move(node));
    l->set_packets(agg.packets);
    *l->mutable_longest() = Nanos(agg.latency.max());
    l->set_slowest_hash(agg.slowest_hash);
    l->set_slowest_hash_hex(HashToHex(agg.slowest_hash));
  }
  FillCovered(*range, response->mutable_covered());
  return grpc::Status::OK;
}

grpc::Status QueryService::PathLatency(grpc::ServerContext*,
                                       const v1::PathLatencyRequest* request,
                                       v1::PathLatencyResponse* response) {
  for (const std::string& node : {request->from_node(), request->to_node()}) {
    if (absl::Status s = ValidateNodeId(node); !s.ok()) {
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat("from_node/to_node: ", s.message())));
    }
  }
  if (request->from_node() == request->to_node()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "from_node and to_node are the same node: its residence time is in HopLatency"));
  }
  absl::StatusOr<Range> range = ResolveRange(request->range(), options_.clock(), absl::Hours(1));
  if (!range.ok()) return ToGrpcStatus(range.status());
  absl::StatusOr<std::vector<NodeRow>> nodes = db_.Nodes();
  if (!nodes.ok()) return ToGrpcStatus(nodes.status());
  absl::StatusOr<const NodeRow*> from = FindNode(*nodes, request->from_node());
  if (!from.ok()) return ToGrpcStatus(from.status());
  absl::StatusOr<const NodeRow*> to = FindNode(*nodes, request->to_node());
  if (!to.ok()) return ToGrpcStatus(to.status());
  const std::string key = KeyText(request->from_node(), request->to_node());
  std::map<std::string, LatencyAggregate> aggs;
  if (absl::Status s = MergeAggregates(&db_, worker_, AggKind::kSpan, &key, *range, &aggs);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  response->set_from_node(request->from_node());
  response->set_to_node(request->to_node());
  FillSummary(aggs[key], response->mutable_latency());
  *response->mutable_clock_error_bound() = response->latency().clock_bound();
  response->set_clocks_synchronized(response->latency().count() > 0);
  response->set_clock_method(response->latency().clock_method());
  FillCovered(*range, response->mutable_covered());
  return grpc::Status::OK;
}

grpc::Status QueryService::HopLatency(grpc::ServerContext*, const v1::HopLatencyRequest* request,
                                      v1::HopLatencyResponse* response) {
  if (!request->node().empty()) {
    if (absl::Status s = ValidateNodeId(request->node()); !s.ok()) return ToGrpcStatus(s);
  }
  absl::StatusOr<Range> range = ResolveRange(request->range(), options_.clock(), absl::Hours(1));
  if (!range.ok()) return ToGrpcStatus(range.status());
  absl::StatusOr<std::vector<NodeRow>> nodes = db_.Nodes();
  if (!nodes.ok()) return ToGrpcStatus(nodes.status());
  if (!request->node().empty()) {
    if (absl::StatusOr<const NodeRow*> row = FindNode(*nodes, request->node()); !row.ok()) {
      return ToGrpcStatus(row.status());
    }
  }
  std::map<std::string, LatencyAggregate> hops, residences;
  if (absl::Status s = MergeAggregates(&db_, worker_, AggKind::kHop, nullptr, *range, &hops);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s =
          MergeAggregates(&db_, worker_, AggKind::kResidence, nullptr, *range, &residences);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  std::map<std::string, LatencyAggregate> hidden, queues;
  if (absl::Status s =
          MergeAggregates(&db_, worker_, AggKind::kHiddenRouters, nullptr, *range, &hidden);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = MergeAggregates(&db_, worker_, AggKind::kQueue, nullptr, *range, &queues);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  const std::string& only = request->node();
  for (const auto& [key, agg] : hops) {
    const std::vector<std::string> ends = KeyNodes(key);  // a hop names two nodes
    const std::string& from = ends.front();
    const std::string& to = ends.back();
    if (!only.empty() && from != only && to != only) continue;
    v1::HopSummary* h = response->add_hops();
    h->set_from_node(from);
    h->set_to_node(to);
    FillSummary(agg, h->mutable_latency());
    *h->mutable_clock_error_bound() = h->latency().clock_bound();
    h->set_clock_method(h->latency().clock_method());
    if (auto it = hidden.find(key); it != hidden.end() && it->second.latency.count() > 0) {
      h->set_hidden_routers(static_cast<uint32_t>(it->second.latency.Percentile(0.5)));
      h->set_hidden_routers_max(static_cast<uint32_t>(it->second.latency.max()));
    }
  }
  for (const auto& [node, agg] : residences) {
    if (!only.empty() && node != only) continue;
    v1::ResidenceSummary* r = response->add_residences();
    r->set_node(node);
    FillSummary(agg, r->mutable_latency());
  }
  // Per router over its interfaces, then per interface.
  std::map<std::string, LatencyAggregate> per_router;
  std::map<std::pair<std::string, uint32_t>, const LatencyAggregate*> per_interface;
  for (const auto& [key, agg] : queues) {
    std::string node;
    uint32_t ifindex = 0;
    if (!ParseInterfaceKey(key, &node, &ifindex)) continue;  // not a key this collector wrote
    if (!only.empty() && node != only) continue;
    per_router[node].Merge(agg);
    per_interface[{node, ifindex}] = &agg;
  }
  for (const auto& [node, agg] : per_router) {
    v1::QueueSummary* q = response->add_queues();
    q->set_node(node);
    FillSummary(agg, q->mutable_latency());
  }
  std::map<std::pair<std::string, uint32_t>, std::string> interface_names;
  for (const NodeRow& n : *nodes) {
    for (const v1::NetworkInterface& i : n.report.interfaces()) {
      interface_names[{n.name, i.ifindex()}] = i.name();
    }
  }
  for (const auto& [at, agg] : per_interface) {
    v1::QueueSummary* q = response->add_queues();
    q->set_node(at.first);
    q->set_ifindex(at.second);
    if (auto it = interface_names.find(at); it != interface_names.end()) {
      q->set_interface_name(it->second);
    }
    FillSummary(*agg, q->mutable_latency());
  }
  FillCovered(*range, response->mutable_covered());
  return grpc::Status::OK;
}

grpc::Status QueryService::TracePacket(grpc::ServerContext*,
                                       const v1::TracePacketRequest* request,
                                       v1::TracePacketResponse* response) {
  uint64_t hash = request->hash();
  if (!request->hash_hex().empty()) {
    absl::StatusOr<uint64_t> parsed = HashFromHex(request->hash_hex());
    if (!parsed.ok()) return ToGrpcStatus(parsed.status());
    if (hash != 0 && hash != *parsed) {
      return ToGrpcStatus(absl::InvalidArgumentError("hash and hash_hex name different packets"));
    }
    hash = *parsed;
  } else if (hash == 0) {
    return ToGrpcStatus(absl::InvalidArgumentError("give the packet's hash (hash or hash_hex)"));
  }
  int64_t from = 0, to = INT64_MAX;
  if (request->has_range()) {
    absl::StatusOr<Range> range =
        ResolveRange(request->range(), options_.clock(), absl::Hours(24 * 365));
    if (!range.ok()) return ToGrpcStatus(range.status());
    from = range->start_ns;
    to = range->end_ns;
  }
  std::vector<int64_t> recent;
  store_->hash_index().Lookup(hash, &recent);
  absl::StatusOr<std::vector<StoredObservation>> found = db_.Trace(hash, from, to, std::move(recent));
  if (!found.ok()) return ToGrpcStatus(found.status());
  if (found->empty()) {
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat(
        "no packet with hash ", HashToHex(hash), " is stored",
        request->has_range() ? " in that range" : "")));
  }

  // Name nodes by index for the splitter, and keep every observation's extra
  // fields by (node, arrival) to put them back.
  std::vector<std::string> names;
  absl::flat_hash_map<std::string, uint32_t> index;
  std::vector<Sighting> sightings;
  std::map<std::pair<uint32_t, uint64_t>, const Observation*> full;
  for (const StoredObservation& s : *found) {
    auto [it, inserted] = index.try_emplace(s.node, static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(s.node);
    sightings.push_back(Sighting::Of(it->second, s.observation));
    full[{it->second, s.observation.arrival_ns}] = &s.observation;
  }
  std::vector<std::vector<Sighting>> trajectories;
  SplitTrajectories(&sightings, static_cast<uint64_t>(absl::ToInt64Nanoseconds(options_.window)),
                    &trajectories);
  response->set_hash(hash);
  response->set_hash_hex(HashToHex(hash));
  for (const std::vector<Sighting>& t : trajectories) {
    v1::Trajectory* out = response->add_trajectories();
    for (size_t i = 0; i < t.size(); ++i) {
      const Observation& o = *full[{t[i].node, t[i].arrival_ns}];
      v1::Observation* ob = out->add_observations();
      ob->set_node_id(names[t[i].node]);
      *ob->mutable_arrival() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(o.arrival_ns));
      *ob->mutable_exit() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(o.exit_ns));
      ob->set_arrival_ns(o.arrival_ns);
      ob->set_exit_ns(o.exit_ns);
      ob->set_ifindex_in(o.ifindex_in);
      ob->set_ifindex_out(o.ifindex_out);
      ob->set_length(o.length);
      ob->set_flags(o.flags);
      ob->set_ttl(o.ttl);
      ob->set_gso_segs(o.gso_segs);
      *ob->mutable_residence() = Nanos(Residence(t[i]));
      if (t[i].has_queue()) *ob->mutable_queue() = Nanos(static_cast<int64_t>(t[i].queue_ns));
      if (i > 0) {
        const int64_t hop = hoplat::HopLatency(t[i - 1], t[i]);
        *ob->mutable_hop_from_previous() = Nanos(hop);
        ob->set_hop_from_previous_ns(hop);
        ob->set_clock_error(hop < 0);
      }
    }
    const int64_t span = SpanLatency(t.front(), t.back());
    *out->mutable_path_latency() = Nanos(span);
    out->set_path_latency_ns(span);
    out->set_loop(IsLoop(t));
  }
  return grpc::Status::OK;
}

grpc::Status QueryService::ClockOffsets(grpc::ServerContext*, const v1::ClockOffsetsRequest*,
                                        v1::ClockOffsetsResponse* response) {
  absl::StatusOr<std::vector<NodeRow>> nodes = db_.Nodes();
  if (!nodes.ok()) return ToGrpcStatus(nodes.status());
  std::map<std::string, NodeClock> clocks;
  for (const NodeRow& r : *nodes) clocks[r.name] = NodeClockOf(r.clock);
  for (const Correlator::PairOffset& p : worker_->ClockOffsets()) {
    v1::ClockOffset* o = response->add_offsets();
    o->set_node_a(p.a);
    o->set_node_b(p.b);
    const ClockOffsetEstimator::Estimate& e = p.estimate;
    // The rule the correlator corrects by.
    const ClockCorrection c = ChooseCorrection(clocks[p.a], clocks[p.b], e);
    const v1::ClockMethod method = static_cast<v1::ClockMethod>(c.method);
    o->set_method(method);
    *o->mutable_offset() = Nanos(c.offset_ns);
    o->set_offset_ns(c.offset_ns);
    // NONE: nothing bounds it (no bound rather than one that looks good).
    if (c.synchronized()) *o->mutable_bound() = Nanos(c.bound_ns);
    if (method == v1::CLOCK_METHOD_PASSIVE_TWO_WAY) {
      o->set_drift_ppm(e.drift_ppm);
      o->set_samples(e.samples);
      *o->mutable_updated() = TimeUtil::NanosecondsToTimestamp(static_cast<int64_t>(e.updated_ns));
    }
  }
  return grpc::Status::OK;
}

}  // namespace hoplat
