#include "collector/trajectory.h"

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "kmod/include/uapi/linux/hoplat.h"

namespace hoplat {
namespace {

// Sent, then forwarded, then delivered: the order of one packet's records
// with one TTL (the sender does not lower it).
int PathRank(const Sighting& s) {
  if (s.flags & HOPLAT_F_LOCAL_OUT) return 0;
  if (s.flags & HOPLAT_F_LOCAL_IN) return 2;
  return 1;
}

void OrderAlongPath(std::vector<Sighting>* t) {
  const bool ttls = std::all_of(t->begin(), t->end(), [](const Sighting& s) { return s.ttl != 0; });
  if (!ttls) return;  // arrival order already
  std::vector<Sighting> by_ttl = *t;
  std::stable_sort(by_ttl.begin(), by_ttl.end(), [](const Sighting& a, const Sighting& b) {
    return std::make_tuple(-static_cast<int64_t>(a.ttl), PathRank(a), a.arrival_ns) <
           std::make_tuple(-static_cast<int64_t>(b.ttl), PathRank(b), b.arrival_ns);
  });
  // The TTL must fall at every router, or tie only from a sender to the
  // first router: otherwise something does not lower it (a bridge) and it
  // cannot order the path; arrival order stands.
  for (size_t i = 0; i + 1 < by_ttl.size(); ++i) {
    const Sighting& a = by_ttl[i];
    const Sighting& b = by_ttl[i + 1];
    if (a.ttl == b.ttl && !(PathRank(a) < PathRank(b))) return;
  }
  *t = std::move(by_ttl);
}

}  // namespace

void SplitTrajectories(std::vector<Sighting>* sightings, uint64_t window_ns,
                       std::vector<std::vector<Sighting>>* out) {
  out->clear();
  std::vector<Sighting>& s = *sightings;
  std::sort(s.begin(), s.end(), [](const Sighting& a, const Sighting& b) {
    return a.arrival_ns != b.arrival_ns ? a.arrival_ns < b.arrival_ns : a.node < b.node;
  });
  // What this cluster's sightings went to; clusters are tiny (a few
  // routers), so linear scans beat maps.
  struct Assigned {
    uint32_t node;
    uint32_t ttl;
    size_t trajectory;
  };
  std::vector<Assigned> assigned;
  size_t cluster_base = 0;  // index in *out of the current cluster's first trajectory
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 0 || s[i].arrival_ns - s[i - 1].arrival_ns > window_ns) {
      for (size_t t = cluster_base; t < out->size(); ++t) OrderAlongPath(&(*out)[t]);
      cluster_base = out->size();
      assigned.clear();
    }
    const Sighting& x = s[i];
    // A loop: this node is in a trajectory with a higher TTL, and another
    // node of it saw a TTL in between (the packet went on and came back).
    size_t target = SIZE_MAX;
    if (x.ttl != 0) {
      for (const Assigned& a : assigned) {
        if (a.node != x.node || a.ttl <= x.ttl) continue;
        const bool between = std::any_of(assigned.begin(), assigned.end(), [&](const Assigned& b) {
          return b.trajectory == a.trajectory && b.node != x.node && b.ttl < a.ttl && b.ttl > x.ttl;
        });
        if (between) {
          target = a.trajectory;
          break;
        }
      }
    }
    if (target == SIZE_MAX) {
      // A copy: the k-th sighting at each node goes to the k-th trajectory.
      size_t holding = 0;
      for (size_t t = cluster_base; t < out->size(); ++t) {
        holding += std::any_of((*out)[t].begin(), (*out)[t].end(),
                               [&](const Sighting& y) { return y.node == x.node; });
      }
      target = cluster_base + holding;
    }
    if (target >= out->size()) out->resize(target + 1);
    (*out)[target].push_back(x);
    assigned.push_back(Assigned{x.node, x.ttl, target});
  }
  for (size_t t = cluster_base; t < out->size(); ++t) OrderAlongPath(&(*out)[t]);
}

bool IsLoop(const std::vector<Sighting>& t) {
  for (size_t i = 0; i < t.size(); ++i) {
    for (size_t j = i + 1; j < t.size(); ++j) {
      if (t[i].node == t[j].node) return true;
    }
  }
  return false;
}

}  // namespace hoplat
