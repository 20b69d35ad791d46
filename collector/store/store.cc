#include "collector/store/store.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/status/statusor.h"
#include "collector/store/aggregates_table.h"
#include "collector/store/batches_table.h"
#include "collector/store/dirty_minutes_table.h"
#include "collector/store/hash_index_table.h"
#include "collector/store/meta_table.h"
#include "collector/store/nodes_table.h"
#include "collector/store/reseal.h"
#include "collector/store/retention.h"
#include "collector/store/schema.h"
#include "common/fail_point.h"
#include "common/log.h"

namespace hoplat {
namespace {

int64_t ToNs(absl::Time t) { return absl::ToUnixNanos(t); }

}  // namespace

Store::Store(StoreOptions options)
    : options_(std::move(options)),
      exit_before_commit_seq_(FailPointValue("collector.exit_before_commit_seq")) {}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  std::unique_ptr<Store> store(new Store(std::move(options)));
  if (absl::Status s = store->Init(); !s.ok()) return s;
  return store;
}

void Store::Start(OnCommit on_commit) {
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
  absl::StatusOr<int64_t> sealed = ReadMeta(db_.get(), kSealedEndMinute);
  if (!sealed.ok()) return sealed.status();
  sealed_end_minute_at_open_ = *sealed;
  sealed_end_minute_ = *sealed;
  absl::StatusOr<std::vector<int64_t>> dirty = DirtyMinutes(db_.get());
  if (!dirty.ok()) return dirty.status();
  dirty_at_open_ = *std::move(dirty);
  absl::StatusOr<std::vector<NodeRow>> nodes = ReadNodes(db_.get());
  if (!nodes.ok()) return nodes.status();
  nodes_at_open_ = *std::move(nodes);
  absl::StatusOr<int64_t> last_batch = LastBatchId(db_.get());
  if (!last_batch.ok()) return last_batch.status();
  last_batch_id_at_open_ = *last_batch;

  // Batches committed after the last hash index flush: put them back in the
  // in-memory part of the index.
  absl::StatusOr<int64_t> indexed = ReadMeta(db_.get(), kIndexedThroughBatch);
  if (!indexed.ok()) return indexed.status();
  if (absl::Status s = ForEachBatchAfter(
          db_.get(), *indexed,
          [this](int64_t id, std::vector<Observation> obs) { index_.Add(id, obs); });
      !s.ok()) {
    return s;
  }
  last_index_flush_ = options_.clock();
  last_retention_ = absl::InfinitePast();
  return absl::OkStatus();
}

absl::Status Store::Replay(
    const std::function<void(const std::string&, std::vector<Observation>)>& fn) {
  const int64_t from =
      sealed_end_minute_at_open_ * kNsPerMinute - ToInt64Nanoseconds(ReachAfter(options_.correlation));
  return ForEachBatchSince(db_.get(), from, fn);
}

Store::~Store() { Stop(); }

void Store::Stop() {
  {
    absl::MutexLock lock(&mu_);
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
  auto reg = std::make_shared<absl::StatusOr<NodeRegistration>>();
  auto h = std::make_shared<v1::Hello>(hello);
  Enqueue(Control{[this, reg, h]() -> absl::Status {
                    *reg = UpsertNode(db_.get(), *h, ToNs(options_.clock()));
                    return reg->status();
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
  auto r = std::make_shared<v1::NodeReport>(report);
  Enqueue(Control{[this, node_id, r]() {
                    return StoreNodeReport(db_.get(), node_id, *r, ToNs(options_.clock()));
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

// One transaction, so that a seal retried after a failure neither loses
// nor doubles anything: new rows, durable dirty marks, late counts, the
// sealed end. The minutes to correlate again follow, each in its own
// transaction (one that fails must not hold up sealing).
absl::Status Store::ApplySeal(const SealedMinutes& seal) {
  absl::Status status = RunInTransaction([&]() -> absl::Status {
    if (absl::Status s = MergeMinuteRows(db_.get(), seal.minutes); !s.ok()) return s;
    if (absl::Status s = MarkMinutesDirty(db_.get(), seal.dirty); !s.ok()) return s;
    if (absl::Status s = AddLateObservations(db_.get(), seal.late); !s.ok()) return s;
    if (absl::Status s = RaiseMeta(db_.get(), kSealedEndMinute, seal.sealed_end_minute);
        !s.ok()) {
      return s;
    }
    // Batches committed before this seal but not yet correlated when it was
    // made were checked against an older sealed end when they committed:
    // the minutes this seal closes under them are marked now, durably.
    const uint64_t window_ns =
        static_cast<uint64_t>(absl::ToInt64Nanoseconds(options_.correlation.window));
    absl::Status marked;
    absl::Status read = ForEachBatchAfterIdBefore(
        db_.get(), seal.correlated_through_batch,
        static_cast<int64_t>(static_cast<uint64_t>(seal.sealed_end_minute) * kNsPerMinute +
                             window_ns),
        [&](std::vector<Observation> obs) {
          if (!marked.ok()) return;
          marked = MarkMinutesDirty(
              db_.get(), SealedMinutesTouched(obs, seal.sealed_end_minute, options_.correlation.window,
                                             ReachAfter(options_.correlation)));
        });
    return read.ok() ? marked : read;
  });
  if (!status.ok()) return status;
  sealed_end_minute_ = std::max(sealed_end_minute_, seal.sealed_end_minute);
  for (int64_t minute : seal.reseal) pending_reseals_.push_back(minute);
  return status;
}

void Store::ApplyPendingReseals() {
  while (!pending_reseals_.empty()) {
    const int64_t minute = pending_reseals_.front();
    absl::Status s = RunInTransaction([&] { return Reseal(minute); });
    if (absl::IsDataLoss(s)) {
      // Unreadable stored data will not read better later: keep what the
      // minute has, and let the mark go.
      Logf("minute %d not correlated again, kept as it was: %s", minute, s.ToString());
      RunInTransaction([&] { return ClearDirtyMinute(db_.get(), minute); }).IgnoreError();
    } else if (!s.ok()) {
      Logf("correlating minute %d again failed, will retry: %s", minute, s.ToString());
      return;  // the mark stays; retried on the next pass
    }
    pending_reseals_.pop_front();
  }
}

// In its own transaction on the writer's connection, after the seal: a
// batch committed later that touches the minute marks it again
// (SealedMinutesTouched) for the next pass.
absl::Status Store::Reseal(int64_t minute) {
  return ResealMinute(db_.get(), minute, options_.correlation,
                      options_.clock() - options_.retention);
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
  ApplyPendingReseals();
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
  std::vector<BatchInserter::Outcome> outcomes(jobs->size());
  absl::Status status = RunInTransaction([&]() -> absl::Status {
    BatchInserter batches(db_.get());
    NodeBatchCounter nodes(db_.get());
    for (size_t i = 0; i < jobs->size(); ++i) {
      const BatchJob& j = (*jobs)[i];
      absl::StatusOr<BatchInserter::Outcome> outcome = batches.Insert(
          j.node_id, j.seq, j.observations.size(), j.min_arrival_ns, j.max_arrival_ns, j.encoded, j.digest);
      if (!outcome.ok()) return outcome.status();
      outcomes[i] = *outcome;
      if (exit_before_commit_seq_ && j.seq == *exit_before_commit_seq_) {
        Logf("fail point: exiting before committing batch %d", j.seq);
        _exit(86);  // as a crash between receipt and commit would
      }
      absl::Status s = outcome->conflict
                           ? nodes.CountConflict(j.node_id)
                           : nodes.Count(j.node_id, j.seq, j.observations.size(), j.max_arrival_ns,
                                         /*duplicate=*/outcome->id == 0, ToNs(options_.clock()));
      if (!s.ok()) return s;
      // Data for sealed minutes: marked with the data itself, so that a crash
      // before correlation sees it cannot lose the mark.
      if (outcome->id != 0) {
        if (absl::Status s = MarkMinutesDirty(
                db_.get(), SealedMinutesTouched(j.observations, sealed_end_minute_,
                                                 options_.correlation.window,
                                                 ReachAfter(options_.correlation)));
            !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) Logf("commit of %d batches failed: %s", jobs->size(), status.ToString());
  // Correlation gets the batches before the agent gets the acks: an agent
  // that disconnects right after its last ack must not overtake its own data
  // in the correlation queue.
  for (size_t i = 0; status.ok() && i < jobs->size(); ++i) {
    if (outcomes[i].id == 0) continue;
    BatchJob& j = (*jobs)[i];
    index_.Add(outcomes[i].id, j.observations);
    if (on_commit_) on_commit_(j.node_name, outcomes[i].id, std::move(j.observations));
  }
  for (size_t i = 0; i < jobs->size(); ++i) {
    BatchJob& j = (*jobs)[i];
    if (status.ok() && outcomes[i].conflict) {
      Logf("node %s batch %d: committed before with other content; refused", j.node_name, j.seq);
      j.done(absl::AlreadyExistsError(absl::StrFormat(
                 "batch %d: committed before for node %s with other content (two routers "
                 "with one name, or a disk image copied from another?): refused, not stored",
                 j.seq, j.node_name)),
             false);
      continue;
    }
    j.done(status, status.ok() && outcomes[i].id == 0);
  }
}

absl::Status Store::FlushIndex() {
  size_t count;
  int64_t through;
  std::vector<HashIndexBuffer::Block> blocks = index_.MakeBlocks(&count, &through);
  if (count == 0) return absl::OkStatus();
  absl::Status s = RunInTransaction([&]() -> absl::Status {
    if (absl::Status s = InsertIndexBlocks(db_.get(), blocks); !s.ok()) return s;
    return WriteMeta(db_.get(), kIndexedThroughBatch, through);
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
  return hoplat::ApplyRetention(
      db_.get(), CutoffsAt(options_.clock(), options_.retention, options_.aggregate_retention),
      [this](const std::function<absl::Status()>& body) { return RunInTransaction(body); });
}

}  // namespace hoplat
