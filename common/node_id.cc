#include "common/node_id.h"

#include "absl/strings/str_format.h"
#include "common/error_text.h"

namespace hoplat {

absl::Status ValidateNodeId(absl::string_view id) {
  if (id.empty() || id.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrFormat("node id %s: want 1 to 64 characters", QuoteInput(id)));
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "node id %s: only letters, digits, '.', '_' and '-' are allowed", QuoteInput(id)));
    }
  }
  return absl::OkStatus();
}

}  // namespace hoplat
