// A three-node multi-leader cluster driven step by step for unit tests (step_cluster.h).
#pragma once

#include "core/multi_leader/replica.h"
#include "step_cluster.h"

namespace replikv::core::multi_leader {

struct StepSetup {
  using Replica = MultiLeader;
  using Options = multi_leader::Options;
  static constexpr std::string_view strategy = "multi-leader";
  static void defaults(Options& options, bool bootstrap) {
    options.heartbeat_interval_ms = 10;
    options.relay_after_ms = 30;
    options.entries_per_message_max = 2;  // catch-up comes a few writes at a time
    options.bootstrap = bootstrap;
  }
};

using Cluster = StepCluster<StepSetup>;
inline constexpr int members = Cluster::members;

inline std::string run(Cluster& cluster, int node, const std::vector<std::string>& words) {
  return cluster.run(node, words);
}
inline void partition_one(Cluster& cluster, int alone) { cluster.partition_one(alone); }
inline std::string text(const Reply& reply, bool sorted = true) {
  return reply_text(reply, sorted);
}

}  // namespace replikv::core::multi_leader
