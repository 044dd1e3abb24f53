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
#include "storage/memory_engine.h"

namespace replikv::core::multi_leader {
namespace {

constexpr int members = 3;

class Cluster {
 public:
  explicit Cluster(bool skip_recovery, bool skip_fences = false)
      : skip_recovery_(skip_recovery), skip_fences_(skip_fences) {
    for (int id = 1; id <= members; ++id) start(id, /*bootstrap=*/true);
  }

  // A new empty engine for `id`, and a replica on it that did not found the cluster.
  void wipe(int id) {
    engines_[id] = std::make_unique<storage::MemoryEngine>();
    start(id, /*bootstrap=*/false);
  }

  MultiLeader& node(int id) { return *replicas_.at(id); }

  Reply request(int id, Request request) {
    const uint64_t sequence = ++sequence_;
    node(id).client_request({ConnectionId(1), sequence, std::move(request), {}, std::nullopt});
    pump(id);
    const auto it = replies_.find(sequence);
    EXPECT_NE(it, replies_.end()) << "no reply";
    return it == replies_.end() ? Reply::error("ERR no reply") : it->second;
  }

  // Moves time on by `ms` (heartbeats: statuses, relays) and delivers what is not held, until
  // nothing moves.
  void run(TimeMs ms) {
    for (TimeMs step = 0; step < ms; step += 5) {
      now_ms_ += 5;
      for (int id = 1; id <= members; ++id) {
        node(id).tick(now_ms_, now_ms_);
        pump(id);
      }
      deliver();
    }
  }

  // Messages from `from` to `to` wait (in order) until released.
  void hold(int from, int to) { held_links_.insert({from, to}); }
  void release_all() { held_links_.clear(); }
  // Takes out the messages from `from` still waiting (they arrive later, by deliver_late()).
  std::vector<Message> take_waiting(int from) {
    std::vector<Message> taken;
    std::erase_if(outbox_, [&](Message& message) {
      if (static_cast<int>(message.from.value()) != from) return false;
      taken.push_back(std::move(message));
      return true;
    });
    return taken;
  }
  void deliver_late(std::vector<Message> messages) {
    for (auto& message : messages) outbox_.push_back(std::move(message));
    deliver();
  }
  uint64_t metric(int id, std::string_view name) {
    const ReplicaStatus status = node(id).status();
    const Metric* found = status.metric(name);
    EXPECT_NE(found, nullptr) << name;
    return found == nullptr ? 0 : static_cast<uint64_t>(found->number);
  }

  std::string get(int id, const std::string& key) {
    const Reply reply = request(id, GetRequest{key});
    return reply.kind == Reply::Kind::bulk ? reply.text : "(nil)";
  }

 private:
  void start(int id, bool bootstrap) {
    if (!engines_[id]) engines_[id] = std::make_unique<storage::MemoryEngine>();
    Options options;
    options.node_id = NodeId(static_cast<uint32_t>(id));
    for (int m = 1; m <= members; ++m) options.members.push_back(NodeId(static_cast<uint32_t>(m)));
    options.heartbeat_interval_ms = 10;
    options.relay_after_ms = 30;
    options.entries_per_message_max = 2;  // catch-up comes a few writes at a time
    options.bootstrap = bootstrap;
    options.mutants.skip_recovery = skip_recovery_;
    options.mutants.skip_fences = skip_fences_;
    // A new seed at every start: a wiped node draws a new incarnation, as a real one does.
    replicas_[id] = std::make_unique<MultiLeader>(*engines_[id], Rng(++starts_ * 7919), options);
    node(id).tick(now_ms_, now_ms_);
    pump(id);
  }

  void pump(int id) {
    Ready ready;
    while (node(id).take_ready(ready)) {
      ASSERT_TRUE(engines_[id]->write(ready.batch).is_ok());
      ASSERT_TRUE(engines_[id]->sync().is_ok());
      if (ready.checkpoint_id != 0) {
        ASSERT_TRUE(engines_[id]->write_checkpoint(ready.checkpoint).is_ok());
      }
      node(id).persisted(ready.id);
      if (ready.checkpoint_id != 0) node(id).checkpointed(ready.checkpoint_id);
      for (auto& reply : ready.replies) replies_[reply.sequence] = reply.reply;
      for (auto& message : ready.messages) outbox_.push_back(std::move(message));
    }
  }

  void deliver() {
    for (int round = 0; round < 1000 && !outbox_.empty(); ++round) {
      std::vector<Message> sending;
      std::vector<Message> kept;
      for (auto& message : outbox_) {
        const std::pair<int, int> link{static_cast<int>(message.from.value()),
                                       static_cast<int>(message.to.value())};
        (held_links_.contains(link) ? kept : sending).push_back(std::move(message));
      }
      outbox_ = std::move(kept);
      if (sending.empty()) return;
      for (auto& message : sending) {
        const int to = static_cast<int>(message.to.value());
        node(to).peer_message(message);
        pump(to);
      }
    }
  }

  bool skip_recovery_;
  bool skip_fences_;
  std::map<int, std::unique_ptr<storage::MemoryEngine>> engines_;
  std::map<int, std::unique_ptr<MultiLeader>> replicas_;
  std::vector<Message> outbox_;
  std::set<std::pair<int, int>> held_links_;
  std::map<uint64_t, Reply> replies_;
  uint64_t sequence_ = 0;
  uint64_t starts_ = 0;
  TimeMs now_ms_ = 1'700'000'000'000;
};

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
  Cluster cluster(skip_recovery);
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
  Cluster cluster(false, skip_fences);
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
