#ifndef HOPLAT_COLLECTOR_STORE_NODES_TABLE_H_
#define HOPLAT_COLLECTOR_STORE_NODES_TABLE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "collector/store/sqlite.h"
#include "collector/clock_correction.h"
#include "hoplat/v1/common.pb.h"
#include "hoplat/v1/ingest.pb.h"

namespace hoplat {

// The `nodes` table: one row per node that ever said Hello, with its
// counters, its last report and its clock state.
struct NodeRow {
  std::string name;
  int64_t first_seen_ns = 0;
  int64_t last_seen_ns = 0;
  std::string agent_version;
  v1::ClockState clock;
  v1::NodeReport report;
  uint64_t batches = 0;
  uint64_t observations = 0;
  uint64_t duplicates = 0;
  uint64_t late = 0;
  uint64_t last_packet_ns = 0;  // by the node's clock; 0 before its first batch
  uint64_t conflicting_batches = 0;
};

// What the correlator needs of a node's clock state.
NodeClock NodeClockOf(const v1::ClockState& clock);

struct NodeRegistration {
  int64_t node_id = 0;
  uint64_t highest_committed_seq = 0;
};

// Creates or updates the node's row for a Hello.
absl::StatusOr<NodeRegistration> UpsertNode(Db* db, const v1::Hello& hello, int64_t now_ns);
absl::Status StoreNodeReport(Db* db, int64_t node_id, const v1::NodeReport& report,
                             int64_t now_ns);
// Observations per node that came after their minute was sealed.
absl::Status AddLateObservations(Db* db,
                                 const std::vector<std::pair<std::string, uint64_t>>& late);
absl::StatusOr<std::vector<NodeRow>> ReadNodes(Db* db);

// Counts committed batches on their nodes' rows; one prepared statement for
// a whole group commit.
class NodeBatchCounter {
 public:
  explicit NodeBatchCounter(Db* db);
  absl::Status Count(int64_t node_id, uint64_t seq, uint64_t observations,
                     uint64_t max_arrival_ns, bool duplicate, int64_t now_ns);
  // A batch refused because its seq was committed with other content.
  absl::Status CountConflict(int64_t node_id);

 private:
  Stmt update_;
  Stmt conflict_;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_NODES_TABLE_H_
