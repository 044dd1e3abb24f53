// A simulated run's report for a failing test: the replay command and every check's verdict.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sim/simulator.h"

namespace replikv::sim {

// Under the sanitizers a simulated run is about ten times slower: the longest seed loops run a
// share of their seeds there (every n-th); the release build runs them all, and the sweeps of
// thousands of seeds are in the docs.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t seed_share = 2;
#else
constexpr uint64_t seed_share = 1;
#endif

// The result of the checker named `checker`, or nullptr.
inline const check::CheckResult* find(const SimResult& result, std::string_view checker) {
  for (const auto& check : result.checks) {
    if (check.checker == checker) return &check;
  }
  return nullptr;
}

// A figure of a check's result, or -1 when it has none of that name.
inline double figure(const check::CheckResult& check, const char* name) {
  const auto it = check.figures.find(name);
  return it == check.figures.end() ? -1 : it->second;
}

inline std::string report(const SimResult& result, const SimOptions& options) {
  std::string text = "replay: " + replay_command(options) + "\n";
  for (const auto& check : result.checks) {
    text += check.checker + ": " + check.summary + "\n";
    for (const auto& line : check.details) text += "  " + line + "\n";
  }
  return text;
}

}  // namespace replikv::sim
