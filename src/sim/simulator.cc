#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "check/checkers.h"
#include "check/history.h"
#include "core/assert.h"
#include "core/encoding.h"
#include "core/random.h"
#include "core/ready_ledger.h"
#include "core/record_cache.h"
#include "core/strategy.h"
#include "sim/event_queue.h"
#include "sim/simulation.h"
#include "storage/memory_engine.h"

namespace replikv::sim {
namespace detail {

// The run's strategy settings: what the strategy asks for in simulation, then the caller's.
std::optional<std::string> run_settings(const SimOptions& options, core::Settings& out) {
  const core::Strategy* strategy = core::find_strategy(options.strategy);
  if (strategy == nullptr) return fmt::format("strategy '{}' does not exist", options.strategy);
  out = strategy->default_settings();
  strategy->simulation_settings(out, {options.seed, 0, options.nodes, options.client_timeout_ms});
  return out.set_all(options.settings, options.strategy);
}

SimResult Simulation::run() {
  // Wall time is measured for the report only; nothing in the run depends on it.
  const auto wall_started = std::chrono::steady_clock::now();
  // Two history lines of ~120 bytes per operation, plus the final reads: reserved once rather
  // than grown (and copied) by doubling.
  history_.reserve(static_cast<size_t>(options_.ops) * 2 * 128 + (1u << 20));
  link_clear_ns_.assign(static_cast<size_t>(options_.nodes * options_.nodes), 0);
  // A crash may take what a node acknowledged only when it does not sync: the checkers are told.
  if (!options_.fsync_always) check::write_nemesis(history_, check::fsync_never_event, 0);
  for (int id = 1; id <= options_.nodes; ++id) {
    auto node = std::make_unique<Node>();
    node->id = id;
    node->ledger = core::ReadyLedger(options_.fsync_always);
    node->drift_ppm = rng_.between(-100, 100);
    nodes_.push_back(std::move(node));
  }
  for (auto& node : nodes_) {
    start_node(*node);
    schedule_ticks(*node);
    if (!options_.fsync_always) schedule_writeback(*node);
  }
  clients_.resize(static_cast<size_t>(options_.clients));
  for (int i = 0; i < options_.clients; ++i) {
    clients_[static_cast<size_t>(i)].index = i;
    clients_[static_cast<size_t>(i)].process = next_process_++;
  }
  next_process_ = options_.clients;
  // Faults are drawn far past the workload's likely length (~3 ms per operation per client, more
  // when clients wait out elections); the nemesis stops when the workload ends, and the
  // schedule printed is what it applied by then.
  const int64_t duration_ms = std::max<int64_t>(
      300, static_cast<int64_t>(options_.ops) * 3 / std::max(1, options_.clients));
  const int64_t horizon_ms = duration_ms * 20;
  // The schedule has its own stream, derived from the seed: a run given the same schedule as
  // text draws exactly the same numbers for everything else, so it replays byte for byte.
  core::Rng schedule_rng(options_.seed ^ 0x6a09e667f3bcc909ULL);
  core::Rng disk_rng(options_.seed ^ 0xbb67ae8584caa73bULL);
  core::Rng failover_rng(options_.seed ^ 0x3c6ef372fe94f82bULL);
  FaultKinds kinds = options_.faults;
  // Disk losses and operator failovers where the strategy gives them a meaning (a lone node's
  // disk loss loses everything; a strategy without a leader has nothing to fail over).
  const auto offers = [&](const char* kind) {
    return std::find(traits_.fault_kinds.begin(), traits_.fault_kinds.end(), kind) !=
           traits_.fault_kinds.end();
  };
  kinds.disk = kinds.disk && offers("disk");
  kinds.failover = kinds.failover && offers("failover");
  const FaultSchedule schedule =
      options_.schedule ? *options_.schedule
                        : random_schedule(schedule_rng, disk_rng, failover_rng, kinds,
                                          options_.nodes, options_.clients, horizon_ms);
  // Schedule events run before any other at the same instant, so dropping the ones after the
  // workload leaves the order of everything else unchanged: the printed schedule replays the
  // run. They are queued one at a time (each queues the next), which keeps the event heap small.
  schedule_ = schedule;
  std::stable_sort(schedule_.begin(), schedule_.end(),
                   [](const FaultEvent& a, const FaultEvent& b) { return a.at_ms < b.at_ms; });
  queue_fault(0);
  int64_t workload_done_ns = -1;
  for (auto& client : clients_) next_operation(client);

  // Phase one: the workload under faults. Then heal, quiesce, and read everything back.
  bool final_started = false;
  int64_t quiet_until_ns = -1;
  int64_t settle_until_ns = -1;
  // A bound on virtual time: a run that has not finished by then is stuck (a liveness bug).
  const int64_t virtual_ns_max =
      (horizon_ms + 120'000) * ns_per_ms +
      static_cast<int64_t>(options_.ops) * options_.client_timeout_ms * ns_per_ms;
  bool stuck = false;
  while (true) {
    if (events_.now_ns() > virtual_ns_max) {
      stuck = true;
      break;
    }
    const bool workload_done =
        stats_.invoked >= options_.ops &&
        std::none_of(clients_.begin(), clients_.end(), [](const Client& c) { return c.busy; });
    if (!final_started && workload_done) {
      if (quiet_until_ns < 0) {
        nemesis_stopped_ = true;
        workload_done_ns = events_.now_ns();
        // Heal (again) and let everything settle before reading back.
        for (auto& node : nodes_) {
          if (!node->up) start_node(*node);
          if (node->paused) apply({0, FaultEvent::Kind::resume, node->id});
        }
        apply({0, FaultEvent::Kind::heal});
        quiet_until_ns = events_.now_ns() + quiesce_ms * ns_per_ms;
        settle_until_ns = events_.now_ns() + settle_ms_max * ns_per_ms;
        events_.at(quiet_until_ns, [] {});
      } else if (events_.now_ns() >= quiet_until_ns && events_.now_ns() < settle_until_ns &&
                 std::any_of(nodes_.begin(), nodes_.end(), [](const auto& node) {
                   return node->replica->status().receiving_state;
                 })) {
        // A snapshot install takes as long as it takes: settling waits for it (bounded, so an
        // install that never ends still shows as a failure to converge).
        quiet_until_ns = events_.now_ns() + 50 * ns_per_ms;
        events_.at(quiet_until_ns, [] {});
      } else if (events_.now_ns() >= quiet_until_ns) {
        final_started = true;
        for (auto& node : nodes_) {
          check::write_digest(history_, node->id, check::json_string(digest(*node)),
                              events_.now_ns());
        }
        start_final_phase();
      }
    }
    if (final_started && final_reads_.empty() && !clients_[0].busy) break;
    if (!events_.step()) break;
    ++stats_.events;
  }
  stats_.virtual_duration_ns = events_.now_ns();
  stats_.simulation_wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - wall_started)
                                  .count();
  for (auto& node : nodes_) {
    check::write_digest(history_, node->id, check::json_string(digest(*node)), events_.now_ns());
  }

  SimResult result;
  for (auto& node : nodes_) {
    const core::ReplicaStatus status = node->replica->status();
    count_strategy_metrics(status);
    note_protocol_violations(node->id, status);
    const std::string brief = status.brief();
    result.nodes.push_back(
        fmt::format("node {}: {}{}{} applied {} keys {}{}{}", node->id, status.state,
                    brief.empty() ? "" : " ", brief, status.applied_index.value(), status.key_count,
                    status.leader ? fmt::format(" leader {}", status.leader->value()) : "",
                    status.receiving_state ? " (receiving state)" : ""));
  }
  // The strategy's counters over the run, for the checkers that compare them with the history
  // (lww's discarded writes against the writes the history shows lost).
  for (const auto& [name, value] : stats_.strategy_counters) {
    check::write_counter(history_, name, static_cast<int64_t>(value), events_.now_ns());
  }
  result.history = fmt::to_string(history_);
  FaultSchedule applied;
  for (const auto& event : schedule) {
    if (workload_done_ns < 0 || event.at_ms * ns_per_ms < workload_done_ns)
      applied.push_back(event);
  }
  result.schedule = to_text(applied);
  result.stats = stats_;
  std::istringstream input(result.history);
  auto parsed = check::parse_history(input);
  if (auto* error = std::get_if<check::ParseError>(&parsed)) {
    std::fprintf(stderr, "history line %zu: %s\n", error->line, error->message.c_str());
  }
  REPLIKV_ASSERT(std::holds_alternative<check::History>(parsed),
                 "the simulator writes valid histories");
  const check::History& history = std::get<check::History>(parsed);
  // The history checkers the strategy is judged by (validate() found each one).
  for (const auto& name : strategy_->history_checks(settings_)) {
    const check::HistoryChecker* checker = check::find_checker(name);
    REPLIKV_ASSERT(checker != nullptr, "validate() found the strategy's checkers");
    result.checks.push_back(checker->run(history));
  }
  // The Ready contract, as each node's ledger saw it driven (core/ready_ledger.h).
  uint64_t early_sends = 0, early_replies = 0;
  std::vector<std::string> early_evidence;
  for (const auto& node : nodes_) {
    early_sends += node->ledger.early_violations();
    early_replies += node->ledger.replies_released_before_durable();
    if (node->ledger.early_violations() > 0) {
      early_evidence.push_back(
          fmt::format("node {}: {}", node->id, node->ledger.first_early_violation()));
    }
  }
  if (!traits_.single_node || early_sends > 0) {
    result.checks.push_back(
        {"early-sends",
         early_sends == 0 ? check::Verdict::valid : check::Verdict::invalid,
         early_sends == 0
             ? std::string("only log shipments left before their Ready was durable")
             : fmt::format("{} message(s) left before their Ready was durable", early_sends),
         early_evidence,
         {}});
  }
  result.checks.push_back(
      {"protocol",
       protocol_violations_ == 0 ? check::Verdict::valid : check::Verdict::invalid,
       protocol_violations_ == 0
           ? std::string("no peer message broke the protocol")
           : fmt::format("{} peer message(s) broke the protocol (dropped)", protocol_violations_),
       protocol_evidence_,
       {{"peer_protocol_violations", static_cast<double>(protocol_violations_)}}});
  result.checks.push_back(
      {"replies-durable",
       early_replies == 0 ? check::Verdict::valid : check::Verdict::invalid,
       early_replies == 0
           ? std::string("every reply left after its Ready was durable")
           : fmt::format("{} repl(ies) left before their Ready was durable", early_replies),
       {},
       {{"replies_released_before_durable", static_cast<double>(early_replies)}}});
  if (options_.transactions > 0) {
    result.checks.push_back(
        {"transactions",
         transaction_violations_ == 0 ? check::Verdict::valid : check::Verdict::invalid,
         transaction_violations_ == 0
             ? fmt::format("{} transactional keys checked {} times: every node held each "
                           "transaction whole or not at all",
                           transaction_keys_.size(), transaction_checks_)
             : fmt::format("{} times a node held part of a transaction{}", transaction_violations_,
                           options_.collections ? " (or collections of unequal sizes)" : ""),
         transaction_evidence_,
         {{"transaction_checks", static_cast<double>(transaction_checks_)}}});
  }
  if (queue_ops()) result.checks.push_back(check_queue());
  if (!leaders_by_term_.empty() || !election_violations_.empty()) {
    result.checks.push_back(
        {"one-leader",
         election_violations_.empty() ? check::Verdict::valid : check::Verdict::invalid,
         election_violations_.empty()
             ? fmt::format("{} terms with a leader, never two in one", leaders_by_term_.size())
             : fmt::format("{} terms with two leaders", election_violations_.size()),
         election_violations_,
         {}});
  }
  // The strategy's own checks (Raft's log matching and commit index, say).
  if (run_checks_) {
    std::vector<const core::StorageView*> storage;
    std::vector<const core::Replica*> replicas;
    for (const auto& node : nodes_) {
      storage.push_back(&node->engine);
      replicas.push_back(node->replica.get());
    }
    for (auto& finding : run_checks_->finish(storage, replicas)) {
      result.checks.push_back({finding.checker,
                               finding.valid ? check::Verdict::valid : check::Verdict::invalid,
                               std::move(finding.summary),
                               std::move(finding.details),
                               {}});
    }
  }
  if (stuck) {
    result.checks.push_back({"liveness",
                             check::Verdict::invalid,
                             fmt::format("the run did not finish within {} s of virtual time",
                                         virtual_ns_max / 1'000'000'000),
                             {},
                             {}});
  }
  // What the strategy does not promise with these settings, in this run: measured, not failed.
  result.expected_violations = strategy_->expected_violations(
      settings_, {options_.fsync_always, stats_.data_loss_promotions > 0, stats_.disk_losses > 0});
  return result;
}

}  // namespace detail

using detail::run_settings;
using detail::Simulation;

// A check that found a violation, or could not decide (its budget ran out: unknown), fails the
// run unless the settings do not promise it — an undecided check is not a pass.
bool SimResult::failed() const {
  for (const auto& check : checks) {
    const bool expected = std::find(expected_violations.begin(), expected_violations.end(),
                                    check.checker) != expected_violations.end();
    if (check.verdict != check::Verdict::valid && !expected) return true;
  }
  return false;
}

std::optional<std::string> validate(const SimOptions& options) {
  if (options.nodes < 1 || options.nodes > 9) return std::string("nodes: 1 to 9");
  const core::Strategy* strategy = core::find_strategy(options.strategy);
  if (strategy == nullptr) {
    return fmt::format("strategy '{}' does not exist (available: {})", options.strategy,
                       core::strategy_names());
  }
  core::Settings settings;
  if (auto error = run_settings(options, settings)) return error;
  if (!options.make_replica) {
    if (strategy->traits(settings).single_node && options.nodes != 1) {
      return fmt::format("the {} strategy runs exactly one node", options.strategy);
    }
    core::NodeContext node;
    node.members = core::numbered_members(options.nodes);
    if (auto error = strategy->validate(settings, node)) return error;
  }
  for (const auto& name : strategy->history_checks(settings)) {
    if (check::find_checker(name) == nullptr) {
      return fmt::format(
          "strategy '{}' names the history checker '{}', which does not exist "
          "(registered: {})",
          options.strategy, name, check::checker_names());
    }
  }
  if (options.merges > 0 && strategy->context_write_arguments("k", "c", "v").empty()) {
    return fmt::format("--merges: the {} strategy's writes carry no context", options.strategy);
  }
  if (options.deletes < 0 || options.deletes > 33) return std::string("deletes: 0 to 33 percent");
  if (options.family_commands < 0 || options.family_commands > 100)
    return std::string("family commands: 0 to 100 percent");
  if (options.transactions < 0 || options.transactions > 100)
    return std::string("transactions: 0 to 100 percent");
  if (options.collections && options.transactions == 0 &&
      !strategy->traits(settings).collections_merge)
    return std::string(
        "--collections goes with --transactions (or with a strategy whose collections merge: "
        "multi-leader)");
  if (options.transactions > 0 && !strategy->traits(settings).transactions_refused.empty())
    return fmt::format("--transactions: the {} strategy offers no transactions", options.strategy);
  if (options.merges < 0 || options.merges > 100) return std::string("merges: 0 to 100 percent");
  if (options.counter_resets < 0 || options.counter_resets > 100)
    return std::string("counter resets: 0 to 100 percent");
  if (options.clients < 1 || options.clients > 1000) return std::string("clients: 1 to 1000");
  if (options.keys < 1 || options.keys > 100000) return std::string("keys: 1 to 100000");
  if (options.client_timeout_ms < 1) return std::string("client timeout: at least 1 ms");
  return std::nullopt;
}

SimResult run_simulation(const SimOptions& options) { return Simulation(options).run(); }

FaultSchedule shrink_schedule(const SimOptions& options, const FaultSchedule& schedule,
                              int runs_max) {
  SimOptions trial = options;
  FaultSchedule current = schedule;
  int runs = 0;
  bool removed_any = true;
  while (removed_any && runs < runs_max) {
    removed_any = false;
    for (size_t i = 0; i < current.size() && runs < runs_max;) {
      FaultSchedule candidate = current;
      candidate.erase(candidate.begin() + static_cast<std::ptrdiff_t>(i));
      trial.schedule = candidate;
      ++runs;
      if (run_simulation(trial).failed()) {
        current = std::move(candidate);  // still fails without it: it was not needed
        removed_any = true;
      } else {
        ++i;
      }
    }
  }
  return current;
}

std::string replay_command(const SimOptions& options) {
  std::string faults;
  const FaultKinds& k = options.faults;
  for (auto [on, name] : {std::pair{k.kill, "kill"},
                          {k.pause, "pause"},
                          {k.partition, "partition"},
                          {k.drop, "drop"},
                          {k.dup, "dup"},
                          {k.skew, "skew"},
                          {k.disk, "disk"},
                          {k.failover, "failover"}}) {
    if (on) faults += (faults.empty() ? "" : ",") + std::string(name);
  }
  // The strategy's settings given to this run, as the flags `replikv sim` takes for them.
  std::string settings;
  const core::Strategy* strategy = core::find_strategy(options.strategy);
  for (const auto& [key, value] : options.settings) {
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    const bool boolean =
        strategy != nullptr &&
        std::any_of(strategy->setting_specs().begin(), strategy->setting_specs().end(),
                    [&](const core::SettingSpec& spec) {
                      return spec.name == key && spec.kind == core::SettingSpec::Kind::boolean;
                    });
    if (!boolean) {
      settings += fmt::format(" --{} {}", flag, value);
    } else {
      settings += value == "true" ? " --" + flag : " --no-" + flag;
    }
  }
  return fmt::format(
      "replikv sim --strategy {} --nodes {} --seed {} --ops {} --clients {} --keys {} --timeout-ms "
      "{} --faults {} --fsync {}{}{}{}{}{}{}{}{}{}{}{}{}",
      options.strategy, options.nodes, options.seed, options.ops, options.clients, options.keys,
      options.client_timeout_ms, faults.empty() ? "none" : faults,
      options.fsync_always ? "always" : "never", settings,
      options.reorder_all ? " --reorder-all" : "",
      options.mixed_reads ? "" : " --linearizable-reads-only",
      options.broken_ack_before_sync ? " --broken ack-before-sync" : "",
      options.broken_messages_early ? " --broken messages-early" : "",
      options.counters > 0 ? fmt::format(" --counters {}", options.counters) : "",
      options.deletes > 0 ? fmt::format(" --deletes {}", options.deletes) : "",
      options.family_commands > 0 ? fmt::format(" --family-commands {}", options.family_commands)
                                  : "",
      options.transactions > 0 ? fmt::format(" --transactions {}", options.transactions) : "",
      options.collections ? " --collections" : "",
      options.merges > 0 ? fmt::format(" --merges {}", options.merges) : "",
      options.counter_resets > 0 ? fmt::format(" --counter-resets {}", options.counter_resets)
                                 : "");
}

}  // namespace replikv::sim
