// The nemesis of `replikv chaos`: schedules (parsed or built in) and their execution against the
// cluster's processes — signals for kill/SIGSTOP/SIGCONT, the FAULT command for links and clocks.
#include "cli/nemesis.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <sstream>

#include "cli/chaos.h"
#include "cli/local_cluster.h"

namespace replikv::cli {

const std::vector<std::pair<std::string, std::string>>& nemesis_schedules() {
  static const std::vector<std::pair<std::string, std::string>> all = {
      {"none", "no faults"},
      {"crash", "kill -9 the leader at 25% and 60% of the run, restart it 20% later"},
      {"partition", "cut the leader off from every peer (both ways) from 25% to 55%"},
      {"strand",
       "cut the leader's outgoing links at 30%, kill it a second later, restart it at 60%"},
      {"pause", "SIGSTOP the leader from 30% to 50%"},
      {"demo",
       "strand the leader and kill it (20%), restart it (40%), isolate the new leader (55%), heal "
       "(80%)"},
      {"random",
       "every 2–4 s a seeded fault (kill, pause, isolate, strand, delay, loss, skew) of the leader "
       "or "
       "any node, undone 1–3 s later"},
  };
  return all;
}

namespace chaos {
using nlohmann::json;

int find_leader(Cluster& cluster) {
  std::set<int> skip;
  {
    std::lock_guard lock(cluster.mutex);
    skip.insert(cluster.killed.begin(), cluster.killed.end());
    skip.insert(cluster.paused.begin(), cluster.paused.end());
  }
  int leader = 0;
  long best_term = -1;
  for (int node = 1; node <= cluster.nodes; ++node) {
    if (skip.contains(node)) continue;
    auto info = local::replication(cluster.client_port(node), 300);
    if (!info || (*info)["replikv_state"] != "leader") continue;
    const long term = std::atol((*info)["replikv_epoch"].c_str());
    if (term > best_term) {
      best_term = term;
      leader = node;
    }
  }
  return leader;
}

const std::set<std::string> targeted_actions = {"kill",    "restart", "stop", "cont",
                                                "isolate", "strand",  "cut",  "delay",
                                                "loss",    "skew",    "drift"};

// A node named nK within the cluster's size.
bool node_name(const std::string& word, int nodes) {
  if (word.size() < 2 || word[0] != 'n' ||
      word.find_first_not_of("0123456789", 1) != std::string::npos)
    return false;
  const int node = std::atoi(word.c_str() + 1);
  return node >= 1 && node <= nodes;
}

std::optional<std::vector<NemesisStep>> parse_schedule(std::istream& in, int nodes,
                                                       std::string& error) {
  std::vector<NemesisStep> steps;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    NemesisStep step;
    step.line = number;
    std::string at;
    if (!(words >> at)) continue;
    const auto fail = [&](const std::string& why) {
      error = fmt::format("schedule line {}: {}", number, why);
      return std::nullopt;
    };
    if (at.find_first_not_of("0123456789") != std::string::npos)
      return fail("starts with a time in ms");
    step.at_ms = std::atoll(at.c_str());
    if (!(words >> step.action)) return fail("a time needs an action");
    if (step.action != "heal" && !targeted_actions.contains(step.action)) {
      return fail(
          fmt::format("unknown action '{}' (kill, restart, stop, cont, isolate, strand, cut, "
                      "delay, loss, skew, drift, heal)",
                      step.action));
    }
    if (step.action != "heal") {
      if (!(words >> step.target))
        return fail(
            fmt::format("{} needs a target (leader, follower, random, last, nK)", step.action));
      const bool named = step.target.size() > 1 && step.target[0] == 'n' &&
                         step.target.find_first_not_of("0123456789", 1) == std::string::npos;
      if (named) {
        const int node = std::atoi(step.target.c_str() + 1);
        if (node < 1 || node > nodes)
          return fail(fmt::format("no node {} in a {}-node cluster", step.target, nodes));
      } else if (step.target != "leader" && step.target != "follower" && step.target != "random" &&
                 step.target != "last") {
        return fail(
            fmt::format("unknown target '{}' (leader, follower, random, last, nK)", step.target));
      }
    }
    if (step.action == "cut") {  // cut T PEER|* [in|out|both]
      if (!(words >> step.peer) || (step.peer != "*" && !node_name(step.peer, nodes))) {
        return fail(
            fmt::format("cut needs the peer whose link to cut (nK within {} nodes, or *)", nodes));
      }
      if (!(words >> step.direction)) step.direction = "both";
      if (step.direction != "in" && step.direction != "out" && step.direction != "both") {
        return fail(fmt::format("a cut is in, out or both, not '{}'", step.direction));
      }
    }
    if (step.action == "delay" || step.action == "loss" || step.action == "skew" ||
        step.action == "drift") {
      std::string amount;
      if (!(words >> amount) || amount.empty() ||
          amount.find_first_not_of("-0123456789") != std::string::npos) {
        return fail(fmt::format("{} needs a number ({})", step.action,
                                step.action == "loss"    ? "percent"
                                : step.action == "drift" ? "ppm"
                                                         : "ms"));
      }
      step.amount = std::atoll(amount.c_str());
      if (step.action == "loss" && (step.amount < 0 || step.amount > 100))
        return fail("loss is 0 to 100 percent");
      if (step.action == "delay" && step.amount < 0) return fail("a delay is not negative");
      std::string peer;
      if ((step.action == "delay" || step.action == "loss") && words >> peer) {
        if (peer != "*" && !node_name(peer, nodes)) {
          return fail(fmt::format("{} names an optional peer (nK within {} nodes, or *)",
                                  step.action, nodes));
        }
        step.peer = peer;
      }
    }
    std::string extra;
    if (words >> extra) return fail(fmt::format("unexpected '{}'", extra));
    steps.push_back(step);
  }
  std::stable_sort(steps.begin(), steps.end(),
                   [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  return steps;
}

std::vector<NemesisStep> built_in_schedule(const std::string& name, int64_t duration_ms,
                                           uint64_t seed) {
  const auto at = [&](double fraction) {
    return static_cast<int64_t>(fraction * static_cast<double>(duration_ms));
  };
  std::vector<NemesisStep> steps;
  const auto add = [&](int64_t when, std::string action, std::string target = {},
                       int64_t amount = 0) {
    steps.push_back({when, std::move(action), std::move(target), amount, 0});
  };
  if (name == "crash") {
    add(at(0.25), "kill", "leader");
    add(at(0.45), "restart", "last");
    add(at(0.60), "kill", "leader");
    add(at(0.80), "restart", "last");
  } else if (name == "partition") {
    add(at(0.25), "isolate", "leader");
    add(at(0.55), "heal");
  } else if (name == "strand") {
    add(at(0.30), "strand", "leader");
    add(at(0.30) + 1000, "kill", "last");
    add(at(0.60), "restart", "last");
  } else if (name == "pause") {
    add(at(0.30), "stop", "leader");
    add(at(0.50), "cont", "last");
  } else if (name == "demo") {
    add(at(0.20), "strand", "leader");
    add(at(0.20) + 1000, "kill", "last");
    add(at(0.40), "restart", "last");
    add(at(0.55), "isolate", "leader");
    add(at(0.80), "heal");
  } else if (name == "random") {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 7);
    const auto uniform = [&](int64_t low, int64_t high) {
      return std::uniform_int_distribution<int64_t>(low, high)(rng);
    };
    const char* kinds[] = {"kill", "stop", "isolate", "strand", "delay", "loss", "skew"};
    int64_t when = uniform(1000, 2000);
    while (when + 1000 < duration_ms) {
      const std::string kind = kinds[uniform(0, 6)];
      const std::string target = uniform(0, 1) == 0 ? "leader" : "random";
      const int64_t amount = kind == "delay"  ? uniform(20, 300)
                             : kind == "loss" ? uniform(10, 60)
                             : kind == "skew" ? uniform(-5000, 5000)
                                              : 0;
      add(when, kind, target, amount);
      const int64_t until = std::min(duration_ms - 500, when + uniform(1000, 3000));
      add(until,
          kind == "kill"   ? "restart"
          : kind == "stop" ? "cont"
                           : "heal",
          kind == "kill" || kind == "stop" ? "last" : "");
      when = until + uniform(1000, 2000);
    }
  }
  return steps;
}

Nemesis::Nemesis(Cluster& cluster, Recorder& recorder, uint64_t seed)
    : cluster_(cluster), recorder_(recorder), rng_(seed) {}

void Nemesis::run(const std::vector<NemesisStep>& steps, int64_t start_ns,
                  const std::atomic<bool>& stop) {
  for (const auto& step : steps) {
    while (!stop.load() && steady_ns() - start_ns < step.at_ms * 1'000'000) sleep_ms(10);
    if (stop.load()) return;
    apply(step);
  }
}

// Every fault undone: killed nodes restarted, paused ones continued, links healed, clocks true.
void Nemesis::heal_all(bool final) {
  std::set<int> killed, paused;
  {
    std::lock_guard lock(cluster_.mutex);
    killed = cluster_.killed;
    paused = cluster_.paused;
  }
  for (const int node : paused) cont(node);
  for (const int node : killed) restart(node);
  for (int node = 1; node <= cluster_.nodes; ++node) {
    local::ask(cluster_.client_port(node), {"FAULT", "HEAL"}, 1000);
    local::ask(cluster_.client_port(node), {"FAULT", "SKEW", "0"}, 1000);
    local::ask(cluster_.client_port(node), {"FAULT", "DRIFT", "0"}, 1000);
  }
  close_windows([](const FaultWindow&) { return true; });
  event(final ? "final heal" : "heal");
  if (final) recorder_.heal();
}

int Nemesis::resolve(const std::string& target) {
  if (target == "last") return last_;
  if (target.size() > 1 && target[0] == 'n') return std::atoi(target.c_str() + 1);
  std::vector<int> candidates;
  {
    std::lock_guard lock(cluster_.mutex);
    for (int node = 1; node <= cluster_.nodes; ++node) {
      if (!cluster_.killed.contains(node) && !cluster_.paused.contains(node))
        candidates.push_back(node);
    }
  }
  if (candidates.empty()) return 0;
  if ((target == "leader" || target == "follower") && cluster_.has_leader) {
    int leader = 0;
    for (int attempt = 0; attempt < 30 && leader == 0; ++attempt) {
      leader = find_leader(cluster_);
      if (leader == 0) sleep_ms(100);
    }
    if (target == "leader" && leader != 0) return leader;
    std::erase(candidates, leader);
    if (candidates.empty()) return 0;
  }
  return candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng_)];
}

void Nemesis::apply(const NemesisStep& step) {
  if (step.action == "heal") {
    heal_all(false);
    return;
  }
  const int node = resolve(step.target);
  if (node == 0) {
    event(fmt::format("{} {}: no node to act on", step.action, step.target));
    return;
  }
  last_ = node;
  const std::string name = fmt::format("n{}", node);
  if (step.action == "kill") {
    if (const auto pid = local::read_pid(cluster_.dir, node); pid && local::alive(*pid)) {
      ::kill(*pid, SIGKILL);
      waitpid(*pid, nullptr, 0);
    }
    {
      std::lock_guard lock(cluster_.mutex);
      cluster_.killed.insert(node);
      cluster_.paused.erase(node);
    }
    // A restarted process forgets its injected faults: they end with the kill.
    close_windows([&](const FaultWindow& w) { return w.node == node; });
    open_window("kill -9 " + name, node, "down");
  } else if (step.action == "restart") {
    restart(node);
  } else if (step.action == "stop") {
    if (const auto pid = local::read_pid(cluster_.dir, node)) ::kill(*pid, SIGSTOP);
    std::lock_guard lock(cluster_.mutex);
    cluster_.paused.insert(node);
    open_window("SIGSTOP " + name, node, "paused");
  } else if (step.action == "cont") {
    cont(node);
  } else {
    link_or_clock_fault(step, node);
  }
}

// A fault through the node's FAULT command; its window opens only once the node accepted it (a
// node that refuses or does not answer gets an event saying so instead).
void Nemesis::link_or_clock_fault(const NemesisStep& step, int node) {
  const std::string name = fmt::format("n{}", node);
  const std::string peer = step.peer == "*" ? "*" : step.peer.substr(1);
  const std::string with = step.peer == "*" ? "" : " with " + step.peer;
  const std::string amount = std::to_string(step.amount);
  std::vector<std::string> command;
  std::string what, kind = "links";
  if (step.action == "isolate") {
    command = {"FAULT", "CUT", "*", "BOTH"};
    what = "isolate " + name;
  } else if (step.action == "strand") {
    command = {"FAULT", "CUT", "*", "OUT"};
    what = "cut " + name + "'s outgoing links";
  } else if (step.action == "cut") {
    command = {"FAULT", "CUT", peer, step.direction};
    what = fmt::format("cut {} {}'s link{}", step.direction, name,
                       step.peer == "*" ? "s to every peer" : with);
  } else if (step.action == "delay") {
    command = {"FAULT", "DELAY", peer, amount};
    what = fmt::format("delay {} ms on {}'s links{}", step.amount, name, with);
  } else if (step.action == "loss") {
    command = {"FAULT", "LOSS", peer, amount};
    what = fmt::format("{}% loss on {}'s links{}", step.amount, name, with);
  } else if (step.action == "skew") {
    command = {"FAULT", "SKEW", amount};
    what = fmt::format("{}'s clock {:+} ms", name, step.amount);
    kind = "clock";
  } else if (step.action == "drift") {
    command = {"FAULT", "DRIFT", amount};
    what = fmt::format("{}'s clock drifts {:+} ppm", name, step.amount);
    kind = "clock";
  }
  const auto reply = local::ask(cluster_.client_port(node), command, 1000);
  if (!reply || reply->rfind("+OK", 0) != 0) {
    event(fmt::format("{}: not applied ({})", what, reply ? *reply : std::string("no answer")));
    return;
  }
  open_window(what, node, kind);
}

void Nemesis::restart(int node) {
  {
    std::lock_guard lock(cluster_.mutex);
    if (!cluster_.killed.contains(node)) return;
  }
  std::string error;
  if (!local::spawn(cluster_.dir, node, false, error)) {
    event(fmt::format("restart n{} failed: {}", node, error));
    return;
  }
  {
    std::lock_guard lock(cluster_.mutex);
    cluster_.killed.erase(node);
  }
  close_windows([&](const FaultWindow& w) { return w.node == node && w.kind == "down"; });
  event(fmt::format("restart n{}", node));
}

void Nemesis::cont(int node) {
  if (const auto pid = local::read_pid(cluster_.dir, node)) ::kill(*pid, SIGCONT);
  {
    std::lock_guard lock(cluster_.mutex);
    cluster_.paused.erase(node);
  }
  close_windows([&](const FaultWindow& w) { return w.node == node && w.kind == "paused"; });
  event(fmt::format("SIGCONT n{}", node));
}

void Nemesis::event(const std::string& what) {
  const int64_t time = recorder_.nemesis(what);
  events_.push_back({{"at_ms", static_cast<double>(time) / 1e6}, {"what", what}});
}

void Nemesis::open_window(const std::string& what, int node, const std::string& kind) {
  event(what);
  windows_.push_back({what, node, kind, recorder_.now(), std::nullopt});
}

void Nemesis::close_windows(const std::function<bool(const FaultWindow&)>& matches) {
  const int64_t now = recorder_.now();
  for (auto& window : windows_) {
    if (!window.to_ns && matches(window)) window.to_ns = now;
  }
}

}  // namespace chaos
}  // namespace replikv::cli
