#ifndef HOPLAT_TOOLS_CLI_FORMAT_H_
#define HOPLAT_TOOLS_CLI_FORMAT_H_

#include <string>
#include <vector>

#include "google/protobuf/duration.pb.h"
#include "hoplat/v1/query.pb.h"

namespace hoplat {

// Text tables for people: columns padded to their widest cell (in
// characters: UTF-8 such as "±" counts once).
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "20.31ms", "812us", "1.204s", "-": compact but exact to 3 significant digits.
std::string FormatDuration(const google::protobuf::Duration& d, bool present = true);

// A row (or header) that starts with `first` and goes on with count, min,
// p50, p90, p99, p99.9, max, clock errors.
std::vector<std::string> SummaryCells(std::string first, const v1::LatencySummary& s);
std::vector<std::string> SummaryHeader(std::string first);
// "r2" for a router's queues together, "r2 r2-r3 (#5)" for one interface
// ("r2 #5" when its name is not known).
std::string QueueName(const v1::QueueSummary& q);

// A clock error bound with where it comes from (ClockMethod):
// "±0 (shared clock)", "±4us (reported)", "±32s (NOT SYNC)", "±180us
// (measured both ways)"; "±4us" from a
// collector that does not say.
std::string FormatClockBound(const google::protobuf::Duration& bound, v1::ClockMethod method);

// True when a summary's clock bound is a quarter of its median or more: the
// clocks' offset, not known better than that, may be much of the figure.
bool ClockUncertain(const v1::LatencySummary& s);

// What the figures of a summary are good to: "±12us (measured both ways)",
// then " UNCERTAIN" (ClockUncertain), then ", 7 NOT SYNC" for samples left
// out because nothing bounds their clocks' offset; "" for a summary of one
// clock's residences.
std::string SummaryClockCell(const v1::LatencySummary& s);

// The clock column of `hoplat nodes`, one cell per node in order. A node
// whose clock domain another listed node shares: "shared" and the domain's
// first 8 characters (latencies between them are exact), then, if some
// listed node is outside that domain, its own state as below after a comma.
// Any other node: "sync ±X" or "NOT SYNC".
std::vector<std::string> ClockCells(const v1::ListNodesResponse& nodes);

}  // namespace hoplat

#endif  // HOPLAT_TOOLS_CLI_FORMAT_H_
