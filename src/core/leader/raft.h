// Raft: the replicated log of the single-leader strategy with `ack = "majority"` and automatic
// failover (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014).
//
// Guarantee: every acknowledged write survives as long as a majority of nodes does, and every
// reply is consistent with one order of all operations (linearizable): a write is acknowledged
// once it is committed — held durably by a majority, the leader counting itself only after its own
// sync (DESIGN.md, "Durable before visible") — and applied; a read is answered by the leader
// through ReadIndex (§8): it notes the commit index, confirms with a majority that it is still the
// leader, and answers once it has applied that far.
//
// Messages (proto::RaftMessage): PRE_VOTE/VOTE and their responses; APPEND (entries, or none as a
// heartbeat) and its response; INSTALL_SNAPSHOT (a chunk of the state machine, for a follower
// whose next entries were compacted away) and its response.
//
// States: follower, pre-candidate, candidate, leader.
//   - A follower that hears no leader for its randomized election timeout asks for pre-votes
//     (§9.6): peers answer as they would vote, without changing terms — so a node cut off and
//     back does not depose a healthy leader. With a majority of pre-votes it becomes a candidate:
//     term + 1, votes for itself, asks for votes.
//   - A vote goes only to a candidate whose log is at least as up to date (§5.4.1), once per term,
//     and not while this node has heard from a leader within the minimum election timeout.
//   - A new leader appends a no-op of its term at once; it advances the commit index only over an
//     entry of its own term that a majority holds (§5.4.2, Figure 8); earlier entries commit with
//     it.
//   - A leader that has not heard from a majority for an election timeout steps down
//     (check-quorum).
//
// Persistence: term and vote are written with Sync::always in the Ready that carries the messages
// depending on them (the driver sends messages only once the Ready is durable). Log entries live
// in the log column under their big-endian index; the commit and applied indexes go in the meta
// column with the next batch.
//
// Invariants (asserted): the term never decreases; the commit index never moves back; a committed
// entry is never truncated; at most one vote per term.
//
// Clients: any node takes any command.
//   - A leader appends a write and answers once it is committed and applied. A read waits for
//     ReadIndex.
//   - A follower forwards a write to the leader (FORWARD), tagged with (this node, sequence);
//     nothing is ever sent twice. Sequences increase across restarts (an epoch in the high 32
//     bits, bumped and synced at start), and every replica keeps, per origin node, a window of the
//     sequences it applied (in replicated state, the meta column): an entry seen before is skipped
//     at apply, so a write is applied at most once however often the network repeats it. The
//     leader checks the same window, plus its unapplied log, before appending. The follower
//     answers when it applies the entry itself — the result is the leader's, as every replica
//     computes the same state. A write that is not applied within `request_timeout_ms` is
//     answered `-TIMEOUT` (it may still take effect) if it left this node, and with a definite
//     error if it never did (no leader was known). A refusal by a node that is not the leader
//     proves nothing (another copy may have arrived while it led): the write goes again, same
//     sequence, to the next leader.
//   - A follower's read asks the leader for a read index (READ_INDEX: the leader confirms with a
//     majority that it still leads, as for its own reads) and is answered from the follower's
//     own state once it has applied that far (Raft thesis §6.4). The asking follower, if it was
//     in the leader's term, is one of that majority: in a 3-node cluster no round is needed.
//   - With `redirect`, a follower instead refuses with a definite error naming the leader and its
//     client address.
//   A leader that steps down keeps its pending writes: they may still commit under the next
//   leader, and are answered when applied, or `-TIMEOUT` at their deadline.
//   - Reads name a consistency (core/consistency.h): linearizable and leader go the ReadIndex
//     way above; session, bounded and eventual are served from this node's state
//     (raft_reads.cc). WAIT is counted by the leader (raft_clients.cc); FAILOVER hands
//     leadership over or forces it (raft_failover.cc).
//
// Files: raft.cc (inputs, elections, replication, commit, apply), raft_log.cc (the log and its
// compaction), raft_clients.cc (writes, forwarding, WAIT, deadlines), raft_reads.cc,
// raft_snapshots.cc, raft_failover.cc.

#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/blocked_pops.h"
#include "core/keyspace.h"
#include "core/leader/commands.h"
#include "core/leader/commit_rule.h"
#include "core/leader/snapshot.h"
#include "core/random.h"
#include "core/replica.h"
#include "proto/replikv.pb.h"

namespace replikv::core {

// AckPolicy, parse_ack and the commit rule's arithmetic: core/leader/commit_rule.h.

struct RaftOptions {
  NodeId node_id{1};
  AckPolicy ack = AckPolicy::majority;
  uint32_t ack_followers = 0;  // AckPolicy::count: k
  std::vector<NodeId> nodes;   // every member, this node included
  TimeMs election_timeout_ms_min = 1000;
  TimeMs election_timeout_ms_max = 2000;
  TimeMs heartbeat_interval_ms = 100;
  // One APPEND carries up to this many entries and stops once it holds this many bytes of them
  // (one entry at least): under load a follower gets the backlog in a few large writes.
  uint64_t append_entries_max = 4096;
  uint64_t append_bytes_max = 256 * 1024;
  uint64_t inflight_appends_max = 8;  // APPENDs in flight to one follower (pipelining bound)
  uint64_t cache_bytes_max = 16ull << 20;
  // Checkpoints (docs/storage.md, "Checkpoints"): the applied state is written to storage once
  // `checkpoint_entries` log entries were applied since the last checkpoint, or once
  // the records written since hold `checkpoint_bytes` in memory (Keyspace::dirty_bytes, each
  // record once; at most a quarter of the record cache, which holds them meanwhile), or
  // `checkpoint_interval_ms` after the first of them. Until then the log alone holds it: a restart
  // applies the entries after the checkpoint again. A checkpoint writes each record dirty since
  // the last once, so the rarer they are the more rewrites of a key they fold into one write
  // (docs/storage.md, "Checkpoints"). With the record cache off, every batch is a checkpoint (one
  // at a time: none begins while one is written).
  uint64_t checkpoint_entries = 1000000;
  uint64_t checkpoint_bytes = 64ull << 20;
  TimeMs checkpoint_interval_ms = 10000;
  // Log compaction: once the log holds more than `log_compact_entries` entries, the ones below
  // the applied index are erased except the newest `log_keep_entries` of them (for followers a
  // little behind). A follower that needs an erased entry gets a snapshot instead.
  uint64_t log_compact_entries = 20000;
  uint64_t log_keep_entries = 5000;
  // … or once its entries take more than this many bytes; the tail kept then is also at most a
  // quarter of it.
  uint64_t log_compact_bytes = 64ull << 20;
  // A leader keeps the entries a follower heard from within an election timeout still needs,
  // while the log stays within log_compact_bytes (a follower behind under load catches up by
  // entries, not by a snapshot). Tests of snapshot catch-up turn it off.
  bool hold_log_for_followers = true;
  // Snapshots (docs/snapshots.md): record bytes per chunk, chunks in flight to one follower, and
  // record bytes a follower moves from staging into place per batch once it has them all.
  uint64_t snapshot_chunk_bytes = 1ull << 20;
  uint64_t snapshot_chunks_inflight_max = 4;
  uint64_t snapshot_move_bytes = 4ull << 20;
  // Both on in every real configuration; scenario tests that replay the paper's figures, which
  // assume neither, turn them off.
  // The leader's expiry sweep: how often, and how many keys one Expire entry deletes at most.
  TimeMs expiry_sweep_interval_ms = 100;
  uint64_t expiry_sweep_keys_max = 200;
  bool pre_vote = true;
  bool check_quorum = true;  // also: refuse votes while a leader is heard from (leader lease)
  // Lease reads: a leader holding its lease (a majority answered a heartbeat round it started
  // less than lease_ms() ago, and its no-op is applied) answers linearizable reads from its own
  // state without a confirmation round. Safe while clocks drift by at most clock_drift_max_ppm;
  // off by default (ReadIndex needs no clock assumption).
  bool lease_reads = false;
  // What an empty data directory (one that never ran) means: a member founding a new cluster
  // (true), or a member whose disk was replaced, joining a cluster that exists (false): it has
  // forgotten its votes and what it acknowledged, so it catches up as a non-voter — grants no
  // votes, stands for no election, counts toward no quorum — until membership changes re-admit
  // it. Recorded durably at the first run; ignored once the data directory has run.
  bool bootstrap = false;
  // Rollback: a follower whose committed entries the leader lacks discards its state and installs
  // the leader's snapshot, counting the committed entries it discarded — the one path on which
  // the commit and applied indexes move back. Only acknowledgement modes that do not wait for a
  // majority (`async`) can need it; off, such a follower is an invariant violation (asserted).
  bool rollback = false;
  // Clients of a follower: refuse naming the leader (true), or forward to it (false).
  bool redirect = false;
  // Deliberately broken builds, for tests only: a blocking pop whose try is in the log answered
  // its timeout reply at its deadline anyway (the try still pops: an element lost to a client
  // told nothing was popped — tests/unit/raft_test.cc shows it caught).
  struct Mutants {
    bool answer_tried_waiters_at_timeout = false;
  } mutants;
  std::map<uint32_t, std::string> client_addresses;  // node id -> "host:port", for redirects
  // How long a write or a read waits for its outcome before it is answered `-TIMEOUT`.
  TimeMs request_timeout_ms = 5000;
  // Reads that name no consistency. `cluster_default` here means: linearizable, or at the leader
  // under `async` (which cannot keep the linearizable promise across a failover).
  ReadOptions read_default;
  // The most a node's monotonic clock may run fast or slow against real time, in parts per
  // million: lag bounds (bounded reads) allow for it.
  uint64_t clock_drift_max_ppm = 10'000;
  // Writes are refused — a definite `-NOREPLICAS`, before anything is appended — while fewer than
  // `min_replicas` followers answered the leader within `min_replicas_max_lag_ms` (Redis's
  // min-replicas-to-write and min-replicas-max-lag).
  uint32_t min_replicas = 0;
  TimeMs min_replicas_max_lag_ms = 10'000;
  // Forwarded writes a follower has in flight at most (beyond: a definite `-BUSY` refusal).
  uint64_t forwards_in_flight_max = 512;
};

// The sequences of one origin node's writes that a replica has applied (or, at the leader,
// appended): the highest, and a bitmap of the `size` before it. Anything older counts as seen.
class SequenceWindow {
 public:
  static constexpr uint64_t size = 1024;
  bool seen(uint64_t sequence) const;
  void mark(uint64_t sequence);
  std::string encode() const;
  static std::optional<SequenceWindow> decode(std::string_view bytes);
  uint64_t highest() const { return highest_; }

 private:
  uint64_t highest_ = 0;
  std::array<uint64_t, size / 64> bits_{};
};

// Who took a client write: a node, in one incarnation of its data directory (per-origin
// sequence windows are kept for each).
struct Origin {
  uint32_t node = 0;
  uint64_t incarnation = 0;
  auto operator<=>(const Origin&) const = default;
  static Origin of(const proto::LogEntry& entry) {
    return {entry.origin_node(), entry.origin_incarnation()};
  }
};

// What the single leader reports beyond the common part, typed for its own tests and checks;
// Raft::status() gives the same as named metrics (to_metrics) for the drivers.
struct RaftStatus : ReplicaStatus {
  Term term;
  LogIndex commit_index;
  bool is_leader = false;
  std::string raft_role;                  // follower, pre-candidate, candidate, leader
  LogIndex last_index;                    // the last entry of this node's log
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
  uint64_t lease_reads_total = 0;           // linearizable reads the leader served under its lease
  uint64_t data_loss_promotions_total = 0;  // forced promotions that accepted data loss
  uint64_t truncated_entries_total = 0;     // uncommitted entries dropped for the leader's ones
  // At a leader: times a follower's entries were sent again because its pipeline made no progress
  // for a heartbeat interval (an APPEND or its answer was lost).
  uint64_t appends_resent_total = 0;
  // The last snapshot: sent whole (ms, leader); received and moved into place (ms, follower).
  TimeMs snapshot_last_send_ms = 0, snapshot_last_receive_ms = 0, snapshot_last_move_ms = 0;

  // The fields above as named metrics, in the order INFO lists them.
  std::vector<Metric> to_metrics() const;
};

class Raft final : public Replica {
 public:
  enum class Role : uint8_t { follower, pre_candidate, candidate, leader };

  Raft(const StorageView& view, Rng rng, RaftOptions options);

  void client_request(ClientRequest request) override;
  void client_closed(ConnectionId connection) override { blocked_pops_.closed(connection); }
  void peer_message(const Message& message) override;
  using Replica::tick;
  void tick(TimeMs wall_ms, TimeMs monotonic_ms) override;
  void persisted(ReadyId ready_id) override;
  void checkpointed(uint64_t checkpoint_id) override;
  bool take_ready(Ready& out) override;
  ReplicaStatus status() const override;
  RaftStatus raft_status() const;
  std::string state_digest() const override { return keyspace_.digest(); }
  std::optional<std::string> local_value(const std::string& key) override {
    auto record = keyspace_.live_record(key, wall_ms_);
    return record ? std::optional<std::string>(std::move(record->value)) : std::nullopt;
  }
  std::optional<uint64_t> local_collection_size(const std::string& key) override {
    return keyspace_.collection_size(key, wall_ms_);
  }
  std::optional<std::vector<std::string>> local_list(const std::string& key) override {
    return keyspace_.list_elements(key, wall_ms_);
  }
  std::optional<Term> leader_term() const override {
    return role_ == Role::leader ? std::optional<Term>(term_) : std::nullopt;
  }
  // Only a leader's APPENDs leave early: their entries count for the leader only once it has
  // persisted them. Reads the message's type alone (the first field), not the whole message.
  bool may_leave_early(const Message& message) const override;
  // The commit index as stored in `view` (what a restart reads back), for the simulator's check
  // that it never moves back across restarts.
  static LogIndex stored_commit_index(const StorageView& view);
  // The epoch in the high 32 bits of this node's origin sequences (bumped at every start).
  uint64_t epoch() const { return next_origin_sequence_ >> 32; }

  Role role() const { return role_; }
  bool voter() const { return voter_; }
  // This node's lag behind the leader, as bounded reads judge it: an upper bound on the time
  // since a moment whose acknowledged writes it has all applied, drift allowed for (nullopt:
  // no leader has confirmed one yet).
  std::optional<TimeMs> lag_ms() const;
  Term term() const { return term_; }
  LogIndex commit_index() const { return commit_; }
  std::optional<NodeId> leader() const { return leader_; }

 private:
  // A freshness fact waiting to be confirmed or used: every write acknowledged before `stamp` (a
  // monotonic time: the leader's for its own rounds, the follower's for its confirmations) is at
  // or below `commit`, once heartbeat round `round` is confirmed by a majority.
  struct Freshness {
    uint64_t round = 0;
    TimeMs stamp = 0;
    LogIndex commit;
    uint64_t run = 0;  // a follower's stamp: the run of the follower it is from
  };
  // The leader's side of one snapshot transfer: chunks [acked, next) are in flight.
  struct SnapshotSending {
    SnapshotSource source;
    uint64_t next = 0;
    uint64_t acked = 0;            // the follower holds every chunk before this
    std::optional<uint64_t> last;  // the last chunk's number, once read
    TimeMs progress_ms = 0;        // when `acked` last moved (or chunks were resent)
    TimeMs started_ms = 0;
  };
  struct Peer {
    LogIndex next;   // the next entry to send
    LogIndex match;  // the highest entry known to be held durably
    uint64_t inflight = 0;
    uint64_t round_acked = 0;
    TimeMs heard_at_ms = 0;
    LogIndex commit_sent;    // the commit index the last message to it carried
    TimeMs progress_ms = 0;  // when an APPEND to it last succeeded (or was resent)
    // A snapshot being sent, while the entries it needs are compacted away (shared: a Peer is
    // copied; one snapshot per peer at a time).
    std::shared_ptr<SnapshotSending> snapshot;
    bool voter = true;             // until it says otherwise (then for good: see proto non_voter)
    TimeMs snapshot_taken_ms = 0;  // when a snapshot for it was last taken
    // After a snapshot, the log is not compacted past here until it takes entries (0: no hold).
    LogIndex hold_log_from;
    // Freshness (bounded reads): the latest stamp it sent (wire form, + 1); the confirmation
    // waiting for a round, and the one to send with the next message.
    uint64_t stamp_heard = 0;
    uint64_t stamp_confirmed = 0;
    uint64_t stamp_run = 0;  // the follower's run its stamps are from
    std::optional<Freshness> fresh_pending;
    std::optional<Freshness> fresh_unsent;
  };
  // The follower's side: a snapshot being received into staging, or moved into place.
  struct Install {
    LogIndex index;
    Term term;
    Term leader_term;         // the term of the leader sending it (a new leader starts again)
    uint64_t chunk_next = 0;  // chunks staged so far
    bool moving = false;      // every chunk staged and the old state erased: moving into place
    TimeMs started_ms = 0;    // first chunk (this run)
    TimeMs switched_ms = 0;   // last chunk: moving began
  };
  struct PendingWrite {
    ClientRequest request;
    TimeMs deadline_ms = 0;
    bool sent = false;  // appended here, or forwarded: from now on it may take effect
    bool forwarded = false;
    bool resent = false;               // forwarded to more than one node
    std::optional<NodeId> refused_by;  // a node that refused it, not being the leader …
    Term refused_in_term;              // … in this term
    proto::Write write;                // what to forward (again, after a refusal)
    uint64_t blocked_pop = 0;          // a blocking pop's try: its id in blocked_
  };
  // A read waiting at the leader for a majority to confirm its leadership: a local client's, or
  // a follower's batch of reads up to `remote_read_id`.
  struct PendingRead {
    std::optional<ClientRequest> request;
    NodeId remote;
    uint64_t remote_read_id = 0;
    LogIndex read_index;
    uint64_t round = 0;
    // The follower that asked was in this leader's term when it asked — after its reads began —
    // so it counts toward the confirming majority without a round (see on_read_index).
    bool remote_confirms = false;
  };
  // A session read: waits (until its deadline) for this node to apply the session's token.
  struct SessionRead {
    ClientRequest request;
    TimeMs deadline_ms = 0;
  };
  // WAIT at the leader: a local client's, or a follower's (`remote`, `remote_wait_id`).
  struct PendingWait {
    std::optional<ClientRequest> request;
    NodeId remote;
    uint64_t remote_wait_id = 0;
    SessionToken token;
    uint64_t replicas = 0;
    std::optional<TimeMs> deadline_ms;
  };
  // WAIT at a follower: asked of the leader (again of each new one), answered with its count.
  struct FollowerWait {
    ClientRequest request;
    uint64_t wait_id = 0;
    std::optional<NodeId> sent_to;
    Term sent_term;
    std::optional<TimeMs> deadline_ms;
  };
  // FAILOVER: a handover at the leader (it takes no writes meanwhile), or a forced promotion at
  // the target. Answered when the target leads, or at the deadline.
  struct Handover {
    NodeId target;
    TimeMs deadline_ms = 0;
    ClientRequest request;
    bool forced = false;
    bool told = false;  // TIMEOUT_NOW sent this heartbeat round
  };
  // A read at a follower: waits for the leader's read index, then for this node to apply it.
  struct FollowerRead {
    ClientRequest request;
    uint64_t read_id = 0;
    TimeMs deadline_ms = 0;
    std::optional<LogIndex> read_index;
  };

  // Step (shared by every role), then the role's handler.
  void step(const proto::RaftMessage& message);
  void on_vote_request(const proto::RaftMessage& message);
  void on_vote_response(const proto::RaftMessage& message);
  void on_append(const proto::RaftMessage& message);
  void on_append_response(const proto::RaftMessage& message);
  void on_forward(const proto::RaftMessage& message);
  void on_forward_response(const proto::RaftMessage& message);
  void on_read_index(const proto::RaftMessage& message);
  void on_read_index_response(const proto::RaftMessage& message);
  void on_install_snapshot(const proto::RaftMessage& message);
  void on_install_snapshot_response(const proto::RaftMessage& message);
  void on_wait(const proto::RaftMessage& message);
  void on_wait_response(const proto::RaftMessage& message);

  void become_follower(Term term, std::optional<NodeId> leader);
  void start_pre_vote();
  void start_election(bool transfer = false);
  void request_votes(bool transfer);
  TimeMs lease_ms() const;
  bool holds_lease() const;
  // Committed entries may be rolled back: acknowledgements do not wait for a quorum (options_),
  // or an operator accepted data loss in a forced promotion (data_loss_term_).
  bool rollback_possible() const { return options_.rollback || data_loss_term_ > Term(); }
  void note_data_loss_term(Term term);
  void become_leader();
  void reset_election_deadline();

  void send(NodeId to, proto::RaftMessage message);
  void send_append(NodeId to, Peer& peer, bool heartbeat, bool commit_only = false);
  void broadcast_append(bool heartbeat);
  void append(proto::LogEntry entry);
  void append_encoded(proto::LogEntry entry, std::string bytes);
  void maybe_compact();
  // Writes the applied state — the keyspace's dirty records, the sequence windows, the applied
  // terms, the applied index — into the pending batch, when due.
  void maybe_checkpoint();
  // Snapshots: the leader's sending, the follower's switch to the snapshot once it has every
  // chunk, its moving steps, and the end of an install.
  void send_snapshot(NodeId to, Peer& peer);
  bool stage(const proto::SnapshotChunk& chunk);
  void switch_to_snapshot();
  void need_rollback(LogIndex from, NodeId leader, proto::RaftMessage& response);
  void continue_install();
  void finish_install();
  void abandon_install();
  void write_install_marker();
  void load_windows();
  bool installing() const { return install_ && install_->moving; }
  void persist_term_and_vote();
  void advance_commit();
  void propose_expiry();
  void apply_committed();
  const std::string* recent_set_key(LogIndex index) const;
  void serve_reads();
  void serve_follower_reads();
  // Clients' requests by kind (client_request dispatches).
  void client_write(ClientRequest request);
  // Blocking pops (core/blocked_pops.h), served by the leader alone: a try is a log entry of its
  // own; one that pops nothing waits again.
  void client_blocking_pop(ClientRequest request, BlockingPop pop);
  void try_blocked_pop(uint64_t id);
  // After the leader applied a write: the waiters on the lists it left with elements try again.
  void wake_blocked_pops(const std::vector<std::string>& written);
  void try_woken_blocked_pops();
  // A try of waiter `id` applied with `result`: true when its client is answered with it now
  // (an element, an error, or the timeout reply once its deadline passed — `result` may become
  // a refusal when this node no longer leads); false when it waits again.
  bool answer_blocked_try(uint64_t id, Reply& result);
  // What a leader that refuses a write before appending it answers (nullopt: it may append).
  std::optional<Reply> write_refusal();
  void client_read(ClientRequest request);
  void client_wait(ClientRequest request);
  void client_failover(ClientRequest request);
  void tell_target();  // the handover's TIMEOUT_NOW, once the target holds the whole log
  void on_timeout_now(const proto::RaftMessage& message);
  bool handing_over() const { return handover_ && !handover_->forced && role_ == Role::leader; }
  void serve_local(const ClientRequest& request);  // from this node's state, now
  void serve_session_reads();
  void serve_waits();
  size_t followers_holding(LogIndex index) const;
  size_t followers_in_reach() const;  // heard from within min_replicas_max_lag_ms
  // The term of the entry at `index` — from the log, or for applied entries compacted away from
  // the applied-terms history — or nullopt when neither holds it.
  std::optional<Term> known_term_at(LogIndex index) const;
  SessionToken applied_position() const;
  SessionCheck check_session(const SessionPosition& position) const override;
  // The log position a request's session carries (a position of another strategy: none).
  static std::optional<SessionToken> session_of(const ClientRequest& request) {
    return request.session ? token_of(*request.session) : std::nullopt;
  }
  // The refusal for a token whose index holds another term's entry here (`what` names the token).
  std::optional<std::string> lost_write(const SessionToken& token, std::string_view what) const;
  void note_applied_term(LogIndex index, Term term);
  void load_applied_terms();
  // Freshness: a heartbeat round starts; rounds a majority confirmed; facts that became usable.
  void start_round();
  uint64_t quorum_round() const;
  void confirm_rounds();
  void note_freshness(TimeMs stamp, LogIndex commit);
  void settle_freshness();
  void fail_pending_reads();
  void expire_requests();
  void flush_forwards();
  void propagate_commit();
  uint64_t next_round();
  void append_client_write(uint64_t sequence, proto::Write write, Origin origin);
  Origin self() const { return {options_.node_id.value(), incarnation_}; }
  bool apply_once(const proto::LogEntry& entry);
  void rebuild_proposed_windows();
  Reply refusal_naming_leader() const;
  void reply(const ClientRequest& request, Reply reply,
             std::optional<SessionToken> written = std::nullopt,
             std::optional<SessionToken> read_at = std::nullopt);

  // The entry at `index` (nullptr past the end): from memory when recent, else decoded into
  // `scratch` from storage.
  const proto::LogEntry* entry_at(LogIndex index, proto::LogEntry& scratch) const;
  void trim_recent();
  std::string_view entry_bytes_at(LogIndex index, std::string& scratch) const;
  Term term_at(LogIndex index) const;
  bool log_up_to_date(LogIndex last_index, Term last_term) const;
  size_t majority() const { return options_.nodes.size() / 2 + 1; }
  // Votes an election needs: a majority, or more where commits need fewer than a majority —
  // max(majority, n − k) with k followers' acks — so that every election quorum meets every set
  // of nodes that acknowledged a write (flexible quorums; Howard et al. 2016).
  size_t election_quorum() const;
  size_t granted_votes() const;  // in votes_
  void protocol_violation(std::string what);
  // Whether the committed entries from `from` on may be rolled back: the node runs with rollback
  // (async, or fsync "never"), or an operator accepted data loss in a term after them.
  bool rollback_allowed(LogIndex from, Term data_loss_term) const;
  // The first committed entry `message` would truncate, if any (before anything of it is taken).
  std::optional<LogIndex> committed_conflict(const proto::RaftMessage& message,
                                             const std::vector<proto::LogEntry>& entries) const;
  // A snapshot chunk whose records this version can hold: data records that decode, expiry index
  // entries, and the state records it knows, each of its size. Anything else is malformed — a
  // record that would trip an assertion only later, when read back, is refused now.
  static bool well_formed(const proto::SnapshotChunk& chunk);
  // An APPEND's entries, parsed, when they are whole and in order: each follows the one before
  // from prev_log_index + 1, in terms that never decrease, start at prev_log_term or later and
  // never pass the message's term; nullopt (the message is malformed) otherwise.
  static std::optional<std::vector<proto::LogEntry>> parse_entries(
      const proto::RaftMessage& message);

  RaftOptions options_;
  proto::RaftMessage inbox_;  // peer_message()'s, reused
  Rng rng_;
  const StorageView& view_;
  Keyspace keyspace_;
  Ready pending_;
  ReadyId last_taken_;
  ReadyId durable_ready_;

  Role role_ = Role::follower;
  bool voter_ = true;
  Term term_;
  std::optional<NodeId> vote_;
  std::optional<NodeId> leader_;
  LogIndex last_index_;
  Term last_term_;
  LogIndex commit_;
  LogIndex applied_;
  // Entries written in Readies not yet durable: the highest log index each Ready wrote.
  std::map<uint64_t, LogIndex> ready_last_index_;
  LogIndex durable_index_;                // this node's log is durable up to here
  std::map<uint64_t, Term> term_starts_;  // the first index of each term in the log -> the term
  // The first entry the log holds (the ones before were compacted away) and the term of the one
  // before it. term_at() answers for index 0 and from log_start_ - 1 on.
  LogIndex log_start_{1};
  Term log_start_term_;
  uint64_t compacted_entries_ = 0;
  std::deque<uint32_t> entry_bytes_;  // each held entry's record size, log_start_ .. last_index_
  uint64_t log_bytes_ = 0;            // their sum
  std::optional<Install> install_;
  std::map<uint64_t, proto::SnapshotChunk> early_chunks_;  // arrived before the one expected
  bool install_move_pending_ = false;  // a step's batch is not handed over yet (not applied)
  bool install_staged_empty_ = false;  // the last moving step emptied staging
  std::string install_move_position_;  // where the next moving step starts (empty: at the start)
  uint64_t snapshots_sent_ = 0;
  uint64_t snapshot_chunks_sent_ = 0;
  uint64_t snapshots_installed_ = 0;
  uint64_t snapshot_chunks_received_ = 0;
  // Rollback: the first of this node's committed entries that the leader lacks (it waits for a
  // snapshot), and the committed entries discarded so far.
  std::optional<LogIndex> rollback_from_;
  uint64_t rollback_entries_ = 0;
  // The last snapshot's durations: sent whole (leader); received, and moved into place (follower).
  TimeMs snapshot_send_ms_ = 0, snapshot_receive_ms_ = 0, snapshot_move_ms_ = 0;
  // Changed since the last batch: written with the next one, beside the entries.
  bool last_index_dirty_ = false;
  bool term_starts_dirty_ = false;
  // The newest entries, decoded: recent_first_ .. last_index_. Also the only copy of entries
  // appended since the last take_ready() (storage has them once the Ready is applied).
  static constexpr size_t recent_entries_max = 4096;
  struct RecentEntry {
    proto::LogEntry entry;
    std::string bytes;  // as encoded in the log record and on the wire
  };
  std::deque<RecentEntry> recent_;
  LogIndex recent_first_;
  LogIndex taken_index_;  // the log up to here was handed over in Readies
  bool log_written_ = false;
  LogIndex commit_written_;
  LogIndex applied_written_;
  // The applied index of the last checkpoint the driver reported written (checkpointed()):
  // storage holds the state up to it, so the log is compacted only below it.
  LogIndex checkpoint_applied_;
  // The checkpoint handed over and not yet reported: its id and applied index (id 0: none).
  uint64_t checkpoint_in_flight_id_ = 0;
  LogIndex checkpoint_in_flight_applied_;
  uint64_t checkpoint_ids_ = 0;
  uint64_t checkpoints_written_ = 0;      // reported by the driver, this run
  std::optional<TimeMs> dirty_since_ms_;  // when something was first applied after it
  // A follower needs a snapshot that the stored state cannot give it (send_snapshot): the next
  // checkpoint is due at once.
  bool checkpoint_wanted_ = false;
  LogIndex term_start_index_;  // this leader's no-op
  TimeMs became_leader_ms_ = 0;
  uint64_t malformed_messages_ = 0;
  // Messages that break the protocol — a second leader in one term, a truncation below the
  // commit index — dropped and counted: a real safety bug, or a forged peer, never an assert.
  uint64_t protocol_violations_ = 0;
  uint64_t appends_resent_ = 0;  // a follower's pipeline stalled (an APPEND or answer lost): resent
  std::string first_protocol_violation_;
  bool expiry_in_flight_ = false;
  TimeMs next_expiry_sweep_ms_ = 0;
  uint64_t expired_keys_total_ = 0;

  // Timers: the monotonic clock, from time_base_ms at the first tick (see tick()).
  static constexpr TimeMs time_base_ms = 1'000'000'000;
  TimeMs now_ms_ = 0;
  std::optional<TimeMs> monotonic_origin_ms_;
  TimeMs wall_ms_ = 0;       // expiry: the wall clock, never moving back
  TimeMs wall_seen_ms_ = 0;  // the last tick's wall clock (Ready::tick_at_ms is on it)
  TimeMs election_deadline_ms_ = 0;
  TimeMs heartbeat_due_ms_ = 0;
  TimeMs leader_heard_ms_ = -1'000'000'000;
  // This election's answers by voter: granted (true) or refused in this term (false).
  std::map<uint32_t, bool> votes_;
  std::map<uint32_t, Peer> peers_;
  std::vector<uint64_t> held_scratch_;            // advance_commit()'s
  mutable std::vector<uint64_t> rounds_scratch_;  // quorum_round()'s

  uint64_t next_origin_sequence_ = 1;
  std::map<uint64_t, PendingWrite> pending_writes_;  // by origin sequence
  BlockedPops blocked_pops_;
  std::vector<std::string> written_keys_;  // what the entry applied now wrote (blocked pops')
  std::vector<uint64_t> blocked_to_try_;   // woken while applying, tried after it
  // No write in pending_writes_ has a deadline before this (expire_requests walks them from it).
  TimeMs pending_deadline_min_ = std::numeric_limits<TimeMs>::max();
  uint64_t unsent_writes_ = 0;
  uint64_t refused_writes_ = 0;  // refused forwards waiting for a new leader
  uint64_t forwards_in_flight_ = 0;
  std::map<Origin, SequenceWindow> applied_windows_;   // per origin, replicated state
  std::map<Origin, SequenceWindow> proposed_windows_;  // the leader's: applied + its log
  std::map<Origin, bool> windows_dirty_;
  uint64_t incarnation_ = 0;  // this data directory's (meta_incarnation)
  std::deque<PendingRead> pending_reads_;
  std::deque<FollowerRead> follower_reads_;
  std::deque<SessionRead> session_reads_;
  std::vector<PendingWait> waits_;
  std::deque<FollowerWait> follower_waits_;
  uint64_t next_wait_id_ = 1;
  // The first applied index of each term (replicated state, meta `raft_applied_terms`, in
  // snapshots): the term of any applied entry, after compaction too, so that a session token
  // whose entry another term replaced is known lost. The newest applied_terms_max terms.
  static constexpr size_t applied_terms_max = 1024;
  std::map<uint64_t, Term> applied_terms_;
  bool applied_terms_dirty_ = false;
  // Freshness: the leader's rounds not yet confirmed; facts not yet applied far enough; and the
  // latest monotonic time whose acknowledged writes this node has all applied.
  std::deque<Freshness> own_rounds_;
  std::vector<Freshness> fresh_facts_;
  std::optional<TimeMs> fresh_as_of_;
  uint64_t min_replicas_refused_ = 0;
  std::optional<Handover> handover_;
  std::optional<TimeMs> lease_start_ms_;
  Term data_loss_term_;  // meta_data_loss_term
  uint64_t data_loss_promotions_ = 0;
  uint64_t truncated_entries_ = 0;  // uncommitted entries dropped for a leader's conflicting ones
                                    // // leader: the start of the latest round a majority answered
  uint64_t lease_reads_ = 0;
  uint64_t lost_session_reads_ = 0;
  uint64_t next_read_id_ = 1;
  uint64_t read_id_sent_ = 0;
  uint64_t writes_forwarded_ = 0;
  uint64_t duplicates_skipped_ = 0;
  bool round_wanted_ = false;  // a read waits for the next round: take_ready() starts it
  uint64_t round_ = 1;  // heartbeat rounds; 0 marks a heartbeat that only carries the commit index
  uint64_t writes_applied_ = 0;
  uint64_t reads_ = 0;
};

const char* to_string(Raft::Role role);

}  // namespace replikv::core
