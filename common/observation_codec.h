#ifndef HOPLAT_COMMON_OBSERVATION_CODEC_H_
#define HOPLAT_COMMON_OBSERVATION_CODEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/observation.h"

namespace hoplat {

// Compact, self-describing encoding of a run of observations, used for the
// collector's raw store (the agent's spool keeps batches as protobuf).
// Columnar: the 8-byte hashes are random and stored as is; arrival times are
// delta-coded, exit times are stored as the (small) residence, and the
// 32-bit fields as varints: well under half of the 52 bytes of the struct's
// fields (bench/README.md has what a stored observation costs).
//
// Layout: u8 version (3), varint n, n x u64le hash, varint first arrival,
// (n-1) x zigzag varint arrival delta, n x zigzag varint (exit - arrival),
// then n varints for each of ifindex_in, ifindex_out, length, flags; from
// version 2, n x zigzag varint (residence_ns - (exit - arrival)), then n
// varints for each of ttl, gso_segs; from version 3, n varints of queue_ns.
// Version 1 blocks (stored before) decode with residence_ns 0, ttl 0,
// gso_segs 1, version 1 and 2 blocks with queue_ns 0. *core_size, if given,
// is where the version 1 columns end (see CoreFieldsOf).
std::string EncodeObservations(absl::Span<const Observation> observations,
                               size_t* core_size = nullptr);

// The version 1 layout (the core fields only), whatever the current
// version: what batch digests are computed over, so that a digest stored
// by an older collector still matches the same batch resent.
std::string EncodeCoreFields(absl::Span<const Observation> observations);
// The same, cut from a block EncodeObservations wrote (its first core_size
// bytes, version byte 1) without encoding the observations again.
std::string CoreFieldsOf(absl::string_view encoded, size_t core_size);

// Appends to *out. DATA_LOSS on truncated or malformed input; *out is then
// left as it was.
absl::Status DecodeObservations(absl::string_view data, std::vector<Observation>* out);

}  // namespace hoplat

#endif  // HOPLAT_COMMON_OBSERVATION_CODEC_H_
