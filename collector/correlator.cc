#include "collector/correlator.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "kmod/include/uapi/linux/hoplat.h"

namespace hoplat {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kNoNode = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxResealsPerAdvance = 4;
constexpr size_t kMaxSpanNodes = 32;  // longer paths get spans for their first 32 nodes only

int64_t MinuteOf(uint64_t ns) { return static_cast<int64_t>(ns / kNsPerMinute); }
// t - d, or 0 before the epoch's start.
uint64_t Before(uint64_t t, uint64_t d) { return t > d ? t - d : 0; }

}  // namespace

absl::Duration ReachAfter(const CorrelatorOptions& options) {
  return options.window +
         (options.correct_clocks ? CorrectionWarmup(options.clock_offsets) : absl::ZeroDuration());
}

Correlator::Correlator(CorrelatorOptions options, int64_t sealed_end_minute)
    : options_(options),
      window_ns_(static_cast<uint64_t>(absl::ToInt64Nanoseconds(options.window))),
      slack_ns_(static_cast<uint64_t>(absl::ToInt64Nanoseconds(options.reorder_slack))),
      reach_after_ns_(static_cast<uint64_t>(absl::ToInt64Nanoseconds(ReachAfter(options)))),
      sealed_end_minute_(sealed_end_minute),
      closed_through_ns_(static_cast<uint64_t>(sealed_end_minute) * kNsPerMinute),
      offsets_(options.clock_offsets) {}

void Correlator::BeginReplay() { replaying_ = true; }

void Correlator::EndReplay(absl::Time now) {
  replaying_ = false;
  // Give every node that was sending before the restart one idle period to
  // reconnect and resend before its absence lets correlation move on.
  for (NodeState& n : nodes_) {
    if (n.has_data) n.last_data = now;
  }
}

uint32_t Correlator::NodeIndex(const std::string& name) {
  auto [it, inserted] = node_index_.try_emplace(name, static_cast<uint32_t>(nodes_.size()));
  if (inserted) {
    nodes_.emplace_back();
    nodes_.back().name = name;
  }
  return it->second;
}

void Correlator::Add(const std::string& node, absl::Span<const Observation> observations,
                     absl::Time now) {
  const uint32_t n = NodeIndex(node);
  NodeState& state = nodes_[n];
  const uint64_t sealed_end_ns = static_cast<uint64_t>(sealed_end_minute_) * kNsPerMinute;
  // In replay, sightings up to a window before the sealed end still matter:
  // they decide how a packet that straddles the boundary splits; and the
  // clock corrections after it rest on the hops of a warm-up before it.
  const uint64_t accept_from = Before(sealed_end_ns, reach_after_ns_);
  // Live, an observation at or before this may belong to a packet already
  // counted (its group closed, or its minute sealed): it is stored, and the
  // minutes it may touch are correlated again from the stored rows.
  const uint64_t late_through =
      std::max(closed_through_ns_, sealed_end_minute_ > 0 ? sealed_end_ns + window_ns_ : 0);
  for (const Observation& o : observations) {
    if (replaying_) {
      if (o.arrival_ns < accept_from) continue;
    } else if (o.arrival_ns <= late_through) {
      if (o.arrival_ns < sealed_end_ns) ++state.late;
      state.max_arrival_ns = std::max(state.max_arrival_ns, o.arrival_ns);
      MarkDirty(Before(o.arrival_ns, window_ns_), o.arrival_ns + reach_after_ns_, n, now);
      continue;
    }
    state.max_arrival_ns = std::max(state.max_arrival_ns, o.arrival_ns);
    auto [it, inserted] = groups_.try_emplace(o.hash);
    Group& g = it->second;
    if (inserted || o.arrival_ns < g.first_arrival_ns) {
      g.first_arrival_ns = o.arrival_ns;
      deadlines_.emplace(o.arrival_ns + window_ns_, o.hash);
    }
    g.sightings.push_back(Sighting::Of(n, o));
    ++pending_observations_;
  }
  state.has_data = true;
  state.announced = false;
  state.released = false;
  state.last_data = now;
}

void Correlator::AddDirtyMinute(int64_t minute) {
  DirtyMinute& d = dirty_[minute];
  d.recorded = true;  // the store has it
}

void Correlator::MarkDirty(uint64_t from_ns, uint64_t to_ns, uint32_t node, absl::Time now) {
  for (int64_t m = MinuteOf(from_ns); m <= MinuteOf(to_ns); ++m) {
    DirtyMinute& d = dirty_[m];
    d.since = now;
    if (node != kNoNode && std::find(d.nodes.begin(), d.nodes.end(), node) == d.nodes.end()) {
      d.nodes.push_back(node);
    }
  }
}

// A dirty sealed minute is correlated again once every node whose late data
// touched it has moved a window past its end (or went quiet): one pass per
// drained spool, not one per batch. seal_timeout bounds the wait.
bool Correlator::ReadyToReseal(int64_t minute, const DirtyMinute& d, absl::Time now) const {
  if (minute >= sealed_end_minute_) return false;
  if (now - d.since >= options_.seal_timeout) return true;
  const uint64_t past = static_cast<uint64_t>(minute + 1) * kNsPerMinute + window_ns_;
  for (uint32_t i : d.nodes) {
    const NodeState& n = nodes_[i];
    if (n.released || now - n.last_data >= options_.idle_timeout) continue;
    if (NodeWatermark(n) < past) return false;
  }
  return true;
}

void Correlator::NodeConnected(const std::string& node, absl::Time now) {
  NodeState& state = nodes_[NodeIndex(node)];
  state.announced = !state.has_data;
  state.released = false;
  state.last_data = now;
}

void Correlator::SetNodeClock(const std::string& node, NodeClock clock) {
  NodeState& state = nodes_[NodeIndex(node)];
  state.domain = 0;
  if (!clock.domain.empty()) {
    state.domain =
        domains_.try_emplace(clock.domain, static_cast<uint32_t>(domains_.size() + 1)).first->second;
  }
  state.clock = std::move(clock);
}

void Correlator::NodeDisconnected(const std::string& node) {
  auto it = node_index_.find(node);
  if (it == node_index_.end()) return;
  nodes_[it->second].announced = false;
  nodes_[it->second].released = true;
}

uint64_t Correlator::NodeWatermark(const NodeState& n) const {
  return n.max_arrival_ns > slack_ns_ ? n.max_arrival_ns - slack_ns_ : 0;
}

// A node whose data runs more than seal_timeout behind the most advanced
// node (a clock far behind, a spool being drained) holds nobody back: its
// packets for minutes the others have finished count as late.
uint64_t Correlator::LaggardBound(absl::Time now) const {
  uint64_t lead = 0;
  for (const NodeState& n : nodes_) {
    if (n.has_data && now - n.last_data < options_.seal_timeout) {
      lead = std::max(lead, NodeWatermark(n));
    }
  }
  const uint64_t lag = static_cast<uint64_t>(absl::ToInt64Nanoseconds(options_.seal_timeout));
  return lead > lag ? lead - lag : 0;
}

uint64_t Correlator::FinalizeWatermark(absl::Time now) const {
  const uint64_t floor = LaggardBound(now);
  uint64_t w = kNever;  // no live node: nothing to wait for
  for (const NodeState& n : nodes_) {
    if (n.announced && now - n.last_data < options_.idle_timeout) return 0;
    if (!n.has_data || n.released || now - n.last_data >= options_.idle_timeout) continue;
    if (NodeWatermark(n) < floor) continue;
    w = std::min(w, NodeWatermark(n));
  }
  return w;
}

// Never above FinalizeWatermark: every node that holds finalization (live,
// not a laggard) holds sealing too.
uint64_t Correlator::SealWatermark(absl::Time now) const {
  const uint64_t floor = LaggardBound(now);
  uint64_t w = kNever;
  for (const NodeState& n : nodes_) {
    if (n.announced && now - n.last_data < options_.idle_timeout) return 0;
    if (!n.has_data || now - n.last_data >= options_.seal_timeout) continue;
    if (NodeWatermark(n) < floor) continue;
    w = std::min(w, NodeWatermark(n));
  }
  if (w == kNever) {
    // Every node is long silent: seal what they sent.
    w = 0;
    for (const NodeState& n : nodes_) w = std::max(w, n.has_data ? n.max_arrival_ns : 0);
    w += window_ns_ + static_cast<uint64_t>(kNsPerMinute);
  }
  return w;
}

SealedMinutes Correlator::Advance(absl::Time now) {
  const uint64_t finalize = FinalizeWatermark(now);
  uint64_t last_closed = 0;
  while (!deadlines_.empty()) {
    const auto [deadline, hash] = deadlines_.top();
    const bool forced = pending_observations_ > options_.max_pending_observations;
    // Replay feeds one node's stored batches after another: watermarks mean
    // nothing until every node's data is in, so only the memory bound closes.
    if ((replaying_ || deadline > finalize) && !forced) break;
    deadlines_.pop();
    auto it = groups_.find(hash);
    if (it == groups_.end() || it->second.first_arrival_ns + window_ns_ != deadline) continue;
    if (replaying_ || deadline > finalize) {
      // Sightings still to come would make a second, partial trajectory:
      // the minutes this packet can touch are correlated again once sealed.
      // (Replay closes only for the memory bound: every close is early.)
      ++forced_closes_;
      const uint64_t first = it->second.first_arrival_ns;
      MarkDirty(Before(first, window_ns_), first + window_ns_ + reach_after_ns_, kNoNode, now);
    } else {
      last_closed = std::max(last_closed, deadline);
    }
    if (!Close(hash, &it->second)) groups_.erase(it);
  }
  if (!replaying_) {
    // Every group with a deadline up to the finalize watermark is closed now
    // (with none live, every group there was).
    closed_through_ns_ =
        std::max(closed_through_ns_, finalize != kNever ? finalize : last_closed);
    // Pairs silent for longer than an estimate lives, before any packet
    // still to be counted: no correction can rest on them any more.
    offsets_.Prune(closed_through_ns_);
  }

  SealedMinutes out;
  out.sealed_end_minute = sealed_end_minute_;
  const uint64_t seal = SealWatermark(now);
  // Minute m is sealed when (m + 1) minutes + window <= seal watermark. The
  // finalize watermark is never below the seal watermark, so every group that
  // starts in a sealed minute is closed by now.
  if (!replaying_ && seal != kNever && seal >= window_ns_) {
    const int64_t target = static_cast<int64_t>((seal - window_ns_) / kNsPerMinute);
    if (target > sealed_end_minute_) {
      auto end = unsealed_.lower_bound(target);
      for (auto it = unsealed_.begin(); it != end; ++it) {
        MinuteRows rows;
        rows.minute = it->first;
        for (auto& [key_id, agg] : it->second) {
          rows.rows.emplace_back(keys_[key_id], std::move(agg));
        }
        out.minutes.push_back(std::move(rows));
      }
      unsealed_.erase(unsealed_.begin(), end);
      sealed_end_minute_ = target;
      out.sealed_end_minute = target;
    }
  }
  for (NodeState& n : nodes_) {
    if (n.late > 0) out.late.emplace_back(n.name, std::exchange(n.late, 0));
  }
  if (!replaying_) {
    for (auto it = dirty_.begin(); it != dirty_.end() && it->first < sealed_end_minute_;) {
      if (!it->second.recorded) {
        out.dirty.push_back(it->first);
        it->second.recorded = true;
      }
      // A few per pass: each reads a minute from the database on the
      // writer's thread (after a restart, every durable mark is ready).
      if (out.reseal.size() < kMaxResealsPerAdvance &&
          ReadyToReseal(it->first, it->second, now)) {
        out.reseal.push_back(it->first);
        it = dirty_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return out;
}

std::vector<Correlator::PairOffset> Correlator::ClockOffsets() {
  // As of the newest data: a pair silent for long has no estimate now.
  // (Read only: what corrections rest on is pruned by Advance.)
  uint64_t lead = 0;
  for (const NodeState& n : nodes_) lead = std::max(lead, n.max_arrival_ns);
  std::vector<PairOffset> out;
  for (const auto& [pair, estimate] : offsets_.Latest(lead)) {
    out.push_back(PairOffset{nodes_[pair.first].name, nodes_[pair.second].name, estimate});
  }
  return out;
}

void Correlator::CloseThrough(uint64_t deadline_ns) {
  while (!deadlines_.empty() && deadlines_.top().first <= deadline_ns) {
    const auto [deadline, hash] = deadlines_.top();
    deadlines_.pop();
    auto it = groups_.find(hash);
    if (it == groups_.end() || it->second.first_arrival_ns + window_ns_ != deadline) continue;
    if (!Close(hash, &it->second)) groups_.erase(it);
  }
}

void Correlator::CloseAll() {
  // In deadline order, as live: a packet's clock correction rests on the
  // hops of the packets before it.
  CloseThrough(kNever);
  groups_.clear();
  deadlines_ = {};
}

MinuteRows Correlator::TakeMinute(int64_t minute) {
  MinuteRows rows;
  rows.minute = minute;
  auto it = unsealed_.find(minute);
  if (it == unsealed_.end()) return rows;
  for (auto& [key_id, agg] : it->second) rows.rows.emplace_back(keys_[key_id], std::move(agg));
  unsealed_.erase(it);
  return rows;
}

bool Correlator::Close(uint64_t hash, Group* group) {
  auto& s = group->sightings;
  pending_observations_ -= s.size();
  std::sort(s.begin(), s.end(),
            [](const Sighting& a, const Sighting& b) { return a.arrival_ns < b.arrival_ns; });
  // The first crossing: sightings up to the first gap of more than a window
  // (as SplitTrajectories cuts them).
  size_t cut = 1;
  while (cut < s.size() && s[cut].arrival_ns - s[cut - 1].arrival_ns <= window_ns_) ++cut;
  scratch_.assign(s.begin(), s.begin() + static_cast<long>(cut));
  SplitTrajectories(&scratch_, window_ns_, &split_);
  for (const std::vector<Sighting>& t : split_) Count(t, hash);
  if (cut == s.size()) return false;
  // A later crossing of the same bytes gets a deadline of its own: it is
  // counted (and its clocks corrected) in order with the packets around it,
  // and sightings of it still to come join it.
  s.erase(s.begin(), s.begin() + static_cast<long>(cut));
  group->first_arrival_ns = s.front().arrival_ns;
  pending_observations_ += s.size();
  deadlines_.emplace(group->first_arrival_ns + window_ns_, hash);
  return true;
}

uint32_t Correlator::KeyId(AggKind kind, std::string key) {
  std::string packed = absl::StrCat(static_cast<int>(kind), ":", key);
  auto [it, inserted] = key_ids_.try_emplace(std::move(packed), static_cast<uint32_t>(keys_.size()));
  if (inserted) keys_.push_back(AggregateKey{kind, std::move(key)});
  return it->second;
}

const Correlator::PathKeys& Correlator::KeysFor(const std::vector<Sighting>& t) {
  std::string packed(t.size() * sizeof(uint32_t), '\0');
  for (size_t i = 0; i < t.size(); ++i) {
    std::memcpy(&packed[i * sizeof(uint32_t)], &t[i].node, sizeof(uint32_t));
  }
  auto it = path_keys_.find(packed);
  if (it != path_keys_.end()) return it->second;

  auto name = [&](size_t i) -> const std::string& { return nodes_[t[i].node].name; };
  PathKeys keys;
  std::vector<std::string> path;
  for (size_t i = 0; i < t.size(); ++i) path.push_back(name(i));
  keys.path = KeyId(AggKind::kPath, KeyText(path));
  const size_t span_nodes = std::min(t.size(), kMaxSpanNodes);
  for (size_t i = 0; i < span_nodes; ++i) {
    for (size_t j = i + 1; j < span_nodes; ++j) {
      keys.spans.push_back(KeyId(AggKind::kSpan, KeyText(name(i), name(j))));
    }
  }
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    keys.hops.push_back(KeyId(AggKind::kHop, KeyText(name(i), name(i + 1))));
    keys.hidden.push_back(KeyId(AggKind::kHiddenRouters, KeyText(name(i), name(i + 1))));
  }
  for (size_t i = 0; i < t.size(); ++i) {
    keys.residences.push_back(KeyId(AggKind::kResidence, name(i)));
  }
  for (size_t i = 0; i + 1 < t.size(); ++i) keys.sender_first.push_back(name(i) < name(i + 1));
  return path_keys_.emplace(std::move(packed), std::move(keys)).first->second;
}

void Correlator::CorrectHops(const std::vector<Sighting>& t,
                             const std::vector<uint8_t>& sender_first) {
  corrections_.resize(t.size() - 1);
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    const NodeState& a = nodes_[t[i].node];
    const NodeState& b = nodes_[t[i + 1].node];
    const uint64_t at = sender_first[i] ? t[i].departure_ns() : t[i + 1].arrival_ns;
    if (a.domain != 0 && a.domain == b.domain) {
      corrections_[i] = ClockCorrection::Exact();
      continue;  // one clock: nothing to estimate
    }
    corrections_[i] = ChooseCorrection(
        a.clock, b.clock,
        options_.correct_clocks ? offsets_.Correction(t[i].node, t[i + 1].node, at)
                                : ClockOffsetEstimator::Estimate{});
    // Only where the TTL, not the clocks, put the two in this order: a hop
    // ordered by arrival would feed the clocks' own error back in. (A
    // correction rests on earlier intervals only: this hop is not in it.)
    const bool ttl_ordered = t[i].ttl != 0 && t[i + 1].ttl != 0 &&
                             (t[i].ttl > t[i + 1].ttl || (t[i].flags & HOPLAT_F_LOCAL_OUT));
    if (ttl_ordered) {
      offsets_.AddHop(t[i].node, t[i + 1].node, at, hoplat::HopLatency(t[i], t[i + 1]));
    } else {
      offsets_.NoteHop(t[i].node, t[i + 1].node, at);
    }
  }
}

ClockCorrection Correlator::SpanCorrection(const std::vector<Sighting>& t, size_t i,
                                           size_t j) const {
  const uint32_t di = nodes_[t[i].node].domain;
  if (t[i].node == t[j].node || (di != 0 && di == nodes_[t[j].node].domain)) {
    return ClockCorrection::Exact();  // one clock (a loop back to the same node, too)
  }
  ClockCorrection c = corrections_[i];
  for (size_t k = i + 1; k < j && c.synchronized(); ++k) c = Chain(c, corrections_[k]);
  if (j == i + 1) return c;
  // Two synchronised clocks bound each other directly (their errors are
  // against true time), perhaps more tightly than the chain between them.
  const ClockCorrection direct =
      ChooseCorrection(nodes_[t[i].node].clock, nodes_[t[j].node].clock, {});
  return direct.synchronized() && (!c.synchronized() || direct.bound_ns < c.bound_ns) ? direct : c;
}

void Correlator::Count(const std::vector<Sighting>& t, uint64_t hash) {
  const uint64_t first = t.front().arrival_ns;
  // In replay, a trajectory that starts in a sealed minute was counted
  // before the restart (or is a warm-up for the clock corrections).
  const bool counted_before = first < static_cast<uint64_t>(sealed_end_minute_) * kNsPerMinute;
  if (t.size() == 1) {
    if (counted_before) return;
    // No trajectory, but the router's residence time is as good as any.
    MinuteAggs& aggs = unsealed_[MinuteOf(first)];
    aggs[KeyId(AggKind::kSingleNode, nodes_[t[0].node].name)].packets++;
    aggs[KeyId(AggKind::kResidence, nodes_[t[0].node].name)].Add(Residence(t[0]), hash,
                                                                  ClockCorrection::Exact());
    AddQueue(t[0], hash, &aggs);
    return;
  }
  if (IsLoop(t)) {
    loop_sender_first_.clear();
    for (size_t i = 0; i + 1 < t.size(); ++i) {
      loop_sender_first_.push_back(nodes_[t[i].node].name < nodes_[t[i + 1].node].name);
    }
    CorrectHops(t, loop_sender_first_);
    if (counted_before) return;
    // Traceable and counted, never a latency of a path or hop.
    std::vector<std::string> path;
    for (const Sighting& s : t) path.push_back(nodes_[s.node].name);
    unsealed_[MinuteOf(first)][KeyId(AggKind::kLoop, KeyText(path))].Add(
        SpanLatency(t.front(), t.back()), hash, SpanCorrection(t, 0, t.size() - 1));
    return;
  }
  const PathKeys& keys = KeysFor(t);
  CorrectHops(t, keys.sender_first);
  if (counted_before) return;
  ++trajectories_;
  if (options_.on_trajectory) options_.on_trajectory(hash, t, corrections_);
  MinuteAggs& aggs = unsealed_[MinuteOf(first)];
  aggs[keys.path].Add(SpanLatency(t.front(), t.back()), hash, SpanCorrection(t, 0, t.size() - 1));
  const size_t span_nodes = std::min(t.size(), kMaxSpanNodes);
  size_t k = 0;
  for (size_t i = 0; i < span_nodes; ++i) {
    for (size_t j = i + 1; j < span_nodes; ++j) {
      aggs[keys.spans[k++]].Add(SpanLatency(t[i], t[j]), hash, SpanCorrection(t, i, j));
    }
  }
  for (size_t i = 0; i + 1 < t.size(); ++i) {
    aggs[keys.hops[i]].Add(hoplat::HopLatency(t[i], t[i + 1]), hash, corrections_[i]);
    if (t[i].ttl != 0 && t[i + 1].ttl != 0) {
      // A router lowers the TTL as it forwards; a sender does not.
      const int64_t lowered = (t[i].flags & HOPLAT_F_LOCAL_OUT) ? 0 : 1;
      const int64_t hidden =
          static_cast<int64_t>(t[i].ttl) - static_cast<int64_t>(t[i + 1].ttl) - lowered;
      aggs[keys.hidden[i]].Add(hidden, hash);  // negative: not a TTL we understand, an error
    }
  }
  for (size_t i = 0; i < t.size(); ++i) {
    aggs[keys.residences[i]].Add(Residence(t[i]), hash, ClockCorrection::Exact());
    AddQueue(t[i], hash, &aggs);
  }
}

void Correlator::AddQueue(const Sighting& s, uint64_t hash, MinuteAggs* aggs) {
  if (!s.has_queue()) return;
  const uint64_t packed = (static_cast<uint64_t>(s.node) << 32) | s.ifindex_out;
  auto [it, inserted] = queue_keys_.try_emplace(packed, 0);
  if (inserted) {
    it->second = KeyId(AggKind::kQueue, InterfaceKeyText(nodes_[s.node].name, s.ifindex_out));
  }
  (*aggs)[it->second].Add(static_cast<int64_t>(s.queue_ns), hash);
}

void Correlator::VisitUnsealed(
    AggKind kind, int64_t from_minute, int64_t to_minute,
    const std::function<void(int64_t, const std::string&, const LatencyAggregate&)>& fn) const {
  for (auto it = unsealed_.lower_bound(from_minute); it != unsealed_.end() && it->first < to_minute;
       ++it) {
    for (const auto& [key_id, agg] : it->second) {
      if (keys_[key_id].kind == kind) fn(it->first, keys_[key_id].text, agg);
    }
  }
}

}  // namespace hoplat
