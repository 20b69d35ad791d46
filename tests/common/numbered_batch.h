#ifndef HOPLAT_TESTS_COMMON_NUMBERED_BATCH_H_
#define HOPLAT_TESTS_COMMON_NUMBERED_BATCH_H_

#include <cstdint>
#include <vector>

#include "hoplat/v1/ingest.pb.h"
#include "tests/collector/collector_fixture.h"

namespace hoplat::testing {

// Batch `seq` with `n` observations whose hashes no other batch has.
inline v1::ObservationBatch NumberedBatch(uint64_t seq, int n = 10) {
  std::vector<Observation> obs;
  for (int i = 0; i < n; ++i) {
    Observation o;
    o.hash = TestHash(seq * 1'000'000 + static_cast<uint64_t>(i));
    o.arrival_ns = kT0 + seq * 1'000'000 + static_cast<uint64_t>(i) * 1000;
    o.exit_ns = o.arrival_ns + 500;
    o.ifindex_in = 2;
    o.ifindex_out = 3;
    o.length = 100;
    obs.push_back(o);
  }
  return MakeBatch(seq, obs);
}

}  // namespace hoplat::testing

#endif  // HOPLAT_TESTS_COMMON_NUMBERED_BATCH_H_
