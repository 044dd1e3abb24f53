// replikv check FILE: judge a JSONL history with the chosen checkers.
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "check/anomalies.h"
#include "check/history.h"
#include "check/linearizability.h"
#include "cli/commands.h"

namespace replikv::cli {

int run_check(const CheckOptions& options) {
  std::ifstream file;
  std::istream* input = &std::cin;
  if (options.file != "-") {
    file.open(options.file);
    if (!file) {
      std::cerr << fmt::format("replikv check: cannot open {}\n", options.file);
      return check_exit_unreadable;
    }
    input = &file;
  }
  auto parsed = check::parse_history(*input);
  if (auto* error = std::get_if<check::ParseError>(&parsed)) {
    std::cerr << fmt::format("replikv check: {}:{}: {}\n", options.file, error->line,
                             error->message);
    return check_exit_unreadable;
  }
  const check::History& history = std::get<check::History>(parsed);

  std::vector<std::string> names = options.checkers;
  if (names.empty()) names = {"linearizable"};
  if (names.size() == 1 && names[0] == "all") {
    names = {"linearizable", "lost-writes", "stale-reads",
             "sessions",     "convergence", "availability"};
  }
  std::vector<check::CheckResult> results;
  for (const auto& name : names) {
    if (name == "linearizable") {
      check::LinearizabilityBudget budget;
      budget.time_ms_max = options.time_limit_s * 1000;
      budget.memory_bytes_max = options.memory_limit_mb << 20;
      results.push_back(check::check_linearizability(history, budget));
    } else if (name == "lost-writes") {
      results.push_back(check::check_lost_writes(history));
    } else if (name == "stale-reads") {
      results.push_back(check::check_stale_reads(history));
    } else if (name == "sessions") {
      results.push_back(check::check_sessions(history));
    } else if (name == "convergence") {
      results.push_back(check::check_convergence(history));
    } else if (name == "availability") {
      results.push_back(check::check_availability(history));
    } else {
      std::cerr << fmt::format(
          "replikv check: unknown checker '{}' (linearizable, lost-writes, stale-reads, sessions, "
          "convergence, availability, all)\n",
          name);
      return check_exit_usage;
    }
  }
  std::cout << fmt::format("{}: {} operations, {} digest events\n", options.file,
                           history.operations.size(), history.digests.size());
  int exit_code = check_exit_valid;
  for (const auto& result : results) {
    std::cout << fmt::format("{:<13} {:<8} {}\n", result.checker, check::to_string(result.verdict),
                             result.summary);
    for (const auto& line : result.details) std::cout << "    " << line << "\n";
    if (result.verdict == check::Verdict::invalid) exit_code = check_exit_violation;
    if (result.verdict == check::Verdict::unknown && exit_code == check_exit_valid) {
      exit_code = check_exit_unknown;
    }
  }
  return exit_code;
}

}  // namespace replikv::cli
