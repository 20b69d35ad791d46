#include "common/batch_columns.h"

#include "absl/strings/str_format.h"

namespace hoplat {

void AppendToBatch(const Observation& o, v1::ObservationBatch* batch) {
  batch->add_hash(o.hash);
  batch->add_arrival_ns(o.arrival_ns);
  batch->add_exit_ns(o.exit_ns);
  batch->add_ifindex_in(o.ifindex_in);
  batch->add_ifindex_out(o.ifindex_out);
  batch->add_length(o.length);
  batch->add_flags(o.flags);
  batch->add_residence_ns(o.residence_ns);
  batch->add_ttl(o.ttl);
  batch->add_gso_segs(o.gso_segs);
  batch->add_queue_ns(o.queue_ns);
}

absl::Status ObservationsFromBatch(const v1::ObservationBatch& b,
                                   std::vector<Observation>* out) {
  const int n = b.hash_size();
  if (b.arrival_ns_size() != n || b.exit_ns_size() != n || b.ifindex_in_size() != n ||
      b.ifindex_out_size() != n || b.length_size() != n || b.flags_size() != n) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "batch %d: columns of unequal length (hash %d, arrival_ns %d, exit_ns %d, "
        "ifindex_in %d, ifindex_out %d, length %d, flags %d)",
        b.seq(), n, b.arrival_ns_size(), b.exit_ns_size(), b.ifindex_in_size(),
        b.ifindex_out_size(), b.length_size(), b.flags_size()));
  }
  auto optional_ok = [n](int size) { return size == 0 || size == n; };
  if (!optional_ok(b.residence_ns_size()) || !optional_ok(b.ttl_size()) ||
      !optional_ok(b.gso_segs_size()) || !optional_ok(b.queue_ns_size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "batch %d: columns of unequal length (hash %d, residence_ns %d, ttl %d, gso_segs %d, "
        "queue_ns %d; each of these is either absent or as long as hash)",
        b.seq(), n, b.residence_ns_size(), b.ttl_size(), b.gso_segs_size(), b.queue_ns_size()));
  }
  out->resize(n);
  for (int i = 0; i < n; ++i) {
    Observation& o = (*out)[i];
    o.hash = b.hash(i);
    o.arrival_ns = b.arrival_ns(i);
    o.exit_ns = b.exit_ns(i);
    o.ifindex_in = b.ifindex_in(i);
    o.ifindex_out = b.ifindex_out(i);
    o.length = b.length(i);
    o.flags = b.flags(i);
    o.residence_ns = b.residence_ns_size() ? b.residence_ns(i) : 0;
    o.ttl = b.ttl_size() ? b.ttl(i) : 0;
    o.gso_segs = b.gso_segs_size() && b.gso_segs(i) > 0 ? b.gso_segs(i) : 1;
    o.queue_ns = b.queue_ns_size() ? b.queue_ns(i) : 0;
    if (!b.queue_ns_size()) o.flags &= ~Observation::kFlagHandoff;  // no queue time sent
  }
  return absl::OkStatus();
}

}  // namespace hoplat
