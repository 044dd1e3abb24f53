// KeyState (core/leaderless/key_state.h) over histories a leaderless cluster can produce: replicas
// write one key on their own copy (each under a dot of its own, superseding what its copy has
// seen, or a client's stale context), and copies travel whole between replicas in any order
// (coordinators, read repair). Properties: the join is a semilattice join over reachable copies;
// once every copy met every other, all are equal and hold exactly the writes no other write's
// context covers (siblings) or the highest of them (lww).
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/leaderless/key_state.h"
#include "proto/replikv.pb.h"

namespace replikv::core::leaderless {
namespace {

struct Written {
  Dot dot;
  CausalContext replaces;
  Register value;
};

struct World {
  ConflictPolicy policy = ConflictPolicy::siblings;
  std::vector<Actor> actors;
  std::vector<KeyState> copies;
  std::vector<uint64_t> counters;
  std::vector<Written> writes;
};

void settle(ConflictPolicy policy, KeyState& copy) {
  if (policy == ConflictPolicy::lww) copy.resolve_lww();
}

// One random step: a replica writes (superseding its copy's context, or an older context it once
// had: a client's stale one), or one replica's copy is joined into another's.
void step(World& world, std::vector<std::vector<CausalContext>>& seen_contexts) {
  const auto replica = *rc::gen::inRange<size_t>(0, world.copies.size());
  if (*rc::gen::inRange(0, 3) == 0) {
    KeyState& copy = world.copies[replica];
    CausalContext replaces = copy.context;
    auto& history = seen_contexts[replica];
    if (!history.empty() && *rc::gen::inRange(0, 3) == 0) {
      replaces = history[*rc::gen::inRange<size_t>(0, history.size())];
    }
    const Dot dot{world.actors[replica], ++world.counters[replica]};
    // Timestamps as a coordinator stamps them: above every write the copy has seen.
    HlcTimestamp stamp{*rc::gen::inRange<int64_t>(1, 50), 0};
    if (stamp <= copy.seen_hlc) stamp = successor(copy.seen_hlc);
    const bool tombstone = *rc::gen::inRange(0, 5) == 0;
    Register value{stamp, tombstone, tombstone ? "" : "v" + std::to_string(world.writes.size()), 0};
    copy.write(replaces, dot, value);
    settle(world.policy, copy);
    world.writes.push_back({dot, replaces, value});
  } else {
    const auto from = *rc::gen::inRange<size_t>(0, world.copies.size());
    KeyState joined = KeyState::join(world.copies[replica], world.copies[from]);
    settle(world.policy, joined);
    RC_ASSERT(world.policy == ConflictPolicy::lww || joined.includes(world.copies[replica]));
    RC_ASSERT(world.policy == ConflictPolicy::lww || joined.includes(world.copies[from]));
    world.copies[replica] = std::move(joined);
  }
  seen_contexts[replica].push_back(world.copies[replica].context);
}

World run(ConflictPolicy policy) {
  World world;
  world.policy = policy;
  const auto replicas = *rc::gen::inRange<size_t>(2, 5);
  for (size_t i = 0; i < replicas; ++i) {
    world.actors.push_back({static_cast<uint32_t>(i + 1), 7});
    world.copies.emplace_back();
    world.counters.push_back(0);
  }
  std::vector<std::vector<CausalContext>> seen(replicas);
  const auto steps = *rc::gen::inRange(1, 40);
  for (int i = 0; i < steps; ++i) step(world, seen);
  return world;
}

KeyState join_all(ConflictPolicy policy, const std::vector<KeyState>& copies) {
  KeyState out;
  for (const auto& copy : copies) {
    out = KeyState::join(out, copy);
    settle(policy, out);
  }
  return out;
}

RC_GTEST_PROP(LeaderlessKeyState, JoinIsASemilatticeJoin, ()) {
  const World world = run(ConflictPolicy::siblings);
  const auto pick = [&] { return world.copies[*rc::gen::inRange<size_t>(0, world.copies.size())]; };
  const KeyState a = pick(), b = pick(), c = pick();
  RC_ASSERT(KeyState::join(a, b) == KeyState::join(b, a));
  RC_ASSERT(KeyState::join(KeyState::join(a, b), c) == KeyState::join(a, KeyState::join(b, c)));
  RC_ASSERT(KeyState::join(a, a) == a);
  const KeyState ab = KeyState::join(a, b);
  RC_ASSERT(ab.includes(a));
  RC_ASSERT(ab.includes(b));
}

RC_GTEST_PROP(LeaderlessKeyState, SiblingsAreExactlyTheWritesNoContextCovers, ()) {
  const World world = run(ConflictPolicy::siblings);
  const KeyState all = join_all(ConflictPolicy::siblings, world.copies);
  // Every order of joins gives the same copy.
  std::vector<KeyState> reversed(world.copies.rbegin(), world.copies.rend());
  RC_ASSERT(join_all(ConflictPolicy::siblings, reversed) == all);
  std::map<Dot, Register> frontier;
  for (const auto& write : world.writes) {
    bool superseded = false;
    for (const auto& other : world.writes) superseded |= covers(other.replaces, write.dot);
    if (!superseded) frontier.emplace(write.dot, write.value);
  }
  RC_ASSERT(all.registers == frontier);
}

RC_GTEST_PROP(LeaderlessKeyState, LwwKeepsTheHighestOfTheFrontier, ()) {
  World world = run(ConflictPolicy::lww);
  const KeyState all = join_all(ConflictPolicy::lww, world.copies);
  std::vector<KeyState> reversed(world.copies.rbegin(), world.copies.rend());
  RC_ASSERT(join_all(ConflictPolicy::lww, reversed) == all);
  if (world.writes.empty()) {
    RC_ASSERT(all.registers.empty());
    return;
  }
  // The highest write of all is a write no later one supersedes (stamped above what it covers),
  // and it is the one every replica keeps.
  const Written* highest = &world.writes.front();
  for (const auto& write : world.writes) {
    if (ordered_after(write.dot, write.value, highest->dot, highest->value)) highest = &write;
  }
  RC_ASSERT(all.registers.size() == 1u);
  RC_ASSERT(all.registers.begin()->first == highest->dot);
}

TEST(LeaderlessKeyState, EncodesAndDecodes) {
  KeyState copy;
  copy.write({}, {{1, 5}, 1}, Register{{10, 1}, false, "a", 99});
  copy.write({}, {{2, 6}, 4}, Register{{11, 0}, true, "", 0});
  const auto decoded = KeyState::decode(copy.encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, copy);
  EXPECT_FALSE(KeyState::decode("\xff\xff").has_value());
  // A register its own context does not cover is no copy any replica writes.
  proto::LlKeyState forged;
  auto* reg = forged.add_registers();
  reg->set_node(1);
  reg->set_counter(3);
  std::string bytes;
  forged.SerializeToString(&bytes);
  EXPECT_FALSE(KeyState::decode(bytes).has_value());
}

TEST(LeaderlessKeyState, AStaleContextKeepsTheWriteItDidNotSee) {
  // v1 at (A,1); v2 at (A,2) superseding it; v3 from B with context {A:1} keeps v2 beside it.
  KeyState copy;
  copy.write({}, {{1, 1}, 1}, Register{{1, 0}, false, "v1", 0});
  copy.write(copy.context, {{1, 1}, 2}, Register{{2, 0}, false, "v2", 0});
  KeyState other;
  other.write({{{1, 1}, 1}}, {{2, 1}, 1}, Register{{3, 0}, false, "v3", 0});
  const KeyState joined = KeyState::join(copy, other);
  ASSERT_EQ(joined.live(0).size(), 2u);
  EXPECT_EQ(joined.render(0)->value, "v3");
  EXPECT_TRUE(joined.includes(copy));
  EXPECT_FALSE(copy.includes(joined));
}

}  // namespace
}  // namespace replikv::core::leaderless
