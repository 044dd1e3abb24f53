// Reads at each consistency (docs/replication.md, "Reads"), session tokens, WAIT and
// min_replicas, on the hand-driven Raft cluster.
#include <string>

#include <gtest/gtest.h>

#include "unit/raft_cluster.h"

namespace replikv::core {
namespace {

using testing::Cluster;

constexpr ReadOptions session{ReadConsistency::session, 0};
constexpr ReadOptions eventual{ReadConsistency::eventual, 0};
constexpr ReadOptions linearizable{ReadConsistency::linearizable, 0};
ReadOptions bounded(TimeMs ms) { return {ReadConsistency::bounded, ms}; }

bool starts_with(const std::optional<Reply>& reply, std::string_view word) {
  return reply && reply->is_error() && std::string_view(reply->text).starts_with(word);
}

// A write answers with its entry's position; a follower that has not applied that far holds a
// session read until it has (read-your-writes), while an eventual read is served at once from
// what it has.
TEST(RaftReads, ASessionReadWaitsForItsTokenAnEventualReadDoesNot) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int behind = leader % 3 + 1;
  cluster.isolate(behind);
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5100);
  const auto write = cluster.client_reply_for(1);
  ASSERT_TRUE(write && write->written);
  EXPECT_EQ(write->written->term, cluster.node(leader).term());
  EXPECT_GT(write->written->index.value(), 0u);

  cluster.request(behind, 2, GetRequest{"k"}, eventual);
  EXPECT_EQ(cluster.reply_for(2), Reply::nil()) << "eventual: what this node has, now";
  cluster.request(behind, 3, GetRequest{"k"}, session, write->written);
  EXPECT_FALSE(cluster.reply_for(3).has_value()) << "not before it has applied the session's write";
  cluster.heal();
  cluster.run(5110, 5400);
  const auto read = cluster.client_reply_for(3);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->reply, Reply::bulk("v"));
  ASSERT_TRUE(read->read_at.has_value());
  EXPECT_GE(read->read_at->index, write->written->index) << "a read's token is where it was served";
}

TEST(RaftReads, ASessionReadThatCannotCatchUpSaysHowFarBehindItIs) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int behind = leader % 3 + 1;
  cluster.isolate(behind);
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5100);
  const auto token = cluster.client_reply_for(1)->written;
  cluster.request(behind, 2, GetRequest{"k"}, session, token);
  cluster.run(5110, 5110 + 5000);  // request_timeout_ms
  const auto reply = cluster.reply_for(2);
  ASSERT_TRUE(starts_with(reply, "TIMEOUT")) << (reply ? reply->text : "no reply");
  EXPECT_NE(reply->text.find(to_string(*token)), std::string::npos) << reply->text;
}

// A token whose index holds another term's entry names a write that was lost: an error, never an
// older answer — also once that index was compacted away (the applied-terms history).
TEST(RaftReads, ASessionWhoseWriteWasReplacedIsToldSo) {
  Cluster cluster(3, Cluster::small_log());
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int follower = leader % 3 + 1;
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5100);
  const SessionToken written = *cluster.client_reply_for(1)->written;
  cluster.write_keys(leader, 30);
  cluster.run(5110, 5300);
  ASSERT_GT(cluster.node(follower).raft_status().log_first_index, written.index)
      << "compacted past the write";

  cluster.request(follower, 100, GetRequest{"k"}, session, written);
  EXPECT_EQ(cluster.reply_for(100), Reply::bulk("v"));
  const SessionToken lost{written.term.next(), written.index};
  cluster.request(follower, 101, GetRequest{"k"}, session, lost);
  EXPECT_TRUE(starts_with(cluster.reply_for(101), "LOSTWRITE")) << cluster.reply_for(101)->text;
  EXPECT_EQ(cluster.node(follower).raft_status().session_reads_lost_total, 1u);
  cluster.request(leader, 102, WaitRequest{1, 0}, {}, lost);
  EXPECT_TRUE(starts_with(cluster.reply_for(102), "LOSTWRITE"))
      << "WAIT on a lost write does not block";
}

// Lag is the time since a moment whose acknowledged writes the node has all applied, confirmed
// by a majority's heartbeat round: a few heartbeat intervals while connected, growing once cut
// off — and a bounded read is served only within its bound.
TEST(RaftReads, ABoundedReadIsServedWithinItsBoundAndRefusedBeyondIt) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int follower = leader % 3 + 1;
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5500);
  for (const int n : {leader, follower}) {
    const auto lag = cluster.node(n).lag_ms();
    ASSERT_TRUE(lag.has_value()) << "node " << n;
    EXPECT_LE(*lag, 3 * 100) << "node " << n << ": within three heartbeat intervals";
  }
  cluster.request(follower, 2, GetRequest{"k"}, bounded(500));
  EXPECT_EQ(cluster.reply_for(2), Reply::bulk("v"));

  cluster.isolate(follower);
  cluster.run(5510, 6500);
  EXPECT_GE(cluster.node(follower).lag_ms().value_or(0), 1000);
  cluster.request(follower, 3, GetRequest{"k"}, bounded(500));
  EXPECT_TRUE(starts_with(cluster.reply_for(3), "STALE")) << cluster.reply_for(3)->text;
  cluster.request(follower, 4, GetRequest{"k"}, bounded(5000));
  EXPECT_EQ(cluster.reply_for(4), Reply::bulk("v"));
}

// Drift: the lag allows for a clock running slow by up to max_clock_drift_ppm. Two clusters run
// the same (deterministic) course; only the allowance differs.
TEST(RaftReads, TheLagAllowsForClockDrift) {
  std::vector<TimeMs> lags;
  for (const uint64_t ppm : {0, 100'000}) {
    Cluster cluster(3, [ppm](int, RaftOptions& options) { options.clock_drift_max_ppm = ppm; });
    cluster.run(0, 5000);
    const int follower = cluster.leaders().at(0) % 3 + 1;
    cluster.isolate(follower);
    cluster.run(5010, 6010);
    lags.push_back(cluster.node(follower).lag_ms().value_or(0));
  }
  EXPECT_GE(lags[0], 1000);
  // Local time passed / (1 − 10%).
  EXPECT_EQ(lags[1], (lags[0] * 10 + 8) / 9);
}

TEST(RaftReads, LinearizableReadsAreRefusedUnderAsyncAndThePlainReadGoesToTheLeader) {
  Cluster cluster(3, [](int, RaftOptions& options) {
    options.ack = AckPolicy::async;
    options.rollback = true;
  });
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int follower = leader % 3 + 1;
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5100);
  cluster.request(follower, 2, GetRequest{"k"}, linearizable);
  const auto refused = cluster.reply_for(2);
  ASSERT_TRUE(starts_with(refused, "ERR linearizable reads are not offered with ack async"))
      << refused->text;
  cluster.request(follower, 3, GetRequest{"k"});
  cluster.run(5110, 5300);
  EXPECT_EQ(cluster.reply_for(3), Reply::bulk("v")) << "a plain GET is never refused";
}

// WAIT counts the followers holding the connection's last write durably, at the leader — asked
// of it when the connection is a follower's — and answers at its timeout with what it has.
TEST(RaftReads, WaitCountsTheFollowersHoldingTheLastWrite) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int follower = leader % 3 + 1;
  const int other = follower % 3 + 1;
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5100);
  const auto first = cluster.client_reply_for(1)->written;
  cluster.request(leader, 2, WaitRequest{2, 0}, {}, first);
  EXPECT_EQ(cluster.reply_for(2), Reply::number(2));
  cluster.request(follower, 3, WaitRequest{2, 0}, {}, first);
  cluster.run(5110, 5200);
  EXPECT_EQ(cluster.reply_for(3), Reply::number(2)) << "answered through the leader";

  cluster.isolate(other);
  cluster.request(leader, 4, SetRequest{"k", "w", {}, {}, false});
  cluster.run(5210, 5300);
  const auto second = cluster.client_reply_for(4)->written;
  ASSERT_TRUE(second.has_value());
  cluster.request(leader, 5, WaitRequest{2, 300}, {}, second);
  cluster.run(5310, 5500);
  EXPECT_FALSE(cluster.reply_for(5).has_value()) << "waits for its timeout";
  cluster.run(5510, 5700);
  EXPECT_EQ(cluster.reply_for(5), Reply::number(1)) << "one follower holds it";
  cluster.request(leader, 6, WaitRequest{2, 0}, {}, second);
  cluster.run(5710, 6000);
  EXPECT_FALSE(cluster.reply_for(6).has_value()) << "timeout 0 blocks";
  cluster.heal();
  cluster.run(6010, 6300);
  EXPECT_EQ(cluster.reply_for(6), Reply::number(2));
}

// min_replicas: a leader with too few followers in reach refuses writes before appending them —
// its own clients' and forwarded ones — a definite error.
TEST(RaftReads, MinReplicasRefusesWritesBeforeAppendingThem) {
  Cluster cluster(3, [](int, RaftOptions& options) {
    options.min_replicas = 2;
    options.min_replicas_max_lag_ms = 300;
  });
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int follower = leader % 3 + 1;
  const int other = follower % 3 + 1;
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5100);
  EXPECT_EQ(cluster.reply_for(1), Reply::ok());
  cluster.isolate(other);
  cluster.run(5110, 5500);  // other is no longer in reach; the leader still leads
  ASSERT_EQ(cluster.leaders(), std::vector<int>{leader});
  const LogIndex last = cluster.node(leader).raft_status().last_index;
  cluster.request(leader, 2, SetRequest{"k", "w", {}, {}, false});
  EXPECT_EQ(cluster.reply_for(2), Reply::error("NOREPLICAS Not enough good replicas to write."));
  cluster.request(follower, 3, SetRequest{"k", "x", {}, {}, false});
  cluster.run(5510, 5600);
  EXPECT_EQ(cluster.reply_for(3), Reply::error("NOREPLICAS Not enough good replicas to write."))
      << "a forwarded write is refused as definitely";
  EXPECT_EQ(cluster.node(leader).raft_status().last_index, last) << "nothing was appended";
  EXPECT_EQ(cluster.node(leader).raft_status().min_replicas_refused_total, 2u);
  cluster.heal();
  cluster.run(5610, 5800);
  cluster.request(leader, 4, SetRequest{"k", "y", {}, {}, false});
  cluster.run(5810, 5900);
  EXPECT_EQ(cluster.reply_for(4), Reply::ok());
}

}  // namespace
}  // namespace replikv::core

namespace replikv::core {
namespace {

Request failover_to(int node, bool force = false, int64_t timeout_ms = 1000) {
  return failover_command(FailoverRequest{static_cast<uint32_t>(node), force, timeout_ms});
}

// FAILOVER TO: the leader stops taking writes, waits for the target to hold its whole log, and
// tells it to stand (TIMEOUT_NOW); the target wins at once — no election timeout, no write lost.
TEST(RaftFailover, AHandoverMovesLeadershipAndLosesNothing) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int target = leader % 3 + 1;
  cluster.isolate(target);
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5050);
  ASSERT_EQ(cluster.reply_for(1), Reply::ok()) << "acknowledged without the target";
  cluster.request(leader, 2, failover_to(target));
  cluster.request(leader, 3, SetRequest{"k", "w", {}, {}, false});
  const auto refused = cluster.reply_for(3);
  ASSERT_TRUE(refused && refused->is_error());
  EXPECT_EQ(refused->text.rfind("TRYAGAIN leadership is being handed to node", 0), 0u)
      << refused->text;
  cluster.heal();
  cluster.run(5060, 5200);
  EXPECT_EQ(cluster.reply_for(2), Reply::ok());
  ASSERT_EQ(cluster.leaders(), std::vector<int>{target}) << "well before any election timeout";
  cluster.request(target, 4, GetRequest{"k"});
  cluster.run(5210, 5300);
  EXPECT_EQ(cluster.reply_for(4), Reply::bulk("v"));
}

TEST(RaftFailover, AHandoverThatCannotCompleteTimesOutAndTheLeaderGoesOn) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int target = leader % 3 + 1;
  cluster.isolate(target);
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5050);
  cluster.request(leader, 2, failover_to(target, false, 500));
  cluster.run(5060, 5600);
  const auto reply = cluster.reply_for(2);
  ASSERT_TRUE(reply && reply->is_error());
  EXPECT_EQ(reply->text.rfind("TIMEOUT the handover to node", 0), 0u) << reply->text;
  EXPECT_EQ(reply->outcome, Outcome::unknown);
  ASSERT_EQ(cluster.leaders(), std::vector<int>{leader});
  cluster.request(leader, 3, SetRequest{"k", "w", {}, {}, false});
  cluster.run(5610, 5700);
  EXPECT_EQ(cluster.reply_for(3), Reply::ok()) << "writes resume";
}

// FAILOVER … FORCE, at the target, with the leader unreachable: voters grant it despite the
// lease, so it leads long before an election timeout — when its log is as up to date as theirs.
TEST(RaftFailover, AForcedPromotionWinsWhenTheTargetIsUpToDate) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int target = leader % 3 + 1;
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5050);
  cluster.isolate(leader);
  cluster.request(target, 2, failover_to(target, true));
  cluster.run(5060, 5150);
  EXPECT_EQ(cluster.reply_for(2), Reply::ok());
  EXPECT_EQ(cluster.node(target).role(), Raft::Role::leader);
  cluster.request(target, 3, GetRequest{"k"});
  cluster.run(5160, 5250);
  EXPECT_EQ(cluster.reply_for(3), Reply::bulk("v"));
}

TEST(RaftFailover, AForcedPromotionOfANodeMissingAnAcknowledgedWriteIsRefused) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int target = leader % 3 + 1;
  cluster.isolate(target);
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5050);
  ASSERT_EQ(cluster.reply_for(1), Reply::ok());
  cluster.heal();
  cluster.isolate(leader);  // the target never received the write
  cluster.request(target, 2, failover_to(target, true, 300));
  cluster.run(5060, 5400);
  const auto reply = cluster.reply_for(2);
  ASSERT_TRUE(reply && reply->is_error());
  EXPECT_EQ(reply->text.rfind("ERR the forced promotion of node", 0), 0u) << reply->text;
  EXPECT_NE(cluster.node(target).role(), Raft::Role::leader);
}

TEST(RaftFailover, AForcedPromotionIsRefusedUnderAsync) {
  Cluster cluster(3, [](int, RaftOptions& options) {
    options.ack = AckPolicy::async;
    options.rollback = true;
  });
  cluster.run(0, 5000);
  const int target = cluster.leaders().at(0) % 3 + 1;
  cluster.request(target, 1, failover_to(target, true));
  const auto reply = cluster.reply_for(1);
  ASSERT_TRUE(reply && reply->is_error());
  EXPECT_NE(reply->text.find("under ack async"), std::string::npos) << reply->text;
}

}  // namespace
}  // namespace replikv::core

namespace replikv::core {
namespace {

Cluster::Customize lease_reads() {
  return [](int, RaftOptions& options) { options.lease_reads = true; };
}

// Under its lease the leader answers a linearizable read at once — no round, no message.
TEST(RaftLease, ALeaderUnderItsLeaseAnswersReadsWithoutARound) {
  Cluster cluster(3, lease_reads());
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5050);
  cluster.isolate(leader);  // nothing is delivered to or from it now
  cluster.request(leader, 2, GetRequest{"k"});
  EXPECT_EQ(cluster.reply_for(2), Reply::bulk("v"));
  EXPECT_EQ(cluster.node(leader).raft_status().lease_reads_total, 1u);
  // Past the lease (the minimum election timeout, less the drift allowance) it has stepped down.
  cluster.run(5060, 6100);
  EXPECT_NE(cluster.node(leader).role(), Raft::Role::leader);
  cluster.request(leader, 3, GetRequest{"k"});
  EXPECT_FALSE(cluster.reply_for(3).has_value()) << "no lease: the read waits for a leader";
}

// Without lease reads every linearizable read takes a round: cut off, the leader answers none.
TEST(RaftLease, WithoutLeaseReadsAReadNeedsARound) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  cluster.isolate(leader);
  cluster.request(leader, 1, GetRequest{"k"});
  EXPECT_FALSE(cluster.reply_for(1).has_value());
}

// A handover ends the lease: the leader gives it up before telling the target to stand.
TEST(RaftLease, AHandoverEndsTheLease) {
  Cluster cluster(3, lease_reads());
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int target = leader % 3 + 1;
  cluster.request(leader, 1,
                  failover_command(FailoverRequest{static_cast<uint32_t>(target), false, 1000}));
  cluster.isolate(leader);
  cluster.request(leader, 2, GetRequest{"k"});
  EXPECT_FALSE(cluster.reply_for(2).has_value()) << "not under a lease it is giving up";
  EXPECT_EQ(cluster.node(leader).raft_status().lease_reads_total, 0u);
}

// With lease reads a node that starts keeps, for a minimum election timeout, the promise it may
// have made a leader before it stopped: it grants no vote.
TEST(RaftLease, ARestartedNodeGrantsNoVoteForAMinimumElectionTimeout) {
  Cluster cluster(3, lease_reads());
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int restarted = leader % 3 + 1;
  const int candidate = restarted % 3 + 1;
  cluster.crash(restarted);
  cluster.start(restarted);
  cluster.tick(restarted, 5010);
  proto::RaftMessage vote;
  vote.set_type(proto::RaftMessage::VOTE);
  vote.set_term(cluster.node(candidate).term().value() + 1);
  vote.set_from(static_cast<uint32_t>(candidate));
  vote.set_last_log_index(cluster.node(candidate).raft_status().last_index.value());
  vote.set_last_log_term(cluster.node(candidate).term().value());
  const Term before = cluster.node(restarted).term();
  cluster.node(restarted).peer_message({NodeId(static_cast<uint32_t>(candidate)),
                                        NodeId(static_cast<uint32_t>(restarted)),
                                        vote.SerializeAsString()});
  EXPECT_EQ(cluster.node(restarted).term(), before) << "the vote request was ignored";
}

}  // namespace
}  // namespace replikv::core

namespace replikv::core {
namespace {

// FAILOVER TO n FORCE ACCEPT-DATA-LOSS: the target leads at once in a new term though its log
// lacks an acknowledged write; the replicas that held it roll it back, counted, and every node
// converges on the target's history — the old leader too when it returns.
TEST(RaftFailover, AForcedPromotionAcceptingDataLossLeadsAndTheOthersRollBack) {
  // The rollback installs the target's snapshot: its checkpoints come within the test's second.
  Cluster cluster(3, [](int, RaftOptions& options) { options.checkpoint_interval_ms = 1000; });
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  const int target = leader % 3 + 1;
  const int other = target % 3 + 1;
  cluster.isolate(target);
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5050);
  ASSERT_EQ(cluster.reply_for(1), Reply::ok()) << "acknowledged without the target";
  cluster.heal();
  cluster.isolate(leader);
  FailoverRequest force{static_cast<uint32_t>(target), true, 100, false};
  cluster.request(target, 2, failover_command(force));
  cluster.run(5060, 5200);
  ASSERT_TRUE(cluster.reply_for(2) && cluster.reply_for(2)->is_error())
      << "refused without accepting the loss";

  force.accept_data_loss = true;
  cluster.request(target, 3, failover_command(force));
  EXPECT_EQ(cluster.reply_for(3), Reply::ok());
  EXPECT_EQ(cluster.node(target).role(), Raft::Role::leader);
  EXPECT_GE(cluster.node(target).term().value(), uint64_t{1} << 20);
  // Its first APPENDs of the data-loss term share a Ready with that term's write: they wait for
  // the sync (a crash before it must not leave followers holding a term the leader forgot).
  bool appends_held = false;
  for (const auto& sent : cluster.sent()) {
    if (sent.from == target && sent.type == proto::RaftMessage::APPEND &&
        sent.term_or_vote_written) {
      EXPECT_FALSE(sent.early);
      appends_held = true;
    }
  }
  EXPECT_TRUE(appends_held);
  cluster.run(5210, 5600);
  EXPECT_GT(cluster.node(other).raft_status().rollback_entries_total, 0u);
  cluster.request(target, 4, GetRequest{"k"});
  cluster.run(5610, 5700);
  EXPECT_EQ(cluster.reply_for(4), Reply::nil()) << "the write the target never had is lost";

  cluster.heal();
  cluster.run(5710, 6500);
  EXPECT_EQ(cluster.leaders(), std::vector<int>{target});
  EXPECT_GT(cluster.node(leader).raft_status().rollback_entries_total, 0u);
  EXPECT_EQ(cluster.state(leader), cluster.state(target));
  EXPECT_EQ(cluster.state(other), cluster.state(target));
}

}  // namespace
}  // namespace replikv::core

namespace replikv::core {
namespace {

// Elects a leader, handing leadership to node 1 if node 3 won (node 3 is the one without
// pre-vote in the tests below). Returns the leader.
int lead_away_from_3(Cluster& cluster) {
  cluster.run(0, 5000);
  if (cluster.leaders().at(0) == 3) {
    cluster.request(3, 100, failover_command(FailoverRequest{1, false, 1000, false}));
    cluster.run(5010, 5200);
  }
  return cluster.leaders().at(0);
}

// A forced promotion stands again above a higher term it meets: node 3 (no pre-vote) raised its
// term in elections while cut off; the target's first VOTE is below it, and it stands again at
// node 3's term + 1 — then node 3, no more up to date, grants it.
TEST(RaftFailover, AForcedPromotionStandsAboveAHigherTermItMeets) {
  Cluster cluster(3, [](int n, RaftOptions& options) { options.pre_vote = n != 3; });
  const int leader = lead_away_from_3(cluster);
  ASSERT_NE(leader, 3);
  const int target = leader == 1 ? 2 : 1;
  cluster.isolate(3);
  cluster.run(5210, 9000);  // node 3 stands again and again, alone
  const Term high = cluster.node(3).term();
  ASSERT_GT(high, cluster.node(target).term());
  cluster.crash(leader);
  cluster.heal();
  cluster.request(
      target, 1,
      failover_command(FailoverRequest{static_cast<uint32_t>(target), true, 1000, false}));
  cluster.run(9010, 9100);
  EXPECT_EQ(cluster.reply_for(1), Reply::ok());
  EXPECT_EQ(cluster.node(target).role(), Raft::Role::leader);
  EXPECT_GT(cluster.node(target).term(), high);
}

// A forced promotion refused in its term — the voter already voted in it, for itself — stands
// again a term higher at its next heartbeat, where the vote is free, and wins long before the
// voter's own election timeout would have made it the leader instead.
TEST(RaftFailover, AForcedPromotionRefusedInItsTermStandsAgainATermHigher) {
  Cluster cluster(3, [](int n, RaftOptions& options) { options.pre_vote = n != 3; });
  const int leader = lead_away_from_3(cluster);
  ASSERT_NE(leader, 3);
  const int target = leader == 1 ? 2 : 1;
  const Term term = cluster.node(target).term();
  cluster.crash(leader);
  // Node 3 alone times out once: a candidate in the next term, having voted for itself; its
  // requests are lost.
  cluster.isolate(3);
  TimeMs now = 5300;
  while (cluster.node(3).term() == term && now < 9000) {
    now += 10;
    cluster.tick(3, now);
    cluster.deliver_all();
  }
  ASSERT_EQ(cluster.node(3).term(), term.next());
  ASSERT_EQ(cluster.node(target).term(), term) << "the target heard nothing of it";
  cluster.heal();
  // The target's clock is where it stopped (5000): a deadline well past the ticks to come.
  cluster.request(
      target, 1,
      failover_command(FailoverRequest{static_cast<uint32_t>(target), true, 5000, false}));
  cluster.deliver_all();
  ASSERT_EQ(cluster.node(target).term(), term.next()) << "it stood in node 3's term: refused";
  cluster.run(now + 10, now + 300);
  const auto reply = cluster.reply_for(1);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, Reply::ok()) << reply->text;
  EXPECT_EQ(cluster.node(target).role(), Raft::Role::leader);
  EXPECT_EQ(cluster.node(target).term(), term.next().next());
}

}  // namespace
}  // namespace replikv::core
