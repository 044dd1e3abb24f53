// Raft's reads (docs/replication.md, "Reads"): the five consistencies, ReadIndex at the leader and
// for followers, session tokens and the applied-terms history that tells a lost write, and the
// freshness confirmations that bound a node's lag for bounded reads. The overview is in raft.h.
#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leader/raft.h"

namespace replikv::core {

void Raft::client_read(ClientRequest request) {
  ReadOptions read = request.read;
  if (read.consistency == ReadConsistency::cluster_default) read = options_.read_default;
  if (read.consistency == ReadConsistency::cluster_default) {
    read.consistency =
        options_.ack == AckPolicy::async ? ReadConsistency::leader : ReadConsistency::linearizable;
  }
  switch (read.consistency) {
    case ReadConsistency::linearizable:
      if (options_.ack == AckPolicy::async) {
        reply(request,
              Reply::error(
                  "ERR linearizable reads are not offered with ack async: a failover may lose "
                  "acknowledged writes. Read at leader, session, bounded:<ms> or eventual"));
        return;
      }
      break;
    case ReadConsistency::eventual:
      if (installing()) {
        reply(request,
              Reply::error("TRYAGAIN this node is installing a snapshot; read at another node"));
      } else {
        serve_local(request);
      }
      return;
    case ReadConsistency::session:
      session_reads_.push_back({std::move(request), now_ms_ + options_.request_timeout_ms});
      serve_session_reads();
      return;
    case ReadConsistency::bounded: {
      const auto lag = lag_ms();
      if (installing()) {
        reply(request,
              Reply::error("TRYAGAIN this node is installing a snapshot; read at another node"));
      } else if (!lag) {
        reply(request,
              Reply::error(fmt::format(
                  "STALE this node's lag behind the leader is unknown (no leader has "
                  "confirmed it yet), over the bound of {} ms; retry, or read at the leader",
                  read.bound_ms)));
      } else if (*lag > read.bound_ms) {
        reply(request, Reply::error(fmt::format(
                           "STALE this node may lag the leader by {} ms, over the bound of {} ms; "
                           "retry, or read at the leader",
                           *lag, read.bound_ms)));
      } else {
        serve_local(request);
      }
      return;
    }
    default:
      break;
  }
  // linearizable and leader: through the leader.
  if (role_ != Role::leader && options_.redirect) {
    reply(request, refusal_naming_leader());
    return;
  }
  if (options_.lease_reads && holds_lease()) {
    ++lease_reads_;
    serve_local(request);  // no other leader can have committed anything: the lease
    return;
  }
  if (role_ == Role::leader) {
    // ReadIndex (§8): read at the current commit index — at least the leader's no-op of this
    // term — once a majority confirms, in a round started after the read arrived, that this node
    // is still the leader.
    const LogIndex read_index = std::max(commit_, term_start_index_);
    pending_reads_.push_back({std::move(request), NodeId(), 0, read_index, next_round()});
    serve_reads();
    return;
  }
  follower_reads_.push_back(
      {std::move(request), next_read_id_++, now_ms_ + options_.request_timeout_ms, std::nullopt});
}

void Raft::serve_local(const ClientRequest& request) {
  ++reads_;
  reply(request, keyspace_.execute(request.request, wall_ms_), std::nullopt, applied_position());
}

// Session reads whose token this node has applied: answered — or refused, when the token's entry
// is not what this node applied at its index (the session's write was lost in a failover).
void Raft::serve_session_reads() {
  if (installing()) return;
  for (auto it = session_reads_.begin(); it != session_reads_.end();) {
    const auto check =
        it->request.session ? check_session(*it->request.session) : SessionCheck::satisfied;
    if (check == SessionCheck::wait) {
      ++it;
      continue;
    }
    if (check == SessionCheck::lost) {
      ++lost_session_reads_;
      reply(it->request,
            Reply::error(*lost_write(*session_of(it->request), "the session's position")));
    } else {
      serve_local(it->request);
    }
    it = session_reads_.erase(it);
  }
}

SessionCheck Raft::check_session(const SessionPosition& position) const {
  const auto token = token_of(position);
  if (!token) return SessionCheck::satisfied;  // not a log position: nothing to wait for
  if (applied_ < token->index) return SessionCheck::wait;
  return lost_write(*token, "the session's position") ? SessionCheck::lost
                                                      : SessionCheck::satisfied;
}

std::optional<std::string> Raft::lost_write(const SessionToken& token,
                                            std::string_view what) const {
  if (token.index.value() == 0) return std::nullopt;
  const auto term = known_term_at(token.index);
  if (!term || *term == token.term) return std::nullopt;
  return fmt::format(
      "LOSTWRITE {} {} was lost in a failover: entry {} holds term {} here. Start a new "
      "session (SESSION RESET)",
      what, to_string(token), token.index.value(), term->value());
}

std::optional<Term> Raft::known_term_at(LogIndex index) const {
  if (index.value() + 1 >= log_start_.value() && index <= last_index_) return term_at(index);
  if (index > applied_) return std::nullopt;
  const auto it = applied_terms_.upper_bound(index.value());
  if (it == applied_terms_.begin()) return std::nullopt;  // older than the history kept
  return std::prev(it)->second;
}

SessionToken Raft::applied_position() const {
  return {applied_terms_.empty() ? Term() : applied_terms_.rbegin()->second, applied_};
}

void Raft::note_applied_term(LogIndex index, Term term) {
  if (!applied_terms_.empty() && applied_terms_.rbegin()->second == term) return;
  applied_terms_[index.value()] = term;
  if (applied_terms_.size() > applied_terms_max) applied_terms_.erase(applied_terms_.begin());
  applied_terms_dirty_ = true;
}

void Raft::load_applied_terms() {
  applied_terms_.clear();
  applied_terms_dirty_ = false;
  const auto record = view_.get(Column::state, state_applied_terms);
  if (!record) return;
  REPLIKV_ASSERT(record->size() % 16 == 0, "the applied terms record holds (index, term) pairs");
  for (size_t i = 0; i < record->size(); i += 16) {
    applied_terms_[read_u64_be(std::string_view(*record).substr(i))] =
        Term(read_u64_be(std::string_view(*record).substr(i + 8)));
  }
}

// Leader: answers reads whose leadership round a majority confirmed — a local read once this node
// has applied its read index, a follower's batch at once (the follower waits to apply).
void Raft::serve_reads() {
  while (!pending_reads_.empty()) {
    PendingRead& read = pending_reads_.front();
    size_t confirmed = 1;
    for (const auto& [id, peer] : peers_) {
      if (!peer.voter) continue;  // a non-voter confirms nothing
      confirmed +=
          peer.round_acked >= read.round || (read.remote_confirms && read.remote == NodeId(id)) ? 1
                                                                                                : 0;
    }
    if (confirmed < majority()) return;
    if (read.request) {
      if (applied_ < read.read_index) return;
      serve_local(*read.request);
    } else {
      proto::RaftMessage response;
      response.set_type(proto::RaftMessage::READ_INDEX_RESPONSE);
      response.set_success(true);
      response.set_read_id(read.remote_read_id);
      response.set_read_index(read.read_index.value());
      send(read.remote, std::move(response));
    }
    pending_reads_.pop_front();
  }
}

// Follower: answers reads whose read index this node has applied.
void Raft::serve_follower_reads() {
  if (installing()) return;  // no state to read until the snapshot is in place
  for (auto it = follower_reads_.begin(); it != follower_reads_.end();) {
    if (it->read_index && applied_ >= *it->read_index) {
      serve_local(it->request);
      it = follower_reads_.erase(it);
    } else {
      ++it;
    }
  }
}

void Raft::fail_pending_reads() {
  for (auto& read : pending_reads_) {
    if (read.request) {
      reply(*read.request,
            // Called as this node steps down, before it knows who leads: it names nobody.
            Reply::not_leader(std::nullopt, "NOTLEADER this node stopped being the leader; retry"));
    } else {
      proto::RaftMessage response;
      response.set_type(proto::RaftMessage::READ_INDEX_RESPONSE);
      response.set_success(false);
      response.set_read_id(read.remote_read_id);
      send(read.remote, std::move(response));
    }
  }
  pending_reads_.clear();
}

// The heartbeat round a read that arrives now must see confirmed: the next one, which
// take_ready() starts (one round for all the reads of a turn).
uint64_t Raft::next_round() {
  round_wanted_ = true;
  return round_ + 1;
}

void Raft::on_read_index(const proto::RaftMessage& message) {
  const NodeId from(message.from());
  if (role_ != Role::leader) {
    proto::RaftMessage response;
    response.set_type(proto::RaftMessage::READ_INDEX_RESPONSE);
    response.set_success(false);
    response.set_read_id(message.read_id());
    send(from, std::move(response));
    return;
  }
  // The follower sent this after its reads arrived, while in this leader's term: it had voted in
  // no later term then, so no later leader could have committed anything without a majority that
  // excludes it. It confirms this leadership as a heartbeat answer would, from a time after the
  // reads began; the leader confirms itself now. When those two are a majority (3 nodes), the
  // read index is the commit index now, with no round. (A sender in an older term confirms
  // nothing; one in a newer term means this leader is stale, and its round will fail.)
  PendingRead read{std::nullopt, from, message.read_id(), std::max(commit_, term_start_index_),
                   round_ + 1};
  const auto peer = peers_.find(from.value());
  read.remote_confirms =
      Term(message.term()) == term_ && peer != peers_.end() && peer->second.voter;
  if (options_.lease_reads && holds_lease() && commit_ >= term_start_index_) {
    read.round = 0;  // the lease confirms it: every round number is at least 0
  } else if (!read.remote_confirms || majority() > 2) {
    read.round = next_round();
  }
  pending_reads_.push_back(std::move(read));
  serve_reads();
}

void Raft::on_read_index_response(const proto::RaftMessage& message) {
  for (auto it = follower_reads_.begin(); it != follower_reads_.end();) {
    if (it->read_id > message.read_id() || it->read_index) {
      ++it;
      continue;
    }
    if (message.success()) {
      it->read_index = LogIndex(message.read_index());
      ++it;
    } else if (leader_ && *leader_ != NodeId(message.from())) {
      ++it;  // asked again of the newer leader already
    } else {
      reply(it->request, refusal_naming_leader());
      it = follower_reads_.erase(it);
    }
  }
  serve_follower_reads();
}

// --- Freshness (bounded reads) --------------------------------------------------------------

// A heartbeat round: its start time and commit index become this leader's freshness once a
// majority answers it; each follower's latest stamp waits for it too (bounded reads).
void Raft::start_round() {
  ++round_;
  // What a node must have applied to hold every write acknowledged before now: as for ReadIndex,
  // at least this leader's no-op — a new leader's commit index may lag what the last leader
  // committed until its no-op commits (found by the simulator: a stranded leader under sync).
  const LogIndex commit = std::max(commit_, term_start_index_);
  if (own_rounds_.size() >= 64) own_rounds_.pop_front();
  own_rounds_.push_back({round_, now_ms_, commit});
  if (handover_) handover_->told = false;  // TIMEOUT_NOW again, if the last was lost
  tell_target();
  for (auto& [id, peer] : peers_) {
    if (!peer.fresh_pending && peer.stamp_heard > peer.stamp_confirmed) {
      peer.fresh_pending =
          Freshness{round_, static_cast<TimeMs>(peer.stamp_heard - 1), commit, peer.stamp_run};
      peer.stamp_confirmed = peer.stamp_heard;
    }
  }
  broadcast_append(true);
  if (majority() == 1) confirm_rounds();  // alone, every round is confirmed at once
}

// The lease: a majority answered a heartbeat round started at lease_start_ms_, and each of them
// promised to vote for no one for a minimum election timeout after receiving it (on its clock).
// Clocks may drift by ρ either way: this node may claim, on its own clock, the minimum election
// timeout × (1 − ρ) / (1 + ρ).
TimeMs Raft::lease_ms() const {
  const uint64_t ppm = std::min<uint64_t>(options_.clock_drift_max_ppm, 500'000);
  return static_cast<TimeMs>(static_cast<uint64_t>(options_.election_timeout_ms_min) *
                             (1'000'000 - ppm) / (1'000'000 + ppm));
}

bool Raft::holds_lease() const {
  return role_ == Role::leader && lease_start_ms_ && now_ms_ < *lease_start_ms_ + lease_ms() &&
         applied_ >= term_start_index_ && !handing_over();
}

// The highest heartbeat round a majority of the voters has answered (this node answers its own).
uint64_t Raft::quorum_round() const {
  std::vector<uint64_t>& acked = rounds_scratch_;  // reused: this runs on most APPEND answers
  acked.assign(1, round_);
  for (const auto& [id, peer] : peers_) {
    if (peer.voter) acked.push_back(peer.round_acked);
  }
  if (acked.size() < majority()) return 0;
  std::nth_element(acked.begin(), acked.begin() + static_cast<std::ptrdiff_t>(majority() - 1),
                   acked.end(), std::greater<>());
  return acked[majority() - 1];
}

void Raft::confirm_rounds() {
  const uint64_t confirmed = quorum_round();
  while (!own_rounds_.empty() && own_rounds_.front().round <= confirmed) {
    // The lease: counted from the round's start (its heartbeats' send time), on this clock.
    lease_start_ms_ =
        std::max(lease_start_ms_.value_or(own_rounds_.front().stamp), own_rounds_.front().stamp);
    note_freshness(own_rounds_.front().stamp, own_rounds_.front().commit);
    own_rounds_.pop_front();
  }
  for (auto& [id, peer] : peers_) {
    if (peer.fresh_pending && peer.fresh_pending->round <= confirmed) {
      peer.fresh_unsent = peer.fresh_pending;
      peer.fresh_pending.reset();
      // At once, in a heartbeat that asks no answer — unless an APPEND in flight will be answered
      // and the next one carries it. (Waiting for the next round would add an interval of lag.)
      if (peer.inflight == 0) send_append(NodeId(id), peer, true, true);
    }
  }
}

void Raft::note_freshness(TimeMs stamp, LogIndex commit) {
  if (fresh_as_of_ && stamp <= *fresh_as_of_) return;
  if (fresh_facts_.size() >= 64) fresh_facts_.erase(fresh_facts_.begin());
  fresh_facts_.push_back({0, stamp, commit});
  settle_freshness();
}

// Facts whose commit index this node has applied: it holds every write acknowledged before
// their stamp. (Not while it holds committed entries the leader lacks: it is rolling back.)
void Raft::settle_freshness() {
  if (rollback_from_ || installing()) return;
  for (auto it = fresh_facts_.begin(); it != fresh_facts_.end();) {
    if (it->commit > applied_) {
      ++it;
      continue;
    }
    if (!fresh_as_of_ || it->stamp > *fresh_as_of_) fresh_as_of_ = it->stamp;
    it = fresh_facts_.erase(it);
  }
}

std::optional<TimeMs> Raft::lag_ms() const {
  if (!fresh_as_of_) return std::nullopt;
  // Real time passed is at most the local time passed / (1 − drift).
  const uint64_t ppm = std::min<uint64_t>(options_.clock_drift_max_ppm, 500'000);
  const auto elapsed = static_cast<uint64_t>(now_ms_ - *fresh_as_of_);
  return static_cast<TimeMs>((elapsed * 1'000'000 + (1'000'000 - ppm) - 1) / (1'000'000 - ppm));
}

}  // namespace replikv::core
