#ifndef HOPLAT_COLLECTOR_CORRELATION_WORKER_H_
#define HOPLAT_COLLECTOR_CORRELATION_WORKER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/correlator.h"
#include "collector/store/store.h"

namespace hoplat {

// Runs the Correlator on its own thread, fed by the store's commit listener,
// and hands sealed minutes back to the store. Its queue is bounded: when
// correlation falls behind, the writer waits, and so does ingest.
class CorrelationWorker {
 public:
  CorrelationWorker(CorrelatorOptions options, Store* store,
                    std::function<absl::Time()> clock = [] { return absl::Now(); },
                    size_t max_queued_observations = 2'000'000);
  ~CorrelationWorker();  // Stop()s

  // Feeds stored observations back after a restart (before Start()).
  void Replay(const std::string& node, std::vector<Observation> observations);
  void Start();

  // batch_id: its id in the store (ids grow in commit order).
  void Enqueue(const std::string& node, int64_t batch_id, std::vector<Observation> observations);
  void NodeConnected(const std::string& node);
  void NodeDisconnected(const std::string& node);
  // The node's clock (Hello, NodeReport); before Start(), for Replay().
  void SetNodeClock(const std::string& node, NodeClock clock);

  // Processes everything queued before the call, then advances watermarks and
  // hands any sealed minutes to the store (not waiting for their commit).
  void Drain();
  void Stop();

  // Minutes waiting to be correlated again from the stored observations
  // (dirty, or handed to the store and not yet committed).
  size_t MinutesToReseal();
  std::vector<Correlator::PairOffset> ClockOffsets();

  // Reads aggregates of one kind over [from, to) consistently across the
  // database and memory. First the rows in memory (seals not confirmed
  // committed, and unsealed minutes) are copied; then read_sealed reads the
  // sealed rows and returns the sealed end of its database snapshot; then fn
  // gets the copied rows from that minute on. Every minute not yet confirmed
  // when the copy was taken is in the copy, and the snapshot is newer, so no
  // minute is counted twice or missed while a seal commits, and the database
  // read does not hold up correlation.
  void ReadAggregates(AggKind kind, int64_t from_minute, int64_t to_minute,
                      const std::function<int64_t()>& read_sealed,
                      const std::function<void(const std::string&, const LatencyAggregate&)>& fn);

 private:
  struct Item {
    std::string node;
    std::vector<Observation> observations;
    int64_t batch_id = 0;
    enum class Kind { kData, kConnect, kDisconnect, kClock } kind = Kind::kData;
    NodeClock clock;  // kClock
  };
  void Loop();
  void AdvanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(correlator_mu_);

  Store* const store_;
  const std::function<absl::Time()> clock_;
  const size_t max_queued_;

  absl::Mutex queue_mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(queue_mu_);
  size_t queued_observations_ ABSL_GUARDED_BY(queue_mu_) = 0;
  uint64_t enqueued_ ABSL_GUARDED_BY(queue_mu_) = 0;
  uint64_t processed_ ABSL_GUARDED_BY(queue_mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;

  absl::Mutex correlator_mu_ ABSL_ACQUIRED_AFTER(queue_mu_);
  Correlator correlator_ ABSL_GUARDED_BY(correlator_mu_);
  int64_t correlated_through_batch_ ABSL_GUARDED_BY(correlator_mu_) = 0;
  // Sealed minutes handed to the store whose commit is not confirmed yet.
  std::deque<std::shared_ptr<const SealedMinutes>> in_flight_ ABSL_GUARDED_BY(correlator_mu_);

  std::thread thread_;
  std::atomic<bool> started_{false};
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_CORRELATION_WORKER_H_
