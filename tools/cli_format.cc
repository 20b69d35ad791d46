#include "tools/cli_format.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"

namespace hoplat {

namespace {

// Characters on the terminal: every byte but UTF-8 continuation bytes.
size_t DisplayWidth(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string Table::Render() const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      // First column left-aligned (names), the rest right-aligned (numbers).
      const std::string pad(width[i] - DisplayWidth(row[i]), ' ');
      line += i == 0 ? row[i] + pad : absl::StrCat("  ", pad, row[i]);
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

std::string QueueName(const v1::QueueSummary& q) {
  if (q.ifindex() == 0) return q.node();
  if (q.interface_name().empty()) return absl::StrCat(q.node(), " #", q.ifindex());
  return absl::StrCat(q.node(), " ", q.interface_name(), " (#", q.ifindex(), ")");
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

std::string FormatClockBound(const google::protobuf::Duration& bound, v1::ClockMethod method) {
  const std::string value =
      absl::StrCat("±", bound.seconds() == 0 && bound.nanos() == 0 ? "0" : FormatDuration(bound));
  switch (method) {
    case v1::CLOCK_METHOD_SHARED_CLOCK:
      return absl::StrCat(value, " (shared clock)");
    case v1::CLOCK_METHOD_REPORTED:
      return absl::StrCat(value, " (reported)");
    case v1::CLOCK_METHOD_NONE:
      return absl::StrCat(value, " (NOT SYNC)");
    case v1::CLOCK_METHOD_PASSIVE_TWO_WAY:
      return absl::StrCat(value, " (measured both ways)");
    default:
      return value;
  }
}

bool ClockUncertain(const v1::LatencySummary& s) {
  using google::protobuf::util::TimeUtil;
  const int64_t bound = TimeUtil::DurationToNanoseconds(s.clock_bound());
  return s.count() > 0 && bound > 0 &&
         static_cast<double>(bound) * 4 >= static_cast<double>(TimeUtil::DurationToNanoseconds(s.p50()));
}

std::string SummaryClockCell(const v1::LatencySummary& s) {
  std::string cell;
  if (s.count() > 0 || s.clock_errors() > 0) {
    cell = FormatClockBound(s.clock_bound(), s.clock_method());
    if (ClockUncertain(s)) absl::StrAppend(&cell, " UNCERTAIN");
  }
  if (s.unsynchronized() > 0) {
    absl::StrAppend(&cell, cell.empty() ? "" : ", ", s.unsynchronized(), " NOT SYNC");
  }
  return cell;
}

std::vector<std::string> ClockCells(const v1::ListNodesResponse& nodes) {
  std::map<std::string, int> in_domain;
  for (const v1::Node& n : nodes.nodes()) {
    if (!n.clock().clock_domain().empty()) ++in_domain[n.clock().clock_domain()];
  }
  std::vector<std::string> cells;
  for (const v1::Node& n : nodes.nodes()) {
    const v1::ClockState& c = n.clock();
    const std::string own =
        c.synchronized() ? absl::StrCat("sync ±", absl::FormatDuration(
                                                      absl::Nanoseconds(c.estimated_error_ns())))
                         : "NOT SYNC";
    auto it = in_domain.find(c.clock_domain());
    if (c.clock_domain().empty() || it->second < 2) {
      cells.push_back(own);
      continue;
    }
    std::string cell = absl::StrCat("shared ", c.clock_domain().substr(0, 8));
    if (it->second < nodes.nodes_size()) absl::StrAppend(&cell, ", ", own);
    cells.push_back(std::move(cell));
  }
  return cells;
}

}  // namespace hoplat
