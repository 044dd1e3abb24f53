// The judgement of one chaos run over the history it recorded (docs/chaos.md "The result"), step
// by step: judge_history runs the checkers; operation_figures and verdict_figures write the
// figures; judge_promises says which of the preset's promises held. judge() is all four.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "check/history.h"
#include "check/verdict.h"

namespace replikv::cli {

// What a preset promises with the run's settings and fsync (its strategy says: core/strategy.h).
struct Promises {
  bool no_loss = false;       // no acknowledged write is ever lost
  bool linearizable = false;  // with reads at linearizable, every operation is linearizable
  // The strategy's other history checkers (core/strategy.h, history_checks; check/checkers.h),
  // beyond the ones every run measures, with whether the settings promise each one's verdict.
  std::vector<std::pair<std::string, bool>> strategy_checks;
};

// The history checkers every run measures (its figures come from them), whatever the strategy.
inline constexpr std::string_view measured_checks[] = {
    "linearizable", "lost-writes", "stale-reads", "sessions", "convergence", "availability"};

// The checkers' verdicts over one history.
struct Verdicts {
  check::CheckResult linearizable, lost, stale, sessions, availability, convergence;
  std::vector<check::CheckResult> strategy;  // Promises::strategy_checks', in their order
};

// Every read of the workload is judged as a linearizable (and session) one, whatever it asked
// for: what the clients observed against the strongest promise.
Verdicts judge_history(const check::History& history, int64_t time_limit_s,
                       const Promises& promises);
// Operations ok, failed and unknown, throughput over time, latencies.
void operation_figures(const check::History& history, int64_t workload_ns, nlohmann::json& out);
// Lost writes, stale reads, session violations, linearizability, unavailability, convergence.
void verdict_figures(const Verdicts& verdicts, nlohmann::json& out);
// "promises", "broken", "promise_kept".
void judge_promises(const Verdicts& verdicts, const Promises& promises, const std::string& read,
                    nlohmann::json& out);
void judge(const check::History& history, const Promises& promises, const std::string& read,
           int64_t workload_ns, int64_t time_limit_s, nlohmann::json& out);

double ms(int64_t ns);

}  // namespace replikv::cli
