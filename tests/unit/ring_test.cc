// The leaderless strategy's ring (core/leaderless/ring.h): preference lists of distinct members,
// the same whatever order the members are given in, and a member added takes only places in the
// lists — every replica that moves, moves to it — for about N / (members + 1) of the keys.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/leaderless/ring.h"

namespace replikv::core::leaderless {
namespace {

std::vector<NodeId> numbered(int count) {
  std::vector<NodeId> out;
  for (int id = 1; id <= count; ++id) out.emplace_back(static_cast<uint32_t>(id));
  return out;
}

RC_GTEST_PROP(HashRing, PreferenceListsHoldDistinctMembersInAnyMemberOrder, ()) {
  const int count = *rc::gen::inRange(1, 12);
  const auto n = static_cast<size_t>(*rc::gen::inRange(1, 6));
  const auto vnodes = static_cast<uint32_t>(*rc::gen::inRange(1, 64));
  std::vector<NodeId> members = numbered(count);
  const HashRing ring(members, vnodes);
  std::reverse(members.begin(), members.end());
  const HashRing reversed(members, vnodes);
  const auto key = *rc::gen::arbitrary<std::string>();
  const auto list = ring.preference_list(key, n);
  RC_ASSERT(list.size() == std::min(n, static_cast<size_t>(count)));
  RC_ASSERT(std::set<NodeId>(list.begin(), list.end()).size() == list.size());
  for (const NodeId member : list)
    RC_ASSERT(member.value() >= 1u && member.value() <= static_cast<uint32_t>(count));
  RC_ASSERT(reversed.preference_list(key, n) == list);
  // A shorter list is a prefix of a longer one.
  const auto longer = ring.preference_list(key, n + 1);
  RC_ASSERT(std::equal(list.begin(), list.end(), longer.begin()));
}

RC_GTEST_PROP(HashRing, AMemberAddedTakesOnlyPlacesInTheLists, ()) {
  const int count = *rc::gen::inRange(1, 10);
  const auto n = static_cast<size_t>(*rc::gen::inRange(1, 5));
  const HashRing before(numbered(count), 32);
  const HashRing after(numbered(count + 1), 32);
  const NodeId added(static_cast<uint32_t>(count + 1));
  const auto key = *rc::gen::arbitrary<std::string>();
  const auto old_list = before.preference_list(key, n);
  const auto new_list = after.preference_list(key, n);
  // Removing the new member from its list leaves the old list, in order, less at most its last.
  std::vector<NodeId> kept;
  for (const NodeId member : new_list) {
    if (member != added) kept.push_back(member);
  }
  RC_ASSERT(kept.size() + 1 >= old_list.size());
  RC_ASSERT(std::equal(kept.begin(), kept.end(), old_list.begin()));
}

// A fourth, sixth or ninth member with N = 3 takes a replica of about N / (members + 1) of the
// keys (within 20%; 20,000 fixed keys, counted).
TEST(HashRing, AMemberAddedTakesAReplicaOfAboutNOverMembersOfTheKeys) {
  for (const int count : {3, 5, 8}) {
    const size_t n = 3;
    const HashRing before(numbered(count), 128);
    const HashRing after(numbered(count + 1), 128);
    const NodeId added(static_cast<uint32_t>(count + 1));
    int moved = 0;
    const int keys = 20000;
    for (int i = 0; i < keys; ++i) {
      const std::string key = "key:" + std::to_string(i);
      const auto list = after.preference_list(key, n);
      if (std::find(list.begin(), list.end(), added) != list.end()) ++moved;
      EXPECT_EQ(before.preference_list(key, n).size(), std::min<size_t>(n, count));
    }
    const double share = static_cast<double>(moved) / keys;
    const double expected = static_cast<double>(n) / (count + 1);
    EXPECT_GT(share, expected * 0.8) << count << " members";
    EXPECT_LT(share, expected * 1.2) << count << " members";
  }
}

TEST(HashRing, EdgeCases) {
  const HashRing empty({}, 8);
  EXPECT_TRUE(empty.preference_list("k", 3).empty());
  const HashRing one({NodeId(7), NodeId(7)}, 0);  // duplicates ignored, at least one token
  EXPECT_EQ(one.members(), 1u);
  EXPECT_EQ(one.preference_list("k", 3), std::vector<NodeId>{NodeId(7)});
  EXPECT_TRUE(one.preference_list("k", 0).empty());
}

}  // namespace
}  // namespace replikv::core::leaderless
