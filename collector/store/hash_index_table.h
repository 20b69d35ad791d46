#ifndef HOPLAT_COLLECTOR_STORE_HASH_INDEX_TABLE_H_
#define HOPLAT_COLLECTOR_STORE_HASH_INDEX_TABLE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "collector/store/hash_index.h"
#include "collector/store/sqlite.h"

namespace hoplat {

// The `hash_index` table: the sorted (hash, batch id) blocks that
// HashIndexBuffer writes, one per hash bucket per flush.
absl::Status InsertIndexBlocks(Db* db, const std::vector<HashIndexBuffer::Block>& blocks);
// The entries of every block of `bucket` overlapping [from_ns, to_ns).
absl::Status ForEachIndexBlock(Db* db, int bucket, int64_t from_ns, int64_t to_ns,
                               const std::function<void(absl::string_view entries)>& fn);
absl::Status DeleteIndexBlocksBefore(Db* db, int64_t before_ns);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_HASH_INDEX_TABLE_H_
