#include "collector/aggregate_key.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hoplat {
namespace {
constexpr char kSeparator = '>';
constexpr char kInterfaceSeparator = ':';  // node ids cannot hold it either
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

std::string InterfaceKeyText(absl::string_view node, uint32_t ifindex) {
  return absl::StrCat(node, std::string(1, kInterfaceSeparator), ifindex);
}

bool ParseInterfaceKey(absl::string_view text, std::string* node, uint32_t* ifindex) {
  const size_t at = text.rfind(kInterfaceSeparator);
  if (at == absl::string_view::npos || at == 0) return false;
  *node = std::string(text.substr(0, at));
  return absl::SimpleAtoi(text.substr(at + 1), ifindex);
}

}  // namespace hoplat
