#include "agent/module_control.h"

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "kmod/include/uapi/linux/hoplat.h"

namespace hoplat {
namespace {

absl::Status NlStatus(int err, const char* what) {
  if (err >= 0) return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": ", nl_geterror(err));
  switch (-err) {
    case NLE_PERM:
      return absl::PermissionDeniedError(message + " (needs CAP_NET_ADMIN)");
    case NLE_INVAL:
    case NLE_RANGE:
      return absl::InvalidArgumentError(message);
    case NLE_OBJ_NOTFOUND:
      return absl::UnavailableError(message + " (is the hoplat module loaded?)");
    default:
      return absl::UnavailableError(message);
  }
}

int ParseCounters(nl_msg* msg, void* arg) {
  auto* out = static_cast<v1::ModuleCounters*>(arg);
  nlattr* attrs[HOPLAT_A_MAX + 1];
  if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, HOPLAT_A_MAX, nullptr) < 0) return NL_SKIP;
  auto get = [&](int a) -> uint64_t { return attrs[a] ? nla_get_u64(attrs[a]) : 0; };
  out->set_packets_seen(get(HOPLAT_A_PACKETS_SEEN));
  out->set_packets_sampled(get(HOPLAT_A_PACKETS_SAMPLED));
  out->set_ring_drops(get(HOPLAT_A_RING_DROPS));
  out->set_no_reader(get(HOPLAT_A_NO_READER));
  out->set_records_read(get(HOPLAT_A_RECORDS_READ));
  out->set_parse_errors(get(HOPLAT_A_PARSE_ERRORS));
  out->set_unmatched(get(HOPLAT_A_UNMATCHED));
  out->set_filtered_by_paths(get(HOPLAT_A_FILTERED));
  out->set_discarded_at_close(get(HOPLAT_A_CLOSE_DISCARDS));
  out->set_stash_full(get(HOPLAT_A_STASH_FULL));
  out->set_in_stash(get(HOPLAT_A_IN_STASH));
  out->set_handoff_gso(get(HOPLAT_A_HANDOFF_GSO));
  out->set_handoff_unseen(get(HOPLAT_A_HANDOFF_UNSEEN));
  out->set_handoff_full(get(HOPLAT_A_HANDOFF_FULL));
  out->set_in_handoff(get(HOPLAT_A_IN_HANDOFF));
  return NL_OK;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModuleControl>> ModuleControl::Open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return absl::ResourceExhaustedError("netlink socket");
  if (absl::Status s = NlStatus(genl_connect(sock), "genetlink"); !s.ok()) {
    nl_socket_free(sock);
    return s;
  }
  const int family = genl_ctrl_resolve(sock, HOPLAT_GENL_NAME);
  if (family < 0) {
    nl_socket_free(sock);
    return absl::UnavailableError(
        "genetlink family \"hoplat\" not found (is the hoplat module loaded?)");
  }
  return std::unique_ptr<ModuleControl>(new ModuleControl(sock, family));
}

ModuleControl::~ModuleControl() { nl_socket_free(sock_); }

absl::Status ModuleControl::Configure(const Config& config) {
  absl::MutexLock lock(&mu_);
  nl_msg* msg = nlmsg_alloc();
  if (msg == nullptr) return absl::ResourceExhaustedError("netlink message");
  genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, NLM_F_ACK, HOPLAT_CMD_SET_CONFIG,
              HOPLAT_GENL_VERSION);
  if (config.sample_one_in) nla_put_u32(msg, HOPLAT_A_SAMPLE_ONE_IN, *config.sample_one_in);
  if (config.hash_key) {
    nla_put(msg, HOPLAT_A_HASH_KEY, static_cast<int>(config.hash_key->size()),
            config.hash_key->data());
  }
  if (config.paths) nla_put_u32(msg, HOPLAT_A_PATHS, *config.paths);
  int err = nl_send_auto(sock_, msg);
  nlmsg_free(msg);
  if (err >= 0) err = nl_wait_for_ack(sock_);
  return NlStatus(err, "configuring the module");
}

absl::StatusOr<v1::ModuleCounters> ModuleControl::Counters() {
  absl::MutexLock lock(&mu_);
  nl_msg* msg = nlmsg_alloc();
  if (msg == nullptr) return absl::ResourceExhaustedError("netlink message");
  genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, 0, HOPLAT_CMD_GET_COUNTERS,
              HOPLAT_GENL_VERSION);
  v1::ModuleCounters counters;
  nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, ParseCounters, &counters);
  int err = nl_send_auto(sock_, msg);
  nlmsg_free(msg);
  if (err >= 0) err = nl_recvmsgs_default(sock_);  // the reply (returns after it)...
  if (err >= 0) err = nl_wait_for_ack(sock_);       // ...then the ack libnl asked for
  if (absl::Status s = NlStatus(err, "reading the module's counters"); !s.ok()) return s;
  return counters;
}

absl::StatusOr<uint32_t> ParsePaths(const std::string& text) {
  if (text == "all") return HOPLAT_PATH_ALL;
  if (text == "none") return 0;
  constexpr uint32_t kFamilies = HOPLAT_PATH_IPV4 | HOPLAT_PATH_IPV6;
  uint32_t bits = 0;
  for (absl::string_view word : absl::StrSplit(text, ',')) {
    word = absl::StripAsciiWhitespace(word);
    if (word == "forward") {
      bits |= HOPLAT_PATH_FORWARD;
    } else if (word == "local_out") {
      bits |= HOPLAT_PATH_LOCAL_OUT;
    } else if (word == "local_in") {
      bits |= HOPLAT_PATH_LOCAL_IN;
    } else if (word == "ipv4") {
      bits |= HOPLAT_PATH_IPV4;
    } else if (word == "ipv6") {
      bits |= HOPLAT_PATH_IPV6;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "paths: unknown \"", word,
          "\" (want all, none, or a list of forward, local_out, local_in, ipv4, ipv6)"));
    }
  }
  if ((bits & kFamilies) == 0) bits |= kFamilies;
  if ((bits & ~kFamilies) == 0) bits |= HOPLAT_PATH_ALL & ~kFamilies;
  return bits;
}

absl::StatusOr<std::string> ReadHashKeyFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("hash key file ", path, ": not found"));
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "hash key file ", path, ": readable by others than its owner (chmod 600 it)"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream data;
  data << in.rdbuf();
  std::string key = data.str();
  if (key.size() != 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash key file ", path, ": want exactly 16 bytes, found ", key.size()));
  }
  return key;
}

}  // namespace hoplat
