// HashRing: where the leaderless strategy keeps each key — consistent hashing with virtual nodes
// (Karger et al. 1997; Dynamo, DeCandia et al. 2007). Every member owns `vnodes` tokens on a
// 64-bit ring; a key's preference list is the first N distinct members met walking clockwise from
// the key's position. Adding a member only inserts its tokens: a key's list changes only where the
// new member takes a place in it, pushing the last one out, so every replica that moves, moves to
// the new member — about N / (members + 1) of the keys take one there (tests/unit/ring_test.cc).
//
// Pure and deterministic: the same members and tokens per member give the same ring on every node.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.h"

namespace replikv::core::leaderless {

class HashRing {
 public:
  // `members` in any order (duplicates ignored); `vnodes` tokens each (at least 1).
  HashRing(const std::vector<NodeId>& members, uint32_t vnodes);

  // The first `n` distinct members clockwise from `key` (all members when there are fewer).
  std::vector<NodeId> preference_list(std::string_view key, size_t n) const;

  size_t members() const { return members_; }

  // A key's position on the ring (also a token's: the hash of the member and its index).
  static uint64_t position(std::string_view key);

 private:
  std::vector<std::pair<uint64_t, NodeId>> tokens_;  // sorted by position, then member
  size_t members_ = 0;
};

}  // namespace replikv::core::leaderless
