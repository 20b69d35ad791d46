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
  }
  return absl::OkStatus();
}

}  // namespace hoplat
