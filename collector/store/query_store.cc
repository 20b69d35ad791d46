#include "collector/store/query_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "collector/store/aggregate_row.h"
#include "collector/store/hash_index.h"
#include "common/observation_codec.h"

namespace hoplat {

// Returns the connection to the pool when it goes out of scope.
class QueryStore::Lease {
 public:
  Lease(QueryStore* owner, std::unique_ptr<Db> db) : owner_(owner), db_(std::move(db)) {}
  ~Lease() {
    if (db_) owner_->Release(std::move(db_));
  }
  Db* get() { return db_.get(); }

 private:
  QueryStore* owner_;
  std::unique_ptr<Db> db_;
};

absl::StatusOr<std::unique_ptr<Db>> QueryStore::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Db> db = std::move(idle_.back());
      idle_.pop_back();
      return db;
    }
  }
  return Db::Open(path_, /*create=*/false);
}

void QueryStore::Release(std::unique_ptr<Db> db) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < 8) idle_.push_back(std::move(db));
}

absl::StatusOr<std::vector<NodeRow>> QueryStore::Nodes() {
  absl::StatusOr<std::unique_ptr<Db>> db = Acquire();
  if (!db.ok()) return db.status();
  Lease lease(this, std::move(*db));
  Stmt s(lease.get(),
         "SELECT name, first_seen_ns, last_seen_ns, agent_version, clock, report, batches, "
         "observations, duplicates, late FROM nodes ORDER BY name");
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
    rows.push_back(std::move(r));
  }
  if (!status.ok()) return status;
  return rows;
}

absl::StatusOr<int64_t> QueryStore::SealedAggregates(
    AggKind kind, const std::string* key, int64_t from_minute, int64_t to_minute,
    const std::function<void(const std::string&, const LatencyAggregate&)>& fn) {
  absl::StatusOr<std::unique_ptr<Db>> db = Acquire();
  if (!db.ok()) return db.status();
  Lease lease(this, std::move(*db));
  // One read transaction: the rows and the sealed end come from one snapshot.
  if (absl::Status s = lease.get()->Exec("BEGIN"); !s.ok()) return s;
  struct Rollback {
    Db* db;
    ~Rollback() { db->Exec("ROLLBACK").IgnoreError(); }
  } rollback{lease.get()};

  Stmt meta(lease.get(), "SELECT value FROM meta WHERE key = 'sealed_end_minute'");
  absl::Status status;
  if (!meta.Step(&status)) return status.ok() ? absl::DataLossError("meta row missing") : status;
  const int64_t sealed_end = meta.Int(0);
  meta.Reset();

  Stmt rows(lease.get(),
            key != nullptr
                ? "SELECT key, packets, clock_errors, slowest_hash, histogram FROM aggregates "
                  "WHERE kind = ?1 AND key = ?4 AND minute >= ?2 AND minute < ?3"
                : "SELECT key, packets, clock_errors, slowest_hash, histogram FROM aggregates "
                  "WHERE kind = ?1 AND minute >= ?2 AND minute < ?3");
  rows.Bind(1, static_cast<int>(kind)).Bind(2, from_minute).Bind(3, std::min(to_minute, sealed_end));
  if (key != nullptr) rows.Bind(4, *key);
  std::string current_key;
  while (rows.Step(&status)) {
    LatencyAggregate agg;
    if (absl::Status d = ReadAggregateColumns(rows, 1, &agg); !d.ok()) {
      rows.Reset();
      return d;
    }
    current_key.assign(rows.Text(0).data(), rows.Text(0).size());
    fn(current_key, agg);
  }
  if (!status.ok()) return status;
  return sealed_end;
}

absl::StatusOr<std::vector<StoredObservation>> QueryStore::Trace(
    uint64_t hash, int64_t from_ns, int64_t to_ns, std::vector<int64_t> batch_ids) {
  absl::StatusOr<std::unique_ptr<Db>> db = Acquire();
  if (!db.ok()) return db.status();
  Lease lease(this, std::move(*db));
  absl::Status status;
  Stmt blocks(lease.get(),
              "SELECT entries FROM hash_index WHERE bucket = ? AND max_arrival_ns >= ? "
              "AND min_arrival_ns < ?");
  blocks.Bind(1, HashIndexBuffer::BucketOf(hash)).Bind(2, from_ns).Bind(3, to_ns);
  while (blocks.Step(&status)) HashIndexBuffer::LookupInBlock(blocks.Blob(0), hash, &batch_ids);
  if (!status.ok()) return status;

  std::sort(batch_ids.begin(), batch_ids.end());
  batch_ids.erase(std::unique(batch_ids.begin(), batch_ids.end()), batch_ids.end());
  Stmt batch(lease.get(),
             "SELECT n.name, b.data FROM batches b JOIN nodes n ON n.id = b.node WHERE b.id = ?");
  std::vector<StoredObservation> out;
  std::vector<Observation> decoded;
  for (int64_t id : batch_ids) {
    batch.Bind(1, id);
    if (!batch.Step(&status)) {
      if (!status.ok()) return status;
      continue;  // removed by retention since
    }
    decoded.clear();
    absl::Status d = DecodeObservations(batch.Blob(1), &decoded);
    const std::string node(batch.Text(0));
    batch.Reset();
    if (!d.ok()) return absl::DataLossError(absl::StrCat("batch ", id, ": ", d.message()));
    for (const Observation& o : decoded) {
      if (o.hash == hash && static_cast<int64_t>(o.arrival_ns) >= from_ns &&
          static_cast<int64_t>(o.arrival_ns) < to_ns) {
        out.push_back(StoredObservation{node, o});
      }
    }
  }
  return out;
}

}  // namespace hoplat
