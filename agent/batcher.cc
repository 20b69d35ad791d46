#include "agent/batcher.h"

#include "common/batch_columns.h"

namespace hoplat {

static_assert(Observation::kFlagHandoff == HOPLAT_F_HANDOFF, "one flag, two names");

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
  // Version 3: the egress queue (a reserved word before, and no flag).
  o.queue_ns = r.version >= 3 && (r.flags & HOPLAT_F_HANDOFF) ? r.queue_ns : 0;
  if (r.version < 3) o.flags &= ~Observation::kFlagHandoff;
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
