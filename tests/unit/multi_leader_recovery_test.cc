// A multi-leader node that lost its data, driven step by step: three replicas over memory
// engines, every message routed by the test (so a link can be held), time moved by hand. The
// scenario is the one the recovery rule exists for (docs/multi-leader.md, "A node that lost its
// data"): one member folded a counter's increments while another still holds them one by one,
// and the wiped node, half caught up, resets the counter. Its context covers part of the fold:
// the member holding the increments one by one resets that part, the one holding the fold cannot,
// and their sums differ for good. A recovering node refuses the reset until it has caught up.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/multi_leader/replica.h"
#include "core/status.h"
#include "multi_leader_cluster.h"
#include "storage/memory_engine.h"

namespace replikv::core::multi_leader {
namespace {

// What the three nodes show for the counter once everything is delivered, after node 2 — wiped
// and only partly caught up — tried to reset it.
struct Outcome {
  Reply reset;
  Reply increment;  // an INCR at node 2 right after
  bool recovering_after = true;
  std::vector<std::string> values;
  Reply reset_after;  // the reset again, once everything is delivered
  std::vector<std::string> values_after;
};

Outcome wiped_node_resets_a_counter(bool skip_recovery) {
  Cluster cluster([&](Options& options) { options.mutants.skip_recovery = skip_recovery; });
  // Node 3 hears no status from node 1 or 2: it never learns that every member has node 1's
  // increments, so it keeps them one by one, while node 1 folds them.
  cluster.hold(1, 3);
  cluster.hold(2, 3);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(cluster.request(1, IncrByRequest{"c", 1}).integer, i + 1);
  cluster.run(100);
  cluster.release_all();
  cluster.hold(1, 3);  // node 3 still gets node 1's writes, relayed by node 2
  cluster.run(100);
  // Node 1 folds what every member has when it next writes the key.
  EXPECT_EQ(cluster.request(1, IncrByRequest{"c", 1}).integer, 21);
  cluster.run(100);
  // Node 2 loses its disk and comes back empty; node 1 cannot reach it yet, node 3 relays node 1's
  // writes to it — one window of them (four messages of two), as node 2's acknowledgements do not
  // get back.
  cluster.wipe(2);
  cluster.hold(1, 2);
  cluster.run(5);      // node 3 hears node 2's new incarnation…
  cluster.hold(2, 3);  // …and then nothing more: it relays one window and waits for the ack
  cluster.run(60);
  Outcome outcome;
  outcome.reset = cluster.request(2, SetRequest{"c", "100", {}});
  outcome.increment = cluster.request(2, IncrByRequest{"c", 1});
  cluster.release_all();
  cluster.run(2000);
  const ReplicaStatus status = cluster.node(2).status();
  const Metric* recovering = status.metric("recovering");
  EXPECT_NE(recovering, nullptr);
  outcome.recovering_after = recovering == nullptr || recovering->number != 0;
  for (int id = 1; id <= members; ++id) outcome.values.push_back(cluster.get(id, "c"));
  outcome.reset_after = cluster.request(2, SetRequest{"c", "100", {}});
  cluster.run(2000);
  for (int id = 1; id <= members; ++id) outcome.values_after.push_back(cluster.get(id, "c"));
  return outcome;
}

TEST(MultiLeaderRecovery, AWipedNodeRefusesResetsUntilCaughtUpAndTheCounterConverges) {
  const Outcome outcome = wiped_node_resets_a_counter(false);
  EXPECT_EQ(outcome.reset.kind, Reply::Kind::error);
  EXPECT_NE(outcome.reset.text.find("TRYAGAIN this node lost its data"), std::string::npos)
      << outcome.reset.text;
  // Increments reset nothing: taken while recovering.
  EXPECT_EQ(outcome.increment.kind, Reply::Kind::integer) << outcome.increment.text;
  EXPECT_FALSE(outcome.recovering_after);
  EXPECT_EQ(outcome.values, (std::vector<std::string>{"22", "22", "22"}));
  EXPECT_EQ(outcome.reset_after.kind, Reply::Kind::status) << outcome.reset_after.text;
  EXPECT_EQ(outcome.values_after, (std::vector<std::string>{"100", "100", "100"}));
}

// The mutant: the wiped node takes the reset at once, and the members' sums part for good.
TEST(MultiLeaderRecovery, AWipedNodeThatResetsAtOnceSplitsAFold) {
  const Outcome outcome = wiped_node_resets_a_counter(true);
  EXPECT_EQ(outcome.reset.kind, Reply::Kind::status) << outcome.reset.text;
  // Node 1 keeps its fold of the first 20 whole (100 + 20 + 1 + 1 = 122); node 3 resets the 8
  // increments node 2 had seen (100 + 12 + 1 + 1 = 114).
  EXPECT_NE(outcome.values[0], outcome.values[2])
      << outcome.values[0] << " " << outcome.values[1] << " " << outcome.values[2];
}

// A write node 2 took just before it lost its disk, still on its way to the others when they hear
// node 2 back and recovering: the members fence node 2's lost incarnation at what they had of it,
// so the late write is refused everywhere (lost with the disk) rather than applied after the
// members may have forgotten what it would have to order against.
// What the three nodes show of `k` after node 2's late write of its lost incarnation arrived,
// and how many such writes they refused.
std::pair<std::vector<std::string>, uint64_t> late_write_of_a_lost_incarnation(bool skip_fences) {
  Cluster cluster([&](Options& options) { options.mutants.skip_fences = skip_fences; });
  EXPECT_EQ(cluster.request(1, SetRequest{"k", "before", {}}).kind, Reply::Kind::status);
  cluster.run(100);
  cluster.hold(2, 1);
  cluster.hold(2, 3);
  EXPECT_EQ(cluster.request(2, SetRequest{"k", "late", {}}).kind, Reply::Kind::status);
  cluster.run(20);
  std::vector<Message> late = cluster.take_waiting(2);
  EXPECT_FALSE(late.empty());
  cluster.wipe(2);
  cluster.release_all();
  cluster.run(200);  // node 2 recovers
  EXPECT_EQ(cluster.metric(2, "recovering"), 0u);
  cluster.deliver_late(std::move(late));
  cluster.run(200);
  std::vector<std::string> values;
  for (int id = 1; id <= members; ++id) values.push_back(cluster.get(id, "k"));
  return {values,
          cluster.metric(1, "entries_fenced_total") + cluster.metric(3, "entries_fenced_total")};
}

TEST(MultiLeaderRecovery, AWriteOfALostIncarnationArrivingLateIsRefused) {
  const auto [values, refused] = late_write_of_a_lost_incarnation(false);
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(values, (std::vector<std::string>{"before", "before", "before"}));
}

// The mutant: the late write is taken where it arrives, after the node recovered without it.
TEST(MultiLeaderRecovery, ALateWriteTakenBeyondItsFenceShows) {
  const auto [values, refused] = late_write_of_a_lost_incarnation(true);
  EXPECT_NE(values, (std::vector<std::string>{"before", "before", "before"}));
}

}  // namespace
}  // namespace replikv::core::multi_leader
