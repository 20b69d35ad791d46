#ifndef HOPLAT_COLLECTOR_AGGREGATE_KEY_H_
#define HOPLAT_COLLECTOR_AGGREGATE_KEY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "collector/aggregate.h"

namespace hoplat {

// What an aggregate row is about: its kind and the nodes it names, as
// stored in the `aggregates` table's key column. The text is node ids
// joined with '>' (node ids cannot contain it), built and read only here.
struct AggregateKey {
  AggKind kind;
  std::string text;

  bool operator==(const AggregateKey& o) const { return kind == o.kind && text == o.text; }
  bool operator<(const AggregateKey& o) const {
    return kind != o.kind ? kind < o.kind : text < o.text;
  }
};

// "r1>r2>r3" for a path or a pair; "r1" for one node.
std::string KeyText(absl::Span<const std::string> nodes);
std::string KeyText(absl::string_view from, absl::string_view to);
// The nodes a key text names, in order.
std::vector<std::string> KeyNodes(absl::string_view text);
// "r1:5": a node's egress interface (kQueue), and back (false if malformed).
std::string InterfaceKeyText(absl::string_view node, uint32_t ifindex);
bool ParseInterfaceKey(absl::string_view text, std::string* node, uint32_t* ifindex);

}  // namespace hoplat

#endif  // HOPLAT_COLLECTOR_AGGREGATE_KEY_H_
