#ifndef HOPLAT_COMMON_HASH_TEXT_H_
#define HOPLAT_COMMON_HASH_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hoplat {

// Packet hashes are shown to people as exactly 16 lower-case hex digits.
std::string HashToHex(uint64_t hash);

// Accepts exactly 16 hex digits, with or without a leading "0x".
absl::StatusOr<uint64_t> HashFromHex(absl::string_view text);

}  // namespace hoplat

#endif  // HOPLAT_COMMON_HASH_TEXT_H_
