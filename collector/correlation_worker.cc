#include "collector/correlation_worker.h"

#include <algorithm>

namespace hoplat {

namespace {
// How often watermarks are re-evaluated when no data arrives (idle nodes,
// sealing): a query sees a minute at most this long after it could be sealed.
constexpr absl::Duration kTick = absl::Milliseconds(200);
}  // namespace

CorrelationWorker::CorrelationWorker(CorrelatorOptions options, Store* store,
                                     std::function<absl::Time()> clock,
                                     size_t max_queued_observations)
    : store_(store),
      clock_(std::move(clock)),
      max_queued_(max_queued_observations),
      correlator_(options, store->sealed_end_minute()) {
  absl::MutexLock lock(&correlator_mu_);
  for (int64_t minute : store->dirty_minutes_at_open()) correlator_.AddDirtyMinute(minute);
  correlated_through_batch_ = store->last_batch_id_at_open();
  correlator_.BeginReplay();
}

std::vector<Correlator::PairOffset> CorrelationWorker::ClockOffsets() {
  absl::MutexLock lock(&correlator_mu_);
  return correlator_.ClockOffsets();
}

size_t CorrelationWorker::MinutesToReseal() {
  absl::MutexLock lock(&correlator_mu_);
  size_t n = correlator_.dirty_minutes();
  for (const auto& seal : in_flight_) n += seal->reseal.size();
  return n;
}

CorrelationWorker::~CorrelationWorker() { Stop(); }

void CorrelationWorker::Replay(const std::string& node, std::vector<Observation> observations) {
  absl::MutexLock lock(&correlator_mu_);
  correlator_.Add(node, observations, clock_());
  correlator_.Advance(clock_());  // closes groups; replay never seals
}

void CorrelationWorker::Start() {
  {
    absl::MutexLock lock(&correlator_mu_);
    correlator_.EndReplay(clock_());
  }
  started_.store(true);
  thread_ = std::thread([this] { Loop(); });
}

void CorrelationWorker::Enqueue(const std::string& node, int64_t batch_id,
                                std::vector<Observation> observations) {
  absl::MutexLock lock(&queue_mu_);
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
    return stopping_ || queued_observations_ < max_queued_ || queue_.empty();
  };
  queue_mu_.Await(absl::Condition(&room));
  if (stopping_) return;  // correlation state is rebuilt from the store on restart
  queued_observations_ += observations.size();
  ++enqueued_;
  queue_.push_back(Item{node, std::move(observations), batch_id, Item::Kind::kData, {}});
}

void CorrelationWorker::NodeConnected(const std::string& node) {
  absl::MutexLock lock(&queue_mu_);
  ++enqueued_;
  queue_.push_back(Item{node, {}, 0, Item::Kind::kConnect, {}});
}

void CorrelationWorker::SetNodeClock(const std::string& node, NodeClock clock) {
  if (!started_.load()) {
    absl::MutexLock lock(&correlator_mu_);
    correlator_.SetNodeClock(node, std::move(clock));
    return;
  }
  absl::MutexLock lock(&queue_mu_);
  ++enqueued_;
  Item item{node, {}, 0, Item::Kind::kClock, {}};
  item.clock = std::move(clock);
  queue_.push_back(std::move(item));
}

void CorrelationWorker::NodeDisconnected(const std::string& node) {
  absl::MutexLock lock(&queue_mu_);
  ++enqueued_;
  queue_.push_back(Item{node, {}, 0, Item::Kind::kDisconnect, {}});
}

void CorrelationWorker::Loop() {
  absl::Time last_advance = absl::InfinitePast();
  for (;;) {
    Item item;
    bool have = false;
    {
      absl::MutexLock lock(&queue_mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return stopping_ || !queue_.empty();
      };
      queue_mu_.AwaitWithTimeout(absl::Condition(&work), kTick);
      if (stopping_) return;
      if (!queue_.empty()) {
        item = std::move(queue_.front());
        queue_.pop_front();
        queued_observations_ -= item.observations.size();
        have = true;
      }
    }
    {
      absl::MutexLock lock(&correlator_mu_);
      if (have) {
        switch (item.kind) {
          case Item::Kind::kData:
            correlator_.Add(item.node, item.observations, clock_());
            correlated_through_batch_ = item.batch_id;
            break;
          case Item::Kind::kConnect:
            correlator_.NodeConnected(item.node, clock_());
            break;
          case Item::Kind::kDisconnect:
            correlator_.NodeDisconnected(item.node);
            break;
          case Item::Kind::kClock:
            correlator_.SetNodeClock(item.node, std::move(item.clock));
            break;
        }
      }
      const absl::Time now = clock_();
      if (!have || now - last_advance >= absl::Milliseconds(50)) {
        AdvanceLocked();
        last_advance = now;
      }
    }
    if (have) {
      absl::MutexLock lock(&queue_mu_);
      ++processed_;
    }
  }
}

void CorrelationWorker::AdvanceLocked() {
  const int64_t before = correlator_.sealed_end_minute();
  SealedMinutes sealed = correlator_.Advance(clock_());
  if (sealed.sealed_end_minute == before && sealed.empty()) return;
  sealed.correlated_through_batch = correlated_through_batch_;
  auto shared = std::make_shared<const SealedMinutes>(std::move(sealed));
  in_flight_.push_back(shared);
  store_->SubmitSeal(shared, [this, shared] {
    absl::MutexLock lock(&correlator_mu_);
    in_flight_.erase(std::find(in_flight_.begin(), in_flight_.end(), shared));
  });
}

void CorrelationWorker::Drain() {
  {
    absl::MutexLock lock(&queue_mu_);
    const uint64_t target = enqueued_;
    auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
      return stopping_ || processed_ >= target;
    };
    queue_mu_.Await(absl::Condition(&done));
  }
  absl::MutexLock lock(&correlator_mu_);
  AdvanceLocked();
}

void CorrelationWorker::Stop() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void CorrelationWorker::ReadAggregates(
    AggKind kind, int64_t from_minute, int64_t to_minute,
    const std::function<int64_t()>& read_sealed,
    const std::function<void(const std::string&, const LatencyAggregate&)>& fn) {
  struct Row {
    int64_t minute;
    std::string key;
    LatencyAggregate agg;
  };
  std::vector<Row> rows;
  {
    absl::MutexLock lock(&correlator_mu_);
    for (const auto& seal : in_flight_) {
      for (const MinuteRows& m : seal->minutes) {
        if (m.minute < from_minute || m.minute >= to_minute) continue;
        for (const auto& [key, agg] : m.rows) {
          if (key.kind == kind) rows.push_back(Row{m.minute, key.text, agg});
        }
      }
    }
    correlator_.VisitUnsealed(kind, from_minute, to_minute,
                              [&](int64_t minute, const std::string& key,
                                  const LatencyAggregate& agg) {
                                rows.push_back(Row{minute, key, agg});
                              });
  }
  const int64_t sealed_end = read_sealed();
  for (const Row& r : rows) {
    if (r.minute >= sealed_end) fn(r.key, r.agg);
  }
}

}  // namespace hoplat
