// `replikv chaos` (one run, its figures) and `replikv demo` (every preset through one scenario:
// the comparison table, a paragraph on what it means, report.html and the raw results).
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>

#include <tuple>

#include <fmt/format.h>

#include "cli/chaos.h"
#include "cli/commands.h"
#include "sim/pbs.h"

namespace replikv::cli {
namespace {

// A live line on a terminal (rewritten in place); elsewhere a line every few seconds.
class ProgressLine {
 public:
  ProgressLine() : tty_(isatty(STDERR_FILENO) != 0) {}
  ~ProgressLine() { clear(); }

  void show(const std::string& text) {
    const auto now = std::chrono::steady_clock::now();
    if (tty_) {
      std::cerr << "\r" << text << "\033[K" << std::flush;
      shown_ = true;
    } else if (now - last_ >= std::chrono::seconds(5) || text.find(" s, ") == std::string::npos) {
      std::cerr << text << "\n";
      last_ = now;
    }
  }
  void clear() {
    if (tty_ && shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

std::string fixed(const nlohmann::json& value, int digits = 0) {
  if (value.is_null()) return "-";
  return fmt::format("{:.{}f}", value.get<double>(), digits);
}

// The table, one row per run; its settings without spaces, so every column is one word.
std::string table(const nlohmann::json& runs) {
  std::string out = fmt::format(
      "{:<19} {:>5} {:<22} {:>7} {:>17} {:>17} {:>11} {:>9} {:>8} {:>12} {:>7} {:>6} {:>8} "
      "{:>9} {:>10}\n",
      "preset", "nodes", "settings", "ops/s", "write p50/p99 ms", "read p50/p99 ms", "lost/acked",
      "discarded", "siblings", "stale reads", "session", "linear", "leaders", "no-write",
      "converged");
  for (const auto& r : runs) {
    const std::string lin = r["linearizable"].is_null()     ? "?"
                            : r["linearizable"].get<bool>() ? "yes"
                                                            : "NO";
    std::string settings = r["settings"].get<std::string>();
    std::erase(settings, ' ');
    out += fmt::format(
        "{:<19} {:>5} {:<22} {:>7} {:>17} {:>17} {:>11} {:>9} {:>8} {:>12} {:>7} {:>6} {:>8} "
        "{:>9} {:>10}\n",
        r["preset"].get<std::string>(), r["nodes"].get<int>(), settings, fixed(r["ops_per_s"]),
        fixed(r["write_latency_ms"]["p50"], 1) + "/" + fixed(r["write_latency_ms"]["p99"], 1),
        fixed(r["read_latency_ms"]["p50"], 1) + "/" + fixed(r["read_latency_ms"]["p99"], 1),
        fixed(r["lost_writes"]) + "/" + fixed(r["acknowledged_inserts"]),
        fixed(r.value("conflicts_discarded", nlohmann::json(0))),
        fixed(r.value("keys_with_siblings", nlohmann::json(0))), fixed(r["stale_reads"]),
        fixed(r["session_violations"]), lin, r["leader_changes"].get<int64_t>(),
        fixed(r["longest_unavailable_ms"]) + " ms",
        r["convergence_ms"].is_null() ? std::string("never") : fixed(r["convergence_ms"]) + " ms");
  }
  return out;
}

// What the table says, in plain words, from the numbers measured (never from what is expected).
std::string meaning(const nlohmann::json& runs) {
  std::vector<std::string> lines;
  const nlohmann::json* fastest = nullptr;
  for (const auto& r : runs) {
    if (fastest == nullptr || r["write_latency_ms"]["p50"].get<double>() <
                                  (*fastest)["write_latency_ms"]["p50"].get<double>()) {
      fastest = &r;
    }
  }
  for (const auto& r : runs) {
    const std::string name = r["preset"].get<std::string>();
    const double lost = r["lost_writes"].get<double>(),
                 acked = r["acknowledged_inserts"].get<double>();
    std::string text = fmt::format("{}: writes answered in {:.1f} ms at the median", name,
                                   r["write_latency_ms"]["p50"].get<double>());
    if (fastest != nullptr && fastest != &r) {
      const double base = (*fastest)["write_latency_ms"]["p50"].get<double>();
      if (base > 0)
        text += fmt::format(" ({:.1f}x {}'s)", r["write_latency_ms"]["p50"].get<double>() / base,
                            (*fastest)["preset"].get<std::string>());
    }
    if (lost > 0) {
      text += fmt::format(
          "; {:.0f} of its {:.0f} acknowledged writes were lost — the clients were told OK, and "
          "the "
          "data is gone",
          lost, acked);
    } else {
      text += fmt::format("; none of its {:.0f} acknowledged writes was lost", acked);
      if (!r["promises"].empty() && r["promises"][0] != "no acknowledged write lost")
        text += " (in this run)";
    }
    if (r["linearizable"].is_boolean()) {
      text += r["linearizable"].get<bool>()
                  ? "; every read and write fits one order in real time (linearizable)"
                  : "; what clients saw is not linearizable";
    }
    if (r["stale_reads"].get<double>() > 0) {
      const double stale = r["stale_reads"].get<double>();
      text += fmt::format("; {:.0f} read{} returned an overwritten value", stale,
                          stale == 1 ? "" : "s");
    }
    if (const int64_t discarded = r.value("conflicts_discarded", int64_t{0}); discarded > 0) {
      text += fmt::format(
          "; {} write{} lost to a concurrent one by last-writer-wins — by design, and counted",
          discarded, discarded == 1 ? " was" : "s were");
    }
    if (const int64_t siblings = r.value("keys_with_siblings", int64_t{0}); siblings > 0) {
      text += fmt::format("; {} key{} left holding concurrent values for the clients to merge",
                          siblings, siblings == 1 ? " was" : "s were");
    }
    text += fmt::format("; the longest time without an acknowledged write was {:.1f} s",
                        r["longest_unavailable_ms"].get<double>() / 1000);
    text += r["promise_kept"].get<bool>()
                ? "."
                : ". ITS OWN PROMISE WAS BROKEN — see the checks in the JSON.";
    lines.push_back(text);
  }
  // The lead sentence: who lost what, and what not losing cost against the fastest that lost.
  std::vector<std::string> losers, keepers;
  const nlohmann::json* fastest_loser = nullptr;
  for (const auto& r : runs) {
    if (r["lost_writes"].get<double>() > 0) {
      losers.push_back(fmt::format("{} ({:.0f})", r["preset"].get<std::string>(),
                                   r["lost_writes"].get<double>()));
      if (fastest_loser == nullptr ||
          r["write_latency_ms"]["p50"].get<double>() <
              (*fastest_loser)["write_latency_ms"]["p50"].get<double>()) {
        fastest_loser = &r;
      }
    } else {
      keepers.push_back(r["preset"].get<std::string>());
    }
  }
  double low = 1e9, high = 0;
  for (const auto& r : runs) {
    if (r["lost_writes"].get<double>() > 0 || fastest_loser == nullptr) continue;
    const double base = (*fastest_loser)["write_latency_ms"]["p50"].get<double>();
    if (base <= 0) continue;
    low = std::min(low, r["write_latency_ms"]["p50"].get<double>() / base);
    high = std::max(high, r["write_latency_ms"]["p50"].get<double>() / base);
  }
  const auto join = [](const std::vector<std::string>& names) {
    std::string text;
    for (size_t i = 0; i < names.size(); ++i)
      text += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    return text;
  };
  std::string lead = "In this run, ";
  lead += losers.empty() ? "no preset lost an acknowledged write"
                         : join(losers) + " lost acknowledged writes";
  if (!keepers.empty() && !losers.empty()) {
    lead += "; " + join(keepers) + " lost none";
    if (high > 0) {
      const std::string range = fmt::format("{:.1f}x", low) == fmt::format("{:.1f}x", high)
                                    ? fmt::format("{:.1f}x", high)
                                    : fmt::format("{:.1f}x to {:.1f}x", low, high);
      lead += fmt::format(", at {} {}'s median write latency", range,
                          (*fastest_loser)["preset"].get<std::string>());
    }
  }
  lead += ".";
  std::string out = lead + "\n";
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace

std::string describe_result(const nlohmann::json& r) {
  std::string out;
  const auto line = [&](const std::string& text) { out += text + "\n"; };
  const auto lat = [](const nlohmann::json& l) {
    return fmt::format("p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms ({} ok)",
                       l["p50"].get<double>(), l["p99"].get<double>(), l["max"].get<double>(),
                       l["count"].get<int64_t>());
  };
  line(fmt::format("preset {} — {} nodes, {}, reads {}, nemesis {}, seed {}, {:.1f} s",
                   r["preset"].get<std::string>(), r["nodes"].get<int>(),
                   r["settings"].get<std::string>(), r["read"].get<std::string>(),
                   r["nemesis"].get<std::string>(), r["seed"].get<uint64_t>(),
                   r["duration_ms"].get<double>() / 1000));
  const auto& ops = r["operations"];
  line(fmt::format("  throughput      {:.0f} ops/s ({} ok, {} failed, {} with unknown outcome)",
                   r["ops_per_s"].get<double>(), ops["ok"].get<int64_t>(),
                   ops["failed"].get<int64_t>(), ops["unknown"].get<int64_t>()));
  line("  write latency   " + lat(r["write_latency_ms"]));
  line("  read latency    " + lat(r["read_latency_ms"]));
  line(fmt::format("  lost writes     {:.0f} of {:.0f} acknowledged inserts",
                   r["lost_writes"].get<double>(), r["acknowledged_inserts"].get<double>()));
  if (r.value("conflicts_discarded", int64_t{0}) > 0 ||
      r.value("keys_with_siblings", int64_t{0}) > 0) {
    line(fmt::format(
        "  conflicts       {} writes discarded (lww, counted by the nodes), {} keys "
        "left with siblings to merge",
        r.value("conflicts_discarded", int64_t{0}), r.value("keys_with_siblings", int64_t{0})));
  }
  line(fmt::format(
      "  stale reads     {:.0f} of {:.0f} judged (staleness p50 {:.1f} ms, max {:.1f} ms)",
      r["stale_reads"].get<double>(), r["reads_judged"].get<double>(),
      r["staleness_ms"]["p50"].get<double>(), r["staleness_ms"]["max"].get<double>()));
  line(fmt::format("  session         {:.0f} violations (read-your-writes, monotonic reads)",
                   r["session_violations"].get<double>()));
  std::string lin = r["linearizable"].is_null()     ? "unknown (the checker's budget ran out)"
                    : r["linearizable"].get<bool>() ? "yes"
                                                    : "no";
  if (r["linearizable_window_ms"].is_array()) {
    const auto& w = r["linearizable_window_ms"];
    lin += fmt::format(" — first failing operation in {:.1f}–{} ms", w[0].get<double>(),
                       w[1].is_null() ? "?" : fmt::format("{:.1f}", w[1].get<double>()));
  }
  line("  linearizable    " + lin);
  line(fmt::format("  leader changes  {}", r["leader_changes"].get<int64_t>()));
  line(fmt::format("  no write acked  for {:.0f} ms at most (from {:.0f} ms)",
                   r["longest_unavailable_ms"].get<double>(),
                   r["unavailable_from_ms"].get<double>()));
  line("  converged       " +
       (r["convergence_ms"].is_null()
            ? std::string("never, within the wait")
            : fmt::format("{:.0f} ms after the final heal", r["convergence_ms"].get<double>())));
  for (const auto& fault : r["faults"]) {
    line(fmt::format("  fault           {} ({:.1f}–{} s)", fault["what"].get<std::string>(),
                     fault["from_ms"].get<double>() / 1000,
                     fault["to_ms"].is_null()
                         ? "end"
                         : fmt::format("{:.1f}", fault["to_ms"].get<double>() / 1000)));
  }
  std::string promises;
  for (const auto& p : r["promises"])
    promises += (promises.empty() ? "" : "; ") + p.get<std::string>();
  if (r["promise_kept"].get<bool>()) {
    line("  promise         kept: " + promises);
  } else {
    line("  promise         BROKEN (" + promises + "):");
    for (const auto& b : r["broken"]) line("    " + b.get<std::string>());
  }
  if (!r["dir"].is_null()) line("  cluster dir     " + r["dir"].get<std::string>());
  return out;
}

int run_chaos(const ChaosOptions& options) {
  install_interrupt_handlers();
  ChaosRun run;
  {
    ProgressLine progress;
    run = chaos_run(options, options.progress ? [&](const std::string& t) { progress.show(t); }
                                              : std::function<void(const std::string&)>());
  }
  if (!run.error.empty()) {
    std::cerr << "replikv chaos: " << run.error << "\n";
    return 2;
  }
  std::cout << describe_result(run.result);
  if (!options.json_file.empty()) std::ofstream(options.json_file) << run.result.dump(2) << "\n";
  return run.result["promise_kept"].get<bool>() ? 0 : 1;
}

int run_demo(const DemoOptions& options) {
  install_interrupt_handlers();
  std::vector<std::string> names = options.presets;
  if (names.empty()) {
    for (const auto& preset : presets()) names.push_back(preset.name);
  }
  for (const auto& name : names) {
    if (find_preset(name) == nullptr) {
      std::string known;
      for (const auto& p : presets()) known += (known.empty() ? "" : ", ") + p.name;
      std::cerr << fmt::format("replikv demo: unknown preset '{}' ({})\n", name, known);
      return 2;
    }
  }
  std::cout << fmt::format(
      "replikv demo: {} presets, the same scenario for each — {} clients on {} register keys plus "
      "unique inserts, "
      "{:.0f} s, nemesis '{}' (seed {}): real processes on loopback, fsync {}\n",
      names.size(), options.run.clients, options.run.keys,
      static_cast<double>(options.run.duration_ms) / 1000, options.run.nemesis, options.run.seed,
      options.run.fsync);
  for (const auto& [nemesis, what] : nemesis_schedules()) {
    if (nemesis == options.run.nemesis) std::cout << "  the scenario: " << what << "\n";
  }
  std::cout << std::flush;
  nlohmann::json runs = nlohmann::json::array();
  for (size_t i = 0; i < names.size() && !chaos_interrupted.load(); ++i) {
    ChaosOptions run_options = options.run;
    run_options.preset = names[i];
    ChaosRun run;
    {
      ProgressLine progress;
      run = chaos_run(run_options, [&](const std::string& t) {
        progress.show(fmt::format("[{}/{}] {}", i + 1, names.size(), t));
      });
    }
    if (!run.error.empty()) {
      std::cerr << fmt::format("replikv demo: {}: {}\n", names[i], run.error);
      return 2;
    }
    runs.push_back(std::move(run.result));
  }
  std::cout << "\n" << table(runs) << "\n" << meaning(runs);
  std::cout << "\nColumns: lost/acked — acknowledged unique inserts missing from the final reads "
               "of every node; discarded — writes a concurrent write beat under last-writer-wins, "
               "as the nodes counted them; siblings — register keys left holding several "
               "concurrent values for clients to merge; stale "
               "reads — reads that returned a value already overwritten before they began; session "
               "— read-your-writes "
               "and monotonic-read violations; linear — whether everything the clients saw fits "
               "one real-time order; "
               "leaders — leader changes seen; no-write — the longest window without an "
               "acknowledged write; converged — "
               "from the final heal to every replica's digest agreeing. All from the recorded "
               "history (docs/chaos.md).\n";
  const std::time_t now = std::time(nullptr);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  // Leaderless staleness against PBS's prediction, in the simulator (seconds, deterministic): the
  // closed form's assumptions at three (W, R) of N = 3, and writes delivered to every replica.
  nlohmann::json pbs = nlohmann::json::array();
  std::cout << "\nLeaderless staleness against PBS (simulated, N = 3, 10,000 reads each; "
               "replikv pbs):\n";
  for (const auto& [w, r, to_all] : std::vector<std::tuple<uint32_t, uint32_t, bool>>{
           {1, 1, false}, {2, 1, false}, {1, 2, false}, {1, 1, true}}) {
    sim::PbsOptions pbs_options;
    pbs_options.w = w;
    pbs_options.r = r;
    pbs_options.write_to_all = to_all;
    pbs_options.seed = options.run.seed;
    const sim::PbsResult result = sim::run_pbs(pbs_options);
    if (!result.error.empty()) continue;
    pbs.push_back(pbs_json(pbs_options, result));
    const auto& figures = pbs.back();
    std::cout << fmt::format(
        "  W = {}, R = {}, writes to {:<15} {:.4f} of reads missed the last acknowledged write "
        "(PBS's closed form {:.4f}{})\n",
        w, r, to_all ? "every replica:" : "exactly W:", figures["miss_rate"].get<double>(),
        result.predicted, to_all ? ", an upper bound here" : "");
  }
  nlohmann::json demo = {{"generated", stamp},
                         {"scenario",
                          {{"nemesis", options.run.nemesis},
                           {"seed", options.run.seed},
                           {"duration_ms", options.run.duration_ms},
                           {"clients", options.run.clients},
                           {"keys", options.run.keys},
                           {"fsync", options.run.fsync},
                           {"settings", options.run.settings}}},
                         {"runs", runs},
                         {"pbs", pbs},
                         {"table", table(runs)},
                         {"meaning", meaning(runs)}};
  for (const auto& [nemesis, what] : nemesis_schedules()) {
    if (nemesis == options.run.nemesis) demo["scenario"]["description"] = what;
  }
  std::ofstream(options.report) << render_report(demo);
  std::string json_file = options.json_file;
  if (json_file.empty()) {
    json_file = options.report;
    const size_t dot = json_file.rfind('.');
    json_file = (dot == std::string::npos ? json_file : json_file.substr(0, dot)) + ".json";
  }
  std::ofstream(json_file) << demo.dump(2) << "\n";
  std::cout << fmt::format("\nreport: {} (charts; open it in a browser) — raw results: {}\n",
                           options.report, json_file);
  return chaos_interrupted.load() ? 130 : 0;
}

}  // namespace replikv::cli
