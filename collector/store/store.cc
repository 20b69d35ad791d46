#include "collector/store/store.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/status/statusor.h"
#include "collector/store/aggregate_row.h"
#include "collector/store/schema.h"
#include "common/fail_point.h"
#include "common/log.h"
#include "common/observation_codec.h"

namespace hoplat {
namespace {

int64_t ToNs(absl::Time t) { return absl::ToUnixNanos(t); }

absl::StatusOr<int64_t> ReadMeta(Db* db, absl::string_view key) {
  Stmt s(db, "SELECT value FROM meta WHERE key = ?");
  s.Bind(1, key);
  absl::Status status;
  if (!s.Step(&status)) {
    return status.ok() ? absl::DataLossError(absl::StrCat("meta key ", key, " missing")) : status;
  }
  const int64_t v = s.Int(0);
  s.Reset();
  return v;
}

absl::Status WriteMeta(Db* db, absl::string_view key, int64_t value) {
  Stmt s(db, "UPDATE meta SET value = ? WHERE key = ?");
  return s.Bind(1, value).Bind(2, key).Run();
}

}  // namespace

Store::Store(StoreOptions options)
    : options_(std::move(options)),
      exit_before_commit_seq_(FailPointValue("collector.exit_before_commit_seq")) {}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  std::unique_ptr<Store> store(new Store(std::move(options)));
  if (absl::Status s = store->Init(); !s.ok()) return s;
  return store;
}

void Store::Start(std::function<void(const std::string&, std::vector<Observation>)> on_commit) {
  on_commit_ = std::move(on_commit);
  writer_ = std::thread([this] { WriterLoop(); });
}

absl::Status Store::Init() {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options_.path, /*create=*/true);
  if (!db.ok()) return db.status();
  db_ = std::move(*db);
  // FULL: a commit is on disk before the collector acknowledges it.
  if (absl::Status s = db_->Exec("PRAGMA synchronous=FULL"); !s.ok()) return s;
  if (absl::Status s = MigrateSchema(db_.get()); !s.ok()) return s;
  if (options_.max_db_bytes > 0) {
    Stmt page_size(db_.get(), "PRAGMA page_size");
    absl::Status status;
    if (!page_size.Step(&status)) return status;
    const int64_t pages = std::max<int64_t>(
        1, static_cast<int64_t>(options_.max_db_bytes) / std::max<int64_t>(1, page_size.Int(0)));
    page_size.Reset();
    if (absl::Status s = db_->Exec(absl::StrCat("PRAGMA max_page_count=", pages)); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<int64_t> sealed = ReadMeta(db_.get(), "sealed_end_minute");
  if (!sealed.ok()) return sealed.status();
  sealed_end_minute_at_open_ = *sealed;

  // Batches committed after the last hash index flush: put them back in the
  // in-memory part of the index.
  absl::StatusOr<int64_t> indexed = ReadMeta(db_.get(), "indexed_through_batch");
  if (!indexed.ok()) return indexed.status();
  Stmt unindexed(db_.get(), "SELECT id, data FROM batches WHERE id > ? ORDER BY id");
  unindexed.Bind(1, *indexed);
  absl::Status status;
  std::vector<Observation> obs;
  while (unindexed.Step(&status)) {
    obs.clear();
    if (absl::Status s = DecodeObservations(unindexed.Blob(1), &obs); !s.ok()) {
      return absl::DataLossError(absl::StrCat("batch ", unindexed.Int(0), ": ", s.message()));
    }
    index_.Add(unindexed.Int(0), obs);
  }
  if (!status.ok()) return status;
  last_index_flush_ = options_.clock();
  last_retention_ = absl::InfinitePast();
  return absl::OkStatus();
}

absl::Status Store::Replay(
    absl::Duration window,
    const std::function<void(const std::string&, std::vector<Observation>)>& fn) {
  const int64_t from = sealed_end_minute_at_open_ * kNsPerMinute - ToInt64Nanoseconds(window);
  Stmt s(db_.get(),
         "SELECT n.name, b.data FROM batches b JOIN nodes n ON n.id = b.node "
         "WHERE b.max_arrival_ns >= ? ORDER BY b.id");
  s.Bind(1, from);
  absl::Status status;
  while (s.Step(&status)) {
    std::vector<Observation> obs;
    if (absl::Status d = DecodeObservations(s.Blob(1), &obs); !d.ok()) return d;
    fn(std::string(s.Text(0)), std::move(obs));
  }
  return status;
}

Store::~Store() { Stop(); }

void Store::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      if (!writer_.joinable()) return;
    }
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

void Store::Enqueue(Control control) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      controls_.push_back(std::move(control));
      return;
    }
  }
  control.done(absl::UnavailableError("collector is shutting down"));
}

void Store::RegisterNode(const v1::Hello& hello,
                         std::function<void(absl::StatusOr<NodeRegistration>)> done) {
  auto reg = std::make_shared<NodeRegistration>();
  auto h = std::make_shared<v1::Hello>(hello);
  Enqueue(Control{
      [this, reg, h]() -> absl::Status {
        const int64_t now = ToNs(options_.clock());
        const std::string clock = h->clock().SerializeAsString();
        Stmt upsert(db_.get(),
                    "INSERT INTO nodes(name, first_seen_ns, last_seen_ns, agent_version, clock) "
                    "VALUES (?1, ?2, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE SET "
                    "last_seen_ns = ?2, agent_version = ?3, clock = ?4");
        upsert.Bind(1, h->node_id()).Bind(2, now).Bind(3, h->agent_version()).BindBlob(4, clock);
        if (absl::Status s = upsert.Run(); !s.ok()) return s;
        Stmt get(db_.get(), "SELECT id, highest_seq FROM nodes WHERE name = ?");
        get.Bind(1, h->node_id());
        absl::Status status;
        if (!get.Step(&status)) return status.ok() ? absl::InternalError("node row vanished") : status;
        reg->node_id = get.Int(0);
        reg->highest_committed_seq = get.UInt(1);
        get.Reset();
        return absl::OkStatus();
      },
      [reg, done = std::move(done)](absl::Status s) {
        if (s.ok()) {
          done(*reg);
        } else {
          done(s);
        }
      }});
}

void Store::SubmitBatch(BatchJob job) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      batches_.push_back(std::move(job));
      return;
    }
  }
  job.done(absl::UnavailableError("collector is shutting down"), false);
}

void Store::SubmitReport(int64_t node_id, const v1::NodeReport& report) {
  auto blob = std::make_shared<std::string>(report.SerializeAsString());
  auto clock = std::make_shared<std::string>(report.clock().SerializeAsString());
  const bool has_clock = report.has_clock();
  Enqueue(Control{
      [this, node_id, blob, clock, has_clock]() {
        Stmt s(db_.get(),
               has_clock ? "UPDATE nodes SET report = ?1, last_seen_ns = ?2, clock = ?4 WHERE id = ?3"
                         : "UPDATE nodes SET report = ?1, last_seen_ns = ?2 WHERE id = ?3");
        s.BindBlob(1, *blob).Bind(2, ToNs(options_.clock())).Bind(3, node_id);
        if (has_clock) s.BindBlob(4, *clock);
        return s.Run();
      },
      [](absl::Status s) {
        if (!s.ok()) Logf("node report not stored: %s", s.ToString());
      }});
}

void Store::SubmitSeal(std::shared_ptr<const SealedMinutes> seal,
                       std::function<void()> on_committed) {
  // apply is empty: seals go through pending_seals_, in order, so that a
  // failed one (disk full) is retried before any later one.
  Enqueue(Control{[] { return absl::OkStatus(); },
                  [this, seal, on_committed](absl::Status s) {
                    // Not ok only when shutting down: the next start replays.
                    if (s.ok()) pending_seals_.push_back(PendingSeal{seal, on_committed});
                  }});
}

absl::Status Store::Sync() {
  absl::Status result;
  absl::Notification done;
  Enqueue(Control{[] { return absl::OkStatus(); },
                  [&](absl::Status s) {
                    result = s;
                    // Writer thread: seals queued before this marker were
                    // applied just before it (ApplyPendingSeals).
                    if (result.ok() && !pending_seals_.empty()) {
                      result = absl::UnavailableError("a sealed minute waits to be retried");
                    }
                    done.Notify();
                  }});
  done.WaitForNotification();
  return result;
}

absl::Status Store::RunInTransaction(const std::function<absl::Status()>& body) {
  if (absl::Status s = db_->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s = body();
  if (s.ok()) s = db_->Exec("COMMIT");
  if (!s.ok()) db_->Exec("ROLLBACK").IgnoreError();
  return s;
}

absl::Status Store::ApplySeal(const SealedMinutes& seal) {
  return RunInTransaction([&]() -> absl::Status {
    // Upsert merges: a minute is sealed once, but a retried seal after a
    // failed commit must not lose rows either way.
    Stmt get(db_.get(),
             "SELECT packets, clock_errors, slowest_hash, histogram FROM aggregates "
             "WHERE kind = ? AND key = ? AND minute = ?");
    Stmt put(db_.get(),
             "INSERT OR REPLACE INTO aggregates(kind, key, minute, packets, clock_errors, "
             "slowest_hash, histogram) VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const MinuteRows& m : seal.minutes) {
      for (const auto& [key, agg] : m.rows) {
        LatencyAggregate merged = agg;
        get.Bind(1, static_cast<int>(key.first)).Bind(2, key.second).Bind(3, m.minute);
        absl::Status status;
        if (get.Step(&status)) {
          LatencyAggregate old;
          absl::Status d = ReadAggregateColumns(get, 0, &old);
          get.Reset();
          if (!d.ok()) return d;
          merged = old;
          merged.Merge(agg);
        } else if (!status.ok()) {
          return status;
        }
        const std::string hist = merged.latency.Serialize();
        put.Bind(1, static_cast<int>(key.first))
            .Bind(2, key.second)
            .Bind(3, m.minute)
            .Bind(4, merged.packets)
            .Bind(5, merged.clock_errors)
            .Bind(6, merged.slowest_hash)
            .BindBlob(7, hist);
        if (absl::Status s = put.Run(); !s.ok()) return s;
      }
    }
    Stmt late(db_.get(), "UPDATE nodes SET late = late + ? WHERE name = ?");
    for (const auto& [node, count] : seal.late) {
      if (absl::Status s = late.Bind(1, count).Bind(2, node).Run(); !s.ok()) return s;
    }
    Stmt sealed(db_.get(),
                "UPDATE meta SET value = max(value, ?) WHERE key = 'sealed_end_minute'");
    return sealed.Bind(1, seal.sealed_end_minute).Run();
  });
}

void Store::ApplyPendingSeals() {
  while (!pending_seals_.empty()) {
    // The aggregates exist nowhere else: on failure keep them and retry.
    if (absl::Status s = ApplySeal(*pending_seals_.front().seal); !s.ok()) {
      Logf("sealing minutes failed, will retry: %s", s.ToString());
      return;
    }
    pending_seals_.front().on_committed();
    pending_seals_.pop_front();
  }
}

void Store::WriterLoop() {
  for (;;) {
    std::vector<BatchJob> batches;
    std::deque<Control> controls;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !batches_.empty() || !controls_.empty();
      };
      mu_.AwaitWithTimeout(absl::Condition(&work), absl::Seconds(1));
      batches.reserve(batches_.size());
      for (BatchJob& b : batches_) batches.push_back(std::move(b));
      batches_.clear();
      controls.swap(controls_);
      stopping = stopping_;
    }
    // Batches first: a Sync() marker queued after a batch must see it committed.
    if (!batches.empty()) CommitBatches(&batches);
    for (Control& c : controls) {
      absl::Status s = RunInTransaction(c.apply);
      c.done(s);
      ApplyPendingSeals();  // so that a Sync() marker after a seal sees it committed
    }
    ApplyPendingSeals();
    Housekeeping(/*force_index=*/stopping);
    if (stopping) {
      absl::MutexLock lock(&mu_);
      if (batches_.empty() && controls_.empty()) break;
    }
  }
}

void Store::CommitBatches(std::vector<BatchJob>* jobs) {
  std::vector<bool> duplicate(jobs->size(), false);
  std::vector<int64_t> ids(jobs->size(), 0);
  absl::Status status = RunInTransaction([&]() -> absl::Status {
    Stmt insert(db_.get(),
                "INSERT OR IGNORE INTO batches(node, seq, count, min_arrival_ns, max_arrival_ns, "
                "data) VALUES (?, ?, ?, ?, ?, ?)");
    Stmt node(db_.get(),
              "UPDATE nodes SET last_seen_ns = ?2, batches = batches + ?3, "
              "observations = observations + ?4, duplicates = duplicates + ?5, "
              "highest_seq = max(highest_seq, ?6) WHERE id = ?1");
    for (size_t i = 0; i < jobs->size(); ++i) {
      const BatchJob& j = (*jobs)[i];
      insert.Bind(1, j.node_id)
          .Bind(2, j.seq)
          .Bind(3, static_cast<int64_t>(j.observations.size()))
          .Bind(4, j.min_arrival_ns)
          .Bind(5, j.max_arrival_ns)
          .BindBlob(6, j.encoded);
      if (absl::Status s = insert.Run(); !s.ok()) return s;
      duplicate[i] = db_->changes() == 0;
      if (!duplicate[i]) ids[i] = db_->last_insert_rowid();
      if (exit_before_commit_seq_ && j.seq == *exit_before_commit_seq_) {
        Logf("fail point: exiting before committing batch %d", j.seq);
        _exit(86);  // as a crash between receipt and commit would
      }
      node.Bind(1, j.node_id)
          .Bind(2, ToNs(options_.clock()))
          .Bind(3, duplicate[i] ? 0 : 1)
          .Bind(4, duplicate[i] ? 0 : static_cast<int64_t>(j.observations.size()))
          .Bind(5, duplicate[i] ? 1 : 0)
          .Bind(6, j.seq);
      if (absl::Status s = node.Run(); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) Logf("commit of %d batches failed: %s", jobs->size(), status.ToString());
  // Correlation gets the batches before the agent gets the acks: an agent
  // that disconnects right after its last ack must not overtake its own data
  // in the correlation queue.
  for (size_t i = 0; status.ok() && i < jobs->size(); ++i) {
    if (duplicate[i]) continue;
    BatchJob& j = (*jobs)[i];
    index_.Add(ids[i], j.observations);
    if (on_commit_) on_commit_(j.node_name, std::move(j.observations));
  }
  for (size_t i = 0; i < jobs->size(); ++i) {
    (*jobs)[i].done(status, status.ok() && duplicate[i]);
  }
}

absl::Status Store::FlushIndex() {
  size_t count;
  int64_t through;
  std::vector<HashIndexBuffer::Block> blocks = index_.MakeBlocks(&count, &through);
  if (count == 0) return absl::OkStatus();
  absl::Status s = RunInTransaction([&]() -> absl::Status {
    Stmt put(db_.get(),
             "INSERT INTO hash_index(bucket, min_arrival_ns, max_arrival_ns, entries) "
             "VALUES (?, ?, ?, ?)");
    for (const HashIndexBuffer::Block& b : blocks) {
      put.Bind(1, b.bucket).Bind(2, b.min_arrival_ns).Bind(3, b.max_arrival_ns).BindBlob(4, b.entries);
      if (absl::Status s = put.Run(); !s.ok()) return s;
    }
    return WriteMeta(db_.get(), "indexed_through_batch", through);
  });
  if (s.ok()) index_.Discard(count);
  return s;
}

void Store::Housekeeping(bool force_index) {
  const absl::Time now = options_.clock();
  if (force_index || index_.size() >= options_.index_flush_entries ||
      now - last_index_flush_ >= options_.index_flush_interval) {
    if (absl::Status s = FlushIndex(); !s.ok()) Logf("hash index flush failed: %s", s.ToString());
    last_index_flush_ = now;
  }
  if (now - last_retention_ >= absl::Minutes(1)) {
    if (absl::Status s = ApplyRetention(); !s.ok()) Logf("retention failed: %s", s.ToString());
    last_retention_ = now;
  }
}

absl::Status Store::ApplyRetention() {
  const int64_t now = ToNs(options_.clock());
  const int64_t raw_before = now - ToInt64Nanoseconds(options_.retention);
  const int64_t agg_before = (now - ToInt64Nanoseconds(options_.aggregate_retention)) / kNsPerMinute;
  // In slices, so that the writer never holds one long transaction.
  for (;;) {
    int64_t deleted = 0;
    absl::Status s = RunInTransaction([&]() -> absl::Status {
      Stmt del(db_.get(),
               "DELETE FROM batches WHERE id IN (SELECT id FROM batches "
               "WHERE max_arrival_ns < ? LIMIT 2000)");
      if (absl::Status s = del.Bind(1, raw_before).Run(); !s.ok()) return s;
      deleted = db_->changes();
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    if (deleted == 0) break;
  }
  return RunInTransaction([&]() -> absl::Status {
    Stmt idx(db_.get(), "DELETE FROM hash_index WHERE max_arrival_ns < ?");
    if (absl::Status s = idx.Bind(1, raw_before).Run(); !s.ok()) return s;
    Stmt agg(db_.get(), "DELETE FROM aggregates WHERE kind = ? AND minute < ?");
    for (int kind = 1; kind <= 5; ++kind) {
      if (absl::Status s = agg.Bind(1, kind).Bind(2, agg_before).Run(); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

}  // namespace hoplat
