#include "collector/store/query_store.h"

#include <algorithm>

#include "collector/store/aggregates_table.h"
#include "collector/store/batches_table.h"
#include "collector/store/hash_index.h"
#include "collector/store/hash_index_table.h"
#include "collector/store/meta_table.h"

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
  return ReadNodes(lease.get());
}

absl::StatusOr<QueryStore::CorrelationRow> QueryStore::Correlation() {
  absl::StatusOr<std::unique_ptr<Db>> db = Acquire();
  if (!db.ok()) return db.status();
  Lease lease(this, std::move(*db));
  CorrelationRow row;
  absl::StatusOr<int64_t> sealed = ReadMeta(lease.get(), kSealedEndMinute);
  if (!sealed.ok()) return sealed.status();
  absl::StatusOr<int64_t> resealed = ReadMeta(lease.get(), kResealedMinutes);
  if (!resealed.ok()) return resealed.status();
  row.sealed_end_minute = *sealed;
  row.resealed_minutes = *resealed;
  return row;
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
  absl::StatusOr<int64_t> sealed_end = ReadMeta(lease.get(), kSealedEndMinute);
  if (!sealed_end.ok()) return sealed_end.status();
  if (absl::Status s = ForEachAggregate(lease.get(), kind, key, from_minute,
                                        std::min(to_minute, *sealed_end), fn);
      !s.ok()) {
    return s;
  }
  return *sealed_end;
}

absl::StatusOr<std::vector<StoredObservation>> QueryStore::Trace(
    uint64_t hash, int64_t from_ns, int64_t to_ns, std::vector<int64_t> batch_ids) {
  absl::StatusOr<std::unique_ptr<Db>> db = Acquire();
  if (!db.ok()) return db.status();
  Lease lease(this, std::move(*db));
  if (absl::Status s = ForEachIndexBlock(lease.get(), HashIndexBuffer::BucketOf(hash), from_ns,
                                         to_ns,
                                         [&](absl::string_view entries) {
                                           HashIndexBuffer::LookupInBlock(entries, hash,
                                                                          &batch_ids);
                                         });
      !s.ok()) {
    return s;
  }
  std::sort(batch_ids.begin(), batch_ids.end());
  batch_ids.erase(std::unique(batch_ids.begin(), batch_ids.end()), batch_ids.end());
  BatchReader reader(lease.get());
  std::vector<StoredObservation> out;
  std::vector<Observation> decoded;
  std::string node;
  for (int64_t id : batch_ids) {
    absl::StatusOr<bool> found = reader.Read(id, &node, &decoded);
    if (!found.ok()) return found.status();
    if (!*found) continue;  // removed by retention since
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
