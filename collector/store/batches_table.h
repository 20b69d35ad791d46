#ifndef HOPLAT_COLLECTOR_STORE_BATCHES_TABLE_H_
#define HOPLAT_COLLECTOR_STORE_BATCHES_TABLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "collector/store/sqlite.h"
#include "common/observation.h"

namespace hoplat {

// The `batches` table: one row per acknowledged batch, its observations
// compactly encoded (common/observation_codec.h); UNIQUE(node, seq) makes a
// resent batch a no-op.

// A stable 64-bit digest of a batch's encoded observations: stored, so it
// must never change.
uint64_t BatchDigest(absl::string_view encoded);
// What a batch's digest is: BatchDigest of its core fields in the version 1
// layout (EncodeCoreFields), so that it survives changes of the format.
uint64_t ContentDigest(absl::Span<const Observation> observations);
// The same from their EncodeObservations block and its core_size (the
// ingest path, which has encoded them already).
uint64_t ContentDigest(absl::string_view encoded, size_t core_size);

// Inserts batches with prepared statements for a whole group commit.
class BatchInserter {
 public:
  explicit BatchInserter(Db* db);
  struct Outcome {
    int64_t id = 0;         // the new row's id; 0 if nothing was stored
    bool conflict = false;  // (node, seq) was stored before with other content
  };
  // id 0 and no conflict: (node, seq) was stored before with the same
  // content (or before digests were kept): a duplicate.
  absl::StatusOr<Outcome> Insert(int64_t node_id, uint64_t seq, uint64_t count,
                                 uint64_t min_arrival_ns, uint64_t max_arrival_ns,
                                 absl::string_view encoded, uint64_t digest);

 private:
  Db* db_;
  Stmt insert_;
  Stmt digest_;
};

// Every batch with id > after_id, in id order (rebuilding the in-memory
// part of the hash index).
absl::Status ForEachBatchAfter(Db* db, int64_t after_id,
                               const std::function<void(int64_t id, std::vector<Observation>)>& fn);
// Every batch holding an arrival at or after from_ns, in commit order, with
// its node's name (replay after a restart).
absl::Status ForEachBatchSince(
    Db* db, int64_t from_ns,
    const std::function<void(const std::string& node, std::vector<Observation>)>& fn);

// Every batch holding an arrival in [from_ns, to_ns) (by its min and max
// arrival), in order of its earliest arrival, with its node's name and that
// earliest arrival (correlating a minute again).
absl::Status ForEachBatchOverlapping(
    Db* db, int64_t from_ns, int64_t to_ns,
    const std::function<void(const std::string& node, uint64_t min_arrival_ns,
                             std::vector<Observation>)>& fn);
// Every batch with id > after_id holding an arrival before before_ns.
absl::Status ForEachBatchAfterIdBefore(
    Db* db, int64_t after_id, int64_t before_ns,
    const std::function<void(std::vector<Observation>)>& fn);

// Reads batches by id (TracePacket).
class BatchReader {
 public:
  explicit BatchReader(Db* db);
  // False if the batch is gone (retention).
  absl::StatusOr<bool> Read(int64_t id, std::string* node, std::vector<Observation>* out);

 private:
  Stmt select_;
};

// Deletes up to `limit` batches whose newest arrival is before before_ns;
// how many went.
absl::StatusOr<int64_t> DeleteBatchesBefore(Db* db, int64_t before_ns, int limit);

// The highest batch id stored (0 when there is none).
absl::StatusOr<int64_t> LastBatchId(Db* db);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_BATCHES_TABLE_H_
