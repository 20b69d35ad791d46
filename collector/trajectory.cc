#include "collector/trajectory.h"

#include <algorithm>
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
  std::stable_sort(t->begin(), t->end(), [](const Sighting& a, const Sighting& b) {
    return std::make_tuple(-static_cast<int64_t>(a.ttl), PathRank(a), a.arrival_ns) <
           std::make_tuple(-static_cast<int64_t>(b.ttl), PathRank(b), b.arrival_ns);
  });
}

}  // namespace

void SplitTrajectories(std::vector<Sighting>* sightings, uint64_t window_ns,
                       std::vector<std::vector<Sighting>>* out) {
  out->clear();
  std::vector<Sighting>& s = *sightings;
  std::sort(s.begin(), s.end(), [](const Sighting& a, const Sighting& b) {
    return a.arrival_ns != b.arrival_ns ? a.arrival_ns < b.arrival_ns : a.node < b.node;
  });
  // Occurrences per (node, TTL) within the current cluster; clusters are
  // tiny (a few routers), so a linear scan beats a map.
  struct Seen {
    uint32_t node;
    uint32_t ttl;
    size_t count;
  };
  std::vector<Seen> seen;
  size_t cluster_base = 0;  // index in *out of the current cluster's first trajectory
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 0 || s[i].arrival_ns - s[i - 1].arrival_ns > window_ns) {
      for (size_t t = cluster_base; t < out->size(); ++t) OrderAlongPath(&(*out)[t]);
      cluster_base = out->size();
      seen.clear();
    }
    size_t k = 0;
    auto it = std::find_if(seen.begin(), seen.end(), [&](const Seen& p) {
      return p.node == s[i].node && p.ttl == s[i].ttl;
    });
    if (it == seen.end()) {
      seen.push_back(Seen{s[i].node, s[i].ttl, 1});
    } else {
      k = it->count++;
    }
    if (cluster_base + k >= out->size()) out->emplace_back();
    (*out)[cluster_base + k].push_back(s[i]);
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
