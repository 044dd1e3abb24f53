// Strategy: the one place a replication strategy plugs into replikv.
//
// Everything outside a strategy's own folder — the node process (runtime/), the simulator (sim/),
// `replikv cluster`, `chaos` and `demo` (cli/) — reaches a strategy only through this interface,
// looked up by its name; none of them branches on a name. A strategy brings:
//
//   - its name (one name everywhere: configuration, --strategy, the simulator, reports) and a
//     one-line summary for --help;
//   - its configuration keys (core/settings.h), checked when set, and validate() for the rules
//     between keys and the cluster, the error naming the key;
//   - a factory for its replica (core/replica.h), given the node's common context and settings;
//   - its traits: whether one node leads, where a read that must see every acknowledged write
//     goes, which read consistencies it offers and which it refuses with these settings;
//   - its promises: which checker verdicts it does not promise to keep (expected violations) for
//     given settings and run conditions — measured, reported, not failures;
//   - the commands it adds (FAILOVER for the single leader; reads that return several values,
//     writes that carry a causal context for others): their specs, listed by COMMAND, and their
//     parser, in core, into a typed StrategyCommand only its replica reads;
//   - the history checkers (src/check, by name) that judge its runs, besides its own checks of
//     storage and replicas (RunChecks), the fields it adds to history events, and the presets
//     `chaos` and `demo` run it with;
//   - what the simulator should use unless told otherwise (short timeouts, a log that compacts
//     often) and how it varies nodes within one run.
//
// Registering a strategy is one line in core/strategies.cc; a test may register its own with
// register_strategy(). docs/architecture.md shows the seam and the layers around it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/command.h"
#include "core/consistency.h"
#include "core/random.h"
#include "core/replica.h"
#include "core/settings.h"
#include "core/storage.h"
#include "core/types.h"

namespace replikv::core {

// What every node is started with, whatever the strategy: from the node's common configuration
// (runtime/config.h) or the simulator.
struct NodeContext {
  NodeId node{1};
  std::vector<NodeId> members;  // every member in id order, this node too ({node} when alone)
  std::map<uint32_t, std::string> client_addresses;  // members' client ports, for redirects
  bool fsync_always = true;                          // the node's fsync setting
  bool bootstrap = false;                            // an empty data directory founds a new cluster
  uint64_t cache_bytes_max = 64ull << 20;            // the record cache (core/record_cache.h)
};

// Nodes 1 … `nodes`, as the member list of a NodeContext (a local cluster, a simulated one).
inline std::vector<NodeId> numbered_members(int nodes) {
  std::vector<NodeId> members;
  for (int n = 1; n <= nodes; ++n) members.push_back(NodeId(static_cast<uint32_t>(n)));
  return members;
}

// A named configuration of a strategy that `replikv chaos` and `demo` run and compare: what sets
// it apart (settings), on how many nodes, reading at which consistency.
struct ChaosPreset {
  std::string name;  // unique across strategies: "async", "majority", …
  std::vector<std::pair<std::string, std::string>> settings;
  int nodes = 3;
  std::string read;     // the consistency the workload reads at
  std::string summary;  // one line for --help and the demo's table
};

// What happened in a run, beyond the settings, that changes what a strategy promises.
struct RunConditions {
  bool fsync_always = true;
  bool data_loss_accepted = false;  // an operator forced a promotion accepting data loss
  bool disk_lost = false;           // a node lost its disk (the simulator's "disk" fault)
};

// What the simulator tells a strategy about a run, for simulation_settings().
struct SimulationContext {
  uint64_t seed = 1;
  int node = 1;
  int nodes = 1;
  int64_t client_timeout_ms = 200;
};

struct StrategyTraits {
  // One node at a time takes writes (others forward or refuse, naming it).
  bool has_leader = false;
  // Runs on exactly one node: no peers, no member list.
  bool single_node = false;
  // Where a read must go to see every acknowledged write once the faults are healed: to the
  // leader (true), or to any node (false).
  bool final_reads_at_leader = false;
  // The consistencies a client may ask with CONSISTENCY (core/consistency.h), besides the default.
  std::vector<ReadConsistency> read_consistencies;
  // How often the driver ticks the replica, at most.
  TimeMs tick_interval_ms = 100;
  // How fresh a node's knowledge of its own lag is: bounded reads with a tighter bound than this
  // are mostly refused (the simulator's workload asks for this and four times this).
  TimeMs lag_known_within_ms = 100;
  // A peer not heard from for longer than this is reported offline (INFO replication).
  TimeMs peer_silence_ms_max = 1000;
  // Simulator fault kinds that mean something only here (e.g. "disk", "failover").
  std::vector<std::string> fault_kinds;
  // Writes its log and meta records in batches of their own, and the replicated state only
  // through checkpoints (and a snapshot's install): the log can live in segment files apart from
  // the state (storage/segmented_engine.h).
  bool log_apart_from_state = false;
  // Why MULTI is refused, in the error's words; empty when transactions are offered (EXEC as one
  // step; core/command.h, TransactionRequest).
  std::string transactions_refused;
  // Whether it runs the data families' commands (core/data/: GETDEL, APPEND, …), and INCRBYFLOAT
  // among them (a float sum, which only a log applied in one order keeps equal everywhere).
  bool family_commands = true;
  bool float_increments = true;
  // Whether every node takes writes to hashes, sets and sorted sets, merged element by element
  // (multi-leader: docs/multi-leader.md, "Collections").
  bool collections_merge = false;
};

// A finding of a strategy's own checker, reported beside the history's checkers.
struct CheckFinding {
  std::string checker;
  bool valid = true;
  std::string summary;
  std::vector<std::string> details;
};

// A strategy's own checks over one simulated run: invariants over time, across a node's crashes
// and restarts, and across nodes at the end (Raft's log matching, say). The simulator calls them;
// a violation is recorded, not asserted, so a broken replica's run ends with its seed and evidence.
class RunChecks {
 public:
  virtual ~RunChecks() = default;
  // Node `node` crashed: `storage` holds what survived; `before` is its status just before.
  virtual void crashed(int /*node*/, const StorageView& /*storage*/,
                       const ReplicaStatus& /*before*/) {}
  // Node `node` lost its disk: its storage was replaced by an empty one.
  virtual void wiped(int /*node*/) {}
  // Node `node` started over what its storage holds.
  virtual void started(int /*node*/, const Replica& /*replica*/) {}
  // The end of the run: each node's storage and replica (index 0 is node 1).
  virtual std::vector<CheckFinding> finish(const std::vector<const StorageView*>& storage,
                                           const std::vector<const Replica*>& replicas) = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;

  // The keys it takes. Stable for the process's life (Settings point into it).
  virtual const std::vector<SettingSpec>& setting_specs() const = 0;
  Settings default_settings() const { return Settings(setting_specs()); }
  // The rules between keys and against the cluster: nullopt, or the error naming the key.
  virtual std::optional<std::string> validate(const Settings& settings,
                                              const NodeContext& node) const = 0;

  virtual StrategyTraits traits(const Settings& settings) const = 0;
  // The consistency of a read that names none.
  virtual ReadOptions read_default(const Settings& settings) const = 0;
  // Why a read at `read` is refused with these settings (CONSISTENCY answers it), or nullopt.
  virtual std::optional<std::string> refuse_read(const ReadOptions& read,
                                                 const Settings& settings) const = 0;

  // Why a write that waits for `count` replicas (core/consistency.h's counts; WCONSISTENCY
  // answers it) is refused with these settings, or nullopt. A strategy without per-request write
  // quorums refuses every count.
  virtual std::optional<std::string> refuse_write_replicas(uint32_t count,
                                                           const Settings& settings) const;

  // Sessions (core/session.h): a position as SESSION shows and takes it, and two merged into the
  // one a connection carries on. A strategy without session reads parses none.
  virtual std::optional<SessionPosition> parse_session(std::string_view) const {
    return std::nullopt;
  }
  virtual std::string session_text(const SessionPosition&) const { return {}; }
  virtual SessionPosition merge_sessions(const SessionPosition&, const SessionPosition& b) const {
    return b;
  }

  // The commands it adds (handler CommandSpec::Handler::strategy; none by default), and the
  // parser of one of them (arity already checked): the typed command, or the error reply in
  // Redis's words.
  virtual const std::vector<CommandSpec>& commands() const;
  virtual std::variant<Request, Reply> parse_command(const CommandSpec& spec,
                                                     std::span<const std::string_view> argv) const;
  // The spec of one of its commands, by name in any case, or nullptr.
  const CommandSpec* find_command(std::string_view name) const;
  // What an operator types to move leadership to node `target` — a handover, or with `force` a
  // promotion of the target itself (accepting data loss when asked) — as arguments one of its
  // commands parses; empty when it has no such command. The simulator's "failover" fault sends
  // it (traits.fault_kinds), through parse_command like any client's.
  virtual std::vector<std::string> failover_arguments(uint32_t /*target*/, bool /*force*/,
                                                      bool /*accept_data_loss*/) const {
    return {};
  }

  // The members its history events carry beyond the common ones (check/history.h), name → JSON
  // text, for an answered operation (a write when `write`) given its reply and the session
  // position it was given: the position a write took, the causal context it carried, the quorum
  // that answered. The single leader records a write's position ("3:120"); the checkers that know
  // a field read it back. Called for every answered operation of a simulated run: keep it cheap.
  virtual HistoryFields history_fields(const Reply&, const std::optional<SessionPosition>&,
                                       bool /*write*/) const {
    return {};
  }

  // What the final reads of the simulator and chaos send for `key`, as a client types it (GET by
  // default; a strategy whose keys can hold several values reads them all), and the values a reply
  // to it holds — nullopt to read the reply as a GET's.
  virtual std::vector<std::string> final_read_arguments(const std::string& key) const {
    return {"GET", key};
  }
  virtual std::optional<std::vector<std::string>> read_values(const Reply&) const {
    return std::nullopt;
  }
  // A strategy whose writes can carry a causal context (a client's merge): the context a reply to
  // final_read_arguments holds, and the write of `value` to `key` carrying `context`, as a client
  // types it. The simulator's clients read contexts and write back with them, some gone stale by
  // then. nullopt and empty: the strategy has none.
  virtual std::optional<std::string> read_context(const Reply&) const { return std::nullopt; }
  virtual std::vector<std::string> context_write_arguments(const std::string& /*key*/,
                                                           const std::string& /*context*/,
                                                           const std::string& /*value*/) const {
    return {};
  }

  // Its configurations that chaos and the demo compare (none by default).
  virtual std::vector<ChaosPreset> chaos_presets() const { return {}; }

  // The history checkers (src/check's registry, check/checkers.h) that judge its runs in the
  // simulator and chaos. By default the five every strategy is measured by; a strategy that
  // needs another (siblings kept, counters exact) names it here and it is written in src/check.
  virtual std::vector<std::string> history_checks(const Settings&) const {
    return {"linearizable", "lost-writes", "stale-reads", "sessions", "convergence"};
  }

  // The replica of one node. `settings` were validated for `node`.
  virtual std::unique_ptr<Replica> make_replica(const StorageView& storage, Rng rng,
                                                const NodeContext& node,
                                                const Settings& settings) const = 0;
  // A warning for the operator about the replica just made (e.g. it counts toward no quorum).
  virtual std::optional<std::string> start_warning(const Replica&) const { return std::nullopt; }

  // The checks (by checker name: "linearizable", "lost-writes", "stale-reads", "sessions",
  // "commit-index", …) whose violations these settings and conditions do not promise to avoid.
  virtual std::vector<std::string> expected_violations(const Settings& settings,
                                                       const RunConditions& conditions) const = 0;

  // Its own checks of a simulated run, or nullptr when it has none.
  virtual std::unique_ptr<RunChecks> make_run_checks(const Settings&, int /*nodes*/) const {
    return nullptr;
  }

  // Settings the simulator starts from, before its caller's (short timeouts, a log that compacts
  // often) …
  virtual void simulation_settings(Settings&, const SimulationContext&) const {}
  // … and each node's variation within one run, after them (so that nodes differ where they may:
  // when they checkpoint, say).
  virtual void simulation_node_settings(Settings&, const SimulationContext&) const {}
};

// The strategy's name and its cluster-wide settings as key=value, e.g. "leader ack=majority
// failover=auto": what the peer handshake compares, so that nodes that would disagree on what is
// committed never talk.
std::string fingerprint(const Strategy& strategy, const Settings& settings);

// The registered strategies, in registration order (the built-in ones first).
std::vector<const Strategy*> strategies();
// The strategy of that name, or nullptr.
const Strategy* find_strategy(std::string_view name);
// "standalone, leader": every registered name, for error texts and --help.
std::string strategy_names();
// The first registered strategy that adds the command `name` (any case), or nullptr: for the error
// a node of another strategy gives ("FAILOVER is a command of strategy \"leader\"").
const Strategy* strategy_with_command(std::string_view name);
// Registers one more strategy (tests); its name must be new. It stays for the process's life.
void register_strategy(std::unique_ptr<Strategy> strategy);

}  // namespace replikv::core
