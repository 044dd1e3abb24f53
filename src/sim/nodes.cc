// The simulated nodes: each a replica over a memory engine, driven by the Ready contract through
// its ledger (core/ready_ledger.h), with syncs that take virtual time, checkpoints written later,
// crashes that lose what was not synced.
#include "core/record_cache.h"
#include "sim/simulation.h"

namespace replikv::sim::detail {

// Test only: a replica broken on purpose, to show the checkers catch it. `ack_before_sync`: every
// Ready demands no sync, so replies and acknowledgements leave before the write is on disk.
// `messages_early`: every message may leave before its Ready is durable (acknowledgements and
// votes too, not only a leader's log shipments).
class Broken final : public core::ForwardingReplica {
 public:
  Broken(std::unique_ptr<core::Replica> inner, bool ack_before_sync, bool messages_early)
      : ForwardingReplica(std::move(inner)),
        ack_before_sync_(ack_before_sync),
        messages_early_(messages_early) {}
  bool take_ready(core::Ready& out) override {
    const bool any = inner_->take_ready(out);
    if (ack_before_sync_) out.sync = core::Sync::none;
    if (messages_early_) {
      for (auto& message : out.messages) message.early = true;
    }
    return any;
  }

 private:
  bool ack_before_sync_;
  bool messages_early_;
};

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
  core::NodeContext context;
  context.node = id;
  context.members = core::numbered_members(options_.nodes);
  context.fsync_always = options_.fsync_always;
  context.bootstrap = !node.disk_lost;  // the first start founds the cluster
  context.cache_bytes_max = record_cache_bytes(node.id);
  if (options_.make_replica) {
    replica = options_.make_replica(node.engine, context, core::Rng(rng_.next_u64()));
  } else {
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
  node.replica->take_history_events();  // from now on it keeps them for the history
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
    for (const auto& event : node.replica->take_history_events()) {
      check::write_replica_event(history_, node.id, event, events_.now_ns());
    }
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
  if (reply.connection == core::ConnectionId(churn_connection)) return;
  if (reply.connection == core::ConnectionId(queue_connection)) {
    on_queue_reply(reply.sequence, reply.reply);
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
    count_strategy_metrics(before);
    if (before.receiving_state) ++stats_.crashes_mid_install;
    note_protocol_violations(node.id, before);
  }
  node.up = false;
  node.paused = false;
  node.queued.clear();
  // Half the crashes lose every unsynced batch; the others keep a prefix of them, as a disk that
  // wrote some of its pages before the power went (storage/segment_log.h: a torn tail is cut back
  // to the last whole batch).
  const size_t unsynced = node.engine.unsynced_batches();
  const size_t kept =
      unsynced > 0 && disk_rng_.chance(1, 2)
          ? static_cast<size_t>(disk_rng_.between(1, static_cast<int64_t>(unsynced)))
          : 0;
  if (kept > 0) {
    ++stats_.crashes_keeping_unsynced;
    stats_.unsynced_batches_kept += kept;
  }
  node.engine.crash_keeping(kept);
  if (run_checks_) run_checks_->crashed(node.id, node.engine, before);
  node.replica.reset();
  node.ledger.reset();  // what waited for a sync is lost with the process
  ++node.incarnation;
}

std::string Simulation::digest(Node& node) {
  return node.replica ? node.replica->state_digest() : std::string("down");
}

}  // namespace replikv::sim::detail
