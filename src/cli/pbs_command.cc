// replikv pbs: leaderless staleness measured in the simulator against PBS's prediction.
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "sim/pbs.h"

namespace replikv::cli {

using nlohmann::json;

namespace {

double share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

json pbs_json(const sim::PbsOptions& options, const sim::PbsResult& result) {
  json delays = json::array();
  for (const auto& d : result.delays) {
    delays.push_back({{"delay_ms", static_cast<double>(d.delay_us) / 1000},
                      {"reads", d.reads},
                      {"misses", d.misses},
                      {"miss_rate", share(d.misses, d.reads)}});
  }
  json behind = json::array();
  for (size_t k = 0; k < result.behind_at_least.size(); ++k) {
    behind.push_back({{"k", k + 1},
                      {"measured", share(result.behind_at_least[k], result.reads)},
                      {"predicted", result.reads == 0 ? 0.0
                                                      : result.predicted_behind_at_least[k] /
                                                            static_cast<double>(result.reads)}});
  }
  return {{"n", options.n},
          {"w", options.w},
          {"r", options.r},
          {"nodes", options.nodes},
          {"seed", options.seed},
          {"delivery", options.write_to_all ? "all" : "exactly W"},
          {"reads", result.reads},
          {"misses", result.misses},
          {"miss_rate", share(result.misses, result.reads)},
          {"predicted", result.predicted},
          {"interval_99", {result.interval_low, result.interval_high}},
          {"not_judged", result.not_judged},
          {"t_visibility", delays},
          {"k_staleness", behind}};
}

int run_pbs_command(const PbsCommandOptions& command) {
  const sim::PbsOptions& options = command.run;
  const sim::PbsResult result = sim::run_pbs(options);
  if (!result.error.empty()) {
    std::cerr << "replikv pbs: " << result.error << "\n";
    return 2;
  }
  const double rate = share(result.misses, result.reads);
  const bool within = rate >= result.interval_low && rate <= result.interval_high;
  std::cout << fmt::format(
      "replikv pbs: N = {}, W = {}, R = {} on {} nodes, seed {}; writes delivered to {}; read "
      "repair, hints and anti-entropy off\n",
      options.n, options.w, options.r, options.nodes, options.seed,
      options.write_to_all ? "every replica (answered after W)" : "exactly W drawn replicas");
  std::cout << fmt::format(
      "  reads      {} judged ({} not: a write of unknown outcome before them)\n"
      "  missed     {} = {:.4f} of the reads; PBS's closed form C(N-W,R)/C(N,R) = {:.4f}, 99% "
      "interval [{:.4f}, {:.4f}]{}\n",
      result.reads, result.not_judged, result.misses, rate, result.predicted, result.interval_low,
      result.interval_high,
      options.write_to_all ? " (an upper bound here: writes reach every replica)"
                           : (within ? " — within" : " — OUTSIDE"));
  std::cout << "  t-visibility: reads started t ms after the write's acknowledgement\n";
  std::cout << fmt::format("    {:>8}  {:>7}  {:>7}  {:>9}\n", "t ms", "reads", "missed",
                           "miss rate");
  for (const auto& d : result.delays) {
    std::cout << fmt::format("    {:>8.2f}  {:>7}  {:>7}  {:>9.4f}\n",
                             static_cast<double>(d.delay_us) / 1000, d.reads, d.misses,
                             share(d.misses, d.reads));
  }
  std::cout << fmt::format(
      "  k-staleness: reads k or more versions behind (predicted: the closed form to the k-th "
      "power{})\n",
      options.write_to_all ? ", an upper bound here" : "");
  for (size_t k = 0; k < result.behind_at_least.size() && k < 5; ++k) {
    std::cout << fmt::format("    k >= {}  measured {:.4f}  predicted {:.4f}\n", k + 1,
                             share(result.behind_at_least[k], result.reads),
                             result.reads == 0 ? 0.0
                                               : result.predicted_behind_at_least[k] /
                                                     static_cast<double>(result.reads));
  }
  if (!command.json_file.empty()) {
    std::ofstream(command.json_file) << pbs_json(options, result).dump(2) << "\n";
  }
  if (options.write_to_all) return 0;
  return within ? 0 : 1;
}

}  // namespace replikv::cli
