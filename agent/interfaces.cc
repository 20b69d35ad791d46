#include "agent/interfaces.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "absl/strings/str_cat.h"

namespace hoplat {
namespace {

int AddLink(nl_msg* msg, void* arg) {
  auto* report = static_cast<v1::NodeReport*>(arg);
  nlmsghdr* h = nlmsg_hdr(msg);
  if (h->nlmsg_type != RTM_NEWLINK) return NL_SKIP;
  nlattr* attrs[IFLA_MAX + 1];
  if (nlmsg_parse(h, sizeof(ifinfomsg), attrs, IFLA_MAX, nullptr) < 0 ||
      attrs[IFLA_IFNAME] == nullptr) {
    return NL_SKIP;
  }
  const auto* info = static_cast<const ifinfomsg*>(nlmsg_data(h));
  v1::NetworkInterface* out = report->add_interfaces();
  out->set_ifindex(static_cast<uint32_t>(info->ifi_index));
  out->set_name(nla_get_string(attrs[IFLA_IFNAME]));
  return NL_OK;
}

}  // namespace

absl::StatusOr<std::unique_ptr<InterfaceTable>> InterfaceTable::Open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return absl::ResourceExhaustedError("rtnetlink: no memory for a socket");
  if (int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
    nl_socket_free(sock);
    return absl::UnavailableError(absl::StrCat("rtnetlink: ", nl_geterror(err)));
  }
  return std::unique_ptr<InterfaceTable>(new InterfaceTable(sock));
}

InterfaceTable::~InterfaceTable() { nl_socket_free(sock_); }

absl::Status InterfaceTable::AddTo(v1::NodeReport* report) {
  const int before = report->interfaces_size();
  ifinfomsg request = {};
  request.ifi_family = AF_UNSPEC;
  int err = nl_send_simple(sock_, RTM_GETLINK, NLM_F_DUMP, &request, sizeof(request));
  if (err >= 0) {
    nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, AddLink, report);
    err = nl_recvmsgs_default(sock_);
  }
  if (err < 0) {
    while (report->interfaces_size() > before) report->mutable_interfaces()->RemoveLast();
    return absl::UnavailableError(absl::StrCat("rtnetlink: listing interfaces: ", nl_geterror(err)));
  }
  return absl::OkStatus();
}

}  // namespace hoplat
