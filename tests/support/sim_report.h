// A simulated run's report for a failing test: the replay command and every check's verdict.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

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
// For a loop over consecutive seeds that alternates something by the seed's parity: whether the
// sanitizers' share leaves `seed` out — it keeps the pairs (1, 2), (5, 6), (9, 10) …, both
// parities alike.
constexpr bool sanitizer_skips(uint64_t seed) { return seed_share > 1 && (seed + 1) / 2 % 2 == 0; }

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

// Fresh seeds for a few seconds (at most 200 runs), from a random base — or from
// REPLIKV_SIM_SEED=<seed>, which replays a failure: `run(seed)` makes each run's options; every
// run must pass, and send fewer than `messages_per_op_max` peer messages per client operation
// (a message storm otherwise; 0: not judged). The range that passed is printed.
template <typename MakeOptions>
void run_fresh_seeds(MakeOptions&& make_options, uint64_t messages_per_op_max = 0) {
  uint64_t base = std::random_device{}();
  if (const char* forced = std::getenv("REPLIKV_SIM_SEED"))
    base = std::strtoull(forced, nullptr, 10);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int runs = 0;
  for (uint64_t seed = base; std::chrono::steady_clock::now() < deadline && runs < 200;
       ++seed, ++runs) {
    const SimOptions options = make_options(seed);
    const SimResult result = run_simulation(options);
    ASSERT_FALSE(result.failed()) << "fresh seed " << seed << " (REPLIKV_SIM_SEED=" << seed << ")\n"
                                  << report(result, options);
    if (messages_per_op_max > 0) {
      ASSERT_LT(result.stats.messages_sent, messages_per_op_max * options.ops)
          << "fresh seed " << seed << " (REPLIKV_SIM_SEED=" << seed << "): a message storm\n"
          << report(result, options);
    }
  }
  std::printf("fresh seeds %llu..%llu passed\n", static_cast<unsigned long long>(base),
              static_cast<unsigned long long>(base + static_cast<uint64_t>(runs) - 1));
}

}  // namespace replikv::sim
