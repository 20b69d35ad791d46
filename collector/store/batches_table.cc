#include "collector/store/batches_table.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/observation_codec.h"

namespace hoplat {

uint64_t BatchDigest(absl::string_view encoded) {
  // 64-bit words, multiply and fold (a fixed odd constant per step): fast
  // enough to run on every batch, and an accidental collision between two
  // routers' batches is 2^-64. Not a defence against an adversary (that is
  // the job of authentication).
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ULL;
  uint64_t h = 0x6a09e667f3bcc908ULL ^ encoded.size();
  size_t i = 0;
  for (; i + 8 <= encoded.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, encoded.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  if (i < encoded.size()) std::memcpy(&tail, encoded.data() + i, encoded.size() - i);
  h = (h ^ tail) * kMul;
  h ^= h >> 32;
  // 0 means "not known" in the table.
  return h == 0 ? 1 : h;
}

uint64_t ContentDigest(absl::Span<const Observation> observations) {
  return BatchDigest(EncodeCoreFields(observations));
}

uint64_t ContentDigest(absl::string_view encoded, size_t core_size) {
  return BatchDigest(CoreFieldsOf(encoded, core_size));
}

BatchInserter::BatchInserter(Db* db)
    : db_(db),
      insert_(db,
              "INSERT OR IGNORE INTO batches(node, seq, count, min_arrival_ns, max_arrival_ns, "
              "data, digest) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      digest_(db, "SELECT digest FROM batches WHERE node = ? AND seq = ?") {}

absl::StatusOr<BatchInserter::Outcome> BatchInserter::Insert(
    int64_t node_id, uint64_t seq, uint64_t count, uint64_t min_arrival_ns,
    uint64_t max_arrival_ns, absl::string_view encoded, uint64_t digest) {
  insert_.Bind(1, node_id)
      .Bind(2, seq)
      .Bind(3, count)
      .Bind(4, min_arrival_ns)
      .Bind(5, max_arrival_ns)
      .BindBlob(6, encoded)
      .Bind(7, digest);
  if (absl::Status s = insert_.Run(); !s.ok()) return s;
  Outcome out;
  if (db_->changes() != 0) {
    out.id = db_->last_insert_rowid();
    return out;
  }
  digest_.Bind(1, node_id).Bind(2, seq);
  absl::Status status;
  if (!digest_.Step(&status)) {
    return status.ok() ? absl::InternalError("a batch was neither stored nor there") : status;
  }
  const uint64_t stored = digest_.UInt(0);
  digest_.Reset();
  out.conflict = stored != 0 && stored != digest;
  return out;
}

absl::Status ForEachBatchAfter(Db* db, int64_t after_id,
                               const std::function<void(int64_t id, std::vector<Observation>)>& fn) {
  Stmt s(db, "SELECT id, data FROM batches WHERE id > ? ORDER BY id");
  s.Bind(1, after_id);
  absl::Status status;
  while (s.Step(&status)) {
    std::vector<Observation> obs;
    if (absl::Status d = DecodeObservations(s.Blob(1), &obs); !d.ok()) {
      const int64_t id = s.Int(0);
      s.Reset();
      return absl::DataLossError(absl::StrCat("batch ", id, ": ", d.message()));
    }
    fn(s.Int(0), std::move(obs));
  }
  return status;
}

absl::Status ForEachBatchSince(
    Db* db, int64_t from_ns,
    const std::function<void(const std::string& node, std::vector<Observation>)>& fn) {
  Stmt s(db,
         "SELECT n.name, b.data FROM batches b JOIN nodes n ON n.id = b.node "
         "WHERE b.max_arrival_ns >= ? ORDER BY b.id");
  s.Bind(1, from_ns);
  absl::Status status;
  while (s.Step(&status)) {
    std::vector<Observation> obs;
    if (absl::Status d = DecodeObservations(s.Blob(1), &obs); !d.ok()) {
      s.Reset();
      return d;
    }
    fn(std::string(s.Text(0)), std::move(obs));
  }
  return status;
}

absl::Status ForEachBatchOverlapping(
    Db* db, int64_t from_ns, int64_t to_ns,
    const std::function<void(const std::string& node, uint64_t min_arrival_ns,
                             std::vector<Observation>)>& fn) {
  // First the ids, from batches_by_time (max arrival, min arrival) alone:
  // the newer batches are skipped inside the index, and sorting ids costs
  // no blob. Then each batch in turn.
  std::vector<std::pair<int64_t, int64_t>> ids;  // (min arrival, id)
  {
    Stmt s(db,
           "SELECT min_arrival_ns, id FROM batches "
           "WHERE max_arrival_ns >= ?1 AND min_arrival_ns < ?2");
    s.Bind(1, from_ns).Bind(2, to_ns);
    absl::Status status;
    while (s.Step(&status)) ids.emplace_back(s.Int(0), s.Int(1));
    if (!status.ok()) return status;
  }
  std::sort(ids.begin(), ids.end());
  Stmt get(db, "SELECT n.name, b.data FROM batches b JOIN nodes n ON n.id = b.node WHERE b.id = ?");
  for (const auto& [min_arrival, id] : ids) {
    get.Bind(1, id);
    absl::Status status;
    if (!get.Step(&status)) {
      if (!status.ok()) return status;
      continue;
    }
    std::vector<Observation> obs;
    absl::Status d = DecodeObservations(get.Blob(1), &obs);
    const std::string node(get.Text(0));
    get.Reset();
    if (!d.ok()) return d;
    fn(node, static_cast<uint64_t>(min_arrival), std::move(obs));
  }
  return absl::OkStatus();
}

absl::Status ForEachBatchAfterIdBefore(Db* db, int64_t after_id, int64_t before_ns,
                                       const std::function<void(std::vector<Observation>)>& fn) {
  Stmt s(db, "SELECT data FROM batches WHERE id > ? AND min_arrival_ns < ?");
  s.Bind(1, after_id).Bind(2, before_ns);
  absl::Status status;
  while (s.Step(&status)) {
    std::vector<Observation> obs;
    if (absl::Status d = DecodeObservations(s.Blob(0), &obs); !d.ok()) {
      s.Reset();
      return d;
    }
    fn(std::move(obs));
  }
  return status;
}

BatchReader::BatchReader(Db* db)
    : select_(db,
              "SELECT n.name, b.data FROM batches b JOIN nodes n ON n.id = b.node "
              "WHERE b.id = ?") {}

absl::StatusOr<bool> BatchReader::Read(int64_t id, std::string* node,
                                       std::vector<Observation>* out) {
  select_.Bind(1, id);
  absl::Status status;
  if (!select_.Step(&status)) {
    if (!status.ok()) return status;
    return false;
  }
  out->clear();
  absl::Status d = DecodeObservations(select_.Blob(1), out);
  node->assign(select_.Text(0).data(), select_.Text(0).size());
  select_.Reset();
  if (!d.ok()) return absl::DataLossError(absl::StrCat("batch ", id, ": ", d.message()));
  return true;
}

absl::StatusOr<int64_t> DeleteBatchesBefore(Db* db, int64_t before_ns, int limit) {
  Stmt del(db,
           "DELETE FROM batches WHERE id IN (SELECT id FROM batches "
           "WHERE max_arrival_ns < ? LIMIT ?)");
  if (absl::Status s = del.Bind(1, before_ns).Bind(2, limit).Run(); !s.ok()) return s;
  return db->changes();
}

absl::StatusOr<int64_t> LastBatchId(Db* db) {
  Stmt last(db, "SELECT coalesce(max(id), 0) FROM batches");
  absl::Status status;
  if (!last.Step(&status)) return status;
  return last.Int(0);
}

}  // namespace hoplat
