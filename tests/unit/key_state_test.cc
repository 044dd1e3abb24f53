// KeyState (core/multi_leader/key_state.h) over histories a multi-leader cluster can produce:
// nodes write one key (SET, DEL, INCRBY, a VSET with a stale context), deliver each other's writes
// in per-origin order once their dependencies are applied (causal delivery), and join whole
// states (a snapshot). Properties: the join is a semilattice join over reachable states; a join
// equals delivering the writes either side had; every delivery order converges — under `lww` too,
// with clocks that run backwards. And the same for a collection's element (docs/multi-leader.md,
// "Collections"): removals that add no tombstone, float increments (ZINCRBY) whose sums must come
// out bit for bit the same whatever each node folded.
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/multi_leader/key_state.h"

namespace replikv::core::multi_leader {
namespace {

struct Op {
  enum class Kind { set, del, incr, remove } kind = Kind::set;
  Dot dot;
  CausalContext deps;      // what its origin had applied, its own earlier writes included
  CausalContext replaces;  // what it supersedes (the same, or a client's stale context)
  Register value;
  int64_t delta = 0;
  double float_delta = 0;
};

struct Node {
  Actor actor;
  KeyState state;
  CausalContext seen;
  uint64_t counter = 0;
};

struct World {
  ConflictPolicy policy = ConflictPolicy::siblings;
  bool element = false;  // a collection's element: removals, float increments, no lww
  std::vector<Node> nodes;
  std::map<Actor, std::vector<Op>> streams;  // every actor's writes, in counter order
};

bool has_applied(const CausalContext& seen, const CausalContext& deps) {
  for (const auto& [actor, counter] : deps) {
    const auto it = seen.find(actor);
    if (counter > 0 && (it == seen.end() || it->second < counter)) return false;
  }
  return true;
}

void apply(ConflictPolicy policy, KeyState& state, CausalContext& seen, const Op& op) {
  if (op.kind == Op::Kind::incr) {
    state.increment(op.dot, {op.delta, 0, {}, op.float_delta});
  } else if (op.kind == Op::Kind::remove) {
    state.remove(op.replaces);
  } else {
    state.write(op.replaces, op.dot, op.value);
  }
  if (policy == ConflictPolicy::lww) state.resolve_lww();
  seen[op.dot.actor] = op.dot.counter;
}

void write(World& world, Node& node, int step) {
  Op op;
  op.kind = static_cast<Op::Kind>(*rc::gen::inRange(0, 3));
  if (world.element && op.kind == Op::Kind::del) op.kind = Op::Kind::remove;
  op.dot = {node.actor, ++node.counter};
  op.deps = node.seen;
  // A plain write supersedes what its node has seen; a VSET sometimes carries less (a client's
  // stale context, or none).
  op.replaces = *rc::gen::inRange(0, 4) == 0 ? CausalContext{} : node.seen;
  // A clock that may run behind what the node has seen (a refused remote timestamp), but a write
  // is stamped above what it supersedes (KeyState::superseded_hlc).
  HlcTimestamp hlc{*rc::gen::inRange<TimeMs>(0, 20), *rc::gen::inRange<uint32_t>(0, 3)};
  const HlcTimestamp floor = node.state.superseded_hlc(op.replaces);
  if (hlc <= floor) hlc = {floor.wall_ms, floor.logical + 1};
  // Some values expire; each node expires them by its own clock (the expire action below).
  const TimeMs deadline = *rc::gen::inRange(0, 3) == 0 ? *rc::gen::inRange<TimeMs>(1, 20) : 0;
  op.value = {hlc, op.kind == Op::Kind::del, "v" + std::to_string(step),
              op.kind == Op::Kind::del || world.element ? 0 : deadline};  // (elements: none)
  op.delta = *rc::gen::inRange<int64_t>(-5, 6);
  // Tenths, which no double holds exactly: sums taken in different groupings would differ.
  if (world.element) op.float_delta = static_cast<double>(*rc::gen::inRange(-50, 51)) / 10;
  apply(world.policy, node.state, node.seen, op);
  world.streams[node.actor].push_back(op);
}

// The next write of `origin`'s stream `node` may apply, or nullptr.
const Op* deliverable(const World& world, const Node& node, const Actor& origin) {
  const auto stream = world.streams.find(origin);
  if (stream == world.streams.end()) return nullptr;
  const auto it = node.seen.find(origin);
  const uint64_t next = (it == node.seen.end() ? 0 : it->second) + 1;
  if (next > stream->second.size()) return nullptr;
  const Op& op = stream->second[next - 1];
  return has_applied(node.seen, op.deps) ? &op : nullptr;
}

void join_into(ConflictPolicy policy, Node& into, const Node& from) {
  into.state = KeyState::join(into.state, into.seen, from.state, from.seen);
  if (policy == ConflictPolicy::lww) into.state.resolve_lww();
  into.seen = join(into.seen, from.seen);
}

// Delivers every write to `node` in some causal order (origins tried in `order`).
void deliver_all(const World& world, Node& node, const std::vector<Actor>& order) {
  bool progress = true;
  while (progress) {
    progress = false;
    for (const Actor& origin : order) {
      while (const Op* op = deliverable(world, node, origin)) {
        apply(world.policy, node.state, node.seen, *op);
        progress = true;
      }
    }
  }
}

World reachable_world(ConflictPolicy policy, bool element = false) {
  World world;
  world.policy = policy;
  world.element = element;
  for (uint32_t n = 1; n <= 3; ++n) world.nodes.push_back({{n, 7}, {}, {}, 0});
  const int steps = *rc::gen::inRange(0, 40);
  for (int step = 0; step < steps; ++step) {
    Node& node = world.nodes[*rc::gen::inRange<size_t>(0, 3)];
    const int action = *rc::gen::inRange(0, 11);
    if (action < 4) {
      write(world, node, step);
    } else if (action < 5) {
      node.state.expire(*rc::gen::inRange<TimeMs>(0, 25));  // this node's clock, now
      if (policy == ConflictPolicy::lww) node.state.resolve_lww();
    } else if (action < 7) {
      // A node catches up on every write any node has (sometimes every node does) and folds
      // what every node has applied.
      std::vector<Actor> order;
      for (const auto& other : world.nodes) order.push_back(other.actor);
      if (*rc::gen::arbitrary<bool>()) {
        for (auto& other : world.nodes) deliver_all(world, other, order);
      }
      deliver_all(world, node, order);
      CausalContext everyone = node.seen;
      for (const auto& other : world.nodes) {
        for (auto& [actor, counter] : everyone) {
          const auto it = other.seen.find(actor);
          counter = std::min(counter, it == other.seen.end() ? 0 : it->second);
        }
      }
      node.state.fold(everyone);
    } else if (action < 10) {
      const Actor origin = world.nodes[*rc::gen::inRange<size_t>(0, 3)].actor;
      if (const Op* op = deliverable(world, node, origin)) {
        apply(policy, node.state, node.seen, *op);
      }
    } else {
      join_into(policy, node, world.nodes[*rc::gen::inRange<size_t>(0, 3)]);
    }
  }
  return world;
}

// Delivers every write to every node, each in an order of its own (origins rotated), then lets
// every deadline pass.
void deliver_everything(World& world) {
  std::vector<Actor> order;
  for (const auto& node : world.nodes) order.push_back(node.actor);
  for (auto& node : world.nodes) {
    std::vector<Actor> mine = order;
    std::rotate(mine.begin(), mine.begin() + *rc::gen::inRange<int>(0, 3), mine.end());
    deliver_all(world, node, mine);
    node.state.expire(1000);
  }
}

ConflictPolicy any_policy() {
  return *rc::gen::arbitrary<bool>() ? ConflictPolicy::lww : ConflictPolicy::siblings;
}

RC_GTEST_PROP(KeyState, JoinIsCommutativeAssociativeAndIdempotent, ()) {
  const ConflictPolicy policy = any_policy();
  const World world = reachable_world(policy);
  const auto joined = [&](Node a, const Node& b) {
    join_into(policy, a, b);
    return a.state;
  };
  const auto joined_node = [&](Node a, const Node& b) {
    join_into(policy, a, b);
    return a;
  };
  const Node& a = world.nodes[0];
  const Node& b = world.nodes[1];
  const Node& c = world.nodes[2];
  RC_ASSERT(joined(a, b) == joined(b, a));
  RC_ASSERT(joined(joined_node(a, b), c) == joined(a, joined_node(b, c)));
  RC_ASSERT(joined(a, a) == a.state);
}

RC_GTEST_PROP(KeyState, AJoinEqualsDeliveringWhatEitherSideHad, ()) {
  const ConflictPolicy policy = any_policy();
  const World world = reachable_world(policy);
  Node joined = world.nodes[0];
  join_into(policy, joined, world.nodes[1]);
  // A fresh node that applies, in causal order, exactly the writes either side had applied.
  const CausalContext target = join(world.nodes[0].seen, world.nodes[1].seen);
  Node fresh{{9, 9}, {}, {}, 0};
  bool progress = true;
  while (progress) {
    progress = false;
    for (const auto& [origin, stream] : world.streams) {
      while (const Op* op = deliverable(world, fresh, origin)) {
        if (!covers(target, op->dot)) break;
        apply(policy, fresh.state, fresh.seen, *op);
        progress = true;
      }
    }
  }
  // Nodes expire by their own clocks: compared once every deadline has passed.
  fresh.state.expire(1000);
  joined.state.expire(1000);
  RC_ASSERT(fresh.seen == joined.seen);
  RC_ASSERT(fresh.state.canonical() == joined.state.canonical());
}

// A collection's element: its removals take what they saw and leave nothing; its float sums come
// out the same to the last bit on every node whatever each one folded.
RC_GTEST_PROP(KeyState, AnElementsStatesJoinAndConvergeWithExactFloatSums, ()) {
  World world = reachable_world(ConflictPolicy::siblings, /*element=*/true);
  const auto joined = [](Node a, const Node& b) {
    join_into(ConflictPolicy::siblings, a, b);
    return a;
  };
  RC_ASSERT(joined(world.nodes[0], world.nodes[1]).state ==
            joined(world.nodes[1], world.nodes[0]).state);
  RC_ASSERT(joined(joined(world.nodes[0], world.nodes[1]), world.nodes[2]).state ==
            joined(world.nodes[0], joined(world.nodes[1], world.nodes[2])).state);
  deliver_everything(world);
  for (const auto& node : world.nodes) {
    for (const auto& [dot, value] : node.state.registers) RC_ASSERT(!value.tombstone);
  }
  for (size_t i = 1; i < world.nodes.size(); ++i) {
    RC_ASSERT(world.nodes[i].state.canonical() == world.nodes[0].state.canonical());
    const double a = world.nodes[i].state.float_total(1000);
    const double b = world.nodes[0].state.float_total(1000);
    RC_ASSERT(std::memcmp(&a, &b, sizeof a) == 0);
  }
}

// The case the property above finds only now and then: two actors' float increments, folded on one
// node and held one by one on another. Summed in another grouping (all increments in dot order
// after the folds), the two differ in the last bit — caught here every time.
TEST(KeyState, AFoldNeverChangesAScoresLastBit) {
  const Actor a{1, 7}, b{2, 7};
  const auto increment = [](double delta) { return Increment{0, 0, {}, delta}; };
  KeyState one_by_one, folded;
  for (KeyState* state : {&one_by_one, &folded}) {
    state->increment({a, 1}, increment(0.7));
    state->increment({b, 1}, increment(0.2));
  }
  folded.fold({{a, 1}, {b, 1}});
  ASSERT_EQ(folded.folds.size(), 2u);
  for (KeyState* state : {&one_by_one, &folded}) {
    state->increment({a, 2}, increment(0.1));
    state->increment({b, 2}, increment(0.6));
  }
  const double x = one_by_one.float_total(0), y = folded.float_total(0);
  EXPECT_EQ(std::memcmp(&x, &y, sizeof x), 0) << x << " vs " << y;
  EXPECT_EQ(one_by_one.canonical(), folded.canonical());
}

RC_GTEST_PROP(KeyState, EveryDeliveryOrderConverges, ()) {
  const ConflictPolicy policy = any_policy();
  World world = reachable_world(policy);
  deliver_everything(world);
  // Nodes fold at different times: the same registers and sums, whatever each folded.
  RC_ASSERT(world.nodes[0].state.canonical() == world.nodes[1].state.canonical());
  RC_ASSERT(world.nodes[1].state.canonical() == world.nodes[2].state.canonical());
  if (policy == ConflictPolicy::lww) RC_ASSERT(world.nodes[0].state.registers.size() <= 1);
}

TEST(KeyState, AWriteReplacesWhatItSawAndKeepsTheConcurrent) {
  KeyState state;
  const Actor a{1, 1};
  const Actor b{2, 1};
  state.write({}, {a, 1}, {{10, 0}, false, "v1", 0});
  state.write({}, {b, 1}, {{11, 0}, false, "v2", 0});  // concurrent: both stay
  ASSERT_EQ(state.registers.size(), 2u);
  EXPECT_EQ(state.render(0)->value, "v2");                   // the highest HLC shows
  state.write({{a, 1}}, {a, 2}, {{12, 0}, false, "v3", 0});  // had seen v1 only
  ASSERT_EQ(state.registers.size(), 2u);
  EXPECT_TRUE(state.registers.contains({b, 1}));
  EXPECT_TRUE(state.registers.contains({a, 2}));
  EXPECT_EQ(state.resolve_lww(), (std::vector<Dot>{{b, 1}}));
  EXPECT_EQ(state.render(0)->value, "v3");
}

TEST(KeyState, DelThenIncrDoesNotBringTheOldCountBack) {
  KeyState state;
  const Actor a{1, 1};
  const Actor b{2, 1};
  state.increment({a, 1}, {5, 0});
  state.increment({b, 1}, {7, 0});  // concurrent with the DEL below
  EXPECT_EQ(state.render(0)->value, "12");
  state.write({{a, 1}}, {a, 2}, {{5, 0}, true, "", 0});  // DEL that had seen a's 5
  EXPECT_EQ(state.render(0)->value, "7");                // b's concurrent increment survives
  state.increment({a, 3}, {1, 0});
  EXPECT_EQ(state.render(0)->value, "8");
  state.write({{a, 3}, {b, 1}}, {a, 4}, {{6, 0}, true, "", 0});
  EXPECT_FALSE(state.render(0));
  EXPECT_TRUE(state.deleted());
  EXPECT_EQ(state.collect({{a, 4}}), 1u);
  EXPECT_TRUE(state.empty());
}

TEST(KeyState, CountersSaturateWhereNodesMeetAndShowNonIntegersAsTheyAre) {
  KeyState state;
  state.increment({{1, 1}, 1}, {INT64_MAX, 0});
  state.increment({{2, 1}, 1}, {10, 0});
  EXPECT_EQ(state.render(0)->value, std::to_string(INT64_MAX));
  state.write({}, {{3, 1}, 1}, {{1, 0}, false, "abc", 0});
  EXPECT_EQ(state.render(0)->value, "abc");
}

TEST(KeyState, ExpiryRemovesOnlyTheRegisterWhoseDeadlinePassed) {
  KeyState state;
  state.write({}, {{1, 1}, 1}, {{10, 0}, false, "short", 100});
  state.write({}, {{2, 1}, 1}, {{5, 0}, false, "long", 0});
  EXPECT_EQ(state.render(50)->value, "short");
  EXPECT_EQ(state.render(50)->deadline_ms, 0);  // "long" lives on: the record does not expire
  EXPECT_EQ(state.render(101)->value, "long");  // lazily: the expired one no longer shows
  EXPECT_EQ(state.expire(101), 1u);
  // It stays as a tombstone under its dot and timestamp, until collected.
  ASSERT_EQ(state.registers.size(), 2u);
  EXPECT_TRUE(state.registers.at({{1, 1}, 1}).tombstone);
  EXPECT_EQ(state.registers.at({{1, 1}, 1}).hlc, (HlcTimestamp{10, 0}));
  EXPECT_EQ(state.render(101)->value, "long");
}

TEST(KeyState, ACountExpiresWithTheValueItWasAddedTo) {
  KeyState state;
  state.write({}, {{1, 1}, 1}, {{10, 0}, false, "5", 100});
  state.increment({{1, 1}, 2}, {1, 100});  // INCR keeps the time to live
  state.increment({{2, 1}, 1}, {2, 0});    // a node that saw no deadline
  EXPECT_EQ(state.render(50)->value, "8");
  EXPECT_EQ(state.render(101)->value, "2");
  EXPECT_EQ(state.expire(101), 2u);
  EXPECT_EQ(state.render(101)->value, "2");
}

TEST(KeyState, EncodingRoundTrips) {
  KeyState state;
  state.write({}, {{1, 3}, 9}, {{10, 2}, false, std::string("a\0b", 3), 1234});
  state.write({}, {{2, 4}, 1}, {{11, 0}, true, "", 0});
  state.increment({{1, 3}, 10}, {-42, 777});
  const auto decoded = KeyState::decode(state.encode());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, state);
  EXPECT_FALSE(KeyState::decode("\xff\xff\xff"));
}

}  // namespace
}  // namespace replikv::core::multi_leader
