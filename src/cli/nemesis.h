// The chaos run's machinery shared by its parts: the history recorder, the cluster as the
// nemesis left it, and the nemesis itself — a schedule of timed faults against nodes named when
// they happen (the leader, a follower, a random node, the last one acted on, or nK).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "check/history.h"

namespace replikv::cli::chaos {

inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void sleep_ms(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// time order as check/history.h requires.

class Recorder {
 public:
  explicit Recorder(int64_t start_ns) : start_ns_(start_ns) {}

  int64_t now() const { return steady_ns() - start_ns_; }

  // Each appends one event (check/history.h writes it), stamped now; returns the time.
  int64_t operation(const check::OperationEvent& event) {
    return record(
        [&](fmt::memory_buffer& out, int64_t time) { check::write_event(out, event, time); });
  }
  int64_t digest(int64_t node, std::string_view value) {
    return record([&](fmt::memory_buffer& out, int64_t time) {
      check::write_digest(out, node, value, time);
    });
  }
  int64_t heal() {
    return record([&](fmt::memory_buffer& out, int64_t time) { check::write_heal(out, time); });
  }
  int64_t nemesis(std::string_view what) {
    return record(
        [&](fmt::memory_buffer& out, int64_t time) { check::write_nemesis(out, what, time); });
  }

  std::string text() const {
    std::lock_guard lock(mutex_);
    return fmt::to_string(text_);
  }

 private:
  template <typename Write>
  int64_t record(Write&& write) {
    std::lock_guard lock(mutex_);
    const int64_t time = now();
    write(text_, time);
    return time;
  }

  const int64_t start_ns_;
  mutable std::mutex mutex_;
  fmt::memory_buffer text_;
};

// The cluster's processes as the nemesis left them.

struct Cluster {
  std::filesystem::path dir;
  int nodes = 0;
  int port = 0;
  // Whether one node at a time leads (the strategy's traits); without a leader, a step aimed at
  // "leader" or "follower" takes any node that is up.
  bool has_leader = true;

  std::mutex mutex;
  std::set<int> killed, paused;

  int client_port(int node) const { return port + node - 1; }
};

// The nemesis: a schedule of timed actions against nodes named when they happen.

struct NemesisStep {
  int64_t at_ms = 0;
  std::string action;              // kill restart stop cont isolate strand delay loss skew heal
  std::string target;              // leader follower random last nK (empty for heal)
  int64_t amount = 0;              // delay ms, loss percent, skew ms, drift ppm
  size_t line = 0;                 // in the schedule file
  std::string peer = "*";          // cut, delay, loss: the link to one peer (nK), or every link
  std::string direction = "both";  // cut: in, out or both
};

struct FaultWindow {
  std::string what;
  int node = 0;
  std::string kind;  // down, paused, links, clock
  int64_t from_ns = 0;
  std::optional<int64_t> to_ns;
};

// Parses a schedule file: lines "<ms> <action> [target] [amount]", # comments. nullopt with the
// line's error when one is wrong.
std::optional<std::vector<NemesisStep>> parse_schedule(std::istream& in, int nodes,
                                                       std::string& error);
// A built-in schedule by name (see nemesis_schedules() in cli/chaos.h) over a run of duration_ms.
std::vector<NemesisStep> built_in_schedule(const std::string& name, int64_t duration_ms,
                                           uint64_t seed);
// The node that leads with the highest term, or 0 when none answers as leader.
int find_leader(Cluster& cluster);

class Nemesis {
 public:
  Nemesis(Cluster& cluster, Recorder& recorder, uint64_t seed);

  // Carries out the steps at their times (from start_ns) until they are done or `stop` is set.
  void run(const std::vector<NemesisStep>& steps, int64_t start_ns, const std::atomic<bool>& stop);
  // Every fault undone: killed nodes restarted, paused ones continued, links healed, clocks true.
  // The final one is recorded as the history's heal event.
  void heal_all(bool final);

  const std::vector<FaultWindow>& windows() const { return windows_; }
  const std::vector<nlohmann::json>& events() const { return events_; }

 private:
  int resolve(const std::string& target);
  void apply(const NemesisStep& step);
  void link_or_clock_fault(const NemesisStep& step, int node);
  void restart(int node);
  void cont(int node);
  void event(const std::string& what);
  void open_window(const std::string& what, int node, const std::string& kind);
  void close_windows(const std::function<bool(const FaultWindow&)>& matches);

  Cluster& cluster_;
  Recorder& recorder_;
  std::mt19937_64 rng_;
  int last_ = 0;
  std::vector<FaultWindow> windows_;
  std::vector<nlohmann::json> events_;
};

}  // namespace replikv::cli::chaos
