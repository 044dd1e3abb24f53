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

#include "check/anomalies.h"
#include "check/history.h"
#include "check/linearizability.h"
#include "core/assert.h"
#include "core/encoding.h"
#include "core/random.h"
#include "core/ready_ledger.h"
#include "core/record_cache.h"
#include "core/strategy.h"
#include "sim/event_queue.h"
#include "storage/memory_engine.h"

namespace replikv::sim {
namespace {

constexpr int64_t ns_per_ms = 1'000'000;
constexpr int64_t ns_per_us = 1'000;
// The virtual wall clock starts at a fixed date, so expiry arithmetic looks like production's.
constexpr int64_t epoch_ms = 1'700'000'000'000;
constexpr int64_t tick_interval_ms = 10;
constexpr int64_t quiesce_ms = 500;
constexpr uint64_t admin_connection = 1'000'000;  // the operator's (failover) connection
constexpr int64_t settle_ms_max = 5000;  // quiescing, at most, while a snapshot install goes on

// Test only: a replica broken on purpose, to show the checkers catch it. `ack_before_sync`: every
// Ready demands no sync, so replies and acknowledgements leave before the write is on disk.
// `messages_early`: every message may leave before its Ready is durable (acknowledgements and
// votes too, not only a leader's log shipments).
class Broken final : public core::Replica {
 public:
  Broken(std::unique_ptr<core::Replica> inner, bool ack_before_sync, bool messages_early)
      : inner_(std::move(inner)),
        ack_before_sync_(ack_before_sync),
        messages_early_(messages_early) {}
  void client_request(core::ClientRequest request) override {
    inner_->client_request(std::move(request));
  }
  void peer_message(const core::Message& message) override { inner_->peer_message(message); }
  void tick(core::TimeMs wall_ms, core::TimeMs monotonic_ms) override {
    inner_->tick(wall_ms, monotonic_ms);
  }
  void persisted(core::ReadyId id) override { inner_->persisted(id); }
  void checkpointed(uint64_t id) override { inner_->checkpointed(id); }
  bool take_ready(core::Ready& out) override {
    const bool any = inner_->take_ready(out);
    if (ack_before_sync_) out.sync = core::Sync::none;
    if (messages_early_) {
      for (auto& message : out.messages) message.early = true;
    }
    return any;
  }
  core::ReplicaStatus status() const override { return inner_->status(); }
  std::optional<core::Term> leader_term() const override { return inner_->leader_term(); }
  bool may_leave_early(const core::Message& message) const override {
    return inner_->may_leave_early(message);
  }
  std::string state_digest() const override { return inner_->state_digest(); }

 private:
  std::unique_ptr<core::Replica> inner_;
  bool ack_before_sync_;
  bool messages_early_;
};

// The run's strategy settings: what the strategy asks for in simulation, then the caller's.
std::optional<std::string> run_settings(const SimOptions& options, core::Settings& out) {
  const core::Strategy* strategy = core::find_strategy(options.strategy);
  if (strategy == nullptr) return fmt::format("strategy '{}' does not exist", options.strategy);
  out = strategy->default_settings();
  strategy->simulation_settings(out, {options.seed, 0, options.nodes, options.client_timeout_ms});
  for (const auto& [key, value] : options.settings) {
    if (!out.declares(key)) {
      return fmt::format("{}: not a setting of strategy {}", key, options.strategy);
    }
    if (auto error = out.set(key, value)) return error;
  }
  return std::nullopt;
}

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
  uint64_t sequence = 0;
  int node = 1;
  bool final = false;
  core::ReadOptions read;   // a read's consistency (raft; cluster_default elsewhere)
  std::string consistency;  // as the history records it (empty: none given)
};

// The operation's value as the history records it: null for a read, [expected, new] for a cas.
std::string value_json(const PendingOp& op) {
  if (op.f == check::Function::read) return "null";
  if (op.f == check::Function::cas) {
    return fmt::format("[{},{}]", op.expected ? std::to_string(*op.expected) : "null", op.value);
  }
  return std::to_string(op.value);
}

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
  std::optional<core::SessionToken> session;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options)
      : options_(options), rng_(options.seed), strategy_(core::find_strategy(options.strategy)) {
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
  }
  void drain(Node& node);
  void start_sync(Node& node);
  void release_durable(Node& node);
  void release_reply(Node& node, core::ReadyId id, core::ClientReply& reply);
  // Adds what a replica's status says of peer messages that broke the protocol (at its crash, or
  // at the end of the run).
  void note_protocol_violations(int node, const core::ReplicaStatus& status) {
    if (status.peer_protocol_violations_total == 0) return;
    protocol_violations_ += status.peer_protocol_violations_total;
    if (protocol_evidence_.size() < 10) {
      protocol_evidence_.push_back(fmt::format("node {}: {} ({} in all)", node,
                                               status.first_protocol_violation,
                                               status.peer_protocol_violations_total));
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
                std::optional<core::SessionToken> token);
  void complete(Client& client, const char* type, const std::string& value_json);
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
  std::vector<std::string> protocol_evidence_;
  std::vector<int64_t> link_clear_ns_;           // per peer link (from, to): its last delivery time
  std::map<std::string, int64_t> last_written_;  // per register key: the newest value asked for
  std::vector<std::string> election_violations_;
  // Messages that left before their Ready was durable though the protocol does not allow it.
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

void Simulation::deliver_peer_message(uint32_t slot) {
  InFlight& in_flight = in_flight_[slot];
  Node& peer = *nodes_[static_cast<size_t>(in_flight.message.to.value() - 1)];
  if (peer.up && peer.paused) {
    // Rare: the message waits in the node's queue, which a crash may drop, so it takes a copy.
    auto copy = std::make_shared<const core::Message>(in_flight.message);
    peer.queued.push_back([&peer, copy] { peer.replica->peer_message(*copy); });
  } else if (peer.up) {
    peer.replica->peer_message(in_flight_[slot].message);
    drain(peer);  // may send, and grow in_flight_: no reference into it is used after this
  }
  if (--in_flight_[slot].copies == 0) free_in_flight_.push_back(slot);
}

core::TimeMs Simulation::node_now_ms(const Node& node) const {
  return epoch_ms + node.skew_ms + node_monotonic_ms(node);
}

core::TimeMs Simulation::node_monotonic_ms(const Node& node) const {
  const int64_t virtual_ms = events_.now_ns() / ns_per_ms;
  return virtual_ms + node.drift_offset_ms +
         (virtual_ms - node.drift_since_ms) * node.drift_ppm / 1'000'000;
}

// Each node's record cache: the default, tiny (a few small records at a time; most of the open
// batch's records larger than it go to the keyspace's overlay) or off — by seed and node, not
// drawn from the run's generator, so a seed's schedule is the same as before this choice existed.
// Replicas with different caches must answer alike and converge to the same state.
uint64_t Simulation::record_cache_bytes(int node_id) const {
  switch ((options_.seed + static_cast<uint64_t>(node_id)) % 3) {
    case 0:
      return 16ull << 20;
    case 1:
      return 3 * core::RecordCache::entry_overhead_bytes;
    default:
      return 0;
  }
}

// How long each checkpoint takes to be written (core/ready.h, step 6): on some nodes with its
// batch, on others a few milliseconds later or tens of them — so that reads, writes, crashes and
// snapshot installs land while one is in flight. Derived from the seed, node and checkpoint, not
// drawn from the run's generator, so a seed's schedule is otherwise the same.
int64_t Simulation::checkpoint_delay_us(int node_id, uint64_t checkpoint_id) const {
  uint64_t mix = (options_.seed * 0x9e3779b97f4a7c15ULL) ^ (static_cast<uint64_t>(node_id) << 32) ^
                 checkpoint_id;
  mix ^= mix >> 31;
  mix *= 0xbf58476d1ce4e5b9ULL;
  mix ^= mix >> 29;
  switch ((options_.seed / 9 + static_cast<uint64_t>(node_id)) % 3) {
    case 0:
      return 0;
    case 1:
      return static_cast<int64_t>(100 + mix % 5'000);
    default:
      return static_cast<int64_t>(5'000 + mix % 60'000);
  }
}

// Writes a checkpoint as the runtime does. With its batch: after it, in the same order a crash
// respects (the engine loses a suffix of unsynced batches), so nothing more is needed. Later
// (the runtime's ingested files, durable at once): the log it reflects is synced first, then the
// checkpoint written and synced, then checkpointed(); a crash before loses it.
void Simulation::write_checkpoint(Node& node, uint64_t id, core::WriteBatch batch) {
  const int64_t delay_us = checkpoint_delay_us(node.id, id);
  if (delay_us == 0) {
    REPLIKV_ASSERT(node.engine.write(batch).is_ok(), "memory write");
    node.replica->checkpointed(id);  // drain() takes what this produced in its next turn
    return;
  }
  const uint64_t incarnation = node.incarnation;
  auto held = std::make_shared<core::WriteBatch>(std::move(batch));
  events_.after(delay_us * ns_per_us, [this, &node, incarnation, held, id] {
    if (node.incarnation != incarnation) return;  // the node crashed meanwhile: lost
    input(node, [&node, held, id] {
      REPLIKV_ASSERT(node.engine.sync().is_ok(), "memory sync");
      REPLIKV_ASSERT(node.engine.write(*held).is_ok(), "memory write");
      REPLIKV_ASSERT(node.engine.sync().is_ok(), "memory sync");
      node.replica->checkpointed(id);
    });
  });
}

void Simulation::start_node(Node& node) {
  const core::NodeId id(static_cast<uint32_t>(node.id));
  std::unique_ptr<core::Replica> replica;
  if (options_.make_replica) {
    replica = options_.make_replica(node.engine, id, options_.nodes, core::Rng(rng_.next_u64()));
  } else {
    core::NodeContext context;
    context.node = id;
    for (int n = 1; n <= options_.nodes; ++n) {
      context.members.push_back(core::NodeId(static_cast<uint32_t>(n)));
    }
    context.fsync_always = options_.fsync_always;
    context.bootstrap = !node.disk_lost;  // the first start founds the cluster
    context.cache_bytes_max = record_cache_bytes(node.id);
    core::Settings settings = settings_;
    strategy_->simulation_node_settings(
        settings, {options_.seed, node.id, options_.nodes, options_.client_timeout_ms});
    replica = strategy_->make_replica(node.engine, core::Rng(rng_.next_u64()), context, settings);
  }
  if (options_.broken_ack_before_sync || options_.broken_messages_early) {
    replica = std::make_unique<Broken>(std::move(replica), options_.broken_ack_before_sync,
                                       options_.broken_messages_early);
  }
  node.replica = std::move(replica);
  node.up = true;
  node.ledger.reset();
  input(node, [this, &node] { node.replica->tick(node_now_ms(node), node_monotonic_ms(node)); });
  if (run_checks_) run_checks_->started(node.id, *node.replica);
}

void Simulation::schedule_ticks(Node& node) {
  events_.after(tick_interval_ms * ns_per_ms, [this, &node] {
    if (node.up)
      input(node,
            [this, &node] { node.replica->tick(node_now_ms(node), node_monotonic_ms(node)); });
    if (!final_phase_ || !events_.empty()) schedule_ticks(node);
  });
}

// With fsync "never" the operating system's writeback is all that makes data durable.
void Simulation::schedule_writeback(Node& node) {
  events_.after(options_.os_writeback_interval_ms * ns_per_ms, [this, &node] {
    if (node.up) REPLIKV_ASSERT(node.engine.sync().is_ok(), "memory sync");
    if (!final_phase_) schedule_writeback(node);
  });
}

// The Ready contract, steps 1–4 (core/ready.h), its bookkeeping in the node's ledger.
void Simulation::drain(Node& node) {
  core::Ready& ready = scratch_ready_;  // reused: its batch keeps its capacity between turns
  // A Ready that is durable without a sync (fsync "never", or nothing in it to sync) is reported
  // at once (core/ready.h, step 4) — persisted() is an input, so its Ready is taken in turn.
  for (int turn = 0; turn < 64; ++turn) {
    // One call hands over everything (core/ready.h, step 1).
    if (node.replica->take_ready(ready)) {
      if (!ready.batch.empty())
        REPLIKV_ASSERT(node.engine.write(ready.batch).is_ok(), "memory write");
      if (ready.checkpoint_id != 0)
        write_checkpoint(node, ready.checkpoint_id, std::move(ready.checkpoint));
      // Test only: a driver that releases replies as soon as their batch is written.
      std::vector<core::ClientReply> released_early;
      if (options_.broken_release_early) released_early.swap(ready.replies);
      node.ledger.admit(ready, *node.replica, early_scratch_);
      // A leader's log shipments leave now, before the sync (core/ready.h, step 4).
      for (auto& message : early_scratch_) send_peer_message(node, std::move(message));
      early_scratch_.clear();
      for (auto& reply : released_early) release_reply(node, ready.id, reply);
    }
    if (node.ledger.sync_wanted()) start_sync(node);
    check_invariants(node);
    const auto durable = node.ledger.advance();
    if (!durable) break;
    node.replica->persisted(*durable);
    release_durable(node);
  }
}

// Invariants across nodes, checked after every step of every node: at most one leader per term
// (Raft's election safety). A violation is recorded, not asserted, so a broken replica's run
// still ends with its seed and evidence.
void Simulation::check_invariants(const Node& node) {
  const auto term = node.replica->leader_term();
  if (!term) return;
  const auto [it, inserted] = leaders_by_term_.emplace(term->value(), node.id);
  if (!inserted && it->second != node.id && election_violations_.size() < 10) {
    election_violations_.push_back(fmt::format("term {}: nodes {} and {} both led (at {} ns)",
                                               term->value(), it->second, node.id,
                                               events_.now_ns()));
  }
}

void Simulation::start_sync(Node& node) {
  node.ledger.begin_sync();
  const uint64_t incarnation = node.incarnation;
  const int64_t latency_us =
      rng_.between(options_.fsync_latency_us_min, options_.fsync_latency_us_max);
  events_.after(latency_us * ns_per_us, [this, &node, incarnation] {
    if (node.incarnation != incarnation) return;  // the node crashed meanwhile
    auto run = [&node] {
      REPLIKV_ASSERT(node.engine.sync().is_ok(), "memory sync");
      node.ledger.end_sync();
    };
    input(node, run);  // a paused node finishes its sync when resumed; drain() reports it
  });
}

void Simulation::send_peer_message(Node& node, core::Message&& message) {
  const int target = static_cast<int>(message.to.value());
  if (target < 1 || target > options_.nodes) return;
  // One pooled copy, however many times the network delivers it.
  uint32_t slot;
  if (free_in_flight_.empty()) {
    slot = static_cast<uint32_t>(in_flight_.size());
    in_flight_.emplace_back();
  } else {
    slot = free_in_flight_.back();
    free_in_flight_.pop_back();
  }
  in_flight_[slot].message = std::move(message);
  const int copies = send(node.id, target, true, [this, slot] { deliver_peer_message(slot); });
  in_flight_[slot].copies = copies;
  if (copies == 0) free_in_flight_.push_back(slot);
}

void Simulation::release_durable(Node& node) {
  node.ledger.release(
      [this, &node](core::ReadyId id, core::ClientReply& reply) { release_reply(node, id, reply); },
      [this, &node](core::Message& message) { send_peer_message(node, std::move(message)); });
}

// A reply leaves the node for its client (or the operator) over the network.
void Simulation::release_reply(Node& node, core::ReadyId id, core::ClientReply& reply) {
  node.ledger.replies_released(id);
  if (reply.connection == core::ConnectionId(admin_connection)) {  // the operator's
    if (!reply.reply.is_error()) ++stats_.failovers_done;
    return;
  }
  const int client_index = static_cast<int>(reply.connection.value()) - 1;
  const uint64_t sequence = reply.sequence;
  core::Reply payload = std::move(reply.reply);
  const auto token = reply.written ? reply.written : reply.read_at;
  send(node.id, client_endpoint(client_index), false,
       [this, client_index, sequence, payload, token] {
         on_reply(client_index, sequence, payload, token);
       });
}

void Simulation::crash(Node& node) {
  if (!node.up) return;
  ++stats_.crashes;
  core::ReplicaStatus before;
  if (node.replica) {
    before = node.replica->status();
    stats_.snapshots_installed += before.snapshots_installed_total;
    stats_.rollback_entries += before.rollback_entries_total;
    stats_.appends_resent += before.appends_resent_total;
    if (before.installing_snapshot) ++stats_.crashes_mid_install;
    note_protocol_violations(node.id, before);
  }
  node.up = false;
  node.paused = false;
  node.queued.clear();
  node.engine.crash();
  if (run_checks_) run_checks_->crashed(node.id, node.engine, before);
  node.replica.reset();
  node.ledger.reset();  // what waited for a sync is lost with the process
  ++node.incarnation;
}

std::string Simulation::digest(Node& node) {
  return node.replica ? node.replica->state_digest() : std::string("down");
}

void Simulation::record_invoke(const Client& client, const PendingOp& op) {
  const std::string value = value_json(op);
  fmt::format_to(fmt::appender(history_),
                 FMT_COMPILE("{{\"process\":{},\"type\":\"invoke\",\"f\":\"{}\",\"key\":\"{}\","
                             "\"value\":{},\"time\":{},\"node\":{}{}{}{}{}}}\n"),
                 client.process, check::to_string(op.f), op.key, value, events_.now_ns(), op.node,
                 op.final ? ",\"final\":true" : "",
                 op.consistency.empty() ? "" : ",\"consistency\":\"", op.consistency,
                 op.consistency.empty() ? "" : "\"");
}

void Simulation::complete(Client& client, const char* type, const std::string& value_json) {
  const PendingOp& op = client.pending;
  fmt::format_to(fmt::appender(history_),
                 FMT_COMPILE("{{\"process\":{},\"type\":\"{}\",\"f\":\"{}\",\"key\":\"{}\","
                             "\"value\":{},\"time\":{},\"node\":{}{}{}{}{}}}\n"),
                 client.process, type, check::to_string(op.f), op.key, value_json, events_.now_ns(),
                 op.node, op.final ? ",\"final\":true" : "",
                 op.consistency.empty() ? "" : ",\"consistency\":\"", op.consistency,
                 op.consistency.empty() ? "" : "\"");
  client.busy = false;
  if (std::string_view(type) == "ok")
    ++stats_.ok;
  else if (std::string_view(type) == "fail")
    ++stats_.failed;
  else {
    ++stats_.unknown;
    client.process = next_process_++;  // an unknown outcome ends this process, as in Jepsen
  }
  const int64_t think_us = client.backoff ? rng_.between(10'000, 30'000) : rng_.between(0, 2000);
  client.backoff = false;
  events_.after(think_us * ns_per_us, [this, &client] { next_operation(client); });
}

void Simulation::invoke(Client& client, PendingOp op) {
  op.sequence = client.next_sequence++;
  client.pending = op;
  client.busy = true;
  ++(op.final ? stats_.final_reads : stats_.invoked);
  record_invoke(client, op);
  core::Request request;
  switch (op.f) {
    case check::Function::read:
      request = core::GetRequest{op.key};
      break;
    case check::Function::cas:
      request = core::CasRequest{
          op.key,
          op.expected ? std::optional<std::string>(std::to_string(*op.expected)) : std::nullopt,
          std::to_string(op.value)};
      break;
    default:
      request = core::SetRequest{op.key, std::to_string(op.value), {}, {}, false};
      break;
  }
  Node& node = *nodes_[static_cast<size_t>(op.node - 1)];
  const core::ConnectionId connection(static_cast<uint64_t>(client.index + 1));
  send(client_endpoint(client.index), op.node, false,
       [this, &node, connection, sequence = op.sequence, request = std::move(request),
        read = op.read, session = client.session] {
         input(node, [&node, connection, sequence, request, read, session] {
           node.replica->client_request({connection, sequence, request, read, session});
         });
       });
  const int64_t timeout_ns = options_.client_timeout_ms * ns_per_ms;
  events_.after(timeout_ns, [this, &client, sequence = op.sequence] {
    if (!client.busy || client.pending.sequence != sequence) return;
    if (client.pending.final) final_reads_.push_front(retarget(client.pending, 0));
    complete(client, "info", value_json(client.pending));
  });
}

void Simulation::on_reply(int client_index, uint64_t sequence, const core::Reply& reply,
                          std::optional<core::SessionToken> token) {
  Client& client = clients_[static_cast<size_t>(client_index)];
  if (!client.busy || client.pending.sequence != sequence) return;  // late: already timed out
  if (token) client.session = client.session ? core::later(*client.session, *token) : *token;
  switch (reply.outcome) {
    case core::Outcome::ok:
      break;
    case core::Outcome::not_leader:
      client.leader_hint = reply.leader ? static_cast<int>(reply.leader->value()) : 0;
      // A final read refused for not reaching the leader is asked again, of the leader.
      if (client.pending.final)
        final_reads_.push_front(retarget(client.pending, client.leader_hint));
      // A client that was told no leader is known waits a little before its next attempt.
      if (client.leader_hint == 0) client.backoff = true;
      complete(client, "fail", value_json(client.pending));
      return;
    case core::Outcome::refused:
      complete(client, "fail", value_json(client.pending));
      return;
    case core::Outcome::unknown:
      // The node cannot rule out that the write takes effect: unknown, not failed.
      complete(client, "info", value_json(client.pending));
      return;
  }
  if (client.pending.f == check::Function::read) {
    complete(client, "ok", reply.kind == core::Reply::Kind::bulk ? reply.text : "null");
  } else if (client.pending.f == check::Function::cas) {
    // 0: the value did not match, nothing was written — a definite failure.
    complete(client, reply.integer == 1 ? "ok" : "fail", value_json(client.pending));
  } else {
    complete(client, "ok", std::to_string(client.pending.value));
  }
}

// Raft reads go at every consistency: the cluster's default (linearizable, or at the leader under
// async), session, bounded (a bound of a few heartbeat intervals, or a tight one that is often
// refused), and eventual. The checkers hold each to its promise.
void Simulation::choose_consistency(PendingOp& op) {
  const uint64_t pick = rng_.below(100);
  if (pick < 40) {
    op.read = {};
    op.consistency = core::to_string(strategy_->read_default(settings_));
  } else if (pick < 65) {
    op.read = {core::ReadConsistency::session, 0};
    op.consistency = "session";
  } else if (pick < 85) {
    const int64_t lag_ms = traits_.lag_known_within_ms;
    op.read = {core::ReadConsistency::bounded, rng_.below(2) == 0 ? 4 * lag_ms : lag_ms};
    op.consistency = core::to_string(op.read);
  } else {
    op.read = {core::ReadConsistency::eventual, 0};
    op.consistency = "eventual";
  }
}

PendingOp Simulation::retarget(PendingOp op, int leader_hint) {
  op.node = leader_hint != 0 ? leader_hint : static_cast<int>(rng_.between(1, options_.nodes));
  return op;
}

void Simulation::next_operation(Client& client) {
  if (client.busy) return;
  if (final_phase_) {
    if (client.index != 0 || final_reads_.empty()) return;
    PendingOp op = final_reads_.front();
    final_reads_.pop_front();
    invoke(client, op);
    return;
  }
  if (stats_.invoked >= options_.ops) return;
  PendingOp op;
  // Half the operations go to any node (a follower forwards them), half to the leader a refusal
  // last named.
  const bool anywhere = client.leader_hint == 0 || rng_.below(2) == 0;
  op.node = anywhere ? static_cast<int>(rng_.between(1, options_.nodes)) : client.leader_hint;
  const uint64_t choice = rng_.below(100);
  if (choice < 45) {
    op.f = check::Function::read;
    op.key = "k" + std::to_string(rng_.below(static_cast<uint64_t>(options_.keys)));
    if (options_.mixed_reads && !traits_.read_consistencies.empty()) choose_consistency(op);
  } else if (choice < 78) {
    op.f = check::Function::write;
    op.key = "k" + std::to_string(rng_.below(static_cast<uint64_t>(options_.keys)));
    op.value = static_cast<int64_t>(next_value_++);
    last_written_[op.key] = op.value;
  } else if (choice < 85) {
    // A cas that expects the last value any client asked for (it may not have won), or absence.
    op.f = check::Function::cas;
    op.key = "k" + std::to_string(rng_.below(static_cast<uint64_t>(options_.keys)));
    const auto last = last_written_.find(op.key);
    if (last != last_written_.end() && rng_.below(5) != 0) op.expected = last->second;
    op.value = static_cast<int64_t>(next_value_++);
    last_written_[op.key] = op.value;
  } else {
    op.f = check::Function::insert;
    op.value = static_cast<int64_t>(next_insert_++);
    op.key = "i" + std::to_string(op.value);
    insert_keys_.push_back(op.key);
  }
  invoke(client, op);
}

// Queues the schedule's event `index`, which applies it (until the nemesis stops) and queues
// the next. The chain runs to the schedule's end either way: the queue is never empty before.
void Simulation::queue_fault(size_t index) {
  if (index >= schedule_.size()) return;
  events_.at_first(schedule_[index].at_ms * ns_per_ms, [this, index] {
    if (!nemesis_stopped_) apply(schedule_[index]);
    queue_fault(index + 1);
  });
}

// The node leading in the highest term, among those up (nullptr: none).
Node* Simulation::current_leader() {
  Node* leader = nullptr;
  std::optional<core::Term> best;
  for (auto& node : nodes_) {
    const auto term = node->up ? node->replica->leader_term() : std::nullopt;
    if (term && (!best || *term > *best)) best = term, leader = node.get();
  }
  return leader;
}

void Simulation::apply(const FaultEvent& event) {
  auto node_at = [this](int id) -> Node* {
    return id >= 1 && id <= options_.nodes ? nodes_[static_cast<size_t>(id - 1)].get() : nullptr;
  };
  switch (event.kind) {
    case FaultEvent::Kind::kill:
      if (Node* node = node_at(event.node)) crash(*node);
      break;
    case FaultEvent::Kind::wipe:
      if (Node* node = node_at(event.node)) {
        crash(*node);
        node->engine.wipe();
        node->disk_lost = true;
        if (run_checks_) run_checks_->wiped(node->id);
        ++stats_.disk_losses;
      }
      break;
    case FaultEvent::Kind::restart:
      if (Node* node = node_at(event.node); node && !node->up) start_node(*node);
      break;
    case FaultEvent::Kind::pause:
      if (Node* node = node_at(event.node); node && node->up && !node->paused) {
        ++stats_.pauses;
        node->paused = true;
      }
      break;
    case FaultEvent::Kind::resume:
      if (Node* node = node_at(event.node); node && node->paused) {
        node->paused = false;
        auto queued = std::move(node->queued);
        node->queued.clear();
        for (auto& action : queued) input(*node, std::move(action));
      }
      break;
    case FaultEvent::Kind::partition:
      ++stats_.cuts;
      cut_.insert({event.from, event.to});
      break;
    case FaultEvent::Kind::heal:
      cut_.clear();
      drop_permille_ = dup_permille_ = 0;
      for (auto& node : nodes_) node->skew_ms = 0;
      fmt::format_to(fmt::appender(history_), "{{\"type\":\"heal\",\"time\":{}}}\n",
                     events_.now_ns());
      break;
    case FaultEvent::Kind::drop:
      drop_permille_ = event.amount;
      break;
    case FaultEvent::Kind::dup:
      dup_permille_ = event.amount;
      break;
    case FaultEvent::Kind::skew:
      if (Node* node = node_at(event.node)) node->skew_ms = event.amount;
      break;
    case FaultEvent::Kind::drift: {
      Node* node = event.node == 0 ? current_leader() : node_at(event.node);
      if (node == nullptr) break;
      const int64_t virtual_ms = events_.now_ns() / ns_per_ms;
      node->drift_offset_ms += (virtual_ms - node->drift_since_ms) * node->drift_ppm / 1'000'000;
      node->drift_since_ms = virtual_ms;
      node->drift_ppm = event.amount;
      break;
    }
    case FaultEvent::Kind::isolate: {
      // The leader's links to every other node, both ways (clients still reach it), for a while.
      Node* leader = current_leader();
      if (leader == nullptr) break;
      ++stats_.cuts;
      std::vector<std::pair<int, int>> links;
      for (auto& node : nodes_) {
        if (node.get() == leader) continue;
        links.emplace_back(leader->id, node->id);
        links.emplace_back(node->id, leader->id);
      }
      for (const auto& link : links) cut_.insert(link);
      events_.after(event.amount * ns_per_ms, [this, links] {
        for (const auto& link : links) cut_.erase(link);
      });
      break;
    }
    case FaultEvent::Kind::strand: {
      Node* leader = current_leader();
      if (leader == nullptr) break;
      ++stats_.strands;
      for (auto& node : nodes_) {
        if (node.get() != leader) cut_.insert({leader->id, node->id});
      }
      events_.after(event.amount * ns_per_ms, [this, leader] {
        if (nemesis_stopped_ || !leader->up) return;
        crash(*leader);
        events_.after(500 * ns_per_ms, [this, leader] {
          if (!leader->up) start_node(*leader);
        });
      });
      break;
    }
    case FaultEvent::Kind::handover:
    case FaultEvent::Kind::force: {
      // An operator's command, on its own connection (its answer is not recorded): a handover
      // goes to the node leading in the highest term, a forced promotion to the target.
      const bool force = event.kind == FaultEvent::Kind::force;
      Node* to = force ? node_at(event.node) : current_leader();
      if (to == nullptr || !to->up || event.node < 1 || event.node > options_.nodes) break;
      ++(force ? stats_.forced_promotions : stats_.handovers);
      const bool accept_data_loss = force && event.amount == 1;
      if (accept_data_loss) ++stats_.data_loss_promotions;
      core::Request request =
          core::FailoverRequest{static_cast<uint32_t>(event.node), force, 500, accept_data_loss};
      input(*to, [to, request] {
        to->replica->client_request(
            {core::ConnectionId(admin_connection), 0, request, {}, std::nullopt});
      });
      break;
    }
  }
}

void Simulation::start_final_phase() {
  final_phase_ = true;
  // Every key, from every node: the registers and each insert.
  std::vector<std::string> keys;
  for (int k = 0; k < options_.keys; ++k) keys.push_back(fmt::format("k{}", k));
  keys.insert(keys.end(), insert_keys_.begin(), insert_keys_.end());
  // Strategies that answer reads through a leader: one final read per key is enough (a refused
  // one is asked again of the leader). Others are read from every node.
  const int read_from = traits_.final_reads_at_leader ? 1 : options_.nodes;
  for (int node = 1; node <= read_from; ++node) {
    for (const auto& key : keys) {
      PendingOp op;
      op.f = check::Function::read;
      op.key = key;
      op.node = node;
      op.final = true;
      final_reads_.push_back(op);
    }
  }
  Client& reader = clients_[0];
  reader.process = next_process_++;
  next_operation(reader);
}

SimResult Simulation::run() {
  // Wall time is measured for the report only; nothing in the run depends on it.
  const auto wall_started = std::chrono::steady_clock::now();
  // Two history lines of ~120 bytes per operation, plus the final reads: reserved once rather
  // than grown (and copied) by doubling.
  history_.reserve(static_cast<size_t>(options_.ops) * 2 * 128 + (1u << 20));
  link_clear_ns_.assign(static_cast<size_t>(options_.nodes * options_.nodes), 0);
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
                   return node->replica->status().installing_snapshot;
                 })) {
        // A snapshot install takes as long as it takes: settling waits for it (bounded, so an
        // install that never ends still shows as a failure to converge).
        quiet_until_ns = events_.now_ns() + 50 * ns_per_ms;
        events_.at(quiet_until_ns, [] {});
      } else if (events_.now_ns() >= quiet_until_ns) {
        final_started = true;
        for (auto& node : nodes_) {
          fmt::format_to(fmt::appender(history_),
                         "{{\"type\":\"digest\",\"node\":{},\"value\":\"{}\",\"time\":{}}}\n",
                         node->id, digest(*node), events_.now_ns());
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
    fmt::format_to(fmt::appender(history_),
                   "{{\"type\":\"digest\",\"node\":{},\"value\":\"{}\",\"time\":{}}}\n", node->id,
                   digest(*node), events_.now_ns());
  }

  SimResult result;
  for (auto& node : nodes_) {
    const core::ReplicaStatus status = node->replica->status();
    stats_.snapshots_installed += status.snapshots_installed_total;
    stats_.rollback_entries += status.rollback_entries_total;
    stats_.appends_resent += status.appends_resent_total;
    note_protocol_violations(node->id, status);
    result.nodes.push_back(fmt::format(
        "node {}: {} term {} commit {} applied {} keys {}{}{}{}", node->id, status.role,
        status.term.value(), status.commit_index.value(), status.applied_index.value(),
        status.key_count, status.leader ? fmt::format(" leader {}", status.leader->value()) : "",
        status.installing_snapshot ? " (installing a snapshot)" : "",
        status.voter ? "" : " non-voter"));
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
  result.checks.push_back(check::check_linearizability(history));
  result.checks.push_back(check::check_lost_writes(history));
  result.checks.push_back(check::check_stale_reads(history));
  result.checks.push_back(check::check_sessions(history));
  result.checks.push_back(check::check_convergence(history));
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
      settings_, {options_.fsync_always, stats_.data_loss_promotions > 0});
  return result;
}

}  // namespace

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
    for (int n = 1; n <= options.nodes; ++n) {
      node.members.push_back(core::NodeId(static_cast<uint32_t>(n)));
    }
    if (auto error = strategy->validate(settings, node)) return error;
  }
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
    } else if (value == "true") {
      settings += " --" + flag;
    }
  }
  return fmt::format(
      "replikv sim --strategy {} --nodes {} --seed {} --ops {} --clients {} --keys {} --timeout-ms "
      "{} --faults {} --fsync {}{}{}{}{}{}",
      options.strategy, options.nodes, options.seed, options.ops, options.clients, options.keys,
      options.client_timeout_ms, faults.empty() ? "none" : faults,
      options.fsync_always ? "always" : "never", settings,
      options.reorder_all ? " --reorder-all" : "",
      options.mixed_reads ? "" : " --linearizable-reads-only",
      options.broken_ack_before_sync ? " --broken ack-before-sync" : "",
      options.broken_messages_early ? " --broken messages-early" : "");
}

}  // namespace replikv::sim
