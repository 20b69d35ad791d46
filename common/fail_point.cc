#include "common/fail_point.h"

#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

namespace hoplat {
namespace {

const std::map<std::string, uint64_t, std::less<>>& FailPoints() {
  static const auto* points = [] {
    auto* out = new std::map<std::string, uint64_t, std::less<>>();
    const char* env = std::getenv("HOPLAT_FAILPOINTS");
    if (env == nullptr) return out;
    for (absl::string_view item : absl::StrSplit(env, ';', absl::SkipWhitespace())) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, '=');
      uint64_t value;
      if (!absl::SimpleAtoi(kv.second, &value)) {
        Logf("HOPLAT_FAILPOINTS: \"%s\" is not name=number; ignored", item);
        continue;
      }
      Logf("fail point %s=%d is set", kv.first, value);
      (*out)[std::string(kv.first)] = value;
    }
    return out;
  }();
  return *points;
}

}  // namespace

std::optional<uint64_t> FailPointValue(absl::string_view name) {
  const auto& points = FailPoints();
  auto it = points.find(name);
  if (it == points.end()) return std::nullopt;
  return it->second;
}

}  // namespace hoplat
