// The PBS experiment (sim/pbs.h): a simulated leaderless run under PBS's assumptions, and what
// its reads returned, judged from the recorded history.
#include "sim/pbs.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <variant>

#include <fmt/format.h>

#include "check/history.h"
#include "core/leaderless/replica.h"
#include "core/leaderless/ring.h"
#include "core/leaderless/strategy.h"

namespace replikv::sim {
namespace {

double choose(uint32_t n, uint32_t k) {
  if (k > n) return 0;
  double out = 1;
  for (uint32_t i = 1; i <= k; ++i) out = out * static_cast<double>(n - k + i) / i;
  return out;
}

// The node that coordinates every write of `key`: the first member that is none of its replicas
// (PBS: the coordinator is no replica), or the first member when every one is.
int write_node(std::string_view key, const PbsOptions& options, uint32_t vnodes) {
  const auto members = core::numbered_members(options.nodes);
  const core::leaderless::HashRing ring(members, vnodes);
  const auto replicas = ring.preference_list(key, options.n);
  for (const core::NodeId member : members) {
    if (std::find(replicas.begin(), replicas.end(), member) == replicas.end())
      return static_cast<int>(member.value());
  }
  return 1;
}

// Each key's operations in order (one client per key: a write, then a read of it, …).
void judge(const check::History& history, const PbsOptions& options, PbsResult& result) {
  std::map<std::string, std::vector<const check::Operation*>> by_key;
  for (const auto& op : history.operations) {
    if (!op.final && op.key.starts_with("p")) by_key[op.key].push_back(&op);
  }
  for (const int64_t delay : options.read_delays_us) result.delays.push_back({delay, 0, 0});
  std::sort(result.delays.begin(), result.delays.end(),
            [](const PbsDelay& a, const PbsDelay& b) { return a.delay_us < b.delay_us; });
  const double p = result.predicted;
  for (auto& [key, ops] : by_key) {
    std::sort(ops.begin(), ops.end(), [](const check::Operation* a, const check::Operation* b) {
      return a->invoke_ns < b->invoke_ns;
    });
    std::vector<check::Value> acknowledged;  // the key's versions, in order
    int64_t last_ack_ns = 0;
    bool tainted = false;  // a write of unknown outcome: what the later reads return is unclear
    for (const check::Operation* op : ops) {
      if (op->f == check::Function::write) {
        if (op->outcome == check::Outcome::ok) {
          acknowledged.push_back(op->value);
          last_ack_ns = op->complete_ns;
        } else if (op->outcome == check::Outcome::info) {
          tainted = true;
        }
        continue;
      }
      if (op->f != check::Function::read || op->outcome != check::Outcome::ok ||
          acknowledged.empty())
        continue;
      if (tainted) {
        ++result.not_judged;
        continue;
      }
      // How many versions behind: the versions acknowledged after the one returned (all of them
      // when it returned none).
      size_t returned = 0;  // 1-based position of the version returned; 0: none
      for (size_t i = 0; i < acknowledged.size(); ++i) {
        if (acknowledged[i] == op->value) returned = i + 1;
      }
      if (!op->value.is_null() && returned == 0) {
        ++result.not_judged;  // (a value no acknowledged write wrote: not expected here)
        continue;
      }
      const size_t behind = acknowledged.size() - returned;
      ++result.reads;
      result.misses += behind > 0;
      const int64_t waited_us = (op->invoke_ns - last_ack_ns) / 1000;
      PbsDelay* bucket = &result.delays.front();
      for (auto& d : result.delays) {
        if (d.delay_us <= waited_us) bucket = &d;
      }
      ++bucket->reads;
      bucket->misses += behind > 0;
      for (size_t k = 1; k <= std::min<size_t>(acknowledged.size(), 8); ++k) {
        if (result.behind_at_least.size() < k) {
          result.behind_at_least.resize(k, 0);
          result.predicted_behind_at_least.resize(k, 0);
        }
        result.behind_at_least[k - 1] += behind >= k;
        result.predicted_behind_at_least[k - 1] += std::pow(p, static_cast<double>(k));
      }
    }
  }
}

}  // namespace

double pbs_closed_form(uint32_t n, uint32_t w, uint32_t r) {
  if (w > n || r > n) return 0;
  return choose(n - w, r) / choose(n, r);
}

PbsResult run_pbs(const PbsOptions& options) {
  PbsResult result;
  if (options.nodes < 2 || options.n < 1 || static_cast<int>(options.n) > options.nodes ||
      options.w < 1 || options.w > options.n || options.r < 1 || options.r > options.n) {
    result.error = fmt::format(
        "PBS needs 1 <= W, R <= N <= nodes and at least 2 nodes (N = {}, W = {}, R = {}, {} "
        "nodes)",
        options.n, options.w, options.r, options.nodes);
    return result;
  }
  if (options.reads < 1 || options.reads > 10'000'000 || options.clients < 1 ||
      options.clients > 256 || options.read_delays_us.empty()) {
    result.error = "PBS needs 1 to 10000000 reads, 1 to 256 clients and a read delay";
    return result;
  }
  result.predicted = pbs_closed_form(options.n, options.w, options.r);
  const core::Strategy* strategy = core::find_strategy("leaderless");
  SimOptions& sim = result.sim;
  sim.seed = options.seed;
  sim.strategy = "leaderless";
  sim.nodes = options.nodes;
  sim.clients = options.clients;
  sim.ops = options.reads * 2 + 2 * static_cast<uint64_t>(options.clients);
  sim.faults = FaultKinds{};
  sim.mixed_reads = false;
  const std::map<std::string, std::string> settings = {{"n", std::to_string(options.n)},
                                                       {"w", std::to_string(options.w)},
                                                       {"r", std::to_string(options.r)},
                                                       {"read_repair", "off"},
                                                       {"hints_max", "0"},
                                                       {"anti_entropy_interval_ms", "0"},
                                                       {"conflict", "lww"}};
  sim.settings = settings;
  sim.pbs_read_delays_us = options.read_delays_us;
  const uint32_t vnodes = static_cast<uint32_t>(strategy->default_settings().number("vnodes"));
  for (int client = 0; client < options.clients; ++client) {
    sim.pbs_write_nodes.push_back(write_node("p" + std::to_string(client), options, vnodes));
  }
  const bool to_all = options.write_to_all;
  const uint64_t seed = options.seed;
  sim.make_replica = [strategy, settings, to_all, seed](const core::StorageView& storage,
                                                        const core::NodeContext& context,
                                                        core::Rng rng) {
    core::Settings node_settings = strategy->default_settings();
    strategy->simulation_settings(node_settings, {seed, static_cast<int>(context.node.value()),
                                                  static_cast<int>(context.members.size()), 200});
    for (const auto& [key, value] : settings) {
      const auto error = node_settings.set(key, value);
      REPLIKV_ASSERT(!error, "a PBS setting fits its rule");
    }
    core::leaderless::Options replica = core::leaderless::make_options(context, node_settings);
    replica.pbs_draws = true;
    replica.pbs_write_to_all = to_all;
    return std::make_unique<core::leaderless::Leaderless>(storage, rng, replica);
  };
  result.run = run_simulation(sim);
  std::istringstream input(result.run.history);
  auto parsed = check::parse_history(input);
  if (auto* error = std::get_if<check::ParseError>(&parsed)) {
    result.error =
        fmt::format("the run's history does not parse (line {}: {})", error->line, error->message);
    return result;
  }
  judge(std::get<check::History>(parsed), options, result);
  // The 99% binomial interval around the prediction, over the reads measured (normal
  // approximation, z = 2.5758).
  const double spread =
      2.5758 * std::sqrt(result.predicted * (1 - result.predicted) /
                         static_cast<double>(std::max<uint64_t>(1, result.reads)));
  result.interval_low = std::max(0.0, result.predicted - spread);
  result.interval_high = std::min(1.0, result.predicted + spread);
  return result;
}

}  // namespace replikv::sim
