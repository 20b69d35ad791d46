#include "common/hash_text.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "common/error_text.h"

namespace hoplat {

std::string HashToHex(uint64_t hash) { return absl::StrFormat("%016x", hash); }

absl::StatusOr<uint64_t> HashFromHex(absl::string_view text) {
  absl::string_view digits = text;
  if (absl::StartsWithIgnoreCase(digits, "0x")) digits.remove_prefix(2);
  // Exactly 16: a decimal hash pasted from JSON ("hash": "123...") or a
  // prefix must never select another packet silently.
  if (digits.size() != 16) {
    return absl::InvalidArgumentError(
        absl::StrFormat("hash %s: want exactly 16 hex digits (optionally after 0x)",
                        QuoteInput(text)));
  }
  uint64_t v = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return absl::InvalidArgumentError(
          absl::StrFormat("hash %s: '%s' is not a hex digit", QuoteInput(text),
                          absl::CHexEscape(absl::string_view(&c, 1))));
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace hoplat
