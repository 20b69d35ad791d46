#ifndef HOPLAT_COMMON_NODE_ID_H_
#define HOPLAT_COMMON_NODE_ID_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hoplat {

// A node id names a router in every query and joins node ids into path keys
// ("r1>r2>r3"), so it is restricted to [A-Za-z0-9._-], 1 to 64 characters.
absl::Status ValidateNodeId(absl::string_view id);

// The same rules for another name (`what` names it in the error, e.g.
// "clock domain").
absl::Status ValidateName(absl::string_view what, absl::string_view name);

}  // namespace hoplat

#endif  // HOPLAT_COMMON_NODE_ID_H_
