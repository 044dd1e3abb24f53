// The simulation of one run (sim/simulator.h), split by what it simulates: the network
// (sim/network.cc), the nodes and the Ready contract (sim/nodes.cc), the clients and their history
// (sim/workload.cc), the fault schedule (sim/fault_events.cc), the run and its judgement
// (sim/simulator.cc). Internal to src/sim.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "check/history.h"
#include "core/assert.h"
#include "core/random.h"
#include "core/ready_ledger.h"
#include "core/strategy.h"
#include "sim/event_queue.h"
#include "sim/simulator.h"
#include "storage/memory_engine.h"

namespace replikv::sim::detail {

inline constexpr int64_t ns_per_ms = 1'000'000;
inline constexpr int64_t ns_per_us = 1'000;
// The virtual wall clock starts at a fixed date, so expiry arithmetic looks like production's.
inline constexpr int64_t epoch_ms = 1'700'000'000'000;
inline constexpr int64_t tick_interval_ms = 10;
inline constexpr int64_t quiesce_ms = 500;
inline constexpr uint64_t admin_connection = 1'000'000;  // the operator's (failover) connection
// The connection of the collection writes sent beside the operations (SimOptions::collections,
// multi-leader): their replies are not awaited, their effect judged by convergence.
inline constexpr uint64_t churn_connection = 1'000'001;
// The connection of the queue's pushes and pops (SimOptions::collections, single leader and
// standalone): each reply is read for what it pushed or popped (the "queue" check).
inline constexpr uint64_t queue_connection = 1'000'002;
inline constexpr int64_t settle_ms_max =
    5000;  // quiescing, at most, while a snapshot install goes on

// The run's strategy settings: what the strategy asks for in simulation, then the caller's.
std::optional<std::string> run_settings(const SimOptions& options, core::Settings& out);

struct Node {
  int id = 0;
  storage::MemoryEngine engine;
  std::unique_ptr<core::Replica> replica;
  bool up = true;
  bool paused = false;
  std::vector<std::function<void()>> queued;  // inputs that arrived while paused
  // The Ready contract's bookkeeping (core/ready_ledger.h); made anew with each replica.
  core::ReadyLedger ledger{true};
  uint64_t incarnation = 0;  // bumped by a crash: events of the old life are ignored
  int64_t skew_ms = 0;
  int64_t drift_ppm = 0;
  // The drift before the current rate was set (a `drift` event): the clock stays continuous.
  int64_t drift_offset_ms = 0;
  int64_t drift_since_ms = 0;
  bool disk_lost = false;  // its storage was replaced by an empty one: it rejoins as a non-voter
};

struct PendingOp {
  check::Function f = check::Function::read;
  std::string key;
  int64_t value = 0;
  std::optional<int64_t> expected;  // cas: the value it expects (none: the key absent)
  bool with_id = false;             // add: INCRBY … ID, the id made from the value and sequence
  bool all_values = false;          // read: every value and the context (SimOptions::merges)
  std::optional<std::string> context;  // write: the context it carries (SimOptions::merges)
  uint64_t sequence = 0;
  int node = 1;
  bool final = false;
  core::ReadOptions read;   // a read's consistency (raft; cluster_default elsewhere)
  std::string consistency;  // as the history records it (empty: none given)
};

// The operation's value as the history records it: null for a read, [expected, new] for a cas,
// a delete's id for a delete.
std::string value_json(const PendingOp& op);

struct Client {
  int index = 0;
  int64_t process = 0;
  bool busy = false;
  int leader_hint = 0;  // the node a NOTLEADER refusal named last (0: none)
  bool backoff = false;
  uint64_t next_sequence = 1;
  PendingOp pending;
  // Its session (raft): the latest token of its writes and session reads, carried from node to
  // node as a client library would.
  std::optional<core::SessionPosition> session;
  std::map<std::string, std::string> contexts;  // the context it read last, by key (merges)
  bool pbs_read_next = false;  // the PBS experiment: its next operation reads its key
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options)
      : options_(options),
        rng_(options.seed),
        disk_rng_(options.seed ^ 0x6469736b6c6f7373ull),
        strategy_(core::find_strategy(options.strategy)) {
    REPLIKV_ASSERT(strategy_ != nullptr, "validate() checked the strategy");
    const auto error = run_settings(options, settings_);
    REPLIKV_ASSERT(!error, "validate() checked the settings");
    traits_ = strategy_->traits(settings_);
    if (!options.make_replica) run_checks_ = strategy_->make_run_checks(settings_, options.nodes);
  }

  SimResult run();

 private:
  // Network.
  // Schedules `deliver` after the link's latency — none, once, or twice (a duplicate) as the
  // network decides; returns how many times.
  template <typename Deliver>
  int send(int from, int to, bool peer_link, Deliver deliver);
  void deliver_peer_message(uint32_t slot);
  // Nodes.
  void start_node(Node& node);
  uint64_t record_cache_bytes(int node_id) const;
  int64_t checkpoint_delay_us(int node_id, uint64_t checkpoint_id) const;
  void write_checkpoint(Node& node, uint64_t id, core::WriteBatch batch);
  // Runs `action` on the node now (then drains its Ready), or queues it while the node is paused.
  // A template, so the common case builds no std::function.
  template <typename Action>
  void input(Node& node, Action&& action) {
    if (!node.up) return;
    if (node.paused) {
      node.queued.emplace_back(std::forward<Action>(action));
      return;
    }
    action();
    drain(node);
    if (options_.transactions > 0) check_transactions(node);
  }
  void drain(Node& node);
  // A command the strategy answers, from the words a client types (its final read, a merge).
  core::Request parse_words(const std::vector<std::string>& words) const;
  bool family_command(bool float_counter);
  bool transaction(const PendingOp& op);
  // SimOptions::collections under a strategy whose collections merge (multi-leader).
  bool merged_collections() const { return options_.collections && traits_.collections_merge; }
  // A counter's command there: HINCRBY on a hash field or ZINCRBY on a score (by the key's
  // number), and its read.
  std::vector<std::string> counter_increment(const std::string& key, int64_t delta) const;
  std::vector<std::string> counter_read(const std::string& key) const;
  // A write of another kind to a set, hash or sorted set, sent beside the operations.
  void send_collection_churn();
  // The queue: an RPUSH of a new element, or an LPOP or BLPOP, sent beside the operations; each
  // reply read for what it did (every pushed element popped at most once, none lost).
  bool queue_ops() const;
  void send_queue_op();
  void on_queue_reply(uint64_t sequence, const core::Reply& reply);
  check::CheckResult check_queue();
  struct QueueOp {
    bool push = false;
    uint64_t element = 0;  // a push's
  };
  std::map<uint64_t, QueueOp> queue_pending_;  // by sequence: sent, not answered yet
  uint64_t queue_sequence_ = 0;
  uint64_t queue_next_element_ = 0;
  enum class PushOutcome : uint8_t { ok, failed, unknown };
  std::map<uint64_t, PushOutcome> queue_pushes_;  // by element
  std::map<uint64_t, int> queue_popped_;          // by element: pops answered with it
  uint64_t queue_unknown_pops_ = 0;               // pops whose outcome is unknown
  uint64_t queue_pops_ = 0;
  std::vector<std::string> queue_unexpected_;  // replies that name no element
  uint64_t churn_made_ = 0;                    // the values its made events carry (each its own)
  void check_transactions(Node& node);
  void start_sync(Node& node);
  void release_durable(Node& node);
  void release_reply(Node& node, core::ReadyId id, core::ClientReply& reply);
  // Adds a replica's counters to the run's (at its crash, or at the end of the run).
  void count_strategy_metrics(const core::ReplicaStatus& status) {
    for (const core::Metric& metric : status.metrics) {
      if (metric.kind != core::Metric::Kind::counter) continue;
      auto it = stats_.strategy_counters.find(metric.name);
      if (it == stats_.strategy_counters.end()) {
        it = stats_.strategy_counters.emplace(std::string(metric.name), 0).first;
      }
      it->second += static_cast<uint64_t>(metric.number);
    }
  }
  // Adds what a replica's status says of peer messages that broke the protocol (at its crash, or
  // at the end of the run).
  // The simulated network corrupts nothing and every node runs this build: a peer message that
  // does not decode (malformed) is a protocol bug here too.
  void note_protocol_violations(int node, const core::ReplicaStatus& status) {
    const uint64_t broken = status.peer_protocol_violations_total + status.malformed_messages_total;
    if (broken == 0) return;
    protocol_violations_ += broken;
    if (protocol_evidence_.size() < 10) {
      protocol_evidence_.push_back(fmt::format("node {}: {} ({} in all, {} malformed)", node,
                                               status.first_protocol_violation, broken,
                                               status.malformed_messages_total));
    }
  }
  void crash(Node& node);
  void send_peer_message(Node& node, core::Message&& message);
  core::TimeMs node_now_ms(const Node& node) const;        // its wall clock (skewed, drifting)
  core::TimeMs node_monotonic_ms(const Node& node) const;  // its monotonic clock (drifting)
  void schedule_ticks(Node& node);
  void schedule_writeback(Node& node);
  // Clients and the history.
  void next_operation(Client& client);
  PendingOp retarget(PendingOp op, int leader_hint);
  void choose_consistency(PendingOp& op);
  void check_invariants(const Node& node);
  void invoke(Client& client, PendingOp op);
  void on_reply(int client_index, uint64_t sequence, const core::Reply& reply,
                std::optional<core::SessionPosition> position);
  // `fields`: the strategy's own members of the completion event (core/strategy.h).
  void complete(Client& client, check::EventType type, const std::string& value_json,
                const core::HistoryFields* fields = nullptr);
  void record_invoke(const Client& client, const PendingOp& op);
  std::string digest(Node& node);
  // Faults.
  void apply(const FaultEvent& event);
  Node* current_leader();
  void queue_fault(size_t index);
  void start_final_phase();

  static int client_endpoint(int index) { return -index - 1; }

  SimOptions options_;
  core::Rng rng_;
  // What a crash keeps of the unsynced writes: a stream of its own, so that a seed's faults and
  // messages are the same whatever the disk keeps.
  core::Rng disk_rng_;
  const core::Strategy* strategy_;
  core::Settings settings_;  // the run's (each node may vary them: simulation_node_settings)
  core::StrategyTraits traits_;
  std::unique_ptr<core::RunChecks> run_checks_;  // the strategy's own checks, if any
  EventQueue events_;
  std::vector<std::unique_ptr<Node>> nodes_;  // index 0 is node 1
  std::vector<Client> clients_;
  std::set<std::pair<int, int>> cut_;
  int64_t drop_permille_ = 0;
  int64_t dup_permille_ = 0;
  fmt::memory_buffer
      history_;  // JSON Lines (fmt appends to its own buffer without a per-char path)
  SimStats stats_;
  uint64_t next_value_ = 1;
  uint64_t next_insert_ = 0;
  int64_t next_process_ = 0;
  std::vector<std::string> insert_keys_;
  std::deque<PendingOp> final_reads_;
  bool final_phase_ = false;
  bool nemesis_stopped_ = false;
  std::map<uint64_t, int> leaders_by_term_;
  core::Ready scratch_ready_;
  FaultSchedule schedule_;  // in time order
  // Peer messages on the wire, each delivered `copies` more times. Pooled: a delivery event
  // captures only a slot number, so scheduling one allocates nothing.
  struct InFlight {
    core::Message message;
    int copies = 0;
  };
  std::vector<InFlight> in_flight_;
  std::vector<uint32_t> free_in_flight_;
  std::vector<core::Message> early_scratch_;  // a Ready's early messages, reused
  uint64_t protocol_violations_ = 0;
  // Transactions (SimOptions::transactions): the keys written so, and what check_transactions saw.
  // With collections, a key's list, hash, set and sorted set are at these suffixes.
  static constexpr const char* collection_suffixes[] = {"#list", "#hash", "#set", "#zset"};
  std::set<std::string> transaction_keys_;
  uint64_t transaction_checks_ = 0;
  uint64_t transaction_violations_ = 0;
  std::vector<std::string> transaction_evidence_;
  std::vector<std::string> protocol_evidence_;
  std::vector<int64_t> link_clear_ns_;           // per peer link (from, to): its last delivery time
  std::map<std::string, int64_t> last_written_;  // per register key: the newest value asked for
  std::vector<std::string> election_violations_;
};

template <typename Deliver>
int Simulation::send(int from, int to, bool peer_link, Deliver deliver) {
  ++stats_.messages_sent;
  if (cut_.count({from, to}) != 0 || (drop_permille_ > 0 && rng_.chance(drop_permille_, 1000))) {
    ++stats_.messages_dropped;
    return 0;
  }
  const int64_t min_us = peer_link ? 100 : 20;
  const int64_t max_us = peer_link ? 1000 : 300;
  int64_t at_ns = events_.now_ns() + rng_.between(min_us, max_us) * ns_per_us;
  if (rng_.chance(1, 100)) {
    // A long tail, ten times the latency, that overtakes nothing and is overtaken: reordering
    // (a reconnect in the real transport; the protocol must not care).
    at_ns = events_.now_ns() + (at_ns - events_.now_ns()) * 10;
    ++stats_.messages_reordered;
  } else if (peer_link && !options_.reorder_all) {
    // Otherwise a link between nodes keeps its order, as the real transport (one TCP connection
    // per direction) does: nothing arrives before what was sent ahead of it.
    int64_t& clear_ns = link_clear_ns_[static_cast<size_t>((from - 1) * options_.nodes + (to - 1))];
    at_ns = std::max(at_ns, clear_ns);
    clear_ns = at_ns;
  }
  if (peer_link && dup_permille_ > 0 && rng_.chance(dup_permille_, 1000)) {
    ++stats_.messages_duplicated;
    events_.at(at_ns, deliver);
    events_.after(rng_.between(min_us, max_us * 3) * ns_per_us, std::move(deliver));
    return 2;
  }
  events_.at(at_ns, std::move(deliver));
  return 1;
}

}  // namespace replikv::sim::detail
