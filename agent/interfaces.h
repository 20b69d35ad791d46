#ifndef HOPLAT_AGENT_INTERFACES_H_
#define HOPLAT_AGENT_INTERFACES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "hoplat/v1/ingest.pb.h"

struct nl_sock;

namespace hoplat {

// The network interfaces of the router's namespace, by index and name, for
// each NodeReport: records name interfaces by index only, and the collector
// shows names beside them. The rtnetlink socket is opened in the namespace
// the agent starts in (the router's), so the table stays the router's after
// --collector_netns moved the agent's later sockets elsewhere.
class InterfaceTable {
 public:
  static absl::StatusOr<std::unique_ptr<InterfaceTable>> Open();
  ~InterfaceTable();
  InterfaceTable(const InterfaceTable&) = delete;
  InterfaceTable& operator=(const InterfaceTable&) = delete;

  // Appends every interface to report->interfaces; on an error, none (the
  // next report tries again).
  absl::Status AddTo(v1::NodeReport* report);

 private:
  explicit InterfaceTable(nl_sock* sock) : sock_(sock) {}
  nl_sock* const sock_;
};

}  // namespace hoplat

#endif  // HOPLAT_AGENT_INTERFACES_H_
