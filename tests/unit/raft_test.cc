// Raft scenarios on a hand-driven cluster: every message is delivered (or dropped) by the test,
// time moves only when the test ticks, and the Ready contract is carried out as the runtime does.
#include <deque>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "core/leader/raft.h"
#include "storage/memory_engine.h"

namespace replikv::core {
namespace {

class Cluster {
 public:
  explicit Cluster(int size) {
    RaftOptions options;
    for (int n = 1; n <= size; ++n) options.nodes.push_back(NodeId(static_cast<uint32_t>(n)));
    for (int n = 1; n <= size; ++n) {
      options.node_id = NodeId(static_cast<uint32_t>(n));
      engines_.push_back(std::make_unique<storage::MemoryEngine>());
      replicas_.push_back(std::make_unique<Raft>(*engines_.back(), Rng(static_cast<uint64_t>(n)), options));
    }
  }

  Raft& node(int n) { return *replicas_[static_cast<size_t>(n - 1)]; }

  // Carries out each node's Readies: write, sync, persisted, then queue messages and replies.
  void drain(int n) {
    Ready ready;
    while (node(n).take_ready(ready)) {
      auto& engine = *engines_[static_cast<size_t>(n - 1)];
      if (!ready.batch.empty()) {
        ASSERT_TRUE(engine.write(ready.batch).is_ok());
      }
      ASSERT_TRUE(engine.sync().is_ok());
      node(n).persisted(ready.id);
      for (auto& message : ready.messages) network_.push_back(std::move(message));
      for (auto& reply : ready.replies) replies_.push_back(std::move(reply));
    }
  }

  void tick_all(TimeMs now_ms) {
    for (int n = 1; n <= size(); ++n) {
      node(n).tick(now_ms);
      drain(n);
    }
  }

  // Delivers queued messages (and the ones they cause) except over cut links.
  void deliver_all() {
    for (int round = 0; round < 10000 && !network_.empty(); ++round) {
      Message message = std::move(network_.front());
      network_.pop_front();
      const int from = static_cast<int>(message.from.value()), to = static_cast<int>(message.to.value());
      if (isolated_.count(from) != 0 || isolated_.count(to) != 0) continue;
      node(to).peer_message(std::move(message));
      drain(to);
    }
  }

  // Runs time forward in 10 ms steps, delivering everything at each step.
  void run(TimeMs from_ms, TimeMs to_ms) {
    for (TimeMs t = from_ms; t <= to_ms; t += 10) {
      tick_all(t);
      deliver_all();
    }
  }

  std::vector<int> leaders() {
    std::vector<int> out;
    for (int n = 1; n <= size(); ++n) {
      if (node(n).role() == Raft::Role::leader) out.push_back(n);
    }
    return out;
  }

  void request(int n, uint64_t sequence, Request request) {
    node(n).client_request({ConnectionId(1), sequence, std::move(request)});
    drain(n);
  }

  std::optional<Reply> reply_for(uint64_t sequence) {
    for (const auto& reply : replies_) {
      if (reply.sequence == sequence) return reply.reply;
    }
    return std::nullopt;
  }

  void isolate(int n) { isolated_.insert(n); }
  void heal() { isolated_.clear(); }
  int size() const { return static_cast<int>(replicas_.size()); }

 private:
  std::vector<std::unique_ptr<storage::MemoryEngine>> engines_;
  std::vector<std::unique_ptr<Raft>> replicas_;
  std::deque<Message> network_;
  std::vector<ClientReply> replies_;
  std::set<int> isolated_;
};

TEST(Raft, ElectsOneLeaderThatReplicatesAndServesLinearizableReads) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const auto leaders = cluster.leaders();
  ASSERT_EQ(leaders.size(), 1u);
  const int leader = leaders[0];
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5500);
  EXPECT_EQ(cluster.reply_for(1), Reply::ok());
  cluster.request(leader, 2, GetRequest{"k"});
  cluster.run(5510, 5800);
  EXPECT_EQ(cluster.reply_for(2), Reply::bulk("v"));
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(cluster.node(n).commit_index(), cluster.node(leader).commit_index()) << "node " << n;
    EXPECT_EQ(cluster.node(n).term(), cluster.node(leader).term());
  }
}

TEST(Raft, AFollowerRefusesNamingTheLeader) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int follower = leader % 3 + 1;
  cluster.request(follower, 7, SetRequest{"k", "v", {}, {}, false});
  const auto reply = cluster.reply_for(7);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->text, "NOTLEADER the leader is node " + std::to_string(leader));
}

// §5.2 and check-quorum: a leader cut off from the others cannot commit and steps down; the
// majority elects a new leader in a higher term; after the heal the old leader follows it and
// the write it could not commit is answered TIMEOUT (it may or may not have taken effect).
TEST(Raft, AnIsolatedLeaderStepsDownAndTheMajorityMovesOn) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int old_leader = cluster.leaders().at(0);
  const Term old_term = cluster.node(old_leader).term();
  cluster.isolate(old_leader);
  cluster.request(old_leader, 1, SetRequest{"lost?", "x", {}, {}, false});
  cluster.run(5010, 12000);
  EXPECT_NE(cluster.node(old_leader).role(), Raft::Role::leader) << "check-quorum";
  const auto leaders = cluster.leaders();
  ASSERT_EQ(leaders.size(), 1u);
  EXPECT_NE(leaders[0], old_leader);
  EXPECT_GT(cluster.node(leaders[0]).term(), old_term);
  const auto timeout = cluster.reply_for(1);
  ASSERT_TRUE(timeout.has_value());
  EXPECT_EQ(timeout->text.rfind("TIMEOUT", 0), 0u) << timeout->text;
  cluster.heal();
  cluster.run(12010, 16000);
  EXPECT_EQ(cluster.leaders().size(), 1u);
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(cluster.node(n).commit_index(), cluster.node(cluster.leaders()[0]).commit_index());
  }
}

// §9.6 pre-vote: a node that was cut off and comes back does not depose a healthy leader.
TEST(Raft, ARejoiningNodeDoesNotDisruptTheLeader) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const Term term = cluster.node(leader).term();
  const int other = leader % 3 + 1;
  cluster.isolate(other);
  cluster.run(5010, 15000);  // it times out again and again, but pre-votes change no term
  cluster.heal();
  cluster.run(15010, 18000);
  EXPECT_EQ(cluster.leaders(), std::vector<int>{leader});
  EXPECT_EQ(cluster.node(leader).term(), term);
}

}  // namespace
}  // namespace replikv::core
