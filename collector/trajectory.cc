#include "collector/trajectory.h"

#include <algorithm>

namespace hoplat {

void SplitTrajectories(std::vector<Sighting>* sightings, uint64_t window_ns,
                       std::vector<std::vector<Sighting>>* out) {
  out->clear();
  std::vector<Sighting>& s = *sightings;
  std::sort(s.begin(), s.end(), [](const Sighting& a, const Sighting& b) {
    return a.arrival_ns != b.arrival_ns ? a.arrival_ns < b.arrival_ns : a.node < b.node;
  });
  // Occurrence count per node within the current cluster; clusters are tiny
  // (a few routers), so a linear scan beats a map.
  std::vector<std::pair<uint32_t, size_t>> seen;
  size_t cluster_base = 0;  // index in *out of the current cluster's first trajectory
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 0 || s[i].arrival_ns - s[i - 1].arrival_ns > window_ns) {
      cluster_base = out->size();
      seen.clear();
    }
    size_t k = 0;
    auto it = std::find_if(seen.begin(), seen.end(),
                           [&](const auto& p) { return p.first == s[i].node; });
    if (it == seen.end()) {
      seen.emplace_back(s[i].node, 1);
    } else {
      k = it->second++;
    }
    if (cluster_base + k >= out->size()) out->emplace_back();
    (*out)[cluster_base + k].push_back(s[i]);
  }
}

}  // namespace hoplat
