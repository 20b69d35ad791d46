#include "collector/store/hash_index.h"

#include <algorithm>
#include <cstring>

namespace hoplat {
namespace {

constexpr size_t kEntryBytes = 16;

uint64_t LoadLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void StoreLe64(uint64_t v, char* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

}  // namespace

void HashIndexBuffer::Add(int64_t batch_id, absl::Span<const Observation> observations) {
  absl::MutexLock lock(&mu_);
  for (const Observation& o : observations) entries_.push_back({o.hash, batch_id, o.arrival_ns});
  last_batch_id_ = batch_id;
}

size_t HashIndexBuffer::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

std::vector<HashIndexBuffer::Block> HashIndexBuffer::MakeBlocks(
    size_t* count, int64_t* through_batch_id) const {
  std::vector<Entry> entries;
  {
    absl::MutexLock lock(&mu_);
    entries = entries_;
    *through_batch_id = last_batch_id_;
  }
  *count = entries.size();
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.batch_id < b.batch_id;
  });
  std::vector<Block> blocks;
  for (size_t i = 0; i < entries.size();) {
    Block block;
    block.bucket = BucketOf(entries[i].hash);
    block.min_arrival_ns = entries[i].arrival_ns;
    size_t j = i;
    for (; j < entries.size() && BucketOf(entries[j].hash) == block.bucket; ++j) {
      // Drop repeats of (hash, batch): one entry per batch is all a lookup needs.
      if (j > i && entries[j].hash == entries[j - 1].hash &&
          entries[j].batch_id == entries[j - 1].batch_id) {
        continue;
      }
      char buf[kEntryBytes];
      StoreLe64(entries[j].hash, buf);
      StoreLe64(static_cast<uint64_t>(entries[j].batch_id), buf + 8);
      block.entries.append(buf, kEntryBytes);
      block.min_arrival_ns = std::min(block.min_arrival_ns, entries[j].arrival_ns);
      block.max_arrival_ns = std::max(block.max_arrival_ns, entries[j].arrival_ns);
    }
    blocks.push_back(std::move(block));
    i = j;
  }
  return blocks;
}

void HashIndexBuffer::Discard(size_t count) {
  absl::MutexLock lock(&mu_);
  entries_.erase(entries_.begin(), entries_.begin() + std::min(count, entries_.size()));
}

void HashIndexBuffer::Lookup(uint64_t hash, std::vector<int64_t>* batch_ids) const {
  absl::MutexLock lock(&mu_);
  for (const Entry& e : entries_) {
    if (e.hash == hash) batch_ids->push_back(e.batch_id);
  }
}

void HashIndexBuffer::LookupInBlock(absl::string_view entries, uint64_t hash,
                                    std::vector<int64_t>* batch_ids) {
  size_t lo = 0, hi = entries.size() / kEntryBytes;
  while (lo < hi) {  // first entry with entry.hash >= hash
    const size_t mid = lo + (hi - lo) / 2;
    if (LoadLe64(entries.data() + mid * kEntryBytes) < hash) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  for (size_t i = lo; i < entries.size() / kEntryBytes; ++i) {
    const char* p = entries.data() + i * kEntryBytes;
    if (LoadLe64(p) != hash) break;
    batch_ids->push_back(static_cast<int64_t>(LoadLe64(p + 8)));
  }
}

}  // namespace hoplat
