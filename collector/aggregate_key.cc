#include "collector/aggregate_key.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hoplat {
namespace {
constexpr char kSeparator = '>';
}  // namespace

std::string KeyText(absl::Span<const std::string> nodes) {
  return absl::StrJoin(nodes, std::string(1, kSeparator));
}

std::string KeyText(absl::string_view from, absl::string_view to) {
  return absl::StrCat(from, std::string(1, kSeparator), to);
}

std::vector<std::string> KeyNodes(absl::string_view text) {
  return absl::StrSplit(text, kSeparator);
}

}  // namespace hoplat
