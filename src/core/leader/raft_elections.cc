// Raft's elections (§5.2, §9.6): votes and pre-votes, the roles and their changes, the election
// quorum of the ack policy (flexible quorums: max(majority, n − k) votes, so every election quorum
// meets every set that acknowledged a write), and the term and vote made durable before anything
// depends on them.
#include <algorithm>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leader/raft.h"
#include "core/leader/raft_records.h"

namespace replikv::core {
using namespace raft_records;

size_t Raft::election_quorum() const {
  return core::election_quorum(options_.ack, options_.ack_followers, options_.nodes.size());
}

void Raft::on_vote_request(const proto::RaftMessage& message) {
  const NodeId candidate(message.from());
  const bool pre_vote = message.type() == proto::RaftMessage::PRE_VOTE;
  const bool in_lease = options_.check_quorum &&
                        leader_heard_ms_ + options_.election_timeout_ms_min > now_ms_ &&
                        leader_ != candidate;
  const bool up_to_date =
      log_up_to_date(LogIndex(message.last_log_index()), Term(message.last_log_term()));
  bool granted = false;
  if (!voter_) {
    // A non-voter grants nothing: what it voted before it forgot.
  } else if (pre_vote) {
    granted = !in_lease && Term(message.term()) > term_ && up_to_date;
  } else {
    REPLIKV_ASSERT(Term(message.term()) == term_, "step() brought the terms level");
    granted = (!vote_ || *vote_ == candidate) && up_to_date && role_ != Role::leader;
    if (granted && !vote_) {
      vote_ = candidate;
      persist_term_and_vote();
      reset_election_deadline();
    }
  }
  proto::RaftMessage response;
  response.set_type(pre_vote ? proto::RaftMessage::PRE_VOTE_RESPONSE
                             : proto::RaftMessage::VOTE_RESPONSE);
  // A granted pre-vote carries the term it grants; a refusal carries this node's own term — the
  // term asked for would make the asker adopt it (step()), an election's disruption without one.
  response.set_term(pre_vote && granted ? message.term() : term_.value());
  response.set_granted(granted);
  send(candidate, std::move(response));
}

// Votes are counted for this election only (votes_ is cleared when one starts). A refusal in this
// term is kept too: it will not turn into a grant in this term (the voter voted already, or its
// log is newer), so a forced promotion stands again a term higher rather than ask it again.
void Raft::on_vote_response(const proto::RaftMessage& message) {
  if (message.type() == proto::RaftMessage::PRE_VOTE_RESPONSE) {
    if (!message.granted()) return;
    if (role_ != Role::pre_candidate || Term(message.term()) != term_.next()) return;
    votes_[message.from()] = true;
    if (granted_votes() >= election_quorum()) start_election();
    return;
  }
  if (role_ != Role::candidate || Term(message.term()) != term_) return;
  votes_[message.from()] = message.granted();
  if (granted_votes() >= election_quorum()) become_leader();
}

size_t Raft::granted_votes() const {
  return static_cast<size_t>(
      std::count_if(votes_.begin(), votes_.end(), [](const auto& vote) { return vote.second; }));
}

void Raft::become_follower(Term term, std::optional<NodeId> leader) {
  REPLIKV_ASSERT(term >= term_, "the term never decreases");
  if (role_ == Role::leader) {
    fail_pending_reads();  // writes stay pending: they may still commit
    // WAITs: a local client's is asked of the next leader; a follower's asks again itself.
    for (auto& wait : waits_) {
      if (wait.request) {
        const std::optional<TimeMs> deadline =
            wait.deadline_ms
                ? std::optional<TimeMs>(*wait.deadline_ms + options_.request_timeout_ms)
                : std::nullopt;
        follower_waits_.push_back(
            {std::move(*wait.request), next_wait_id_++, std::nullopt, Term(), deadline});
      } else {
        proto::RaftMessage response;
        response.set_type(proto::RaftMessage::WAIT_RESPONSE);
        response.set_read_id(wait.remote_wait_id);
        response.set_success(false);
        send(wait.remote, std::move(response));
      }
    }
    waits_.clear();
    own_rounds_.clear();
  }
  for (auto& [id, peer] : peers_) peer.snapshot.reset();  // releases the frozen views
  expiry_in_flight_ = false;
  if (leader != leader_) read_id_sent_ = 0;  // unanswered reads go again, to the new leader
  if (term > term_) {
    term_ = term;
    vote_.reset();
    persist_term_and_vote();
  }
  const bool was_leader = role_ == Role::leader;
  role_ = Role::follower;
  leader_ = leader;
  // Clients waiting in a blocking pop: nothing was popped for them, and only a leader serves
  // them — a definite refusal naming the new leader, when known. (A try already in the log is
  // answered as it applies, or by its timeout as any write is.)
  if (was_leader) {
    for (auto& request : blocked_pops_.take_waiting()) reply(request, refusal_naming_leader());
  }
  votes_.clear();
  reset_election_deadline();
  if (handover_ && !handover_->forced && leader_ == handover_->target) {
    reply(handover_->request, Reply::ok());  // the target leads
    handover_.reset();
  }
}

void Raft::start_pre_vote() {
  role_ = Role::pre_candidate;
  leader_.reset();
  votes_.clear();
  votes_[options_.node_id.value()] = true;
  reset_election_deadline();
  if (granted_votes() >= election_quorum()) {
    start_election();
    return;
  }
  for (const auto& [id, peer] : peers_) {
    proto::RaftMessage request;
    request.set_type(proto::RaftMessage::PRE_VOTE);
    request.set_term(term_.next().value());
    request.set_last_log_index(last_index_.value());
    request.set_last_log_term(last_term_.value());
    send(NodeId(id), std::move(request));
  }
}

void Raft::start_election(bool transfer) {
  const Term previous = term_;
  term_ = term_.next();
  REPLIKV_ASSERT(term_ > previous, "the term never decreases");
  role_ = Role::candidate;
  vote_ = options_.node_id;
  leader_.reset();
  persist_term_and_vote();
  votes_.clear();
  votes_[options_.node_id.value()] = true;
  reset_election_deadline();
  heartbeat_due_ms_ = now_ms_ + options_.heartbeat_interval_ms;
  if (granted_votes() >= election_quorum()) {
    become_leader();
    return;
  }
  request_votes(transfer);
}

void Raft::request_votes(bool transfer) {
  for (const auto& [id, peer] : peers_) {
    if (votes_.count(id) != 0) continue;
    proto::RaftMessage request;
    request.set_type(proto::RaftMessage::VOTE);
    request.set_term(term_.value());
    request.set_last_log_index(last_index_.value());
    request.set_last_log_term(last_term_.value());
    request.set_transfer(transfer);
    // A forced promotion's votes wait out the lease a voter promised the old leader (only lease
    // reads rely on it); a handover's need not — the leader gave its lease up first.
    request.set_forced(transfer && handover_ && handover_->forced);
    send(NodeId(id), std::move(request));
  }
}

void Raft::become_leader() {
  REPLIKV_ASSERT(!installing(), "a node half-way into a snapshot does not stand for election");
  REPLIKV_ASSERT(voter_, "a non-voter never leads");
  abandon_install();  // received in part from a former leader: of no use now
  role_ = Role::leader;
  leader_ = options_.node_id;
  became_leader_ms_ = now_ms_;
  lease_start_ms_.reset();
  if (handover_ && handover_->forced) {
    reply(handover_->request, Reply::ok());
    handover_.reset();
  }
  for (auto& [id, peer] : peers_) {
    peer = Peer{};  // nothing known of it yet, not even whether it votes
    peer.next = last_index_.next();
    peer.heard_at_ms = peer.progress_ms = now_ms_;
  }
  // The no-op of this term: committing it commits everything before it (§5.4.2), and ReadIndex
  // waits for it.
  proto::LogEntry noop;
  append(std::move(noop));
  term_start_index_ = last_index_;
  rebuild_proposed_windows();
  // What this node took while it was a follower and could not send yet is now its own to append;
  // reads still waiting for a read index wait for this term's instead.
  // A refused forward is appended too, unless this node's log already has it.
  for (auto& [sequence, pending] : pending_writes_) {
    const bool refused = pending.refused_by.has_value();
    if (pending.sent && !refused) continue;
    pending.sent = true;
    pending.refused_by.reset();
    if (!proposed_windows_[self()].seen(sequence)) {
      append_client_write(sequence, pending.write, self());
    }
  }
  unsent_writes_ = 0;
  refused_writes_ = 0;
  for (auto it = follower_reads_.begin(); it != follower_reads_.end();) {
    if (it->read_index) {
      ++it;
      continue;
    }
    pending_reads_.push_back(
        {std::move(it->request), NodeId(), 0, term_start_index_, next_round()});
    it = follower_reads_.erase(it);
  }
  for (auto& wait : follower_waits_) {
    PendingWait pending;
    pending.token = session_of(wait.request).value_or(SessionToken{});
    pending.replicas = static_cast<uint64_t>(std::get<WaitRequest>(wait.request.request).replicas);
    if (wait.deadline_ms) pending.deadline_ms = *wait.deadline_ms - options_.request_timeout_ms;
    pending.request = std::move(wait.request);
    waits_.push_back(std::move(pending));
  }
  follower_waits_.clear();
  broadcast_append(false);
  advance_commit();
}

void Raft::reset_election_deadline() {
  election_deadline_ms_ =
      now_ms_ + rng_.between(options_.election_timeout_ms_min, options_.election_timeout_ms_max);
}

void Raft::persist_term_and_vote() {
  pending_.batch.put(Column::meta, std::string(meta_term), u64_bytes(term_.value()));
  pending_.batch.put(Column::meta, std::string(meta_vote), u64_bytes(vote_ ? vote_->value() : 0));
  demand(pending_, Sync::always);  // before any message that depends on them
}

}  // namespace replikv::core
