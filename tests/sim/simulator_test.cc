// The simulator itself: determinism, replayable schedules, real faults (a broken replica is
// caught), and the standalone replica's guarantees over a fixed list of seeds plus fresh ones.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <random>
#include <regex>

#include <gtest/gtest.h>

#include "core/strategy.h"
#include "proto/replikv.pb.h"
#include "sim/simulator.h"
#include "support/sim_report.h"

namespace replikv::sim {
namespace {

SimOptions small(uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  options.ops = 600;
  return options;
}

TEST(Simulator, SameSeedSameHistoryByteForByte) {
  const SimResult first = run_simulation(small(11));
  const SimResult second = run_simulation(small(11));
  EXPECT_EQ(first.history, second.history);
  EXPECT_EQ(first.schedule, second.schedule);
  EXPECT_NE(first.history, run_simulation(small(12)).history);
}

TEST(Simulator, AWrittenScheduleReplaysTheRun) {
  const SimResult original = run_simulation(small(21));
  std::string error;
  const auto schedule = parse_schedule(original.schedule, error);
  ASSERT_TRUE(schedule) << error;
  EXPECT_EQ(to_text(*schedule), original.schedule);
  SimOptions replay = small(21);
  replay.schedule = *schedule;
  EXPECT_EQ(run_simulation(replay).history, original.history);
}

TEST(Simulator, ScheduleTextErrorsNameTheLine) {
  std::string error;
  EXPECT_FALSE(parse_schedule("10 kill 1\n5 heal\n", error));
  EXPECT_NE(error.find("line 2"), std::string::npos) << error;
  EXPECT_FALSE(parse_schedule("10 explode 1\n", error));
  EXPECT_TRUE(parse_schedule("# comment\n10 partition c0-1\n20 skew 1 -300\n30 heal\n", error))
      << error;
}

TEST(Simulator, FaultsHappen) {
  SimStats total;
  for (uint64_t seed = 31; seed < 51; ++seed) {
    SimOptions options = small(seed);
    options.ops = 3000;
    const SimStats stats = run_simulation(options).stats;
    total.crashes += stats.crashes;
    total.pauses += stats.pauses;
    total.cuts += stats.cuts;
    total.unknown += stats.unknown;
    total.messages_dropped += stats.messages_dropped;
    total.final_reads += stats.final_reads;
  }
  EXPECT_GT(total.crashes, 0u);
  EXPECT_GT(total.pauses, 0u);
  EXPECT_GT(total.cuts, 0u);
  EXPECT_GT(total.messages_dropped, 0u);
  EXPECT_GT(total.unknown, 0u);
  EXPECT_GT(total.final_reads, 0u);
}

// The checkers must catch a replica that acknowledges before it syncs, within a few seeds.
TEST(Simulator, ABrokenReplicaIsCaught) {
  int caught_at = 0;
  for (uint64_t seed = 1; seed <= 10 && caught_at == 0; ++seed) {
    SimOptions options = small(seed);
    options.broken_ack_before_sync = true;
    options.faults = {true, false, false, false, false, false};  // crashes only
    if (run_simulation(options).failed()) caught_at = static_cast<int>(seed);
  }
  EXPECT_GT(caught_at, 0) << "ten seeds of crashes did not expose acknowledge-before-sync";
}

TEST(Simulator, AFailingScheduleShrinksToWhatMatters) {
  SimOptions options = small(1);
  options.broken_ack_before_sync = true;
  options.faults = {true, true, true, true, false, false};
  const SimResult failing = run_simulation(options);
  ASSERT_TRUE(failing.failed());
  std::string error;
  const auto schedule = parse_schedule(failing.schedule, error);
  ASSERT_TRUE(schedule) << error;
  const FaultSchedule smallest = shrink_schedule(options, *schedule);
  EXPECT_LT(smallest.size(), schedule->size());
  EXPECT_TRUE(std::any_of(smallest.begin(), smallest.end(),
                          [](const FaultEvent& e) { return e.kind == FaultEvent::Kind::kill; }))
      << "losing acknowledged writes needs a crash:\n"
      << to_text(smallest);
  options.schedule = smallest;
  EXPECT_TRUE(run_simulation(options).failed());
}

// A checker that could not decide (its budget ran out) is no pass: an unknown verdict fails the
// run, unless the settings do not promise that check at all.
TEST(Simulator, AnUndecidedCheckFailsTheRun) {
  SimResult result;
  result.checks.push_back({"lost-writes", check::Verdict::valid, "", {}, {}});
  EXPECT_FALSE(result.failed());
  result.checks.push_back({"linearizable", check::Verdict::unknown, "budget", {}, {}});
  EXPECT_TRUE(result.failed());
  result.expected_violations = {"linearizable"};
  EXPECT_FALSE(result.failed());
}

// With fsync "never" a crash loses acknowledged writes: the lost-writes checker finds them (the
// loss is measured) and the run does not fail (it was not promised). Among a few seeds of crashes
// at least one loses something — else this test would show nothing.
TEST(Simulator, FsyncNeverLossIsMeasuredNotFailed) {
  double lost_max = 0;
  for (uint64_t seed = 41; seed < 51 && lost_max == 0; ++seed) {
    SimOptions options = small(seed);
    options.fsync_always = false;
    options.faults = {true, false, false, false, false, false};
    const SimResult result = run_simulation(options);
    EXPECT_FALSE(result.failed()) << report(result, options);
    const std::vector<std::string> expected{"linearizable", "lost-writes", "stale-reads",
                                            "sessions", "queue"};
    EXPECT_EQ(result.expected_violations, expected);
    const auto lost = std::find_if(result.checks.begin(), result.checks.end(),
                                   [](const auto& c) { return c.checker == "lost-writes"; });
    ASSERT_NE(lost, result.checks.end());
    if (lost->verdict == check::Verdict::invalid) {
      EXPECT_GT(result.stats.crashes, 0u);
      lost_max = std::max(lost_max, lost->figures.at("lost"));
    }
  }
  EXPECT_GT(lost_max, 0) << "ten seeds of crashes with fsync never lost no acknowledged write";
}

// A replica that only talks to its peers: on every tick it sends each peer a message, and it
// counts what it sends and receives (clients get an error). It shows the simulator carries peer
// messages through its network, faults included.
struct MessageCounts {
  uint64_t sent = 0, received = 0;
  uint64_t out_of_order = 0;  // arrived after a message sent later on the same link
};

class Broadcaster final : public core::Replica {
 public:
  Broadcaster(core::NodeId id, int nodes, MessageCounts& counts)
      : id_(id), nodes_(nodes), counts_(counts) {}
  void client_request(core::ClientRequest request) override {
    pending_.replies.push_back({request.connection, request.sequence,
                                core::Reply::error("ERR this test replica serves no clients"),
                                std::nullopt, std::nullopt});
  }
  void peer_message(const core::Message& message) override {
    EXPECT_EQ(message.to, id_);
    const std::string prefix = "hello from " + std::to_string(message.from.value()) + " #";
    ASSERT_EQ(message.payload.substr(0, prefix.size()), prefix);
    const uint64_t number = std::stoull(message.payload.substr(prefix.size()));
    uint64_t& highest = highest_from_[message.from.value()];
    if (number < highest) ++counts_.out_of_order;
    highest = std::max(highest, number);
    ++counts_.received;
  }
  void tick(core::TimeMs, core::TimeMs) override {
    // A burst per peer, so that messages are in flight together on every link.
    for (int peer = 1; peer <= nodes_; ++peer) {
      if (peer == static_cast<int>(id_.value())) continue;
      for (int i = 0; i < 4; ++i) {
        pending_.messages.push_back(
            {id_, core::NodeId(static_cast<uint32_t>(peer)),
             "hello from " + std::to_string(id_.value()) + " #" +
                 std::to_string(++next_number_[static_cast<uint32_t>(peer)])});
        ++counts_.sent;
      }
    }
  }
  void persisted(core::ReadyId) override {}
  bool take_ready(core::Ready& out) override { return core::hand_over(pending_, last_, out); }
  core::ReplicaStatus status() const override { return {}; }

 private:
  core::NodeId id_;
  int nodes_;
  MessageCounts& counts_;
  core::Ready pending_;
  core::ReadyId last_;
  std::map<uint32_t, uint64_t> next_number_;   // per peer: the last number sent to it
  std::map<uint32_t, uint64_t> highest_from_;  // per peer: the highest number received
};

SimOptions broadcasting(uint64_t seed, MessageCounts& counts, FaultKinds faults) {
  SimOptions options = small(seed);
  options.nodes = 3;
  options.ops = 300;
  options.faults = faults;
  options.make_replica = [&counts](const core::StorageView&, const core::NodeContext& node,
                                   core::Rng) -> std::unique_ptr<core::Replica> {
    return std::make_unique<Broadcaster>(node.node, static_cast<int>(node.members.size()), counts);
  };
  return options;
}

TEST(Simulator, PeerMessagesTravelTheNetwork) {
  MessageCounts calm;
  run_simulation(broadcasting(3, calm, {}));
  EXPECT_GT(calm.sent, 100u);
  // Without faults every message arrives, except those still in flight when the run ends.
  EXPECT_GT(calm.received, calm.sent * 9 / 10);
  EXPECT_LE(calm.received, calm.sent);

  MessageCounts duplicated;
  SimOptions options = broadcasting(3, duplicated, {false, false, false, false, true, false});
  options.schedule = FaultSchedule{{0, FaultEvent::Kind::dup, 0, 0, 0, 500}};
  run_simulation(options);
  EXPECT_GT(duplicated.received, duplicated.sent) << "half the messages should arrive twice";

  MessageCounts cut;
  options = broadcasting(3, cut, {});
  options.schedule = FaultSchedule{{0, FaultEvent::Kind::partition, 0, 1, 2, 0},
                                   {0, FaultEvent::Kind::partition, 0, 1, 3, 0},
                                   {0, FaultEvent::Kind::drop, 0, 0, 0, 1000}};
  const SimStats stats = run_simulation(options).stats;
  // Everything is dropped until the final heal; after it, messages flow again.
  EXPECT_GT(stats.messages_dropped, 0u);
  EXPECT_LT(cut.received + stats.messages_dropped / 2, cut.sent);
}

// Links between nodes keep their order, as the real transport's TCP connections do, except the
// tail the simulator reorders on purpose (counted); with reorder_all any two messages may swap.
TEST(Simulator, PeerLinksKeepOrderExceptTheReorderedTail) {
  MessageCounts fifo;
  const SimStats fifo_stats = run_simulation(broadcasting(5, fifo, {})).stats;
  EXPECT_GT(fifo_stats.messages_reordered, 0u);
  EXPECT_GT(fifo.out_of_order, 0u);
  EXPECT_LE(fifo.out_of_order, fifo_stats.messages_reordered);

  MessageCounts any;
  SimOptions options = broadcasting(5, any, {});
  options.reorder_all = true;
  const SimStats any_stats = run_simulation(options).stats;
  EXPECT_GT(any.out_of_order, any_stats.messages_reordered * 5);
}

// Regression and coverage list: every seed here must pass. A seed that once exposed a bug is
// added with the bug's name.
TEST(Simulator, StandaloneFixedSeeds) {
  for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 42, 1234, 99999}) {
    const SimOptions options = small(seed);
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
  }
}

// A regression seed's options as it was found: before disk loss joined the faults (its schedule
// would otherwise gain a disk loss; every other fault of a seed stays as it was either way).
SimOptions as_found(SimOptions options) {
  options.faults.disk = false;
  return options;
}

SimOptions leader_run(uint64_t seed, int nodes) {
  SimOptions options = small(seed);
  options.strategy = "leader";
  options.nodes = nodes;
  options.keys = 3;
  options.ops = 1500;
  options.client_timeout_ms = 150;
  return options;
}

// Raft under every fault: linearizable, no acknowledged insert lost, one leader per term
// (asserted inside the simulator), replicas converge after the heal.
// Each seed on both networks: links that keep order (as TCP) and every message reordered.
TEST(Simulator, RaftFixedSeeds) {
  for (const bool reorder_all : {false, true}) {
    for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8, 42, 333}) {
      SimOptions options = leader_run(seed, seed % 2 == 1 ? 5 : 3);
      options.reorder_all = reorder_all;
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
    }
  }
}

// Snapshots under faults (docs/snapshots.md): with the simulator's small compaction thresholds and
// chunks, followers that were down or cut off catch up by snapshot, and crashes strike in the
// middle of installs — every guarantee still holds. The test fails if the seeds stop exercising
// either (the coverage it claims).
// The data families' commands travel the log as their arguments (proto Command): GETDEL for
// deletes and INCRBYFLOAT for increments, under every fault, with snapshots, on both networks —
// the checkers hold them to the register's and the counter's promises, and the replicas converge.
// Fails if the seeds stop sending them.
TEST(Simulator, RaftFamilyCommandsUnderFaults) {
  uint64_t family_writes = 0;
  for (uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    SimOptions options = leader_run(seed, seed % 2 == 1 ? 5 : 3);
    options.reorder_all = seed % 3 == 0;
    options.deletes = 20;
    options.counters = 2;
    options.family_commands = 50;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    for (const auto& check : result.checks) {
      EXPECT_NE(check.verdict, check::Verdict::invalid)
          << check.checker << ": " << report(result, options);
    }
    family_writes += result.stats.family_commands;
  }
  EXPECT_GT(family_writes, 300u);
}

// MULTI … EXEC under every fault: writes, deletes and CASes of a share of the keys go as
// transactions that also write each key's mirror, and after every step of every node each such
// key and its mirror hold the same value — a transaction is one log entry, applied whole or not
// at all, also across crashes, disk losses, snapshots and failovers. (A keyspace that skips a
// transaction's second command now and then fails the "transactions" check while replicas still
// converge: checked by hand.) Fails if the seeds stop checking transactions.
TEST(Simulator, RaftTransactionsUnderFaults) {
  for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
    if (sanitizer_skips(seed)) continue;  // (sanitizers: 1, 2, 5, 6 — both sizes)
    SimOptions options = leader_run(seed, seed % 2 == 1 ? 5 : 3);
    options.keys = 6;
    options.reorder_all = seed % 3 == 0;
    options.deletes = 20;
    options.transactions = 50;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    bool checked = false;
    for (const auto& check : result.checks) {
      EXPECT_NE(check.verdict, check::Verdict::invalid)
          << check.checker << ": " << report(result, options);
      checked |= check.checker == "transactions" && check.verdict == check::Verdict::valid;
    }
    EXPECT_TRUE(checked) << report(result, options);
    EXPECT_GT(result.stats.transactions, 200u);
  }
}

// Collections under every fault: transactional writes also add one element to a list, a hash, a
// set and a sorted set of their key (deletes delete them), so the four must hold as many elements
// as each other on every node after every step — counted element by element in the elements
// column, through checkpoints, compaction and snapshot installs — and converge to equal digests.
TEST(Simulator, RaftCollectionsUnderFaults) {
  uint64_t installed = 0;
  for (uint64_t seed : {11, 12, 13, 14, 15, 16}) {
    // (Under the sanitizers, where each step's check of every collection costs twenty times
    // more: two seeds, 11 and 16, whose nodes catch up by snapshots.)
    if (seed_share > 1 && seed != 11 && seed != 16) continue;
    SimOptions options = leader_run(seed, seed % 2 == 1 ? 5 : 3);
    options.keys = 5;
    options.reorder_all = seed % 3 == 0;
    options.deletes = 15;
    options.transactions = 60;
    options.collections = true;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    bool checked = false;
    for (const auto& check : result.checks) {
      EXPECT_NE(check.verdict, check::Verdict::invalid)
          << check.checker << ": " << report(result, options);
      checked |= check.checker == "transactions" && check.verdict == check::Verdict::valid;
    }
    EXPECT_TRUE(checked) << report(result, options);
    EXPECT_GT(result.stats.transactions, 200u);
    installed += result.stats.counter("snapshots_installed");
  }
  EXPECT_GT(installed, 0u) << "some node caught up by a snapshot carrying the elements";
}

// A queue beside the operations (with --collections): RPUSH of new elements, LPOP and BLPOP at any
// node, every reply read for what it pushed or popped. Under every fault, standalone and the
// single leader: no element popped twice (a pop acknowledged, then lost in a crash, would leave its
// element to be popped again), none popped that was never pushed, no acknowledged push lost beyond
// the pops of unknown outcome — blocking pops included, which the leader serves through the log.
TEST(Simulator, QueuesPopEachElementAtMostOnceAndLoseNone) {
  uint64_t popped = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    if (sanitizer_skips(seed)) continue;
    for (const bool replicated : {false, true}) {
      SimOptions options = replicated ? leader_run(seed, 3) : small(seed);
      if (!replicated) options.ops = 2000;
      options.transactions = 20;
      options.collections = true;
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
      const auto* queue = find(result, "queue");
      ASSERT_NE(queue, nullptr) << report(result, options);
      EXPECT_EQ(queue->verdict, check::Verdict::valid) << report(result, options);
      popped += static_cast<uint64_t>(queue->figures.at("popped"));
    }
  }
  EXPECT_GT(popped, 400u / seed_share);
  // Under fsync "never" a crash may take an acknowledged push or undo a pop: the queue check is
  // among the violations that setting is expected to show, and does not fail the run.
  SimOptions never = small(1);
  never.ops = 2000;
  never.transactions = 20;
  never.collections = true;
  never.fsync_always = false;
  const SimResult result = run_simulation(never);
  EXPECT_FALSE(result.failed()) << report(result, never);
  EXPECT_NE(find(result, "queue"), nullptr);
}

// A node that acknowledges before its write is durable, under crashes: an acknowledged push
// vanishes, or an acknowledged pop comes undone and its element is popped again — the queue
// check fails.
TEST(Simulator, AQueueOnANodeAcknowledgingBeforeSyncIsCaught) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SimOptions options = small(seed);
    options.ops = 2000;
    options.transactions = 20;
    options.collections = true;
    options.broken_ack_before_sync = true;
    options.faults = {true, false, false, false, false, false};  // crashes only
    const SimResult result = run_simulation(options);
    const auto* queue = find(result, "queue");
    if (queue != nullptr && queue->verdict == check::Verdict::invalid) ++caught;
  }
  EXPECT_GE(caught, 2);
}

TEST(Simulator, RaftSnapshotsAndCrashesMidInstall) {
  uint64_t installed = 0, crashes_mid_install = 0;
  // (Under the sanitizers, every other seed: the even ones, which hold crashes mid-install —
  // seeds 10, 22 and 32 of 1 to 80 when this was written.)
  for (uint64_t seed = seed_share; seed <= 80; seed += seed_share) {
    SimOptions options = leader_run(seed, seed % 4 == 0 ? 5 : 3);
    options.reorder_all = seed % 3 == 0;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    installed += result.stats.counter("snapshots_installed");
    crashes_mid_install += result.stats.crashes_mid_install;
  }
  EXPECT_GT(installed, 20u / seed_share);
  EXPECT_GT(crashes_mid_install, 0u);
}

// Regression: an APPEND lost to the network was never sent again once no new entries came — the
// leader's optimistic `next` had moved past it and heartbeats only confirmed what the follower
// held, so the follower lagged for ever and the replicas never converged. Fixed by resending
// when a heartbeat response shows the follower behind.
// (The regression seeds were found on the network that reorders every message.)
TEST(Simulator, RaftRegressionLostAppendNeverResent) {
  for (uint64_t seed : {13, 14, 36, 64, 86, 111}) {
    SimOptions options = as_found(leader_run(seed, seed % 2 == 1 ? 5 : 3));
    options.reorder_all = true;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    // The scenario still happens: messages lost, and a follower's stalled entries sent again.
    EXPECT_GT(result.stats.messages_dropped, 0u) << "seed " << seed;
    EXPECT_GT(result.stats.counter("appends_resent"), 0u) << "seed " << seed;
  }
}

// Regression: a follower took a refusal of its FORWARD as proof that the write was not applied
// and answered the client with a definite error — but the network had delivered another copy of
// the same FORWARD while the refusing node still led, and that copy committed. Fixed: a refusal
// sends the write again (same sequence, applied at most once) to the next leader, and the
// client hears the outcome or -TIMEOUT.
TEST(Simulator, RaftRegressionRefusedDuplicateForwardWasApplied) {
  SimOptions options = as_found(leader_run(1095276466, 3));
  options.reorder_all = true;
  const SimResult result = run_simulation(options);
  ASSERT_FALSE(result.failed()) << report(result, options);
  EXPECT_GT(result.stats.messages_duplicated, 0u) << "the scenario needs duplicated forwards";
}

// Regression: under `async` a follower holding committed entries a new leader lacks rolls back
// to the leader's snapshot — its last checkpoint. With checkpoints 10 s apart, the leader had
// none that covered anything the follower lacked, sent nothing, and the follower waited past the
// end of the run with its diverged entries (log-agreement and convergence failed). Fixed: a
// snapshot the stored state cannot give brings the next checkpoint forward.
TEST(Simulator, RaftRegressionRollbackWaitedForACheckpoint) {
  SimOptions options = leader_run(986965002, 5);
  options.settings["ack"] = "async";
  options.settings["lease_reads"] = "true";
  const SimResult result = run_simulation(options);
  ASSERT_FALSE(result.failed()) << report(result, options);
  EXPECT_GT(result.stats.counter("rollback_entries"), 0u) << "the scenario is a rollback";
}

// Regression: a node's clock stepped back (a skew healed) froze its Raft timers until the clock
// caught up; a leader sent no heartbeat for up to two seconds, and a follower that had moved to
// a higher term meanwhile never heard from it, so the replicas did not converge. Fixed: a step
// back counts as no time passing.
TEST(Simulator, RaftRegressionClockSteppedBackSilencedLeader) {
  for (const auto& [seed, reorder_all] :
       {std::pair<uint64_t, bool>{3126675514, false}, {3253495570, false}, {2709434948, true}}) {
    SimOptions options = as_found(leader_run(seed, 3));
    options.reorder_all = reorder_all;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    // The scenario still happens: some node's clock is set back (a negative skew), then healed.
    const size_t back = result.schedule.find(" skew ");
    EXPECT_TRUE(back != std::string::npos &&
                std::regex_search(result.schedule, std::regex(R"(skew \d+ -\d+\n(.|\n)*heal)")))
        << "seed " << seed << ":\n"
        << result.schedule;
  }
}

// The ack dial (issue: async, k-of-n, sync). k-of-n and sync with automatic failover lose no
// acknowledged write, fsync always, under every fault — elections need max(majority, n − k)
// votes, so every election quorum meets every set that acknowledged a write (with k = 1 at five
// nodes, four votes). async's losses and stale reads are measured, not failures, and the
// replicas still converge.
TEST(Simulator, RaftAckPolicies) {
  struct Case {
    int nodes;
    const char* ack;
  };
  for (const Case& c : {Case{3, "sync"}, Case{3, "1"}, Case{5, "1"}, Case{5, "2"}, Case{5, "sync"},
                        Case{3, "async"}, Case{5, "async"}}) {
    // Seed 24 (five nodes, k = 1) truncates a committed entry — caught by the replica's
    // assertion — when elections need only a majority.
    for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 24}) {
      if (seed != 24 && seed % seed_share != 0) continue;
      SimOptions options = leader_run(seed, c.nodes);
      options.settings["ack"] = c.ack;
      options.reorder_all = seed % 3 == 0;
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
      if (std::string(c.ack) != "async") {
        for (const auto& check : result.checks) {
          EXPECT_NE(check.verdict, check::Verdict::invalid)
              << check.checker << ": " << report(result, options);
        }
      }
    }
  }
}

// Operator failovers under every other fault: handovers (FAILOVER TO, at the leader) and forced
// promotions (FAILOVER TO … FORCE, at the target), with fsync always, lose no acknowledged write
// and keep every other promise in every mode that waits for followers. Fails if the seeds stop
// producing failovers that complete.
TEST(Simulator, RaftOperatorFailoversLoseNothing) {
  struct Case {
    int nodes;
    const char* ack;
  };
  uint64_t asked = 0, done = 0;
  for (const Case& c : {Case{3, "majority"}, Case{3, "sync"}, Case{5, "1"}, Case{5, "2"}}) {
    for (uint64_t seed = 1; seed <= 12; seed += seed_share) {
      SimOptions options = leader_run(seed, c.nodes);
      options.settings["ack"] = c.ack;
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
      for (const auto& check : result.checks) {
        EXPECT_NE(check.verdict, check::Verdict::invalid)
            << check.checker << ": " << report(result, options);
      }
      asked += result.stats.handovers + result.stats.forced_promotions;
      done += result.stats.failovers_done;
    }
  }
  EXPECT_GE(asked, 20u / seed_share);
  EXPECT_GE(done, 10u / seed_share);
}

// async's trade-off, measured: a leader cut off one way keeps acknowledging writes alone until it
// is killed; the new leader never had them. Under async some runs lose acknowledged inserts
// (reported as expected, and the nodes still converge); the same schedule under majority and
// sync loses none. Fails if the strand stops costing async anything.
TEST(Simulator, RaftAsyncLosesWhatAStrandedLeaderAcknowledgedAlone) {
  std::string error;
  const auto schedule = parse_schedule("700 strand 300\n", error);
  ASSERT_TRUE(schedule.has_value()) << error;
  int async_runs_losing = 0;
  for (const char* ack : {"async", "majority", "sync"}) {
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      SimOptions options = leader_run(seed, 3);
      options.settings["ack"] = ack;
      options.schedule = schedule;
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
      EXPECT_EQ(result.stats.strands, 1u) << report(result, options);
      for (const auto& check : result.checks) {
        if (check.checker == "convergence") {
          EXPECT_EQ(check.verdict, check::Verdict::valid) << report(result, options);
        }
        if (check.checker != "lost-writes") continue;
        if (std::string(ack) == "async") {
          async_runs_losing += check.verdict == check::Verdict::invalid ? 1 : 0;
        } else {
          EXPECT_EQ(check.verdict, check::Verdict::valid) << ack << ": " << report(result, options);
        }
      }
    }
  }
  EXPECT_GE(async_runs_losing, 2);
}

// Lease reads rest on bounded clock drift. The leader is cut off from the other nodes (clients
// still reach it) and its clock runs 60% slow — far beyond the 1% bound: its lease outlives the
// followers' promise, a new leader commits writes, and the old one still answers reads under its
// lease — the linearizability checker catches it in most runs. At 0.9% drift (within the bound)
// no run breaks; and ReadIndex, which needs no clock assumption, holds under either.
TEST(Simulator, RaftLeaseReadsHoldWithinTheDriftBoundAndTheCheckerCatchesDriftBeyondIt) {
  std::string error;
  const auto beyond = parse_schedule("700 drift 0 -600000\n700 isolate 700\n", error);
  const auto within = parse_schedule("700 drift 0 -9000\n700 isolate 700\n", error);
  ASSERT_TRUE(beyond && within) << error;
  int caught = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SimOptions options = leader_run(seed, 3);
    options.settings["lease_reads"] = "true";
    options.schedule = beyond;
    const SimResult broken = run_simulation(options);
    for (const auto& check : broken.checks) {
      if (check.checker == "linearizable" && check.verdict == check::Verdict::invalid) ++caught;
    }
    options.schedule = within;
    const SimResult bounded = run_simulation(options);
    EXPECT_FALSE(bounded.failed()) << report(bounded, options);
    options.settings["lease_reads"] = "false";
    options.schedule = beyond;
    const SimResult read_index = run_simulation(options);
    EXPECT_FALSE(read_index.failed()) << report(read_index, options);
  }
  EXPECT_GE(caught, 4) << "the checker must catch what drift beyond the bound breaks";
}

// FAILOVER … FORCE ACCEPT-DATA-LOSS while the leader is cut off from the others: the promoted node
// leads in a new term without votes; what it lacked is lost (measured: some runs lose inserts),
// the replicas that held it roll back, and every node converges on one history with one leader
// per term.
TEST(Simulator, RaftPromotionAcceptingDataLossConvergesAndCountsTheLoss) {
  int runs_losing = 0;
  for (uint64_t seed = 1; seed <= 9; ++seed) {
    std::string error;
    const auto schedule = parse_schedule(
        "700 isolate 500\n800 force " + std::to_string(seed % 3 + 1) + " accept-data-loss\n",
        error);
    ASSERT_TRUE(schedule.has_value()) << error;
    SimOptions options = leader_run(seed, 3);
    options.schedule = schedule;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    EXPECT_EQ(result.stats.data_loss_promotions, 1u);
    for (const auto& check : result.checks) {
      if (check.checker == "convergence" || check.checker == "one-leader" ||
          check.checker == "log-agreement") {
        EXPECT_EQ(check.verdict, check::Verdict::valid)
            << check.checker << ": " << report(result, options);
      }
      if (check.checker == "lost-writes" && check.verdict == check::Verdict::invalid) ++runs_losing;
    }
  }
  EXPECT_GE(runs_losing, 2);
}

// With fsync "never" crashes take committed entries from a majority (they were only in the page
// cache); a replica that kept some the new leader lacks rolls back through the snapshot path,
// counted — the rollback primitive under faults. Lost writes are measured, not failures; every
// other guarantee (one leader per term, convergence) holds. Fails if the seeds stop producing
// rollbacks.
TEST(Simulator, RaftFsyncNeverRollsBackWhatCrashesLost) {
  uint64_t rolled_back = 0;
  std::vector<uint64_t> seeds;
  for (uint64_t seed = 6001; seed <= 6040; seed += seed_share) seeds.push_back(seed);
  // Seeds known to roll back (a rollback needs a leader lost with entries only it had applied:
  // rare, and where it falls moves with the workload's byte sizes and timings), run by every
  // build so the check below never depends on the sanitizer build's share of the range.
  for (const uint64_t seed : {6038, 6117}) {
    if (std::find(seeds.begin(), seeds.end(), seed) == seeds.end()) seeds.push_back(seed);
  }
  for (const uint64_t seed : seeds) {
    SimOptions options = leader_run(seed, 3);
    options.fsync_always = false;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    rolled_back += result.stats.counter("rollback_entries");
  }
  EXPECT_GT(rolled_back, 0u);
}

// Regression, disk loss: a node back with an empty data directory numbered its forwarded writes
// from the start again; the leader skipped them as its old writes' duplicates, and the node
// answered them with the old writes' results (an acknowledged write lost; reads not
// linearizable). Fixed by the data directory's incarnation in every origin. Seed 3: a follower
// resent a write at once, for ever, to a refusing node that had lost its disk (its term was
// behind): millions of messages. Fixed: a refusal counts in the refused node's term or this one's,
// whichever is later.
TEST(Simulator, RaftRegressionDiskLoss) {
  for (const auto& [seed, reorder_all] :
       {std::pair<uint64_t, bool>{11, true}, {76, true}, {3, false}}) {
    SimOptions options = leader_run(seed, 3);
    options.reorder_all = reorder_all;
    options.mixed_reads = false;  // the workload these seeds were found with
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    EXPECT_EQ(result.stats.disk_losses, 1u) << "seed " << seed;
    EXPECT_LT(result.stats.messages_sent, 100'000u) << "seed " << seed;
  }
  // With fsync "never" the simulator reported no Ready as durable until a sync: the leader's own
  // log never counted, and with the other follower a non-voter commit stalled (liveness).
  // Seed 6297: a follower (a non-voter after its disk loss) had compacted committed entries that
  // the new leader lacked (lost, fsync "never"), and took the leader's entries below its compacted
  // point as matching: it never converged. Where rollback is on, a compacted prefix now proves
  // nothing: APPENDs compare at its last entry.
  for (const uint64_t seed : {6004, 6297}) {
    SimOptions never = leader_run(seed, 3);
    never.fsync_always = false;
    never.mixed_reads = false;
    const SimResult result = run_simulation(never);
    ASSERT_FALSE(result.failed()) << report(result, never);
    EXPECT_EQ(result.stats.disk_losses, 1u);
  }
}

// Freshness regressions. Seed 175549694 (sync): a follower killed and restarted got the echo of a
// stamp it sent before its crash, on its previous run's clock, and took it for a recent moment —
// a bounded read served 302 ms stale within a 200 ms bound. Stamps now carry their run.
TEST(Simulator, RaftRegressionFreshness) {
  SimOptions options = leader_run(175549694, 3);
  options.settings["ack"] = "sync";
  const SimResult result = run_simulation(options);
  ASSERT_FALSE(result.failed()) << report(result, options);
  EXPECT_GT(result.stats.crashes, 0u) << "the scenario needs a restarted node";
}

// Runs the simulation in a child process: true when a checker failed it (the child exits with
// its own code) or one of the replica's invariant assertions — in src/core — stopped it (it
// aborts, which would end this test binary; its message names the invariant and its file). Anything
// else — another exit, another signal, an abort without an invariant's message, a sanitizer's
// report — is no catch: the test fails and shows what the child printed.
constexpr int child_failed_exit = 42;

bool caught_in_child(const SimOptions& options) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return false;
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    dup2(pipe_fds[1], STDERR_FILENO);
    _exit(run_simulation(options).failed() ? child_failed_exit : 0);
  }
  close(pipe_fds[1]);
  std::string printed;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) printed.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child) return false;
  if (WIFEXITED(status) && WEXITSTATUS(status) == child_failed_exit) return true;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return false;
  // A replica's invariant: an assertion in src/core (the simulator's own would be a bug of it).
  const size_t at = printed.find("replikv: invariant broken at ");
  const bool invariant =
      at != std::string::npos &&
      printed.substr(at, printed.find('\n', at) - at).find("src/core/") != std::string::npos;
  const bool sanitizer = printed.find("AddressSanitizer") != std::string::npos ||
                         printed.find("runtime error:") != std::string::npos;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && invariant && !sanitizer) return true;
  ADD_FAILURE() << "the child ended neither by a checker nor by an invariant (replay: "
                << replay_command(options) << "):\n"
                << printed;
  return false;
}

TEST(Simulator, RaftBrokenReplicaIsCaught) {
  int caught_at = 0;
  for (uint64_t seed = 1; seed <= 20 && caught_at == 0; ++seed) {
    SimOptions options = leader_run(seed, 3);
    options.broken_ack_before_sync = true;
    options.faults = {true, false, false, false, false, false};
    if (caught_in_child(options)) caught_at = static_cast<int>(seed);
  }
  EXPECT_GT(caught_at, 0) << "twenty seeds of crashes did not expose acknowledge-before-sync";
}

// Only a leader's APPENDs may leave before their Ready is durable (core/ready.h, step 4). A
// replica that lets every message out early — acknowledgements, votes — survived 700 seeds of
// crashes without a lost write (the crash has to land in the gap between the early
// acknowledgement and the sync). The driver's ledger (core/ready_ledger.h) now asks the protocol
// of every message that leaves early (Replica::may_leave_early) and refuses any in a Ready that
// writes a term or vote; the simulator fails the run on one, and the very first seed fails.
TEST(Simulator, RaftMessagesLeavingEarlyAreCaught) {
  SimOptions options = leader_run(1, 3);
  options.broken_messages_early = true;
  const SimResult broken = run_simulation(options);
  ASSERT_TRUE(broken.failed());
  const auto check = std::find_if(broken.checks.begin(), broken.checks.end(),
                                  [](const auto& c) { return c.checker == "early-sends"; });
  ASSERT_NE(check, broken.checks.end());
  EXPECT_EQ(check->verdict, check::Verdict::invalid) << check->summary;

  options.broken_messages_early = false;
  const SimResult sound = run_simulation(options);
  ASSERT_FALSE(sound.failed()) << report(sound, options);
  const auto kept = std::find_if(sound.checks.begin(), sound.checks.end(),
                                 [](const auto& c) { return c.checker == "early-sends"; });
  ASSERT_NE(kept, sound.checks.end());
  EXPECT_EQ(kept->verdict, check::Verdict::valid);
}

// A driver that hands replies out as soon as their batch is written — before the sync the Ready
// asks for — moves the replies-before-durable count at once, on the first seed, without waiting
// for a crash to land in the gap; the real driver leaves it at 0.
TEST(Simulator, ADriverReleasingRepliesEarlyIsCaught) {
  for (const bool broken : {true, false}) {
    SimOptions options = leader_run(1, 3);
    options.broken_release_early = broken;
    const SimResult result = run_simulation(options);
    const auto check = std::find_if(result.checks.begin(), result.checks.end(),
                                    [](const auto& c) { return c.checker == "replies-durable"; });
    ASSERT_NE(check, result.checks.end());
    const double early = check->figures.at("replies_released_before_durable");
    if (broken) {
      EXPECT_TRUE(result.failed());
      EXPECT_EQ(check->verdict, check::Verdict::invalid) << check->summary;
      EXPECT_GT(early, 0);
    } else {
      EXPECT_FALSE(result.failed()) << report(result, options);
      EXPECT_EQ(check->verdict, check::Verdict::valid) << check->summary;
      EXPECT_EQ(early, 0);
    }
  }
}

// A node that forges a second leader: every APPEND it receives goes back to its sender as its
// own, in the sender's term. The leader drops each one and counts it as a protocol violation —
// and the simulator fails the run on the first, so a real safety bug cannot hide in a count.
class Forger final : public core::ForwardingReplica {
 public:
  explicit Forger(std::unique_ptr<core::Replica> inner) : ForwardingReplica(std::move(inner)) {}
  void peer_message(const core::Message& message) override {
    proto::RaftMessage raft;
    if (raft.ParseFromString(message.payload) && raft.type() == proto::RaftMessage::APPEND &&
        forged_.size() < 4) {
      raft.set_from(message.to.value());
      forged_.push_back({message.to, message.from, raft.SerializeAsString()});
    }
    inner_->peer_message(message);
  }
  bool take_ready(core::Ready& out) override {
    if (!inner_->take_ready(out)) return false;  // forged messages ride with the next Ready
    for (auto& message : forged_) out.messages.push_back(std::move(message));
    forged_.clear();
    return true;
  }

 private:
  std::vector<core::Message> forged_;
};

TEST(Simulator, AForgedProtocolViolationFailsTheRun) {
  for (const bool forge : {true, false}) {
    SimOptions options = leader_run(1, 3);
    options.faults = {false, false, false, false, false, false, false, false};
    options.make_replica = [forge](const core::StorageView& storage,
                                   const core::NodeContext& context,
                                   core::Rng rng) -> std::unique_ptr<core::Replica> {
      const core::Strategy& leader = *core::find_strategy("leader");
      core::Settings settings = leader.default_settings();
      leader.simulation_settings(settings, {1, static_cast<int>(context.node.value()),
                                            static_cast<int>(context.members.size()), 150});
      auto replica = leader.make_replica(storage, rng, context, settings);
      if (forge && context.node.value() == 3) return std::make_unique<Forger>(std::move(replica));
      return replica;
    };
    const SimResult result = run_simulation(options);
    const auto check = std::find_if(result.checks.begin(), result.checks.end(),
                                    [](const auto& c) { return c.checker == "protocol"; });
    ASSERT_NE(check, result.checks.end());
    if (forge) {
      EXPECT_TRUE(result.failed());
      EXPECT_EQ(check->verdict, check::Verdict::invalid) << check->summary;
      EXPECT_GT(check->figures.at("peer_protocol_violations"), 0);
    } else {
      EXPECT_FALSE(result.failed()) << report(result, options);
      EXPECT_EQ(check->verdict, check::Verdict::valid) << check->summary;
    }
  }
}

// Fresh seeds for a bounded time, the base seed printed so a failure can be replayed.
TEST(Simulator, StandaloneFreshSeeds) {
  run_fresh_seeds([](uint64_t seed) {
    // Alternate strategies; a quarter of the standalone runs with fsync "never", half the Raft
    // runs on the network that reorders every message, and the Raft runs through the ack dial
    // (3 or 5 nodes).
    SimOptions options = seed % 2 == 0 ? leader_run(seed, seed % 6 == 0 ? 5 : 3) : small(seed);
    if (seed % 4 == 1) options.fsync_always = false;
    if (seed % 4 == 0) options.reorder_all = true;
    if (seed % 2 == 0) {
      static const char* const acks[] = {"majority", "sync", "1", "async", "majority", "2"};
      options.settings["ack"] = acks[(seed / 2) % 6];
      if (options.settings["ack"] == "2" && options.nodes < 5) options.settings["ack"] = "1";
      if (seed % 10 == 2) options.settings["lease_reads"] = "true";  // a fifth of the Raft runs
    }
    return options;
  });
}

}  // namespace
}  // namespace replikv::sim
