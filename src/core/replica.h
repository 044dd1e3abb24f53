// Replica: the interface every replication strategy implements, and the only way a driver talks
// to one. It is a deterministic state machine: the same inputs in the same order, from the same
// storage contents and the same Rng seed, give the same Readies. See core/ready.h for the steps a
// driver must follow after each input.
//
// Thread-safety: none. A replica belongs to one thread (the event loop, or the simulator).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/command.h"
#include "core/consistency.h"
#include "core/ready.h"
#include "core/types.h"

namespace replikv::core {

struct ClientRequest {
  ConnectionId connection;
  uint64_t sequence = 0;
  Request request;
  ReadOptions read;  // a read's consistency (the cluster's default unless the client chose)
  // The connection's session (core/session.h): for a session read, the latest position it was
  // given; for WAIT, its last write's. None when it has had none.
  std::optional<SessionPosition> session;
};

// One callable of several lambdas: Overloaded{[](const A&) {…}, [](const B&) {…}}.
template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// For a strategy's client_request: calls `answer` with the typed request when it is one the
// strategy answers itself (WAIT, FAILOVER: command.h, StrategyRequestTypes) and returns true;
// returns false for a request the keyspace serves. `answer` must take every one of those types —
// a strategy that leaves one out does not compile. (`answer` may move the ClientRequest the typed
// request belongs to; it must not use the typed request after that.)
template <typename Answer>
bool answer_strategy_request(const Request& request, Answer&& answer) {
  return std::visit(
      [&](const auto& typed) -> bool {
        using T = std::decay_t<decltype(typed)>;
        if constexpr (strategy_answers_v<T>) {
          static_assert(std::is_invocable_v<Answer, const T&>,
                        "a strategy answers every request of StrategyRequestTypes");
          answer(typed);
          return true;
        } else {
          return false;
        }
      },
      request);
}

// What a leader knows of one follower.
struct FollowerStatus {
  NodeId node;
  LogIndex match;            // the follower holds the leader's log durably up to here
  uint64_t lag_entries = 0;  // the leader's last index minus match
  TimeMs heard_ms_ago = 0;   // since the follower last answered
  bool voter = true;         // false: counts toward no quorum (an empty data directory rejoined)
};

// A point-in-time report of a replica, for INFO, ROLE, /status and /metrics.
struct ReplicaStatus {
  std::string role;  // "master" or "slave", in Redis's words for ROLE and INFO
  NodeId node_id;
  uint64_t key_count = 0;
  uint64_t keys_with_expiry = 0;
  LogIndex applied_index;    // writes applied since the data directory was created
  ReadyId durable_ready_id;  // every Ready up to this one is durable
  uint64_t writes_applied_total = 0;
  uint64_t reads_total = 0;
  uint64_t expired_keys_total = 0;  // deleted by the expiry sweep since start
  uint64_t keyspace_hits_total = 0;
  uint64_t keyspace_misses_total = 0;
  // Replication (single-leader strategies).
  Term term;
  LogIndex commit_index;
  std::optional<NodeId> leader;
  bool is_leader = false;
  std::string raft_role;                  // follower, pre-candidate, candidate, leader ("" if none)
  LogIndex last_index;                    // the last entry of this node's log
  std::vector<FollowerStatus> followers;  // at a leader
  uint64_t writes_forwarded_total = 0;    // writes this node forwarded to a leader
  uint64_t duplicates_skipped_total = 0;  // log entries skipped as already applied
  LogIndex log_first_index;               // the first entry the log still holds
  uint64_t log_compacted_entries_total = 0;
  uint64_t snapshots_sent_total = 0;  // completed transfers, at a leader
  uint64_t snapshot_chunks_sent_total = 0;
  uint64_t snapshots_installed_total = 0;       // at a follower
  uint64_t snapshot_chunks_received_total = 0;  // staged
  bool installing_snapshot = false;             // receiving one, or moving it into place
  bool voter = true;  // false: joined with an empty data directory; counts toward no quorum
  uint64_t rollback_entries_total = 0;  // committed entries discarded by rollbacks
  // Reads: this node's lag as bounded reads judge it (-1: unknown); session reads refused because
  // their write was lost; writes refused for too few followers in reach (min_replicas).
  TimeMs lag_ms = -1;
  uint64_t session_reads_lost_total = 0;
  uint64_t min_replicas_refused_total = 0;
  uint64_t lease_reads_total = 0;  // linearizable reads the leader served under its lease
  uint64_t data_loss_promotions_total =
      0;  // forced promotions of this node that accepted data loss
  uint64_t truncated_entries_total =
      0;  // uncommitted entries dropped for the leader's (never acknowledged)
  // The last snapshot: sent whole (ms, leader); received and moved into place (ms, follower).
  TimeMs snapshot_last_send_ms = 0, snapshot_last_receive_ms = 0, snapshot_last_move_ms = 0;
  uint64_t malformed_messages_total = 0;
  // Peer messages that broke the protocol (a second leader in one term, a truncation below the
  // commit index), dropped: must stay 0 — the simulator and chaos fail a run on any.
  uint64_t peer_protocol_violations_total = 0;
  // At a leader: times a follower's entries were sent again because its pipeline made no progress
  // for a heartbeat interval (an APPEND or its answer was lost).
  uint64_t appends_resent_total = 0;
  std::string first_protocol_violation;  // what the first one was (empty: none)
  uint64_t cache_bytes = 0;              // the record cache in front of storage
  uint64_t cache_entries = 0;
  uint64_t cache_hits_total = 0;
  uint64_t cache_misses_total = 0;
  // Checkpoints (docs/storage.md): the applied index storage holds, how many were written, and
  // what is applied but not yet in storage (a restart applies it again from the log).
  LogIndex checkpoint_index;
  uint64_t checkpoints_total = 0;
  uint64_t dirty_records = 0;
  uint64_t dirty_bytes = 0;
  bool checkpoint_in_flight = false;  // handed to the driver, not yet reported written
};

class Replica {
 public:
  virtual ~Replica() = default;

  // Inputs.
  virtual void client_request(ClientRequest request) = 0;
  virtual void peer_message(const Message& message) = 0;
  // Two clocks: the wall clock (expiry times; it may be stepped, either way) and a monotonic
  // one (timers, leases, lag: it only moves forward, at a rate within the configured drift of
  // real time, and may start anywhere). The one-argument form gives both the same (tests).
  virtual void tick(TimeMs wall_ms, TimeMs monotonic_ms) = 0;
  void tick(TimeMs now_ms) { tick(now_ms, now_ms); }
  virtual void persisted(ReadyId ready_id) = 0;
  // The checkpoint of that Ready is written and durable (core/ready.h, step 6).
  virtual void checkpointed(uint64_t /*checkpoint_id*/) {}

  // Moves what the last inputs produced into `out` (cleared first) and returns true, or returns
  // false when there is nothing to do. Ids increase by one per Ready returned.
  virtual bool take_ready(Ready& out) = 0;

  virtual ReplicaStatus status() const = 0;
  // The term this replica leads in, if it leads now: status() in one cheap question, for checks
  // that run after every step.
  virtual std::optional<Term> leader_term() const {
    const ReplicaStatus now = status();
    return now.is_leader ? std::optional<Term>(now.term) : std::nullopt;
  }
  // Whether `message`, as this protocol's wire carries it, is one that may leave before its Ready
  // is durable (`Message::early`; core/ready.h, step 4). Drivers that check the contract (the
  // simulator) ask it of every early message: anything else leaving early — an acknowledgement,
  // a vote — would promise what a crash can take back.
  virtual bool may_leave_early(const Message&) const { return false; }
  // Where this replica stands for a session read at `position` (core/session.h): serve it, wait
  // for more to be applied, or refuse it — the write it names was lost. A replica without
  // sessions serves every read as it comes.
  virtual SessionCheck check_session(const SessionPosition&) const {
    return SessionCheck::satisfied;
  }
  // A digest of the replica's state machine as it serves it (storage with what it has not yet
  // checkpointed over it): equal states give equal digests on every node. DEBUG DIGEST answers
  // it; the simulator's convergence check compares it. Empty for replicas without a keyspace.
  virtual std::string state_digest() const { return {}; }
};

// A replica that hands every input and question to another: the base of wrappers that change one
// thing about the replica they wrap (the simulator's deliberately broken ones, a test's forger).
// Every virtual of Replica is forwarded here, so a wrapper cannot forget one.
class ForwardingReplica : public Replica {
 public:
  explicit ForwardingReplica(std::unique_ptr<Replica> inner) : inner_(std::move(inner)) {}
  void client_request(ClientRequest request) override {
    inner_->client_request(std::move(request));
  }
  void peer_message(const Message& message) override { inner_->peer_message(message); }
  using Replica::tick;
  void tick(TimeMs wall_ms, TimeMs monotonic_ms) override { inner_->tick(wall_ms, monotonic_ms); }
  void persisted(ReadyId ready_id) override { inner_->persisted(ready_id); }
  void checkpointed(uint64_t checkpoint_id) override { inner_->checkpointed(checkpoint_id); }
  bool take_ready(Ready& out) override { return inner_->take_ready(out); }
  ReplicaStatus status() const override { return inner_->status(); }
  std::optional<Term> leader_term() const override { return inner_->leader_term(); }
  bool may_leave_early(const Message& message) const override {
    return inner_->may_leave_early(message);
  }
  SessionCheck check_session(const SessionPosition& position) const override {
    return inner_->check_session(position);
  }
  std::string state_digest() const override { return inner_->state_digest(); }

 protected:
  std::unique_ptr<Replica> inner_;
};

}  // namespace replikv::core
