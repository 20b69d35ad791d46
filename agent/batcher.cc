#include "agent/batcher.h"

#include "common/batch_columns.h"

namespace hoplat {

void Batcher::Add(const hoplat_record& r, absl::Time now) {
  if (size() == 0) oldest_ = now;
  Observation o;
  o.hash = r.hash;
  o.arrival_ns = clock_.Apply(r.arrival_ns);
  o.exit_ns = clock_.Apply(r.exit_ns);
  o.ifindex_in = r.ifindex_in;
  o.ifindex_out = r.ifindex_out;
  o.length = r.length;
  o.flags = r.flags;
  o.residence_ns = r.residence_ns;  // monotonic: the lab clock leaves it
  o.ttl = r.version >= 2 ? r.ttl : 0;  // version 1: a reserved byte
  o.gso_segs = r.gso_segs > 0 ? r.gso_segs : 1;
  AppendToBatch(o, &batch_);
}

v1::ObservationBatch Batcher::Take(uint64_t seq) {
  v1::ObservationBatch out;
  out.Swap(&batch_);
  out.set_seq(seq);
  oldest_ = absl::InfiniteFuture();
  return out;
}

}  // namespace hoplat
