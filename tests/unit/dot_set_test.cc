// CausalSet (core/causality/dot_set.h): the join laws over states that replicas can reach, and
// what a write replaces.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/causality/dot_set.h"

namespace replikv::core {
namespace {

// Replicas of one key: each writes with what it has seen under its own actor's next dot, or takes
// another's state (merge). Returns every replica's state at the end.
std::vector<CausalSet> reachable_states() {
  constexpr int replicas = 3;
  std::vector<CausalSet> states(replicas);
  std::vector<uint64_t> counters(replicas, 0);
  const int steps = *rc::gen::inRange(0, 24);
  for (int step = 0; step < steps; ++step) {
    const int at = *rc::gen::inRange(0, replicas);
    if (*rc::gen::arbitrary<bool>()) {
      const Dot dot{{static_cast<uint32_t>(at + 1), 1}, ++counters[static_cast<size_t>(at)]};
      // A client's context: the replica's whole state, or nothing (a blind write).
      const CausalContext seen =
          *rc::gen::arbitrary<bool>() ? states[static_cast<size_t>(at)].context() : CausalContext{};
      RC_ASSERT(states[static_cast<size_t>(at)].write(seen, dot, "v" + std::to_string(step)));
    } else {
      const int from = *rc::gen::inRange(0, replicas);
      states[static_cast<size_t>(at)].merge(states[static_cast<size_t>(from)]);
    }
  }
  return states;
}

CausalSet merged(CausalSet a, const CausalSet& b) {
  a.merge(b);
  return a;
}

RC_GTEST_PROP(CausalSet, MergeIsCommutativeAssociativeAndIdempotent, ()) {
  const auto states = reachable_states();
  const CausalSet& a = states[0];
  const CausalSet& b = states[1];
  const CausalSet& c = states[2];
  RC_ASSERT(merged(a, b) == merged(b, a));
  RC_ASSERT(merged(merged(a, b), c) == merged(a, merged(b, c)));
  RC_ASSERT(merged(a, a) == a);
  // The join is an upper bound: merging in either side again changes nothing.
  const CausalSet ab = merged(a, b);
  RC_ASSERT(merged(ab, a) == ab);
  RC_ASSERT(merged(ab, b) == ab);
}

RC_GTEST_PROP(CausalSet, AWriteReplacesExactlyWhatItsContextCovers, ()) {
  const auto states = reachable_states();
  CausalSet state = merged(states[0], states[1]);
  const CausalSet before = state;
  const CausalContext seen = states[*rc::gen::inRange(0, 3)].context();
  const Dot dot{{9, 1}, 1};
  RC_ASSERT(state.write(seen, dot, "new"));
  for (const auto& [old_dot, value] : before.versions()) {
    RC_ASSERT(state.versions().contains(old_dot) == !covers(seen, old_dot));
  }
  RC_ASSERT(state.versions().at(dot) == "new");
  RC_ASSERT(covers(state.context(), dot));
  // Every value it holds is one its context covers.
  for (const auto& [kept, value] : state.versions()) RC_ASSERT(covers(state.context(), kept));
}

TEST(CausalSet, ConcurrentWritesAreSiblingsAndAWriteThatSawBothResolvesThem) {
  CausalSet n1, n2;
  ASSERT_TRUE(n1.write({}, {{1, 1}, 1}, "from-n1"));
  ASSERT_TRUE(n2.write({}, {{2, 1}, 1}, "from-n2"));
  n1.merge(n2);
  EXPECT_EQ(n1.versions().size(), 2u) << "concurrent: both kept";
  ASSERT_TRUE(n1.write(n1.context(), {{1, 1}, 2}, "merged"));
  EXPECT_EQ(n1.versions().size(), 1u);
  n2.merge(n1);
  EXPECT_EQ(n2, n1) << "the resolution replaces n2's sibling there too";
}

TEST(CausalSet, AReissuedDotIsRefusedNotSwallowed) {
  CausalSet state;
  ASSERT_TRUE(state.write({}, {{1, 1}, 5}, "first"));
  // A wiped node that counted from scratch would reissue (1, 5) or below: refused, and a new
  // incarnation's dots are new.
  EXPECT_FALSE(state.write({}, {{1, 1}, 5}, "again"));
  EXPECT_FALSE(state.write({}, {{1, 1}, 3}, "older"));
  EXPECT_FALSE(state.write({}, {{1, 1}, 0}, "no dot"));
  EXPECT_EQ(state.versions().begin()->second, "first");
  EXPECT_TRUE(state.write({}, {{1, 2}, 1}, "new life"));
  EXPECT_EQ(state.versions().size(), 2u);
}

}  // namespace
}  // namespace replikv::core
