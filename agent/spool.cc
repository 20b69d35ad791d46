#include "agent/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace hoplat {
namespace {

constexpr absl::string_view kSuffix = ".batch";

absl::Status WriteFileAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(tmp, ": ", strerror(errno)));
  const bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
                  fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return absl::ResourceExhaustedError(absl::StrCat(path, ": cannot write (disk full?)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Spool::PathOf(uint64_t seq) const {
  return absl::StrFormat("%s/%020d%s", dir_, seq, kSuffix);
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(const std::string& dir, uint64_t max_bytes) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat("spool directory ", dir, ": ", strerror(errno)));
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("spool directory ", dir, ": not writable"));
  }
  std::unique_ptr<Spool> spool(new Spool(dir, max_bytes));
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return absl::UnavailableError(absl::StrCat(dir, ": ", strerror(errno)));
  while (dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    uint64_t seq;
    if (!absl::ConsumeSuffix(&name, kSuffix) || name.empty() || !absl::SimpleAtoi(name, &seq)) {
      continue;  // *.tmp of a write cut short, and anything else, is ignored
    }
    struct stat st;
    if (stat(spool->PathOf(seq).c_str(), &st) != 0) continue;
    // Observations are counted when dropped; an old file's count is read then.
    spool->files_[seq] = {static_cast<uint64_t>(st.st_size), 0};
    spool->bytes_ += static_cast<uint64_t>(st.st_size);
  }
  closedir(d);
  std::ifstream counts(dir + "/dropped");
  counts >> spool->dropped_batches_ >> spool->dropped_observations_;
  return spool;
}

absl::Status Spool::SaveDropped() {
  return WriteFileAtomically(dir_ + "/dropped",
                             absl::StrCat(dropped_batches_, " ", dropped_observations_, "\n"));
}

absl::Status Spool::Append(v1::ObservationBatch batch) {
  if (files_.count(batch.seq()) != 0) return absl::OkStatus();  // sent from here, not acked
  const std::string data = batch.SerializeAsString();
  if (data.size() > max_bytes_) {  // before making room: it would empty the spool for nothing
    ++dropped_batches_;
    dropped_observations_ += static_cast<uint64_t>(batch.hash_size());
    SaveDropped().IgnoreError();
    return absl::ResourceExhaustedError("batch larger than the whole spool: dropped");
  }
  bool dropped = false;
  // Make room, counting what goes.
  while (!files_.empty() && bytes_ + data.size() > max_bytes_) {
    auto victim = DropForRoom(files_, sent_);
    ++dropped_batches_;
    dropped_observations_ += ObservationsIn(victim);
    Remove(victim);
    dropped = true;
  }
  if (dropped) {
    Logf("spool full (%d bytes): oldest batches dropped, %d so far", max_bytes_,
         dropped_batches_);
    SaveDropped().IgnoreError();
  }
  if (absl::Status s = WriteFileAtomically(PathOf(batch.seq()), data); !s.ok()) {
    ++dropped_batches_;
    dropped_observations_ += static_cast<uint64_t>(batch.hash_size());
    SaveDropped().IgnoreError();
    return s;
  }
  files_[batch.seq()] = {data.size(), static_cast<uint64_t>(batch.hash_size())};
  bytes_ += data.size();
  return absl::OkStatus();
}

std::optional<v1::ObservationBatch> Spool::ReadFile(uint64_t seq) const {
  std::ifstream in(PathOf(seq), std::ios::binary);
  std::stringstream data;
  data << in.rdbuf();
  v1::ObservationBatch batch;
  if (!in || !batch.ParseFromString(data.str()) || batch.seq() != seq) return std::nullopt;
  return batch;
}

absl::StatusOr<v1::ObservationBatch> Spool::NextUnsent() {
  for (auto it = FirstUnsent(files_, sent_); it != files_.end(); it = FirstUnsent(files_, sent_)) {
    if (std::optional<v1::ObservationBatch> batch = ReadFile(it->first)) return *std::move(batch);
    const std::string path = PathOf(it->first);
    if (access(path.c_str(), R_OK) != 0 && errno != ENOENT) {
      // Not readable now (out of file descriptors, say): try again later.
      return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
    }
    // Damaged (the disk, or a hand): counted as dropped, never retried forever.
    Logf("spool: %s is damaged or gone: dropped", path);
    ++dropped_batches_;
    SaveDropped().IgnoreError();
    Remove(it);
  }
  return absl::NotFoundError("every spooled batch has been sent");
}

uint64_t Spool::ObservationsIn(Files::iterator it) const {
  if (it->second.second != 0) return it->second.second;
  // A file from before a restart: its count is read when it is needed.
  std::optional<v1::ObservationBatch> b = ReadFile(it->first);
  return b ? static_cast<uint64_t>(b->hash_size()) : 0;
}

void Spool::Remove(Files::iterator it) {
  unlink(PathOf(it->first).c_str());
  bytes_ -= it->second.first;
  sent_.erase(it->first);
  files_.erase(it);
}

std::optional<uint64_t> Spool::Discard(uint64_t seq) {
  auto it = files_.find(seq);
  if (it == files_.end()) return std::nullopt;
  const uint64_t observations = ObservationsIn(it);
  Remove(it);
  return observations;
}

void Spool::Release(uint64_t seq) {
  if (auto it = files_.find(seq); it != files_.end()) Remove(it);
}

}  // namespace hoplat
