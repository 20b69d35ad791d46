#include "collector/store/nodes_table.h"

namespace hoplat {

NodeClock NodeClockOf(const v1::ClockState& clock) {
  return NodeClock{clock.clock_domain(), clock.synchronized(), clock.estimated_error_ns()};
}

absl::StatusOr<NodeRegistration> UpsertNode(Db* db, const v1::Hello& hello, int64_t now_ns) {
  const std::string clock = hello.clock().SerializeAsString();
  Stmt upsert(db,
              "INSERT INTO nodes(name, first_seen_ns, last_seen_ns, agent_version, clock) "
              "VALUES (?1, ?2, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE SET "
              "last_seen_ns = ?2, agent_version = ?3, clock = ?4");
  upsert.Bind(1, hello.node_id()).Bind(2, now_ns).Bind(3, hello.agent_version()).BindBlob(4, clock);
  if (absl::Status s = upsert.Run(); !s.ok()) return s;
  Stmt get(db, "SELECT id, highest_seq FROM nodes WHERE name = ?");
  get.Bind(1, hello.node_id());
  absl::Status status;
  if (!get.Step(&status)) return status.ok() ? absl::InternalError("node row vanished") : status;
  NodeRegistration reg;
  reg.node_id = get.Int(0);
  reg.highest_committed_seq = get.UInt(1);
  get.Reset();
  return reg;
}

absl::Status StoreNodeReport(Db* db, int64_t node_id, const v1::NodeReport& report,
                             int64_t now_ns) {
  const std::string blob = report.SerializeAsString();
  if (!report.has_clock()) {
    Stmt s(db, "UPDATE nodes SET report = ?1, last_seen_ns = ?2 WHERE id = ?3");
    return s.BindBlob(1, blob).Bind(2, now_ns).Bind(3, node_id).Run();
  }
  const std::string clock = report.clock().SerializeAsString();
  Stmt s(db, "UPDATE nodes SET report = ?1, last_seen_ns = ?2, clock = ?4 WHERE id = ?3");
  return s.BindBlob(1, blob).Bind(2, now_ns).Bind(3, node_id).BindBlob(4, clock).Run();
}

absl::Status AddLateObservations(Db* db,
                                 const std::vector<std::pair<std::string, uint64_t>>& late) {
  Stmt s(db, "UPDATE nodes SET late = late + ? WHERE name = ?");
  for (const auto& [node, count] : late) {
    if (absl::Status st = s.Bind(1, count).Bind(2, node).Run(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<NodeRow>> ReadNodes(Db* db) {
  Stmt s(db,
         "SELECT name, first_seen_ns, last_seen_ns, agent_version, clock, report, batches, "
         "observations, duplicates, late, last_packet_ns, conflicting_batches FROM nodes "
         "ORDER BY name");
  std::vector<NodeRow> rows;
  absl::Status status;
  while (s.Step(&status)) {
    NodeRow r;
    r.name = std::string(s.Text(0));
    r.first_seen_ns = s.Int(1);
    r.last_seen_ns = s.Int(2);
    r.agent_version = std::string(s.Text(3));
    // Both were serialised by this collector; a parse failure leaves defaults.
    r.clock.ParseFromString(std::string(s.Blob(4)));
    r.report.ParseFromString(std::string(s.Blob(5)));
    r.batches = s.UInt(6);
    r.observations = s.UInt(7);
    r.duplicates = s.UInt(8);
    r.late = s.UInt(9);
    r.last_packet_ns = s.UInt(10);
    r.conflicting_batches = s.UInt(11);
    rows.push_back(std::move(r));
  }
  if (!status.ok()) return status;
  return rows;
}

NodeBatchCounter::NodeBatchCounter(Db* db)
    : update_(db,
              "UPDATE nodes SET last_seen_ns = ?2, batches = batches + ?3, "
              "observations = observations + ?4, duplicates = duplicates + ?5, "
              "highest_seq = max(highest_seq, ?6), "
              "last_packet_ns = max(last_packet_ns, ?7) WHERE id = ?1"),
      conflict_(db, "UPDATE nodes SET conflicting_batches = conflicting_batches + 1 WHERE id = ?") {}

absl::Status NodeBatchCounter::CountConflict(int64_t node_id) {
  return conflict_.Bind(1, node_id).Run();
}

absl::Status NodeBatchCounter::Count(int64_t node_id, uint64_t seq, uint64_t observations,
                                     uint64_t max_arrival_ns, bool duplicate, int64_t now_ns) {
  return update_.Bind(1, node_id)
      .Bind(2, now_ns)
      .Bind(3, duplicate ? 0 : 1)
      .Bind(4, duplicate ? 0 : observations)
      .Bind(5, duplicate ? 1 : 0)
      .Bind(6, seq)
      .Bind(7, duplicate ? 0 : max_arrival_ns)
      .Run();
}

}  // namespace hoplat
