// Raft's safety properties as scenarios of the paper — Figure 8 (§5.4.2), election restriction
// (§5.4.1), check-quorum and pre-vote (§9.6) — and the one rollback path, on a hand-driven
// cluster (unit/raft_cluster.h).
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "unit/raft_cluster.h"

namespace replikv::core {
namespace {

using testing::Cluster;

// Gives node n, while it is down, a committed entry at `index` (term `term`) that no other node
// has: what an `async` leader's follower holds after a failover lost the leader's last writes.
void give_committed_entry_others_lack(Cluster& cluster, int n, uint64_t index, uint64_t term) {
  proto::LogEntry entry;
  entry.set_term(term);
  entry.set_index(index);
  entry.mutable_write()->mutable_set()->set_key("only-here");
  entry.mutable_write()->mutable_set()->set_value("lost");
  std::string record;
  append_u64_be(record, term);
  record += entry.SerializeAsString();
  std::string key, position;
  append_u64_be(key, index);
  append_u64_be(position, index);
  WriteBatch batch;
  batch.put(Column::log, key, record);
  batch.put(Column::meta, "raft_last_index", position);
  batch.put(Column::meta, "raft_commit", position);
  ASSERT_TRUE(cluster.engine(n).write(batch).is_ok());
  ASSERT_TRUE(cluster.engine(n).sync().is_ok());
}

// The rollback primitive (docs/snapshots.md §7): a follower holding a committed entry the leader
// lacks discards its state and installs the leader's snapshot, counting what it discarded.
// Under a majority this cannot happen: the replica refuses, counting a protocol violation.
void diverge_a_follower(Cluster& cluster, int& follower) {
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  follower = leader % 3 + 1;
  cluster.request(leader, 1, SetRequest{"a", "1", {}, {}, false});
  cluster.run(5010, 5200);
  ASSERT_EQ(cluster.reply_for(1), Reply::ok());
  const uint64_t term = cluster.node(leader).term().value();
  const uint64_t last = cluster.node(leader).raft_status().last_index.value();
  cluster.crash(follower);
  give_committed_entry_others_lack(cluster, follower, last + 1, term);
  // A new leader (new term) among the two others: its no-op takes that index.
  cluster.crash(leader);
  cluster.start(leader);
  cluster.run(5210, 10000);
  ASSERT_EQ(cluster.leaders().size(), 1u);
  ASSERT_GT(cluster.node(cluster.leaders()[0]).term().value(), term);
  cluster.start(follower);
}

TEST(Raft, RollbackDiscardsCommittedEntriesTheLeaderLacksAndCountsThem) {
  Cluster cluster(3, [](int, RaftOptions& options) {
    options.rollback = true;
    options.checkpoint_interval_ms = 1000;  // the leader's snapshot holds its no-op's state by then
  });
  int follower = 0;
  diverge_a_follower(cluster, follower);
  cluster.run(10010, 11000);
  const int leader = cluster.leaders().at(0);
  cluster.request(leader, 2, SetRequest{"b", "2", {}, {}, false});
  cluster.run(11010, 11300);
  const RaftStatus status = cluster.node(follower).raft_status();
  EXPECT_EQ(status.rollback_entries_total, 1u);
  EXPECT_GE(status.snapshots_installed_total, 1u);
  EXPECT_EQ(cluster.state(follower), cluster.state(leader)) << "the entry only it had is gone";
  EXPECT_EQ(status.applied_index, cluster.node(leader).raft_status().applied_index);
  EXPECT_EQ(cluster.node(leader).raft_status().rollback_entries_total, 0u);
}

// Under a majority the leader's APPENDs that would truncate the follower's committed entry are a
// protocol violation: dropped and counted (the simulator and chaos fail a run on any), never
// obeyed — the entry stays, nothing is rolled back.
TEST(Raft, UnderAMajorityACommittedEntryIsNeverRolledBack) {
  Cluster cluster(3);
  int follower = 0;
  diverge_a_follower(cluster, follower);
  cluster.run(10010, 11000);
  const RaftStatus status = cluster.node(follower).raft_status();
  EXPECT_GT(status.peer_protocol_violations_total, 0u);
  EXPECT_NE(status.first_protocol_violation.find("would truncate committed entry"),
            std::string::npos)
      << status.first_protocol_violation;
  EXPECT_EQ(status.rollback_entries_total, 0u);
  EXPECT_EQ(status.snapshots_installed_total, 0u);
}

// Pre-vote (§9.6) with a partial partition: a follower cut off from the leader alone asks the
// other follower, which still hears the leader and refuses. The refusal carries the refuser's
// term — not the term asked for, which the asker would adopt, and then depose the leader with
// once the link is back (a bug the non-voter test found).
TEST(Raft, ARefusedPreVoteRaisesNoTerm) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const Term term = cluster.node(leader).term();
  const int cut = leader % 3 + 1;
  for (TimeMs t = 5010; t <= 12000; t += 10) {
    cluster.tick_all(t);
    cluster.deliver_if([&](int from, int to, const proto::RaftMessage&) {
      return !((from == cut && to == leader) || (from == leader && to == cut));
    });
  }
  EXPECT_EQ(cluster.node(cut).term(), term) << "a refused pre-vote raised the asker's term";
  cluster.run(12010, 14000);
  EXPECT_EQ(cluster.leaders(), std::vector<int>{leader});
  EXPECT_EQ(cluster.node(leader).term(), term) << "the healed follower deposed the leader";
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
  EXPECT_EQ(timeout->outcome, Outcome::unknown);
  cluster.heal();
  cluster.run(12010, 16000);
  EXPECT_EQ(cluster.leaders().size(), 1u);
  for (int n = 1; n <= 3; ++n) {
    EXPECT_EQ(cluster.node(n).commit_index(), cluster.node(cluster.leaders()[0]).commit_index());
  }
  // The old leader dropped the write it never committed (and counts it); no one rolled back.
  EXPECT_GE(cluster.node(old_leader).raft_status().truncated_entries_total, 1u);
  EXPECT_EQ(cluster.node(old_leader).raft_status().rollback_entries_total, 0u);
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

// Figure 8 of the Raft paper: an entry from an earlier term that a majority holds is not yet
// committed, and a later leader may overwrite it; a leader commits it only by committing an entry
// of its own term (§5.4.2). Pre-vote and check-quorum are off, as the paper's figure assumes
// neither; appends carry one entry each so the figure's partial replication can be staged.
TEST(Raft, Figure8AnOldTermEntryOnAMajorityIsNotCommitted) {
  // Node n times out after 100·n ms (S1 first); nobody else campaigns unless the test ticks it.
  Cluster cluster(5, [](int node, RaftOptions& options) {
    options.pre_vote = false;
    options.check_quorum = false;
    options.election_timeout_ms_min = 100 * node;
    options.election_timeout_ms_max = 100 * node;
    options.heartbeat_interval_ms = 1'000'000;  // heartbeats only when the test says
    options.append_entries_max = 1;
  });
  auto all = [](int, int, const proto::RaftMessage&) { return true; };
  auto only = [](std::set<int> nodes) {
    return [nodes](int from, int to, const proto::RaftMessage&) {
      return nodes.count(from) != 0 && nodes.count(to) != 0;
    };
  };
  for (int n = 1; n <= 5; ++n) cluster.tick(n, 0);
  // (a) S1 leads term 1; its no-op (index 1) commits everywhere; a write (index 2) reaches S2 only.
  cluster.tick(1, 150);
  cluster.deliver_if(all);
  ASSERT_EQ(cluster.leaders(), std::vector<int>{1});
  const Term term_a = cluster.node(1).term();
  cluster.request(1, 1, SetRequest{"x", "from S1", {}, {}, false});
  cluster.deliver_if(only({1, 2}));
  // (b) S1 crashes; S5 wins the next term with votes from S3 and S4 (S2's log is longer) and
  // appends its own no-op at index 2, which reaches nobody.
  cluster.crash(1);
  for (int n = 2; n <= 4; ++n) cluster.tick(n, 200);
  cluster.tick(5, 1000);
  cluster.deliver_if([](int from, int to, const proto::RaftMessage& message) {
    return message.type() != proto::RaftMessage::APPEND &&
           std::set<int>{3, 4, 5}.count(from) != 0 && std::set<int>{3, 4, 5}.count(to) != 0;
  });
  ASSERT_EQ(cluster.node(5).role(), Raft::Role::leader);
  EXPECT_GT(cluster.node(5).term(), term_a);
  // (c) S5 crashes; S1 restarts and wins a later term with S2 and S3. Its no-op (index 3, its own
  // term) reaches S2 but not S3; the term-1 entry at index 2 reaches S3. Index 2 is now held by
  // S1, S2 and S3 — a majority — but must not be committed: it is not of S1's term, and S1's
  // own entry is on two nodes only.
  cluster.crash(5);
  cluster.start(1);
  cluster.tick(1, 2000);  // a restarted node's first tick starts its election timer
  cluster.tick(1, 2200);  // a term S3 already voted in: it refuses; S2 alone is not enough
  cluster.deliver_if(only({1, 2, 3}));
  cluster.tick(1, 2400);  // the next term: S2 and S3 vote for S1
  // S1's no-op (index 3) is kept from S3 once S3 holds index 2: the first APPEND of it reaches
  // S3, which lacks index 2 and refuses; S1 backs up and sends index 2, which S3 takes.
  auto stage_c = [&cluster](int from, int to, const proto::RaftMessage& message) {
    if (from == 1 && to == 3 && message.type() == proto::RaftMessage::APPEND &&
        cluster.log_term(3, 2).has_value()) {
      for (const std::string& bytes : message.entries()) {
        proto::LogEntry entry;
        if (!entry.ParseFromString(bytes) || entry.index() >= 3) return false;
      }
    }
    return std::set<int>{1, 2, 3}.count(from) != 0 && std::set<int>{1, 2, 3}.count(to) != 0;
  };
  cluster.deliver_if(stage_c);
  ASSERT_EQ(cluster.node(1).role(), Raft::Role::leader);
  cluster.request(1, 3, GetRequest{"x"});  // its heartbeat round makes S1 probe S3 and back up
  cluster.deliver_if(stage_c);
  // The figure's state (c): the term-1 entry at index 2 is on S1, S2 and S3 — a majority — and
  // S1's own no-op at index 3 on S1 and S2 only.
  for (const int n : {1, 2, 3}) {
    ASSERT_EQ(cluster.log_term(n, 2), term_a.value()) << "S" << n << " holds index 2 of term 1";
  }
  ASSERT_EQ(cluster.log_term(2, 3), cluster.node(1).term().value());
  ASSERT_FALSE(cluster.log_term(3, 3).has_value()) << "S1's no-op never reached S3";
  for (const int n : {1, 2, 3}) {
    EXPECT_LT(cluster.node(n).commit_index(), LogIndex(2))
        << "S" << n << ": an old-term entry is not committed by counting replicas";
  }
  EXPECT_FALSE(cluster.reply_for(3).has_value()) << "nor is a read served on it";
  // (d) S1 crashes; S5 returns and wins with S3 and S4 (its last term is newer than theirs; S2
  // holds S1's newer no-op and refuses) and overwrites index 2 — allowed, since it was never
  // committed. The others are not ticked, so only S5 campaigns.
  cluster.crash(1);
  cluster.start(5);
  cluster.tick(5, 5000);  // starts its timer
  cluster.tick(5, 5600);  // a term S2 and S3 already voted in (for S1): only S4 agrees
  cluster.deliver_if(only({2, 3, 4, 5}));
  cluster.tick(5, 6200);  // the next term: S3 and S4 vote for S5
  cluster.deliver_if(only({2, 3, 4, 5}));
  ASSERT_EQ(cluster.node(5).role(), Raft::Role::leader);
  EXPECT_GE(cluster.node(5).commit_index(), LogIndex(3))
      << "its own no-op commits, and index 2 with it";
  cluster.request(5, 2, GetRequest{"x"});
  cluster.deliver_if(only({2, 3, 4, 5}));
  EXPECT_EQ(cluster.reply_for(2), Reply::nil()) << "the unacknowledged write is gone";
}

}  // namespace
}  // namespace replikv::core
