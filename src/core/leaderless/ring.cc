#include "core/leaderless/ring.h"

#include <algorithm>
#include <set>
#include <string>

#include "core/encoding.h"

namespace replikv::core::leaderless {
namespace {

// SplitMix64's finalizer: FNV-1a alone leaves keys that differ in their last byte close together
// on the ring.
uint64_t scramble(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t HashRing::position(std::string_view key) {
  Fnv64 hash;
  hash.add(key);
  return scramble(hash.value());
}

HashRing::HashRing(const std::vector<NodeId>& members, uint32_t vnodes) {
  const std::set<NodeId> distinct(members.begin(), members.end());
  members_ = distinct.size();
  vnodes = std::max<uint32_t>(vnodes, 1);
  tokens_.reserve(members_ * vnodes);
  for (const NodeId member : distinct) {
    for (uint32_t index = 0; index < vnodes; ++index) {
      std::string name;
      append_u32_be(name, member.value());
      append_u32_be(name, index);
      tokens_.emplace_back(position(name), member);
    }
  }
  std::sort(tokens_.begin(), tokens_.end());
}

std::vector<NodeId> HashRing::preference_list(std::string_view key, size_t n) const {
  std::vector<NodeId> out;
  n = std::min(n, members_);
  if (n == 0) return out;
  const uint64_t at = position(key);
  auto it = std::lower_bound(tokens_.begin(), tokens_.end(), std::make_pair(at, NodeId(0)));
  for (size_t seen = 0; out.size() < n && seen < tokens_.size(); ++seen, ++it) {
    if (it == tokens_.end()) it = tokens_.begin();
    if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
  }
  return out;
}

}  // namespace replikv::core::leaderless
