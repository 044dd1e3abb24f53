// replikv sim: one deterministic simulation, judged by every checker.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/strategy.h"
#include "sim/simulator.h"

namespace replikv::cli {

int run_sim(const SimCommandOptions& command) {
  sim::SimOptions options = command.run;
  const core::Strategy* strategy = core::find_strategy(options.strategy);
  if (strategy == nullptr) {
    std::cerr << fmt::format("replikv sim: strategy '{}' does not exist (available: {})\n",
                             options.strategy, core::strategy_names());
    return 2;
  }
  const core::StrategyTraits traits = strategy->traits(strategy->default_settings());
  // A replicated strategy runs three nodes unless told otherwise.
  if (!traits.single_node && !command.nodes_given) options.nodes = 3;
  options.fsync_always = command.fsync == "always";
  if (command.fsync != "always" && command.fsync != "never") {
    std::cerr << "replikv sim: --fsync is always or never\n";
    return 2;
  }
  const auto kinds = sim::parse_fault_kinds(command.faults);
  if (!kinds) {
    std::cerr << fmt::format(
        "replikv sim: unknown fault in '{}' (kill, pause, partition, drop, dup, skew, disk, all, "
        "none)\n",
        command.faults);
    return 2;
  }
  options.faults = *kinds;
  if (!command.broken.empty()) {
    if (command.broken == "ack-before-sync") {
      options.broken_ack_before_sync = true;
    } else if (command.broken == "messages-early") {
      options.broken_messages_early = true;
    } else {
      std::cerr << "replikv sim: --broken takes ack-before-sync or messages-early\n";
      return 2;
    }
  }
  if (!command.schedule_file.empty()) {
    std::ifstream file(command.schedule_file);
    if (!file) {
      std::cerr << fmt::format("replikv sim: cannot open {}\n", command.schedule_file);
      return 2;
    }
    std::stringstream text;
    text << file.rdbuf();
    std::string error;
    auto schedule = sim::parse_schedule(text.str(), error);
    if (!schedule) {
      std::cerr << fmt::format("replikv sim: {}: {}\n", command.schedule_file, error);
      return 2;
    }
    options.schedule = *schedule;
  }
  if (auto error = sim::validate(options)) {
    std::cerr << "replikv sim: " << *error << "\n";
    return 2;
  }

  const auto started = std::chrono::steady_clock::now();
  const sim::SimResult result = sim::run_simulation(options);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (!command.history_file.empty()) {
    std::ofstream(command.history_file) << result.history;
  }
  if (command.print_schedule) std::cout << result.schedule;
  const auto& s = result.stats;
  std::string settings;
  for (const auto& [key, value] : options.settings) settings += fmt::format(", {} {}", key, value);
  std::cout << fmt::format(
      "replikv sim: {} ({} nodes{}) seed {}, {} ops, {} clients, {} keys, fsync {}, faults {}\n",
      options.strategy, options.nodes, settings, options.seed, options.ops, options.clients,
      options.keys, command.fsync, command.faults);
  std::cout << fmt::format(
      "  operations  {} invoked and {} final reads: {} ok, {} failed, {} unknown (timed out)\n",
      s.invoked, s.final_reads, s.ok, s.failed, s.unknown);
  if (s.transactions > 0)
    std::cout << fmt::format("  of which   {} as MULTI … EXEC over a key and its mirror\n",
                             s.transactions);
  if (s.collection_writes > 0) {
    std::cout << fmt::format(
        "  beside them {} writes to sets, hashes and sorted sets (judged by convergence)\n",
        s.collection_writes);
  }
  if (s.family_commands > 0)
    std::cout << fmt::format("  of which   {} as GETDEL or INCRBYFLOAT\n", s.family_commands);
  if (s.deletes + s.merges > 0) {
    std::cout << fmt::format("  of which   {} deletes, {} writes carrying a context read earlier\n",
                             s.deletes, s.merges);
  }
  std::cout << fmt::format(
      "  faults      {} crashes ({} disk losses; {} kept {} unsynced batches), {} pauses, {} links "
      "cut; messages {} sent, {} dropped, {} duplicated, {} reordered\n",
      s.crashes, s.disk_losses, s.crashes_keeping_unsynced, s.unsynced_batches_kept, s.pauses,
      s.cuts, s.messages_sent, s.messages_dropped, s.messages_duplicated, s.messages_reordered);
  if (traits.has_leader) {
    std::cout << fmt::format(
        "  failovers   {} handovers and {} forced promotions asked by the operator, {} done; "
        "{} leaders stranded (cut off one way, then killed)\n",
        s.handovers, s.forced_promotions, s.failovers_done, s.strands);
  }
  // The strategy's counters that moved, summed over every node and crash (none named here).
  std::string counters;
  for (const auto& [name, value] : s.strategy_counters) {
    if (value == 0) continue;
    counters += fmt::format("{}{} {}", counters.empty() ? "" : ", ", name, value);
  }
  std::cout << fmt::format("  counters    {}{}; {} crashes while receiving state\n",
                           counters.empty() ? "none moved" : "", counters, s.crashes_mid_install);
  const double simulation_s = static_cast<double>(s.simulation_wall_ns) / 1e9;
  std::cout << fmt::format(
      "  time        {:.3f} s virtual; {:.3f} s wall simulating ({:.0f} simulated ops/s), {:.3f} s "
      "checking\n",
      static_cast<double>(s.virtual_duration_ns) / 1e9, simulation_s,
      static_cast<double>(s.invoked + s.final_reads) / std::max(simulation_s, 1e-9),
      std::max(0.0, wall_s - simulation_s));
  for (const auto& line : result.nodes) std::cout << "  " << line << "\n";
  for (const auto& check : result.checks) {
    const bool expected =
        std::find(result.expected_violations.begin(), result.expected_violations.end(),
                  check.checker) != result.expected_violations.end();
    std::cout << fmt::format("  {:<13} {:<8} {}{}\n", check.checker,
                             check::to_string(check.verdict), check.summary,
                             expected && check.verdict == check::Verdict::invalid
                                 ? " (expected with these settings: measured, not promised)"
                                 : "");
    if (check.verdict == check::Verdict::invalid && !expected) {
      for (const auto& line : check.details) std::cout << "      " << line << "\n";
    }
  }
  if (result.failed()) {
    std::cout << fmt::format("FAIL: seed {} found a violation. Replay: {}\n", options.seed,
                             sim::replay_command(options));
    if (!command.shrink_file.empty()) {
      std::string error;
      const auto schedule = sim::parse_schedule(result.schedule, error);
      const sim::FaultSchedule smallest = sim::shrink_schedule(options, *schedule);
      std::ofstream(command.shrink_file) << sim::to_text(smallest);
      std::cout << fmt::format(
          "shrunk the schedule from {} to {} events: {} (replay: {} --schedule {})\n",
          schedule->size(), smallest.size(), command.shrink_file, sim::replay_command(options),
          command.shrink_file);
    }
    return 1;
  }
  std::cout << "PASS\n";
  return 0;
}

}  // namespace replikv::cli
