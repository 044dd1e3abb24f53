// A simulated run's report for a failing test: the replay command and every check's verdict.
#pragma once

#include <string>

#include "sim/simulator.h"

namespace replikv::sim {

inline std::string report(const SimResult& result, const SimOptions& options) {
  std::string text = "replay: " + replay_command(options) + "\n";
  for (const auto& check : result.checks) {
    text += check.checker + ": " + check.summary + "\n";
    for (const auto& line : check.details) text += "  " + line + "\n";
  }
  return text;
}

}  // namespace replikv::sim
