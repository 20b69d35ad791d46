#ifndef HOPLAT_TESTS_AGENT_TEST_RECORDS_H_
#define HOPLAT_TESTS_AGENT_TEST_RECORDS_H_

#include <cstdint>
#include <vector>

#include "common/batch_columns.h"
#include "hoplat/v1/ingest.pb.h"
#include "kmod/include/uapi/linux/hoplat.h"
#include "tests/collector/test_util.h"

namespace hoplat::testing {

// n forwarded records 10 µs apart from t0, every field varied.
inline std::vector<hoplat_record> Records(int n, uint64_t t0, uint64_t first_hash = 0) {
  std::vector<hoplat_record> v(n);
  for (int i = 0; i < n; ++i) {
    hoplat_record& r = v[i];
    r = hoplat_record{};
    r.hash = TestHash(first_hash + i);
    r.arrival_ns = t0 + static_cast<uint64_t>(i) * 10'000;
    r.exit_ns = r.arrival_ns + 3'000 + i % 7;
    // Monotonic: the wall clock's own, except where it stepped.
    r.residence_ns = i % 500 == 7 ? 2'500 : 3'000 + i % 7;
    r.ifindex_in = 2;
    r.ifindex_out = 3 + i % 2;
    r.length = 60 + i % 1400;
    r.flags = HOPLAT_F_FORWARDED | (i % 3 == 0 ? HOPLAT_F_IPV6 : 0);
    r.gso_segs = static_cast<uint16_t>(i % 11 == 0 ? 1 + i % 45 : 1);
    r.version = HOPLAT_RECORD_VERSION;
    r.ttl = static_cast<uint8_t>(1 + i % 255);
  }
  return v;
}

// Batch `seq` of n observations whose hashes no other batch has.
inline v1::ObservationBatch TestBatch(uint64_t seq, int n) {
  v1::ObservationBatch b;
  b.set_seq(seq);
  for (int i = 0; i < n; ++i) {
    AppendToBatch(Observation{TestHash(seq * 1000 + i), 1, 2, 2, 3, 60, 1}, &b);
  }
  return b;
}

}  // namespace hoplat::testing

#endif  // HOPLAT_TESTS_AGENT_TEST_RECORDS_H_
