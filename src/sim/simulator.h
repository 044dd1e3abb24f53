// The deterministic simulator: replicas, clients, network and disks on virtual time, from one
// seed.
//
// A run: N nodes, each a core::Replica over its own MemoryEngine, driven by the Ready contract
// (core/ready.h) exactly as the real runtime drives it — batches written at once, syncs that take
// virtual time and cover every batch written before them (group commit), replies released only
// when durable. Clients issue reads, writes and unique-key inserts through a network with
// per-link latency, loss, duplication and cuts; an operation without a reply by its timeout ends
// `info` and the client continues under a new process id, as in Jepsen. A nemesis follows a fault
// schedule (sim/faults.h). Then every fault is healed, the system quiesces, every key is read from
// every node (the final phase), and digests are recorded. The history (check/history.h's JSON
// Lines) is judged by every checker.
//
// Determinism: one core::Rng draws everything, in event order; virtual time is integer
// nanoseconds; the event queue breaks ties by insertion order. Same options, same history, byte
// for byte, on every build.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "check/verdict.h"
#include "core/random.h"
#include "core/replica.h"
#include "core/storage.h"
#include "core/strategy.h"
#include "sim/faults.h"

namespace replikv::sim {

// Builds the replica of one node over its storage, with the node's context as the simulator
// makes it (its id, the members, fsync, whether this start founds the cluster). The simulator
// runs any core::Replica.
using ReplicaFactory = std::function<std::unique_ptr<core::Replica>(
    const core::StorageView& storage, const core::NodeContext& node, core::Rng rng)>;

struct SimOptions {
  uint64_t seed = 1;
  // The strategy (core/strategy.h) by name, and its settings: those given here over the ones the
  // strategy asks for in simulation (Strategy::simulation_settings: short timeouts, a log that
  // compacts all the time, snapshots in many small chunks).
  std::string strategy = "standalone";
  std::map<std::string, std::string> settings;
  int nodes = 1;
  int clients = 8;
  int keys = 8;
  // Counter keys ("c0", …) the workload increments (INCRBY, half with an ID) beside the registers;
  // 0: none (the workload draws as it did before counters existed).
  int counters = 0;
  // Deletes (DEL): this percentage of the operations (at most 33), taken from the register writes;
  // 0: none (the workload draws as it did before deletes existed).
  int deletes = 0;
  // The data families' log entries under every fault: this percentage of the deletes go as
  // GETDEL, and of the increments without an ID as INCRBYFLOAT (where the strategy offers it: the
  // single leader and standalone). Their effect is the register's or the counter's, so every
  // checker judges them as it judges DEL and INCRBY. 0: none (the draws of runs before it).
  int family_commands = 0;
  // Transactions (MULTI … EXEC), where the strategy offers them: this percentage of the register
  // writes and deletes also write the key's mirror ("<key>~") in the same transaction; after
  // every step of every node, each such key and its mirror must hold the same value (the
  // "transactions" check: all or nothing on every replica at every moment). 0: none.
  int transactions = 0;
  // With transactions: each transactional write also appends to four collections of the key —
  // a list, a hash, a set and a sorted set, each given one element named by the operation — and
  // a transactional delete deletes them, in the same transaction. After every step of every node
  // the four hold the same number of elements, counted element by element (the "transactions"
  // check), and the convergence digest compares their contents; and a queue beside the operations
  // (RPUSH of new elements, LPOP and BLPOP at any node, each reply read for what it did) is held
  // to popping each element at most once and losing none (the "queue" check). Under a strategy
  // whose collections merge (multi-leader), no transactions: the counters are a hash field
  // (HINCRBY, read with HGET) or a sorted-set score (ZINCRBY, ZSCORE) — the counters checker holds
  // them to every increment — and a third of the operations also send a write of another kind to a
  // set, hash or sorted set (SADD, SREM, HDEL, ZREM, DEL, SUNIONSTORE …), judged by convergence.
  bool collections = false;
  // Merges, for a strategy whose writes can carry a context (Strategy::read_context): this
  // percentage of the reads read every value and the context (VGET), and of the writes to a key
  // the client has read that way write back with the context it read last (VSET) — stale when
  // other writes came since. 0: none.
  int merges = 0;
  // With counters: this percentage of the reads, deletes and writes (merges among them) go to a
  // counter key — resets of its increments. The counters checker judges only the counters no
  // reset touched; convergence judges them all. 0: none.
  int counter_resets = 0;
  uint64_t ops = 2000;
  int64_t client_timeout_ms = 200;
  bool fsync_always = true;
  int64_t fsync_latency_us_min = 50;
  int64_t fsync_latency_us_max = 2000;
  // With fsync "never" the operating system still writes back now and then.
  int64_t os_writeback_interval_ms = 1000;
  FaultKinds faults = {true, true, true, true, true, true, true, true};
  // The network: links between nodes keep their order (as the real transport's TCP connections
  // do) except a 1% tail of messages delayed tenfold, which are overtaken; with reorder_all every
  // message takes its own latency and any two may swap (a harsher network than TCP gives).
  bool reorder_all = false;
  // Reads at every consistency the strategy offers (session, bounded, eventual beside the
  // default); off, every read at the default, as runs were before consistencies existed.
  bool mixed_reads = true;
  std::optional<FaultSchedule> schedule;  // replaces the random one
  // Test only: a replica that acknowledges before syncing (every Ready demands no sync).
  bool broken_ack_before_sync = false;
  // Test only: a replica whose every message may leave before its Ready is durable.
  bool broken_messages_early = false;
  // Test only: a driver that releases replies as soon as their batch is written, before the sync
  // the Ready asks for.
  bool broken_release_early = false;
  // Replaces the strategy's replica (tests of the simulator itself).
  ReplicaFactory make_replica;
  // The PBS experiment's workload (sim/pbs.h) when not empty: each client writes its own key
  // ("p<client>") and reads it once after each acknowledged write, this long after the
  // acknowledgement (µs, one of these drawn uniformly); no other operation.
  std::vector<int64_t> pbs_read_delays_us;
  // With it: the node each client's writes go to (by client index; 1-based node ids) — one node
  // coordinates every write of a key, so their timestamps follow one clock. Reads go anywhere.
  std::vector<int> pbs_write_nodes;
};

struct SimStats {
  uint64_t invoked = 0, ok = 0, failed = 0, unknown = 0;  // the workload's and final reads'
  uint64_t final_reads = 0;
  uint64_t deletes = 0, merges = 0;  // DELs, and writes carrying a context read earlier
  uint64_t family_commands = 0;      // GETDELs and INCRBYFLOATs sent (SimOptions::family_commands)
  uint64_t transactions = 0;         // MULTI … EXEC sent (SimOptions::transactions)
  uint64_t collection_writes = 0;    // sent beside the operations (SimOptions::collections)
  uint64_t crashes = 0, pauses = 0, cuts = 0, disk_losses = 0;
  uint64_t handovers = 0, forced_promotions = 0;  // operator failovers sent
  uint64_t failovers_done = 0;                    // … answered OK (the target led)
  uint64_t strands = 0;                           // leaders cut off one way, then killed
  uint64_t data_loss_promotions = 0;              // forced promotions that accepted data loss
  // Crashes that struck a node while it received state in bulk (a snapshot).
  uint64_t crashes_mid_install = 0;
  // Crashes that kept some of the batches written since the last sync (a power loss that found
  // part of them on the disk: a prefix, as the engines recover it), and how many they kept.
  uint64_t crashes_keeping_unsynced = 0, unsynced_batches_kept = 0;
  // The strategy's counter metrics (core/status.h), summed over every node and every life of it
  // (a crash ends one): the single leader's snapshots_installed, rollback_entries, ….
  std::map<std::string, uint64_t, std::less<>> strategy_counters;
  uint64_t counter(std::string_view name) const {
    const auto it = strategy_counters.find(name);
    return it == strategy_counters.end() ? 0 : it->second;
  }
  uint64_t messages_sent = 0, messages_dropped = 0, messages_duplicated = 0, messages_reordered = 0;
  int64_t virtual_duration_ns = 0;
  int64_t simulation_wall_ns = 0;  // the run without the checkers (report only)
  uint64_t events = 0;
};

struct SimResult {
  std::string history;   // JSON Lines
  std::string schedule;  // the fault schedule, as text
  SimStats stats;
  std::vector<check::CheckResult> checks;
  std::vector<std::string> nodes;  // each node at the end: role, term, positions
  // Violations the strategy and settings do not promise to avoid (e.g. lost writes with fsync
  // "never"): reported, not failures.
  std::vector<std::string> expected_violations;
  // An unexpected violation, or a check that could not decide (unknown) and was promised.
  bool failed() const;
};

// Runs one simulation. Returns the error text for options it cannot run.
std::optional<std::string> validate(const SimOptions& options);
SimResult run_simulation(const SimOptions& options);

// Shrinks a failing run's fault schedule: removes events one at a time, keeping each removal
// after which the run still fails, until no single event can go. Returns the smallest failing
// schedule found (the original when the run passes). `runs_max` bounds the work.
FaultSchedule shrink_schedule(const SimOptions& options, const FaultSchedule& schedule,
                              int runs_max = 500);

// The command line that replays a run.
std::string replay_command(const SimOptions& options);

}  // namespace replikv::sim
