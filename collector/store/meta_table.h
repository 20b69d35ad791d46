#ifndef HOPLAT_COLLECTOR_STORE_META_TABLE_H_
#define HOPLAT_COLLECTOR_STORE_META_TABLE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "collector/store/sqlite.h"

namespace hoplat {

// The `meta` table: what the store knows about itself, as named integers.
// Every minute before this one is sealed (its aggregates are final).
inline constexpr absl::string_view kSealedEndMinute = "sealed_end_minute";
// Batches up to this id are in the hash index blocks on disk.
inline constexpr absl::string_view kIndexedThroughBatch = "indexed_through_batch";
// Sealed minutes correlated again from the stored observations, ever.
inline constexpr absl::string_view kResealedMinutes = "resealed_minutes";

absl::StatusOr<int64_t> ReadMeta(Db* db, absl::string_view key);
absl::Status WriteMeta(Db* db, absl::string_view key, int64_t value);
// Stores max(stored, value): a value that only grows.
absl::Status RaiseMeta(Db* db, absl::string_view key, int64_t value);
absl::Status AddToMeta(Db* db, absl::string_view key, int64_t delta);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_STORE_META_TABLE_H_
