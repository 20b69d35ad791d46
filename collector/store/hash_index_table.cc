#include "collector/store/hash_index_table.h"

namespace hoplat {

absl::Status InsertIndexBlocks(Db* db, const std::vector<HashIndexBuffer::Block>& blocks) {
  Stmt put(db,
           "INSERT INTO hash_index(bucket, min_arrival_ns, max_arrival_ns, entries) "
           "VALUES (?, ?, ?, ?)");
  for (const HashIndexBuffer::Block& b : blocks) {
    put.Bind(1, b.bucket).Bind(2, b.min_arrival_ns).Bind(3, b.max_arrival_ns).BindBlob(4, b.entries);
    if (absl::Status s = put.Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ForEachIndexBlock(Db* db, int bucket, int64_t from_ns, int64_t to_ns,
                               const std::function<void(absl::string_view entries)>& fn) {
  Stmt blocks(db,
              "SELECT entries FROM hash_index WHERE bucket = ? AND max_arrival_ns >= ? "
              "AND min_arrival_ns < ?");
  blocks.Bind(1, bucket).Bind(2, from_ns).Bind(3, to_ns);
  absl::Status status;
  while (blocks.Step(&status)) fn(blocks.Blob(0));
  return status;
}

absl::Status DeleteIndexBlocksBefore(Db* db, int64_t before_ns) {
  Stmt del(db, "DELETE FROM hash_index WHERE max_arrival_ns < ?");
  return del.Bind(1, before_ns).Run();
}

}  // namespace hoplat
