#include "sim/faults.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

namespace replikv::sim {
namespace {

std::string endpoint_name(int endpoint) {
  return endpoint < 0 ? fmt::format("c{}", -endpoint - 1) : std::to_string(endpoint);
}

std::optional<int> parse_endpoint(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    if (text[0] == 'c') return -std::stoi(text.substr(1)) - 1;
    return std::stoi(text);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<FaultKinds> parse_fault_kinds(const std::string& text) {
  FaultKinds kinds;
  if (text == "none" || text.empty()) return kinds;
  if (text == "all") return FaultKinds{true, true, true, true, true, true, true, true};
  std::stringstream words(text);
  std::string word;
  while (std::getline(words, word, ',')) {
    if (word == "kill")
      kinds.kill = true;
    else if (word == "pause")
      kinds.pause = true;
    else if (word == "partition")
      kinds.partition = true;
    else if (word == "drop")
      kinds.drop = true;
    else if (word == "dup")
      kinds.dup = true;
    else if (word == "skew")
      kinds.skew = true;
    else if (word == "disk")
      kinds.disk = true;
    else if (word == "failover")
      kinds.failover = true;
    else
      return std::nullopt;
  }
  return kinds;
}

FaultSchedule random_schedule(core::Rng& rng, core::Rng& disk_rng, core::Rng& failover_rng,
                              const FaultKinds& kinds, int nodes, int clients,
                              int64_t duration_ms) {
  FaultSchedule schedule;
  if (!kinds.any() || duration_ms <= 0) return schedule;
  const bool disk_only = kinds.disk && !(kinds.kill || kinds.pause || kinds.partition ||
                                         kinds.drop || kinds.dup || kinds.skew);
  std::vector<FaultEvent::Kind> choices;
  if (kinds.kill) choices.push_back(FaultEvent::Kind::kill);
  if (kinds.pause) choices.push_back(FaultEvent::Kind::pause);
  if (kinds.partition) choices.push_back(FaultEvent::Kind::partition);
  if (kinds.drop) choices.push_back(FaultEvent::Kind::drop);
  if (kinds.dup) choices.push_back(FaultEvent::Kind::dup);
  if (kinds.skew) choices.push_back(FaultEvent::Kind::skew);
  // Faults arrive every 20–200 ms and last 5–150 ms; the last 10% of the run is quiet.
  const int64_t quiet_from_ms = duration_ms * 9 / 10;
  int64_t at_ms = rng.between(10, 100);
  while (!disk_only && at_ms < quiet_from_ms) {
    const auto kind = choices[rng.below(choices.size())];
    const int64_t until_ms = std::min(quiet_from_ms, at_ms + rng.between(5, 150));
    const int node = static_cast<int>(rng.between(1, nodes));
    switch (kind) {
      case FaultEvent::Kind::kill:
        schedule.push_back({at_ms, FaultEvent::Kind::kill, node});
        schedule.push_back({until_ms, FaultEvent::Kind::restart, node});
        break;
      case FaultEvent::Kind::pause:
        schedule.push_back({at_ms, FaultEvent::Kind::pause, node});
        schedule.push_back({until_ms, FaultEvent::Kind::resume, node});
        break;
      case FaultEvent::Kind::partition: {
        // Cut a random set of links, some one way only: between nodes, and between a client and
        // a node.
        const int cuts = static_cast<int>(rng.between(1, 3));
        for (int i = 0; i < cuts; ++i) {
          const bool between_nodes = nodes > 1 && rng.chance(1, 2);
          const int from = between_nodes
                               ? static_cast<int>(rng.between(1, nodes))
                               : -static_cast<int>(rng.below(static_cast<uint64_t>(clients))) - 1;
          int to = static_cast<int>(rng.between(1, nodes));
          if (to == from) continue;
          FaultEvent cut{at_ms, FaultEvent::Kind::partition};
          cut.from = from;
          cut.to = to;
          schedule.push_back(cut);
          if (rng.chance(1, 2)) std::swap(cut.from, cut.to), schedule.push_back(cut);
        }
        schedule.push_back({until_ms, FaultEvent::Kind::heal});
        break;
      }
      case FaultEvent::Kind::drop:
      case FaultEvent::Kind::dup: {
        FaultEvent on{at_ms, kind};
        on.amount = rng.between(10, 200);
        schedule.push_back(on);
        FaultEvent off{until_ms, kind};
        schedule.push_back(off);
        break;
      }
      case FaultEvent::Kind::skew: {
        FaultEvent skew{at_ms, FaultEvent::Kind::skew, node};
        skew.amount = rng.between(-2000, 2000);
        schedule.push_back(skew);
        break;
      }
      default:
        break;
    }
    at_ms += rng.between(20, 200);
  }
  // A disk loss in half the runs: early (the nemesis stops with the workload, which the elections
  // of a faulty run stretch well past the nominal duration), back 5–500 ms later.
  if (kinds.disk && nodes >= 3 && disk_rng.chance(1, 2)) {
    const int64_t wipe_ms = disk_rng.between(duration_ms / 20, duration_ms / 4);
    const int node = static_cast<int>(disk_rng.between(1, nodes));
    schedule.push_back({wipe_ms, FaultEvent::Kind::wipe, node});
    schedule.push_back({std::min(quiet_from_ms, wipe_ms + disk_rng.between(5, 500)),
                        FaultEvent::Kind::restart, node});
  }
  // Operator failovers in two runs of three: a few handovers and forced promotions, early (as the
  // disk loss, so they land while the workload runs).
  if (kinds.failover && nodes >= 2 && failover_rng.chance(2, 3)) {
    const int events = static_cast<int>(failover_rng.between(1, 3));
    for (int i = 0; i < events; ++i) {
      FaultEvent event{
          failover_rng.between(duration_ms / 40, duration_ms / 4),
          failover_rng.chance(2, 3) ? FaultEvent::Kind::handover : FaultEvent::Kind::force,
          static_cast<int>(failover_rng.between(1, nodes))};
      schedule.push_back(event);
    }
    // A stranded leader in one run of two of those: cut off one way, then killed.
    if (failover_rng.chance(1, 2)) {
      FaultEvent strand{failover_rng.between(duration_ms / 40, duration_ms / 4),
                        FaultEvent::Kind::strand};
      strand.amount = failover_rng.between(20, 200);
      schedule.push_back(strand);
    }
  }
  std::stable_sort(schedule.begin(), schedule.end(),
                   [](const FaultEvent& a, const FaultEvent& b) { return a.at_ms < b.at_ms; });
  for (int node = 1; node <= nodes; ++node) {
    schedule.push_back({quiet_from_ms, FaultEvent::Kind::restart, node});
    schedule.push_back({quiet_from_ms, FaultEvent::Kind::resume, node});
  }
  schedule.push_back({quiet_from_ms, FaultEvent::Kind::heal});
  return schedule;
}

std::string to_text(const FaultSchedule& schedule) {
  std::string out;
  for (const auto& event : schedule) {
    switch (event.kind) {
      case FaultEvent::Kind::kill:
        out += fmt::format("{} kill {}\n", event.at_ms, event.node);
        break;
      case FaultEvent::Kind::wipe:
        out += fmt::format("{} wipe {}\n", event.at_ms, event.node);
        break;
      case FaultEvent::Kind::handover:
        out += fmt::format("{} handover {}\n", event.at_ms, event.node);
        break;
      case FaultEvent::Kind::force:
        out += fmt::format("{} force {}{}\n", event.at_ms, event.node,
                           event.amount == 1 ? " accept-data-loss" : "");
        break;
      case FaultEvent::Kind::strand:
        out += fmt::format("{} strand {}\n", event.at_ms, event.amount);
        break;
      case FaultEvent::Kind::isolate:
        out += fmt::format("{} isolate {}\n", event.at_ms, event.amount);
        break;
      case FaultEvent::Kind::drift:
        out += fmt::format("{} drift {} {}\n", event.at_ms, event.node, event.amount);
        break;
      case FaultEvent::Kind::restart:
        out += fmt::format("{} restart {}\n", event.at_ms, event.node);
        break;
      case FaultEvent::Kind::pause:
        out += fmt::format("{} pause {}\n", event.at_ms, event.node);
        break;
      case FaultEvent::Kind::resume:
        out += fmt::format("{} resume {}\n", event.at_ms, event.node);
        break;
      case FaultEvent::Kind::partition:
        out += fmt::format("{} partition {}-{}\n", event.at_ms, endpoint_name(event.from),
                           endpoint_name(event.to));
        break;
      case FaultEvent::Kind::heal:
        out += fmt::format("{} heal\n", event.at_ms);
        break;
      case FaultEvent::Kind::drop:
        out += fmt::format("{} drop {}\n", event.at_ms, event.amount);
        break;
      case FaultEvent::Kind::dup:
        out += fmt::format("{} dup {}\n", event.at_ms, event.amount);
        break;
      case FaultEvent::Kind::skew:
        out += fmt::format("{} skew {} {}\n", event.at_ms, event.node, event.amount);
        break;
    }
  }
  return out;
}

std::optional<FaultSchedule> parse_schedule(const std::string& text, std::string& error) {
  FaultSchedule schedule;
  std::stringstream lines(text);
  std::string line;
  size_t number = 0;
  int64_t last_ms = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::stringstream words(line);
    FaultEvent event;
    std::string kind;
    if (!(words >> event.at_ms >> kind) || event.at_ms < last_ms) {
      error = fmt::format("line {}: expected '<at_ms> <fault> …' in time order: {}", number, line);
      return std::nullopt;
    }
    last_ms = event.at_ms;
    bool ok = true;
    if (kind == "kill" || kind == "restart" || kind == "pause" || kind == "resume" ||
        kind == "wipe" || kind == "handover" || kind == "force") {
      event.kind = kind == "kill"       ? FaultEvent::Kind::kill
                   : kind == "wipe"     ? FaultEvent::Kind::wipe
                   : kind == "handover" ? FaultEvent::Kind::handover
                   : kind == "force"    ? FaultEvent::Kind::force
                   : kind == "restart"  ? FaultEvent::Kind::restart
                   : kind == "pause"    ? FaultEvent::Kind::pause
                                        : FaultEvent::Kind::resume;
      ok = static_cast<bool>(words >> event.node) && event.node >= 1;
      std::string option;
      if (ok && event.kind == FaultEvent::Kind::force && words >> option) {
        ok = option == "accept-data-loss";
        event.amount = 1;
      }
    } else if (kind == "partition") {
      event.kind = FaultEvent::Kind::partition;
      std::string link;
      ok = static_cast<bool>(words >> link);
      const size_t dash = link.find('-');
      const auto from =
          ok && dash != std::string::npos ? parse_endpoint(link.substr(0, dash)) : std::nullopt;
      const auto to =
          ok && dash != std::string::npos ? parse_endpoint(link.substr(dash + 1)) : std::nullopt;
      ok = from && to;
      if (ok) event.from = *from, event.to = *to;
    } else if (kind == "heal") {
      event.kind = FaultEvent::Kind::heal;
    } else if (kind == "drop" || kind == "dup") {
      event.kind = kind == "drop" ? FaultEvent::Kind::drop : FaultEvent::Kind::dup;
      ok = static_cast<bool>(words >> event.amount) && event.amount >= 0 && event.amount <= 1000;
    } else if (kind == "strand" || kind == "isolate") {
      event.kind = kind == "strand" ? FaultEvent::Kind::strand : FaultEvent::Kind::isolate;
      ok = static_cast<bool>(words >> event.amount) && event.amount >= 0;
    } else if (kind == "drift") {
      event.kind = FaultEvent::Kind::drift;
      ok = static_cast<bool>(words >> event.node >> event.amount) && event.node >= 0 &&
           event.amount > -1'000'000;
    } else if (kind == "skew") {
      event.kind = FaultEvent::Kind::skew;
      ok = static_cast<bool>(words >> event.node >> event.amount) && event.node >= 1;
    } else {
      ok = false;
    }
    if (!ok) {
      error = fmt::format("line {}: cannot read fault: {}", number, line);
      return std::nullopt;
    }
    schedule.push_back(event);
  }
  return schedule;
}

}  // namespace replikv::sim
