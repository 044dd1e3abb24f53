// The history checkers by name: what a strategy names (core/strategy.h, history_checks) to have
// its runs judged, and what the simulator and chaos look up — so a strategy that needs a checker
// of its own (siblings kept, counters exact) writes it here, registers it, and names it; no driver
// lists checkers by hand.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "check/history.h"
#include "check/verdict.h"

namespace replikv::check {

struct HistoryChecker {
  std::string name;         // as its CheckResult names it: "linearizable", "lost-writes", …
  std::string_view judges;  // one line for reports and --help
  std::function<CheckResult(const History&)> run;
};

// The checker of that name, or nullptr.
const HistoryChecker* find_checker(std::string_view name);
// Every registered name, comma separated, for error texts.
std::string checker_names();
// One more (tests); its name must be new. It stays for the process's life.
void register_checker(HistoryChecker checker);

}  // namespace replikv::check
