// The multi-leader strategy in the simulator, under every fault: fixed seeds (regressions named)
// and fresh ones, both conflict policies, fsync "always" and "never"; and the checkers its
// promises rest on (superseded, lww-discards, convergence), each shown to fail on a replica
// broken on purpose.
#include <chrono>
#include <cstdlib>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/multi_leader/strategy.h"
#include "sim/simulator.h"
#include "support/sim_report.h"

namespace replikv::sim {
namespace {

SimOptions multi_run(uint64_t seed, const char* conflict) {
  SimOptions options;
  options.seed = seed;
  options.strategy = "multi-leader";
  options.nodes = 3;
  options.ops = 1200;
  options.counters = 2;
  options.deletes = 4;
  options.merges = 20;
  options.settings["conflict"] = conflict;
  return options;
}

// Peer messages per client operation beyond which a run is a message storm, not a protocol at
// work (a run sends about 6; a livelock once sent 6,000).
constexpr uint64_t messages_per_operation_max = 100;

// Every guarantee under every fault (kill, pause, partition, drop, dup, skew, disk loss): the
// run passes — converged, no write lost silently, siblings exactly the causal frontier, lww's
// discards exactly the ones the nodes counted — and with fsync "always" and no disk lost, no
// acknowledged write is lost at all.
TEST(MultiLeader, FixedSeeds) {
  uint64_t discarded = 0, siblings_kept = 0;
  for (const char* conflict : {"lww", "siblings"}) {
    for (const uint64_t seed : std::vector<uint64_t>{1, 2, 3, 4, 6, 10, 42, 50}) {
      if (seed_share > 1 && (seed == 3 || seed == 6 || seed == 42 || seed == 50)) continue;
      SimOptions options = multi_run(seed, conflict);
      // Half the seeds also reset counters (sets, deletes, merges on counter keys); the other
      // half leave the counters to the counters checker, which judges only counters never reset.
      if (seed % 2 == 0) options.counter_resets = 10;
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
      const bool siblings = std::string(conflict) == "siblings";
      const auto* check = find(result, siblings ? "superseded" : "lww-discards");
      ASSERT_NE(check, nullptr);
      EXPECT_EQ(check->verdict, check::Verdict::valid) << report(result, options);
      if (result.stats.disk_losses == 0) {
        EXPECT_EQ(figure(*check, "lost_with_node"), 0) << report(result, options);
        if (!siblings) {
          EXPECT_EQ(figure(*check, "discarded_uncounted_crashed"), 0) << report(result, options);
        }
      }
      discarded += static_cast<uint64_t>(std::max(0.0, figure(*check, "counted")));
      siblings_kept += siblings ? static_cast<uint64_t>(figure(*check, "kept")) : 0;
      EXPECT_EQ(find(result, "convergence")->verdict, check::Verdict::valid);
      EXPECT_LT(result.stats.messages_sent, messages_per_operation_max * options.ops);
    }
  }
  // The seeds exercise what they claim: lww discards, siblings keep.
  EXPECT_GT(discarded, 80u / seed_share);
  EXPECT_GT(siblings_kept, 80u / seed_share);
}

// Seeds that once failed, each with what it found.
TEST(MultiLeader, RegressionSeeds) {
  struct Case {
    uint64_t seed;
    const char* conflict;
    bool fsync_always;
    const char* found;
    int deletes = 0;  // the workload it was found with
    int merges = 0;
    int counter_resets = 0;
    uint64_t ops = 2000;
  };
  const Case cases[] = {
      {685, "lww", true,
       "a node restarted mid-transfer sent a new state transfer under the id of the one its peer "
       "still held chunks of; the peer joined a mix of both and lost keys"},
      {685, "siblings", true, "the same, under siblings"},
      {254, "lww", false,
       "a node that had joined a state transfer could not send on the writes it brought (no log "
       "entries) and did not say so: a peer waited for them forever"},
      {748, "lww", false,
       "a discard whose rival a crash later took back was judged a wrong report (the checker)"},
      {681, "siblings", false,
       "a node still joining state transfers when the final reads began read an older state; the "
       "checker took its read for the final one"},
      {988, "lww", false,
       "a node that had applied only its peers' writes since its last checkpoint of the key count "
       "came back from a crash counting too few keys, and counted below zero at a DEL (an "
       "invariant)",
       4, 0},
      {517, "lww", false,
       "a node that lost its last writes in a crash came back as a new incarnation and wrote a key "
       "whose tombstone the others had collected on its old incarnation's report: the delete lost "
       "to an older-stamped write (the checker excused it as the crash's loss until nodes reported "
       "only what they had synced)",
       4, 20},
      {836, "lww", false, "the same, with a later-stamped rival: the discard nobody could report",
       4, 20},
      {20, "lww", false,
       "a write shipped before its node synced it, then lost there in a crash, came back from a "
       "peer after the others had collected the delete concurrent with it: the acknowledged delete "
       "vanished (now a node ships and reports only what it has synced)",
       4, 20, 5, 4000},
      {65, "lww", false,
       "two peers sent a node that lost its disk their state at once, and each one's first chunk "
       "restarted the other's transfer: 24 million messages, no transfer done (a livelock)",
       4, 20, 5, 4000},
      {189, "lww", true,
       "incarnations ordered by their birth on the wall clock: a node that lost its disk while "
       "its clock ran behind was taken for a stale incarnation, and never heard again (reverted)",
       4, 20, 10},
      {609, "lww", true, "the same", 4, 20, 10},
      {54, "lww", false, "the same, under fsync \"never\"", 4, 20, 5, 4000},
  };
  for (const Case& c : cases) {
    SimOptions options = multi_run(c.seed, c.conflict);
    options.ops = c.ops;
    options.fsync_always = c.fsync_always;
    options.deletes = c.deletes;
    options.merges = c.merges;
    options.counter_resets = c.counter_resets;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << c.found << "\n" << report(result, options);
    EXPECT_LT(result.stats.messages_sent, messages_per_operation_max * options.ops)
        << c.found << "\n"
        << report(result, options);
  }
}

// fsync "never": a crash takes what the OS had not written back. Every run still converges and
// loses nothing silently; an acknowledged write that took effect nowhere must have been lost with
// its node (the checkers hold each to a crash of its node after the write) — a write is answered
// at once but leaves for the peers only with the node's next sync, once a heartbeat, so a crash
// takes the writes of the last heartbeat. The seeds must crash nodes and lose writes, or the test
// would claim nothing.
TEST(MultiLeader, FsyncNeverLosesOnlyWhatACrashedNodeHadNotShipped) {
  uint64_t crashes = 0, lost = 0;
  for (const char* conflict : {"lww", "siblings"}) {
    for (uint64_t seed = 1; seed <= 8 / seed_share; ++seed) {
      SimOptions options = multi_run(seed, conflict);
      options.fsync_always = false;
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
      const auto* check =
          find(result, std::string(conflict) == "siblings" ? "superseded" : "lww-discards");
      ASSERT_NE(check, nullptr);
      EXPECT_EQ(check->verdict, check::Verdict::valid) << report(result, options);
      crashes += result.stats.crashes;
      lost += static_cast<uint64_t>(std::max(0.0, figure(*check, "lost_with_node")));
    }
  }
  EXPECT_GT(crashes, 12u / seed_share);
  EXPECT_GT(lost, 0u);
}

// A node whose disk is lost comes back as a new incarnation, refuses writes that replace values
// until it has caught up, and catches up by state transfer; the seeds must exercise both.
TEST(MultiLeader, StateTransfersAfterDiskLossAndCrashes) {
  uint64_t installed = 0, disk_losses = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 18; ++seed) {  // every seed: the ones with a disk loss are few
    SimOptions options = multi_run(seed, seed % 2 == 0 ? "lww" : "siblings");
    options.fsync_always = seed % 3 != 0;
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << report(result, options);
    installed += result.stats.counter("snapshots_installed_total");
    disk_losses += result.stats.disk_losses;
    refused += result.stats.counter("recovering_refused_total");
  }
  EXPECT_GT(installed, 3u);
  EXPECT_GE(disk_losses, 2u);
  EXPECT_GT(refused, 0u);
}

// A broken replica's run, built over the strategy's own options with one mutant switched on.
SimOptions mutant_run(uint64_t seed, const char* conflict,
                      void (*mutate)(core::multi_leader::Options&)) {
  SimOptions options = multi_run(seed, conflict);
  // Many keys, each ending in a conflict more often: a discard or a replacement the mutant gets
  // wrong shows in the final state.
  options.keys = 24;
  const core::Strategy* strategy = core::find_strategy("multi-leader");
  options.make_replica = [strategy, conflict, mutate, seed](const core::StorageView& storage,
                                                            const core::NodeContext& context,
                                                            core::Rng rng) {
    core::Settings settings = strategy->default_settings();
    strategy->simulation_settings(settings, {seed, static_cast<int>(context.node.value()),
                                             static_cast<int>(context.members.size()), 200});
    EXPECT_FALSE(settings.set("conflict", conflict));
    core::multi_leader::Options replica_options =
        core::multi_leader::make_options(context, settings);
    mutate(replica_options);
    return std::make_unique<core::multi_leader::MultiLeader>(storage, rng, replica_options);
  };
  return options;
}

// In how many of `seeds` runs the checker finds the mutant.
int caught(const char* conflict, const char* checker, void (*mutate)(core::multi_leader::Options&),
           uint64_t seeds = 6, int deletes = 4, int merges = 20, int counter_resets = 0,
           int counters = 2) {
  int runs = 0;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    SimOptions options = mutant_run(seed, conflict, mutate);
    options.counters = counters;
    options.deletes = deletes;
    options.merges = merges;
    options.counter_resets = counter_resets;
    const SimResult result = run_simulation(options);
    const auto* check = find(result, checker);
    if (check != nullptr && check->verdict == check::Verdict::invalid) ++runs;
  }
  return runs;
}

TEST(MultiLeader, ADiscardNobodyCountsIsCaught) {
  EXPECT_GE(caught("lww", "lww-discards",
                   [](core::multi_leader::Options& options) {
                     options.mutants.discard_unreported = true;
                   }),
            5);
}

TEST(MultiLeader, AWriteReplacingWhatItHadNotSeenIsCaught) {
  EXPECT_GE(
      caught(
          "siblings", "superseded",
          [](core::multi_leader::Options& options) { options.mutants.replace_unseen = true; }, 8),
      5);
}

TEST(MultiLeader, AnIncrementLostOnTheWayIsCaught) {
  EXPECT_GE(caught("siblings", "counters",
                   [](core::multi_leader::Options& options) {
                     options.mutants.drop_peer_increments = true;
                   }),
            5);
}

// A tombstone collected as soon as its node applied it, while a write concurrent with it may still
// be on its way: under lww that write beats nothing on arrival there, though the tombstone beats it
// everywhere else — a deleted key comes back (a zombie) on some nodes and not others. (Under
// siblings the concurrent write is a sibling either way: no harm.) Node 3 is cut off from 200 ms
// to 1.5 s while both sides write and delete four keys; the sound build passes the same runs.
TEST(MultiLeader, ATombstoneCollectedBeforeEveryMemberHadItIsCaught) {
  std::string error;
  const auto schedule = parse_schedule(
      "200 partition 1-3\n200 partition 3-1\n200 partition 2-3\n200 partition 3-2\n1500 heal\n",
      error);
  ASSERT_TRUE(schedule.has_value()) << error;
  int caught_runs = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SimOptions sound = multi_run(seed, "lww");
    sound.schedule = schedule;
    sound.keys = 4;
    sound.deletes = 20;
    const SimResult result = run_simulation(sound);
    ASSERT_FALSE(result.failed()) << report(result, sound);
    SimOptions broken = mutant_run(
        seed, "lww", [](core::multi_leader::Options& o) { o.mutants.collect_unstable = true; });
    broken.schedule = schedule;
    broken.keys = 4;
    broken.deletes = 20;
    if (run_simulation(broken).failed()) ++caught_runs;
  }
  EXPECT_GE(caught_runs, 4);
}

// A VSET that supersedes everything its node had seen, not just the context the client read: a
// write that came in since, which the client never saw, vanishes (siblings: a silent loss). The
// loss shows only when the vanished write would have stayed in the final state: 60% of the writes
// are merges here, and a third of the seeds or more catch it.
TEST(MultiLeader, AMergeReplacingMoreThanItsContextIsCaught) {
  EXPECT_GE(
      caught(
          "siblings", "superseded",
          [](core::multi_leader::Options& options) { options.mutants.vset_replaces_all = true; },
          12, 4, 60),
      4);
}

// A merge whose node widens its context over values the client had not seen (not only over
// tombstones and what it no longer held): those values vanish. The history records the client's
// context beside the widened one, and superseded holds the widening to tombstones.
TEST(MultiLeader, AMergeWidenedOverUnseenValuesIsCaught) {
  EXPECT_GE(
      caught(
          "siblings", "superseded",
          [](core::multi_leader::Options& options) { options.mutants.widen_over_values = true; },
          12, 4, 60),
      4);
}

// A session read served before its node has applied what the session had seen (the wait
// skipped): session-vectors sees the read's state lacking the session's writes.
TEST(MultiLeader, ASessionReadThatDoesNotWaitIsCaught) {
  EXPECT_GE(caught("siblings", "session-vectors",
                   [](core::multi_leader::Options& options) {
                     options.mutants.sessions_unwaited = true;
                   }),
            5);
}

// A VSET on a counter whose context has not seen all its increments: nodes fold an actor's
// increments at different moments, and where the context covers part of a fold one node resets
// some increments one by one while another keeps the fold whole — their sums differ for good
// (found in review). One counter, every write a merge where the client has a context; the
// divergence shows only when no later plain SET resets the whole counter again, in a few seeds.
TEST(MultiLeader, AMergeSplittingAFoldIsCaught) {
  EXPECT_GE(caught(
                "siblings", "convergence",
                [](core::multi_leader::Options& options) {
                  options.mutants.merge_unseen_increments = true;
                },
                24, 4, 100, 10, 1),
            2);
}

// Node 1 and node 3 cannot reach each other: node 1's writes reach node 3 only as node 2 relays
// them, after node 2's own writes — which had seen them — went straight there. Causal delivery
// holds node 2's writes at node 3 until node 1's arrive; without it, a write node 2 superseded
// comes back at node 3 as a sibling, and the checkers see it.
TEST(MultiLeader, ApplyingAWriteBeforeWhatItDependsOnIsCaught) {
  std::string error;
  const auto schedule = parse_schedule("200 partition 1-3\n200 partition 3-1\n1500 heal\n", error);
  ASSERT_TRUE(schedule.has_value()) << error;
  int caught_runs = 0;
  uint64_t relayed = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SimOptions sound = multi_run(seed, "siblings");
    sound.schedule = schedule;
    const SimResult result = run_simulation(sound);
    ASSERT_FALSE(result.failed()) << report(result, sound);
    relayed += result.stats.counter("entries_relayed_total");
    SimOptions broken = mutant_run(seed, "siblings", [](core::multi_leader::Options& o) {
      o.mutants.skip_dependencies = true;
    });
    broken.schedule = schedule;
    if (run_simulation(broken).failed()) ++caught_runs;
  }
  EXPECT_GT(relayed, 0u);
  EXPECT_GE(caught_runs, 5);
}

// Collections under every fault (docs/multi-leader.md, "Collections"): the counters are hash fields
// and sorted-set scores — every increment kept through crashes, partitions and disk loss — and
// writes of every kind to sets, hashes and sorted sets converge.
SimOptions collections_run(uint64_t seed, const char* conflict) {
  SimOptions options = multi_run(seed, conflict);
  options.collections = true;
  options.counters = 4;
  return options;
}

TEST(MultiLeader, CollectionsUnderFaults) {
  uint64_t collection_writes = 0;
  for (const char* conflict : {"lww", "siblings"}) {
    for (uint64_t seed = 1; seed <= 6 / seed_share; ++seed) {
      SimOptions options = collections_run(seed, conflict);
      options.fsync_always = seed % 3 != 0;
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
      EXPECT_EQ(find(result, "convergence")->verdict, check::Verdict::valid);
      const auto* counters = find(result, "counters");
      ASSERT_NE(counters, nullptr);
      EXPECT_EQ(counters->verdict, check::Verdict::valid) << report(result, options);
      collection_writes += result.stats.collection_writes;
    }
  }
  EXPECT_GT(collection_writes, 1000u / seed_share);
}

// Each broken on purpose, and caught: a removal that takes adds it had not seen (remove-wins: the
// nodes disagree on what a set holds), and a peer's element increment dropped. Node 3 is cut off
// from 200 ms to 1.5 s, so that adds and removes on both sides are concurrent.
int caught_with_collections(const char* checker, void (*mutate)(core::multi_leader::Options&)) {
  std::string error;
  const auto schedule = parse_schedule(
      "200 partition 1-3\n200 partition 3-1\n200 partition 2-3\n200 partition 3-2\n1500 heal\n",
      error);
  EXPECT_TRUE(schedule.has_value()) << error;
  int runs = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SimOptions options = mutant_run(seed, "lww", mutate);
    options.collections = true;
    options.counters = 4;
    if (schedule) options.schedule = *schedule;
    const SimResult result = run_simulation(options);
    const auto* check = find(result, checker);
    if (check != nullptr && check->verdict == check::Verdict::invalid) ++runs;
  }
  return runs;
}

TEST(MultiLeader, ACollectionRemoveTakingUnseenAddsIsCaught) {
  EXPECT_GE(caught_with_collections("convergence",
                                    [](core::multi_leader::Options& options) {
                                      options.mutants.remove_unseen_elements = true;
                                    }),
            3);
}

TEST(MultiLeader, ALostElementIncrementIsCaught) {
  EXPECT_GE(caught_with_collections("counters",
                                    [](core::multi_leader::Options& options) {
                                      options.mutants.drop_peer_increments = true;
                                    }),
            3);
}

// Fresh seeds each run, for a few seconds: REPLIKV_SIM_SEED=<seed> replays a failure.
TEST(MultiLeader, FreshSeeds) {
  run_fresh_seeds(
      [](uint64_t seed) {
        SimOptions options = multi_run(seed, seed % 2 == 0 ? "lww" : "siblings");
        options.fsync_always = seed % 4 != 1;
        options.reorder_all = seed % 4 == 2;
        if (seed % 3 == 0) options.counter_resets = 10;
        return options;
      },
      messages_per_operation_max);
}

}  // namespace
}  // namespace replikv::sim
