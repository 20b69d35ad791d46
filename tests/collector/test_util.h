#ifndef HOPLAT_TESTS_COLLECTOR_TEST_UTIL_H_
#define HOPLAT_TESTS_COLLECTOR_TEST_UTIL_H_

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "collector/clock_correction.h"
#include "common/observation.h"

namespace hoplat::testing {

// Tells a Correlator (or MinuteRecorrelator) that the nodes read one clock,
// as the lab's namespaces do: latencies between them are exact, with no
// correction.
template <typename C>
void ShareOneClock(C* correlator, const std::vector<std::string>& nodes) {
  for (const std::string& n : nodes) correlator->SetNodeClock(n, NodeClock{"one-kernel"});
}

// A clock tests move by hand; every part of a collector under test reads it.
class FakeClock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  std::function<absl::Time()> fn() {
    return [this] { return Now(); };
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

// A fresh directory under $TEST_TMPDIR or /tmp, removed with the object.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/hoplat-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// One synthetic packet crossing a chain of routers: arrival at router 0 at
// `start`, then for each router a residence, and between routers a hop delay.
struct Crossing {
  uint64_t hash;
  std::vector<Observation> per_router;  // index = router
};

inline Crossing Cross(uint64_t hash, uint64_t start_ns, const std::vector<int64_t>& residence_ns,
                      const std::vector<int64_t>& hop_ns) {
  Crossing c{hash, {}};
  uint64_t t = start_ns;
  for (size_t r = 0; r < residence_ns.size(); ++r) {
    Observation o;
    o.hash = hash;
    o.arrival_ns = t;
    o.exit_ns = t + static_cast<uint64_t>(residence_ns[r]);
    o.ifindex_in = 2;
    o.ifindex_out = 3;
    o.length = 84;
    t = o.exit_ns + (r < hop_ns.size() ? static_cast<uint64_t>(hop_ns[r]) : 0);
    c.per_router.push_back(o);
  }
  return c;
}

inline uint64_t TestHash(uint64_t i) {
  // splitmix64: distinct, well spread hashes like the kernel's.
  uint64_t z = i + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace hoplat::testing

#endif  // HOPLAT_TESTS_COLLECTOR_TEST_UTIL_H_
