// The leaderless strategy in the simulator, under every fault: fixed seeds and both conflict
// policies, 5 nodes with N = 3; and the mutants its counters and checkers must catch.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/leaderless/strategy.h"
#include "sim/simulator.h"
#include "support/sim_report.h"

namespace replikv::sim {
namespace {

SimOptions leaderless_run(uint64_t seed, const char* conflict) {
  SimOptions options;
  options.seed = seed;
  options.strategy = "leaderless";
  options.nodes = 5;
  options.ops = 1200;
  options.deletes = 4;
  options.merges = 20;
  options.settings["conflict"] = conflict;
  return options;
}

// Peer messages per client operation beyond which a run is a message storm (a write sends about
// 2 × N, a read about 2 × N plus its repairs).
constexpr uint64_t messages_per_operation_max = 100;

// Every fault (kill, pause, partition, drop, dup, skew, disk loss): the runs finish, their
// invariants hold, and clients are answered — most of them OK.
TEST(Leaderless, FixedSeeds) {
  for (const char* conflict : {"lww", "siblings"}) {
    for (const uint64_t seed : std::vector<uint64_t>{1, 2, 3, 4}) {
      const SimOptions options = leaderless_run(seed, conflict);
      const SimResult result = run_simulation(options);
      ASSERT_FALSE(result.failed()) << report(result, options);
      EXPECT_GT(result.stats.ok, result.stats.invoked / 2) << report(result, options);
      EXPECT_LT(result.stats.messages_sent, messages_per_operation_max * options.ops);
    }
  }
}

}  // namespace
}  // namespace replikv::sim
