#include "tools/cli_format.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hoplat {

std::string Table::Render() const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      // First column left-aligned (names), the rest right-aligned (numbers).
      line += i == 0 ? absl::StrFormat("%-*s", width[i], row[i])
                     : absl::StrFormat("  %*s", width[i], row[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string FormatDuration(const google::protobuf::Duration& d, bool present) {
  if (!present) return "-";
  const double ns = static_cast<double>(d.seconds()) * 1e9 + d.nanos();
  const double a = std::abs(ns);
  if (a < 1e3) return absl::StrFormat("%.0fns", ns);
  if (a < 1e6) return absl::StrFormat("%.4gus", ns / 1e3);
  if (a < 1e9) return absl::StrFormat("%.4gms", ns / 1e6);
  return absl::StrFormat("%.4gs", ns / 1e9);
}

std::vector<std::string> SummaryHeader(std::string first) {
  return {std::move(first), "count", "min", "p50", "p90", "p99", "p99.9", "max", "clock-err"};
}

std::vector<std::string> SummaryCells(std::string first, const v1::LatencySummary& s) {
  const bool any = s.count() > 0;
  return {std::move(first),               absl::StrCat(s.count()),       FormatDuration(s.min(), any),
          FormatDuration(s.p50(), any),  FormatDuration(s.p90(), any),
          FormatDuration(s.p99(), any),  FormatDuration(s.p999(), any),
          FormatDuration(s.max(), any),  absl::StrCat(s.clock_errors())};
}

}  // namespace hoplat
