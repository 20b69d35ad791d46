#include "common/node_id.h"

#include "absl/strings/str_format.h"
#include "common/error_text.h"

namespace hoplat {

absl::Status ValidateName(absl::string_view what, absl::string_view name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %s: want 1 to 64 characters", what, QuoteInput(name)));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s %s: only letters, digits, '.', '_' and '-' are allowed", what, QuoteInput(name)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateNodeId(absl::string_view id) { return ValidateName("node id", id); }

}  // namespace hoplat
