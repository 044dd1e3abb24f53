// The judgement of a chaos run (cli/chaos_judge.h), in its steps: the checkers over the recorded
// history, the operations' figures, the verdicts' figures, and the preset's promises.
#include "cli/chaos_judge.h"

#include <algorithm>

#include <fmt/format.h>

#include "check/anomalies.h"
#include "check/checkers.h"
#include "check/linearizability.h"

namespace replikv::cli {

using nlohmann::json;

double ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

namespace {

json latency_figures(std::vector<int64_t>& latencies) {
  std::sort(latencies.begin(), latencies.end());
  const auto at = [&](double q) {
    if (latencies.empty()) return 0.0;
    return ms(latencies[std::min(latencies.size() - 1,
                                 static_cast<size_t>(q * static_cast<double>(latencies.size())))]);
  };
  json cdf = json::array();
  for (const double q : {0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98,
                         0.99, 0.995, 0.999}) {
    cdf.push_back({q, at(q)});
  }
  cdf.push_back({1.0, latencies.empty() ? 0.0 : ms(latencies.back())});
  return {{"count", latencies.size()},
          {"p50", at(0.5)},
          {"p99", at(0.99)},
          {"max", latencies.empty() ? 0.0 : ms(latencies.back())},
          {"cdf", cdf}};
}

json check_json(const check::CheckResult& result) {
  json details = json::array();
  for (size_t i = 0; i < std::min<size_t>(result.details.size(), 12); ++i)
    details.push_back(result.details[i]);
  return {{"checker", result.checker},
          {"verdict", check::to_string(result.verdict)},
          {"summary", result.summary},
          {"details", details}};
}

double figure(const check::CheckResult& result, const std::string& name) {
  const auto it = result.figures.find(name);
  return it == result.figures.end() ? 0.0 : it->second;
}

}  // namespace

Verdicts judge_history(const check::History& history, int64_t time_limit_s,
                       const Promises& promises) {
  Verdicts v;
  // What the clients observed, judged against the strongest promise whatever their reads asked
  // for: every read of the workload counts as a linearizable one (and a session read).
  // The final reads count too once the replicas agreed (they came after every write): an
  // acknowledged write they miss makes the history non-linearizable, as it is to a client.
  v.convergence = check::check_convergence(history);
  const bool converged = v.convergence.verdict == check::Verdict::valid && !history.digests.empty();
  check::History observed = history;
  for (auto& op : observed.operations) {
    if (op.f == check::Function::read && (!op.final || converged)) op.consistency = "linearizable";
  }
  check::LinearizabilityBudget budget;
  budget.time_ms_max = time_limit_s * 1000;
  v.linearizable = check::check_linearizability(observed, budget);
  v.lost = check::check_lost_writes(history);
  // Staleness of the workload's reads (the final phase's are the lost-write check's business).
  check::History workload_reads = history;
  std::erase_if(workload_reads.operations, [](const check::Operation& op) {
    return op.final && op.f == check::Function::read;
  });
  v.stale = check::check_stale_reads(workload_reads);
  v.sessions = check::check_sessions(observed);
  v.availability = check::check_availability(history);
  for (const auto& [name, promised] : promises.strategy_checks) {
    const check::HistoryChecker* checker = check::find_checker(name);
    v.strategy.push_back(
        checker != nullptr
            ? checker->run(history)
            : check::CheckResult{
                  name, check::Verdict::unknown, "no history checker of that name", {}, {}});
  }
  return v;
}

void operation_figures(const check::History& history, int64_t workload_ns, json& out) {
  std::vector<int64_t> reads, writes;
  int64_t ok_ops = 0;
  constexpr int64_t bucket_ns = 250'000'000;
  const size_t buckets = static_cast<size_t>(workload_ns / bucket_ns + 1);
  std::vector<int64_t> read_series(buckets), write_series(buckets);
  for (const auto& op : history.operations) {
    if (op.final || op.outcome != check::Outcome::ok) continue;
    ++ok_ops;
    const int64_t latency = op.complete_ns - op.invoke_ns;
    const size_t bucket = std::min(
        buckets - 1, static_cast<size_t>(std::max<int64_t>(0, op.complete_ns) / bucket_ns));
    if (op.f == check::Function::read) {
      reads.push_back(latency);
      ++read_series[bucket];
    } else {
      writes.push_back(latency);
      ++write_series[bucket];
    }
  }
  int64_t info_ops = 0, failed_ops = 0;
  for (const auto& op : history.operations) {
    if (op.final) continue;
    info_ops += op.outcome == check::Outcome::info;
    failed_ops += op.outcome == check::Outcome::fail;
  }
  out["operations"] = {{"ok", ok_ops}, {"failed", failed_ops}, {"unknown", info_ops}};
  out["ops_per_s"] =
      static_cast<double>(ok_ops) / std::max(1e-9, static_cast<double>(workload_ns) / 1e9);
  out["read_latency_ms"] = latency_figures(reads);
  out["write_latency_ms"] = latency_figures(writes);
  out["throughput"] = {
      {"bucket_ms", bucket_ns / 1'000'000}, {"reads", read_series}, {"writes", write_series}};
}

void verdict_figures(const Verdicts& v, json& out) {
  out["acknowledged_inserts"] = figure(v.lost, "acknowledged");
  out["lost_writes"] = figure(v.lost, "lost");
  out["stale_reads"] = figure(v.stale, "stale");
  out["reads_judged"] = figure(v.stale, "judged");
  out["staleness_ms"] = {{"p50", figure(v.stale, "p50_ms")},
                         {"p99", figure(v.stale, "p99_ms")},
                         {"max", figure(v.stale, "max_ms")}};
  out["session_violations"] =
      figure(v.sessions, "read_your_writes") + figure(v.sessions, "monotonic");
  out["linearizable"] = v.linearizable.verdict == check::Verdict::valid     ? json(true)
                        : v.linearizable.verdict == check::Verdict::invalid ? json(false)
                                                                            : json(nullptr);
  out["linearizable_window_ms"] = json(nullptr);
  if (v.linearizable.figures.contains("window_from_ns")) {
    const double to = figure(v.linearizable, "window_to_ns");
    out["linearizable_window_ms"] = {
        figure(v.linearizable, "window_from_ns") / 1e6,
        to >= static_cast<double>(check::time_never) ? json(nullptr) : json(to / 1e6)};
  }
  out["longest_unavailable_ms"] = figure(v.availability, "longest_ms");
  out["unavailable_from_ms"] = figure(v.availability, "from_ms");
  out["convergence_ms"] = v.convergence.verdict == check::Verdict::valid &&
                                  v.convergence.figures.contains("converged_ms")
                              ? json(figure(v.convergence, "converged_ms"))
                              : json(nullptr);
  out["checks"] = {check_json(v.linearizable), check_json(v.lost),
                   check_json(v.stale),        check_json(v.sessions),
                   check_json(v.convergence),  check_json(v.availability)};
  for (const auto& result : v.strategy) out["checks"].push_back(check_json(result));
}

void judge_promises(const Verdicts& v, const Promises& promises, const std::string& read,
                    json& out) {
  std::vector<std::string> promised, broken;
  if (promises.no_loss) {
    promised.push_back("no acknowledged write lost");
    if (v.lost.verdict != check::Verdict::valid)
      broken.push_back(fmt::format("lost writes: {}", v.lost.summary));
  }
  if (promises.linearizable && read == "linearizable") {
    promised.push_back("linearizable");
    if (v.linearizable.verdict != check::Verdict::valid) {
      broken.push_back(fmt::format("linearizability: {}", v.linearizable.summary));
    }
  }
  promised.push_back("replicas converge after the heal");
  if (v.convergence.verdict != check::Verdict::valid)
    broken.push_back(fmt::format("convergence: {}", v.convergence.summary));
  for (size_t i = 0; i < promises.strategy_checks.size() && i < v.strategy.size(); ++i) {
    const auto& [name, kept] = promises.strategy_checks[i];
    if (!kept) continue;
    promised.push_back(name);
    if (v.strategy[i].verdict != check::Verdict::valid)
      broken.push_back(fmt::format("{}: {}", name, v.strategy[i].summary));
  }
  out["promises"] = promised;
  out["broken"] = broken;
  out["promise_kept"] = broken.empty();
}

void judge(const check::History& history, const Promises& promises, const std::string& read,
           int64_t workload_ns, int64_t time_limit_s, json& out) {
  const Verdicts verdicts = judge_history(history, time_limit_s, promises);
  operation_figures(history, workload_ns, out);
  verdict_figures(verdicts, out);
  judge_promises(verdicts, promises, read, out);
}

}  // namespace replikv::cli
