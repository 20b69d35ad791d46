#ifndef HOPLAT_COLLECTOR_CORRELATOR_H_
#define HOPLAT_COLLECTOR_CORRELATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "collector/aggregate.h"
#include "collector/aggregate_key.h"
#include "collector/clock_correction.h"
#include "collector/clock_offset.h"
#include "collector/trajectory.h"
#include "common/observation.h"

namespace hoplat {

struct CorrelatorOptions {
  // The longest a packet may take from its first to its last router; also the
  // gap that separates two crossings of identical bytes.
  absl::Duration window = absl::Seconds(1);
  // How far out of arrival order one node's own observations may come
  // (per-CPU rings drained in turn, batching).
  absl::Duration reorder_slack = absl::Milliseconds(500);
  // A node that sent no data for this long (or disconnected) stops holding
  // back correlation: its packets are assumed to have arrived.
  absl::Duration idle_timeout = absl::Seconds(10);
  // A node silent for this long, or whose data runs this far behind the
  // most advanced node's, stops holding back sealing of minutes (and
  // correlation): its later data re-opens the minutes it touches, which are
  // correlated again from the stored observations. This bounds the minutes
  // kept in memory.
  absl::Duration seal_timeout = absl::Minutes(5);
  // Memory bound: past this, the oldest packets are correlated early (and
  // their minutes again from the stored observations once sealed).
  size_t max_pending_observations = 4'000'000;
  // Take the passively estimated offsets between clocks out of latencies
  // (off: only one clock domain, or the clocks' reported errors, bound a
  // latency; what a benchmark compares against).
  bool correct_clocks = true;
  ClockOffsetOptions clock_offsets;
  // For tests and tools that hold corrected figures against a truth: called
  // with every trajectory counted (not loops) and the correction of each of
  // its hops (hop i: sightings i -> i + 1), on the correlating thread.
  std::function<void(uint64_t hash, const std::vector<Sighting>& trajectory,
                     absl::Span<const ClockCorrection> hops)>
      on_trajectory;
};

// How far after its arrival an observation can change aggregate rows: its
// packet's window, and (correcting clocks) the corrections of the packets
// after it, which rest on its hops. Before its arrival: one window.
absl::Duration ReachAfter(const CorrelatorOptions& options);

// Aggregates of one minute, ready to be written.
struct MinuteRows {
  int64_t minute = 0;  // minutes since the epoch
  std::vector<std::pair<AggregateKey, LatencyAggregate>> rows;
};

// What Advance() hands to storage: minutes that can no longer change, in order.
struct SealedMinutes {
  int64_t sealed_end_minute = 0;   // every minute before this one is now sealed
  std::vector<MinuteRows> minutes;  // the non-empty ones among the newly sealed
  // Observations per node that came after their minute was sealed (each
  // re-opens it), since the previous SealedMinutes.
  std::vector<std::pair<std::string, uint64_t>> late;
  // Sealed minutes whose rows may be incomplete (data came after their
  // packets were correlated, or the memory bound closed packets early): the
  // store keeps a durable mark on each until it is re-sealed.
  std::vector<int64_t> dirty;
  // Sealed minutes to correlate again now from the stored observations,
  // replacing their rows (after `minutes` and `dirty` are applied).
  std::vector<int64_t> reseal;
  // Every batch up to this id was correlated when this was made (set by
  // CorrelationWorker): the store marks what later ones touch under the
  // newly sealed minutes.
  int64_t correlated_through_batch = 0;

  bool empty() const { return minutes.empty() && late.empty() && dirty.empty() && reseal.empty(); }
};

// Turns observations from many nodes into trajectories and per-minute
// aggregates, in packet time.
//
// Each node has a watermark: the latest arrival it sent minus reorder_slack.
// A packet's group (all sightings of its hash) is closed once the smallest
// watermark of the live nodes passes its first arrival plus the window; a
// minute is sealed once every recently seen node's watermark passes its end
// plus the window. So batches from different nodes may come late and in any
// order without splitting trajectories, as long as they come within those
// bounds.
//
// Data that comes later still (a node away longer than idle_timeout, or
// more than seal_timeout behind) is not held in memory: the minutes it may
// touch are marked dirty and, once sealed and once the nodes that dirtied
// them have moved past them, handed back in SealedMinutes::reseal to be
// correlated again from the stored rows (MinuteRecorrelator). So the answers
// converge to those of an uninterrupted run whatever the order and delay.
// Not thread-safe: one thread drives it (CorrelationWorker).
class Correlator {
 public:
  Correlator(CorrelatorOptions options, int64_t sealed_end_minute);

  // Replay mode rebuilds state after a restart from observations already
  // stored: trajectories that start in sealed minutes were counted before,
  // so they are dropped, and nothing is counted late.
  void BeginReplay();
  void EndReplay(absl::Time now);

  void Add(const std::string& node, absl::Span<const Observation> observations, absl::Time now);
  // A sealed minute known to need correlating again (the store's durable
  // marks, after a restart): re-sealed at the next Advance().
  void AddDirtyMinute(int64_t minute);
  // A node that connects holds correlation back for one idle_timeout, or
  // until it sends data: its (first, or spooled) batches are on their way.
  void NodeConnected(const std::string& node, absl::Time now);
  void NodeDisconnected(const std::string& node);
  // What the node says of its clock (Hello, NodeReport): which nodes share
  // one clock, and how well a clock is synchronised. Unknown until told: a
  // clock shared with nobody and not synchronised.
  void SetNodeClock(const std::string& node, NodeClock clock);

  // Closes the groups the watermarks allow, then seals what can be sealed.
  SealedMinutes Advance(absl::Time now);

  // Calls fn for each aggregate row of unsealed minutes in [from, to) of the
  // given kind: what queries add to the sealed rows read from the database.
  void VisitUnsealed(AggKind kind, int64_t from_minute, int64_t to_minute,
                     const std::function<void(int64_t minute, const std::string& key,
                                              const LatencyAggregate&)>& fn) const;

  // For MinuteRecorrelator, in replay mode: closes the groups whose
  // deadline is at or before deadline_ns (no sighting can join them any
  // more), or every group; then takes the rows of one minute.
  void CloseThrough(uint64_t deadline_ns);
  void CloseAll();
  MinuteRows TakeMinute(int64_t minute);

  // Passive clock offsets between adjacent nodes, from the hops counted.
  struct PairOffset {
    std::string a, b;
    ClockOffsetEstimator::Estimate estimate;  // b's clock minus a's
  };
  std::vector<PairOffset> ClockOffsets();

  int64_t sealed_end_minute() const { return sealed_end_minute_; }
  size_t dirty_minutes() const { return dirty_.size(); }
  size_t pending_observations() const { return pending_observations_; }
  uint64_t forced_closes() const { return forced_closes_; }
  uint64_t trajectories() const { return trajectories_; }

 private:
  struct NodeState {
    std::string name;
    NodeClock clock;
    uint32_t domain = 0;  // clock.domain interned; 0: shares its clock with nobody
    bool has_data = false;
    bool announced = false;  // connected, no data yet: holds everything back
    // Disconnected: no longer holds correlation back (its packets are in),
    // but still holds sealing for seal_timeout (it may reconnect and resume).
    bool released = false;
    uint64_t max_arrival_ns = 0;
    absl::Time last_data = absl::InfinitePast();
    uint64_t late = 0;
  };
  struct Group {
    uint64_t first_arrival_ns = 0;
    absl::InlinedVector<Sighting, 3> sightings;
  };
  // Keys of every row one trajectory over a given node sequence touches.
  struct PathKeys {
    uint32_t path;
    std::vector<uint32_t> spans;  // (i, j), i < j, row by row
    std::vector<uint32_t> hops;
    std::vector<uint32_t> hidden;  // kHiddenRouters, hop by hop
    std::vector<uint32_t> residences;
    // Hop by hop: the sender's name sorts before the receiver's, so the hop
    // is placed in time by the sender's exit (else the receiver's arrival):
    // both directions of a pair on one node's clock, whatever the order
    // nodes were first seen in.
    std::vector<uint8_t> sender_first;
  };
  using MinuteAggs = absl::flat_hash_map<uint32_t, LatencyAggregate>;
  struct DirtyMinute {
    absl::InlinedVector<uint32_t, 2> nodes;  // whose late data touched it
    absl::Time since = absl::InfinitePast();  // the last time it was touched
    bool recorded = false;                     // handed out in SealedMinutes::dirty
  };

  uint32_t NodeIndex(const std::string& name);
  uint32_t KeyId(AggKind kind, std::string key);
  // A sighting's egress queue time, if timed, into its node and interface's row.
  void AddQueue(const Sighting& s, uint64_t hash, MinuteAggs* aggs);
  const PathKeys& KeysFor(const std::vector<Sighting>& trajectory);
  // Counts the group's first crossing; true if later crossings of the same
  // bytes were left in *group with a deadline of their own (else the caller
  // erases it).
  bool Close(uint64_t hash, Group* group);
  // Marks the minutes overlapping [from_ns, to_ns] dirty, touched by `node`
  // (kNoNode: by an early close).
  void MarkDirty(uint64_t from_ns, uint64_t to_ns, uint32_t node, absl::Time now);
  bool ReadyToReseal(int64_t minute, const DirtyMinute& d, absl::Time now) const;
  void Count(const std::vector<Sighting>& trajectory, uint64_t hash);
  // The correction of each hop of t (hop i: t[i] -> t[i + 1]) into
  // corrections_, feeding the estimator with the hops the TTL ordered.
  void CorrectHops(const std::vector<Sighting>& t, const std::vector<uint8_t>& sender_first);
  // From t[i]'s clock to t[j]'s, i < j, from corrections_.
  ClockCorrection SpanCorrection(const std::vector<Sighting>& t, size_t i, size_t j) const;
  uint64_t NodeWatermark(const NodeState& n) const;
  uint64_t LaggardBound(absl::Time now) const;
  uint64_t FinalizeWatermark(absl::Time now) const;
  uint64_t SealWatermark(absl::Time now) const;

  const CorrelatorOptions options_;
  const uint64_t window_ns_;
  const uint64_t slack_ns_;
  const uint64_t reach_after_ns_;  // ReachAfter(options_)
  int64_t sealed_end_minute_;
  bool replaying_ = false;
  // Every group whose deadline is at or before this was closed: an
  // observation at or before it may belong to a packet already counted.
  uint64_t closed_through_ns_;

  std::vector<NodeState> nodes_;
  absl::flat_hash_map<std::string, uint32_t> node_index_;

  absl::flat_hash_map<uint64_t, Group> groups_;
  // (deadline, hash); an entry whose group has another deadline is stale.
  std::priority_queue<std::pair<uint64_t, uint64_t>, std::vector<std::pair<uint64_t, uint64_t>>,
                      std::greater<>>
      deadlines_;
  size_t pending_observations_ = 0;

  std::vector<AggregateKey> keys_;
  absl::flat_hash_map<std::string, uint32_t> key_ids_;  // kind byte + key text
  absl::flat_hash_map<std::string, PathKeys> path_keys_;  // packed node indexes
  absl::flat_hash_map<uint64_t, uint32_t> queue_keys_;  // node << 32 | ifindex -> key
  std::map<int64_t, MinuteAggs> unsealed_;
  std::map<int64_t, DirtyMinute> dirty_;
  ClockOffsetEstimator offsets_;
  absl::flat_hash_map<std::string, uint32_t> domains_;
  std::vector<ClockCorrection> corrections_;
  std::vector<uint8_t> loop_sender_first_;

  std::vector<Sighting> scratch_;
  std::vector<std::vector<Sighting>> split_;
  uint64_t forced_closes_ = 0;
  uint64_t trajectories_ = 0;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_CORRELATOR_H_
