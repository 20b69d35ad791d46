#ifndef HOPLAT_COLLECTOR_STORE_STORE_H_
#define HOPLAT_COLLECTOR_STORE_STORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/correlator.h"
#include "collector/store/hash_index.h"
#include "collector/store/nodes_table.h"
#include "collector/store/sqlite.h"
#include "common/observation.h"
#include "hoplat/v1/ingest.pb.h"

namespace hoplat {

struct StoreOptions {
  std::string path;
  // Upper bound of the database file; 0 is no bound. Reaching it (or a full
  // disk) fails commits with RESOURCE_EXHAUSTED.
  uint64_t max_db_bytes = 0;
  absl::Duration retention = absl::Hours(24);               // raw observations
  absl::Duration aggregate_retention = absl::Hours(24 * 30);  // per-minute aggregates
  // Hash index blocks are written when this many entries wait, or this often.
  size_t index_flush_entries = 4'000'000;
  absl::Duration index_flush_interval = absl::Seconds(60);
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // The correlator's: its window (data this close to a sealed minute may
  // change it), its clock corrections (which reach further), for minutes
  // correlated again.
  CorrelatorOptions correlation;
};

// A batch on its way to the database. `done` runs on the writer thread once
// the batch is durably committed (or failed); duplicate means (node, seq) was
// committed before and nothing was stored.
struct BatchJob {
  int64_t node_id = 0;
  std::string node_name;
  uint64_t seq = 0;
  std::vector<Observation> observations;
  std::string encoded;  // EncodeObservations(observations)
  uint64_t digest = 0;  // ContentDigest(observations)
  uint64_t min_arrival_ns = 0;
  uint64_t max_arrival_ns = 0;
  std::function<void(absl::Status status, bool duplicate)> done;
};

// The only writer of the database. One thread takes whatever is queued and
// commits it in one transaction (group commit, synchronous=FULL), then
// acknowledges and hands committed observations on for correlation.
class Store {
 public:
  // Creates or migrates the database and rebuilds the in-memory part of the
  // hash index. Fails with a clear message if the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<Store>> Open(StoreOptions options);
  ~Store();  // Stop()s

  // Rebuilds correlation state after a restart: calls fn for every stored
  // observation from ReachAfter(correlation) before the sealed end (a
  // window, and what the clock corrections after it rest on), in commit
  // order. Only before Start(): it uses the writer's connection.
  absl::Status Replay(const std::function<void(const std::string&, std::vector<Observation>)>& fn);
  int64_t sealed_end_minute() const { return sealed_end_minute_at_open_; }
  // Sealed minutes marked to be correlated again, as found at Open().
  const std::vector<int64_t>& dirty_minutes_at_open() const { return dirty_at_open_; }
  // Every node known at Open() (their clocks, for replay).
  const std::vector<NodeRow>& nodes_at_open() const { return nodes_at_open_; }
  // The newest batch at Open(): everything up to it is replayed or sealed.
  int64_t last_batch_id_at_open() const { return last_batch_id_at_open_; }

  // Starts the writer. on_commit receives committed, non-duplicate batches
  // (the correlation worker); it runs on the writer thread, before their
  // acks, and may block: that is the back-pressure.
  // The batch id lets a seal say which batches it has seen.
  using OnCommit =
      std::function<void(const std::string& node, int64_t batch_id, std::vector<Observation>)>;
  void Start(OnCommit on_commit);

  // Creates or updates the node's row; done runs on the writer thread.
  void RegisterNode(const v1::Hello& hello,
                    std::function<void(absl::StatusOr<NodeRegistration>)> done);
  // Never blocks: each ingest stream bounds its own batches in flight, and
  // the writer slows when correlation falls behind.
  void SubmitBatch(BatchJob job);
  void SubmitReport(int64_t node_id, const v1::NodeReport& report);
  // on_committed runs on the writer thread once the seal is in the database
  // (a failed seal is retried until it commits).
  void SubmitSeal(std::shared_ptr<const SealedMinutes> seal, std::function<void()> on_committed);

  // Waits until everything submitted before the call is committed (or failed)
  // and every seal submitted before it was tried; returns the error of a seal
  // still waiting to be retried, if any.
  absl::Status Sync();

  // Commits what is queued, writes the hash index, stops the writer.
  void Stop();

  const HashIndexBuffer& hash_index() const { return index_; }
  const std::string& path() const { return options_.path; }

 private:
  struct Control {
    std::function<absl::Status()> apply;  // runs inside its own transaction
    std::function<void(absl::Status)> done;
  };

  explicit Store(StoreOptions options);
  absl::Status Init();
  void WriterLoop();
  void CommitBatches(std::vector<BatchJob>* jobs);
  absl::Status RunInTransaction(const std::function<absl::Status()>& body);
  absl::Status ApplySeal(const SealedMinutes& seal);
  absl::Status Reseal(int64_t minute);
  void ApplyPendingReseals();
  void ApplyPendingSeals();
  absl::Status FlushIndex();
  void Housekeeping(bool force_index);
  absl::Status ApplyRetention();
  void Enqueue(Control control);

  const StoreOptions options_;
  const std::optional<uint64_t> exit_before_commit_seq_;  // a fail point (tests)
  std::unique_ptr<Db> db_;
  int64_t sealed_end_minute_at_open_ = 0;
  std::vector<int64_t> dirty_at_open_;
  std::vector<NodeRow> nodes_at_open_;
  int64_t last_batch_id_at_open_ = 0;
  HashIndexBuffer index_;
  OnCommit on_commit_;

  absl::Mutex mu_;
  std::deque<BatchJob> batches_ ABSL_GUARDED_BY(mu_);
  std::deque<Control> controls_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Writer thread only.
  struct PendingSeal {
    std::shared_ptr<const SealedMinutes> seal;
    std::function<void()> on_committed;
  };
  std::deque<PendingSeal> pending_seals_;  // retried until they commit
  int64_t sealed_end_minute_ = 0;          // as committed
  std::deque<int64_t> pending_reseals_;    // minutes to correlate again, retried
  absl::Time last_index_flush_;
  absl::Time last_retention_;
  std::thread writer_;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_STORE_H_
