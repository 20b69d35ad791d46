#ifndef HOPLAT_COLLECTOR_STORE_HASH_INDEX_H_
#define HOPLAT_COLLECTOR_STORE_HASH_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/observation.h"

namespace hoplat {

// Finds the batches that hold a given packet hash, without a per-row index.
//
// An index on a random 64-bit hash maintained during ingest turns every
// insert into random I/O (10x slower, see shared notes). Instead the writer
// collects (hash, batch id) pairs in memory, and every so often sorts them and
// writes one block per hash bucket (top 8 bits): a few large sequential
// writes. A lookup reads one bucket's blocks and binary-searches each.
class HashIndexBuffer {
 public:
  static constexpr int kBucketBits = 8;
  static int BucketOf(uint64_t hash) { return static_cast<int>(hash >> (64 - kBucketBits)); }

  struct Block {
    int bucket = 0;
    uint64_t min_arrival_ns = 0;
    uint64_t max_arrival_ns = 0;
    std::string entries;  // sorted 16-byte (u64le hash, u64le batch id) pairs
  };

  // Called by the writer after a batch commits, in batch id order.
  void Add(int64_t batch_id, absl::Span<const Observation> observations);

  size_t size() const;

  // Sorts the entries added so far into per-bucket blocks; *count says how
  // many entries that covered, through batch *through_batch_id. They stay
  // visible to Lookup() until Discard(*count), once the blocks are committed.
  std::vector<Block> MakeBlocks(size_t* count, int64_t* through_batch_id) const;
  void Discard(size_t count);

  // Batch ids in the buffer that hold `hash` (not yet in any block).
  void Lookup(uint64_t hash, std::vector<int64_t>* batch_ids) const;

  // Batch ids in an encoded block that hold `hash`.
  static void LookupInBlock(absl::string_view entries, uint64_t hash,
                            std::vector<int64_t>* batch_ids);

 private:
  struct Entry {
    uint64_t hash;
    int64_t batch_id;
    uint64_t arrival_ns;
  };
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  int64_t last_batch_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_HASH_INDEX_H_
