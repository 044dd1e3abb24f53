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
// heartbeat) and its response.
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
// Clients: writes and reads sent to a non-leader are refused with a definite error naming the
// leader (nothing was appended). A leader that steps down answers its pending writes with
// `-TIMEOUT` (they may still commit) and its pending reads with an error.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/keyspace.h"
#include "core/random.h"
#include "core/replica.h"
#include "proto/replikv.pb.h"

namespace replikv::core {

struct RaftOptions {
  NodeId node_id{1};
  std::vector<NodeId> nodes;  // every member, this node included
  TimeMs election_timeout_ms_min = 1000;
  TimeMs election_timeout_ms_max = 2000;
  TimeMs heartbeat_interval_ms = 100;
  uint64_t append_entries_max = 64;   // entries in one APPEND
  uint64_t inflight_appends_max = 8;  // APPENDs in flight to one follower (pipelining bound)
  uint64_t cache_bytes_max = 16ull << 20;
  // Both on in every real configuration; scenario tests that replay the paper's figures, which
  // assume neither, turn them off.
  // The leader's expiry sweep: how often, and how many keys one Expire entry deletes at most.
  TimeMs expiry_sweep_interval_ms = 100;
  uint64_t expiry_sweep_keys_max = 200;
  bool pre_vote = true;
  bool check_quorum = true;  // also: refuse votes while a leader is heard from (leader lease)
};

class Raft final : public Replica {
 public:
  enum class Role : uint8_t { follower, pre_candidate, candidate, leader };

  Raft(const StorageView& view, Rng rng, RaftOptions options);

  void client_request(ClientRequest request) override;
  void peer_message(Message message) override;
  void tick(TimeMs now_ms) override;
  void persisted(ReadyId ready_id) override;
  bool take_ready(Ready& out) override;
  ReplicaStatus status() const override;

  Role role() const { return role_; }
  Term term() const { return term_; }
  LogIndex commit_index() const { return commit_; }
  std::optional<NodeId> leader() const { return leader_; }

 private:
  struct Peer {
    LogIndex next;   // the next entry to send
    LogIndex match;  // the highest entry known to be held durably
    uint64_t inflight = 0;
    uint64_t round_acked = 0;
    TimeMs heard_at_ms = 0;
  };
  struct PendingWrite {
    ClientRequest request;
  };
  struct PendingRead {
    ClientRequest request;
    LogIndex read_index;
    uint64_t round;
  };

  // Step (shared by every role), then the role's handler.
  void step(const proto::RaftMessage& message);
  void on_vote_request(const proto::RaftMessage& message);
  void on_vote_response(const proto::RaftMessage& message);
  void on_append(const proto::RaftMessage& message);
  void on_append_response(const proto::RaftMessage& message);

  void become_follower(Term term, std::optional<NodeId> leader);
  void start_pre_vote();
  void start_election();
  void become_leader();
  void reset_election_deadline();

  void send(NodeId to, proto::RaftMessage message);
  void send_append(NodeId to, Peer& peer, bool heartbeat);
  void broadcast_append(bool heartbeat);
  void append(proto::LogEntry entry);
  void persist_term_and_vote();
  void advance_commit();
  void propose_expiry();
  void apply_committed();
  void serve_reads();
  void fail_pending();
  void reply(const ClientRequest& request, Reply reply);

  std::optional<proto::LogEntry> entry_at(LogIndex index) const;
  Term term_at(LogIndex index) const;
  bool log_up_to_date(LogIndex last_index, Term last_term) const;
  size_t majority() const { return options_.nodes.size() / 2 + 1; }

  RaftOptions options_;
  Rng rng_;
  const StorageView& view_;
  Keyspace keyspace_;
  Ready pending_;
  ReadyId last_taken_;

  Role role_ = Role::follower;
  Term term_;
  std::optional<NodeId> vote_;
  std::optional<NodeId> leader_;
  LogIndex last_index_;
  Term last_term_;
  LogIndex commit_;
  LogIndex applied_;
  // Entries written in Readies not yet durable: the highest log index each Ready wrote.
  std::map<uint64_t, LogIndex> ready_last_index_;
  LogIndex durable_index_;  // this node's log is durable up to here
  std::vector<Term> terms_;  // the term of every entry, by index (index 0: none)
  std::map<uint64_t, proto::LogEntry> log_overlay_;  // entries of the Ready not yet taken
  bool log_written_ = false;
  LogIndex commit_written_;
  LogIndex applied_written_;
  LogIndex term_start_index_;  // this leader's no-op
  TimeMs became_leader_ms_ = 0;
  uint64_t malformed_messages_ = 0;
  bool expiry_in_flight_ = false;
  TimeMs next_expiry_sweep_ms_ = 0;
  uint64_t expired_keys_total_ = 0;

  TimeMs now_ms_ = 0;
  TimeMs election_deadline_ms_ = 0;
  TimeMs heartbeat_due_ms_ = 0;
  TimeMs leader_heard_ms_ = -1'000'000'000;
  std::map<uint32_t, bool> votes_;
  std::map<uint32_t, Peer> peers_;

  uint64_t next_origin_sequence_ = 1;
  std::map<uint64_t, ClientRequest> pending_writes_;  // origin sequence -> request
  std::deque<PendingRead> pending_reads_;
  uint64_t round_ = 0;
  uint64_t writes_applied_ = 0;
  uint64_t reads_ = 0;
};

const char* to_string(Raft::Role role);

}  // namespace replikv::core
