// Raft's client side: requests taken at any node (leader, or forwarded by a follower), reads by
// ReadIndex at the leader and at followers, deadlines, and at-most-once application by origin
// sequence windows. The protocol between the nodes is in raft.cc; the overview in raft.h.
#include <algorithm>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leader/raft.h"
#include "core/write_codec.h"

namespace replikv::core {

bool SequenceWindow::seen(uint64_t sequence) const {
  if (sequence > highest_) return false;
  if (highest_ - sequence >= size) return true;  // older than the window: assume seen
  return (bits_[(sequence % size) / 64] >> (sequence % 64)) & 1;
}

void SequenceWindow::mark(uint64_t sequence) {
  if (sequence > highest_) {
    if (sequence - highest_ >= size) {
      bits_.fill(0);
    } else {
      for (uint64_t s = highest_ + 1; s <= sequence; ++s)
        bits_[(s % size) / 64] &= ~(uint64_t{1} << (s % 64));
    }
    highest_ = sequence;
  }
  if (highest_ - sequence < size) bits_[(sequence % size) / 64] |= uint64_t{1} << (sequence % 64);
}

std::string SequenceWindow::encode() const {
  // Big-endian words, written in place.
  std::string bytes(8 + bits_.size() * 8, '\0');
  store_u64_be(bytes.data(), highest_);
  for (size_t i = 0; i < bits_.size(); ++i) store_u64_be(bytes.data() + 8 + i * 8, bits_[i]);
  return bytes;
}

std::optional<SequenceWindow> SequenceWindow::decode(std::string_view bytes) {
  SequenceWindow window;
  if (bytes.size() != 8 + window.bits_.size() * 8) return std::nullopt;
  window.highest_ = read_u64_be(bytes);
  for (size_t i = 0; i < window.bits_.size(); ++i)
    window.bits_[i] = read_u64_be(bytes.substr(8 + i * 8));
  return window;
}

// --- Clients --------------------------------------------------------------------------------

void Raft::client_request(ClientRequest request) {
  const bool answered = answer_strategy_request(
      request.request,
      Overloaded{[&](const WaitRequest&) { client_wait(std::move(request)); },
                 [&](const StrategyCommand& command) {
                   if (command.as<FailoverRequest>() != nullptr) {
                     client_failover(std::move(request));
                   } else {
                     reply(request,
                           Reply::error(fmt::format("ERR unknown command '{}'", command.name)));
                   }
                 }});
  if (answered) return;
  if (is_write(request.request)) {
    client_write(std::move(request));
  } else {
    client_read(std::move(request));
  }
}

std::optional<Reply> Raft::write_refusal() {
  if (handing_over()) {
    return Reply::error(fmt::format(
        "TRYAGAIN leadership is being handed to node {}; the write was not applied, retry",
        handover_->target.value()));
  }
  if (role_ == Role::leader && followers_in_reach() < options_.min_replicas) {
    ++min_replicas_refused_;
    return Reply::error("NOREPLICAS Not enough good replicas to write.");  // before any append
  }
  return std::nullopt;
}

void Raft::client_write(ClientRequest request) {
  if (const auto* command = std::get_if<CommandRequest>(&request.request)) {
    if (auto pop = blocking_pop_of(command->argv)) {
      client_blocking_pop(std::move(request), std::move(*pop));
      return;
    }
  }
  if (role_ != Role::leader && options_.redirect) {
    reply(request, refusal_naming_leader());  // nothing was appended: definite
    return;
  }
  if (role_ != Role::leader && forwards_in_flight_ >= options_.forwards_in_flight_max) {
    reply(request,
          Reply::error(fmt::format("BUSY {} writes are already being forwarded to the leader; "
                                   "this one was not applied, retry",
                                   forwards_in_flight_)));
    return;
  }
  if (auto refusal = write_refusal()) {
    reply(request, std::move(*refusal));
    return;
  }
  const uint64_t sequence = next_origin_sequence_++;
  // The leader answers from the connection and sequence alone: the request's buffers can go to
  // the entry. A follower keeps its own copy in `pending.write` (it may forward again).
  auto log_write = role_ == Role::leader
                       ? to_log_write(std::move(request.request), wall_ms_)
                       : to_log_write(std::as_const(request.request), std::nullopt);
  REPLIKV_ASSERT(log_write.has_value(), "a write has a log form");
  PendingWrite& pending = pending_writes_[sequence];
  pending.request = std::move(request);
  pending.deadline_ms = now_ms_ + options_.request_timeout_ms;
  pending_deadline_min_ = std::min(pending_deadline_min_, pending.deadline_ms);
  if (role_ == Role::leader) {
    pending.sent = true;
    append_client_write(sequence, std::move(*log_write), self());
    broadcast_append(false);
    advance_commit();  // a single-node cluster commits on its own sync
  } else {
    // Forwarded with the next Ready (flush_forwards), batched with the others of this turn.
    pending.write = std::move(*log_write);
    pending.forwarded = true;
    ++unsent_writes_;
    ++forwards_in_flight_;
  }
}

// --- Blocking pops ---------------------------------------------------------------------------

// Served by the leader alone: a follower would have to forward the wait and the pop, and a pop
// decided there could take an element for a client whose answer a lost forward never brings.
// The first try goes into the log at once (the leader's applied state may be behind what it has
// appended); a try that pops nothing makes the client wait (BlockedPops) until a write leaves one
// of its lists with elements.
void Raft::client_blocking_pop(ClientRequest request, BlockingPop pop) {
  if (role_ != Role::leader) {
    reply(request, refusal_naming_leader());  // definite: nothing was appended
    return;
  }
  if (auto refusal = write_refusal()) {
    reply(request, std::move(*refusal));
    return;
  }
  const std::optional<TimeMs> deadline =
      pop.timeout_ms > 0 ? std::optional<TimeMs>(now_ms_ + pop.timeout_ms) : std::nullopt;
  const uint64_t id = blocked_pops_.block(std::move(request), std::move(pop.keys), deadline);
  blocked_pops_.trying(id);
  try_blocked_pop(id);
  broadcast_append(false);
  advance_commit();
}

// One try of waiter `id` (marked in flight): an entry of its own, answered when it applies.
void Raft::try_blocked_pop(uint64_t id) {
  REPLIKV_ASSERT(role_ == Role::leader, "only the leader tries a blocking pop");
  const ClientRequest& request = blocked_pops_.request(id);
  auto log_write = to_log_write(std::as_const(request.request), wall_ms_);
  REPLIKV_ASSERT(log_write.has_value(), "a blocking pop has a log form");
  const uint64_t sequence = next_origin_sequence_++;
  PendingWrite& pending = pending_writes_[sequence];
  pending.request = request;
  pending.blocked_pop = id;
  pending.deadline_ms = now_ms_ + options_.request_timeout_ms;
  pending_deadline_min_ = std::min(pending_deadline_min_, pending.deadline_ms);
  pending.sent = true;
  append_client_write(sequence, std::move(*log_write), self());
}

bool Raft::answer_blocked_try(uint64_t id, Reply& result) {
  if (!blocked_pops_.contains(id)) return true;
  // The try no longer claims an element of each of its keys: the lists it did not pop from may
  // serve other waiters now (BLPOP a b popped from a; b's waiters were held back by its claim).
  const std::vector<std::string> keys = blocked_pops_.keys(id);
  const bool nothing = result.kind == Reply::Kind::null || result.kind == Reply::Kind::null_array;
  bool answered = true;
  if (!nothing) {
    blocked_pops_.finish(id);
  } else if (role_ != Role::leader) {
    blocked_pops_.finish(id);
    result = refusal_naming_leader();  // nothing was popped: definite
  } else {
    answered = !blocked_pops_.wait_again(id, now_ms_);
  }
  if (role_ == Role::leader) wake_blocked_pops(keys);
  return answered;
}

void Raft::wake_blocked_pops(const std::vector<std::string>& written) {
  for (const auto& key : written) {
    if (!blocked_pops_.waiting_on(key)) continue;
    // The elements beyond those that tries already in the log may take.
    const uint64_t length = keyspace_.list_length(key, wall_ms_);
    const uint64_t claimed = blocked_pops_.in_flight_on(key);
    if (length <= claimed) continue;
    for (const uint64_t id : blocked_pops_.wake(key, length - claimed))
      blocked_to_try_.push_back(id);
  }
}

// --- WAIT -----------------------------------------------------------------------------------

// WAIT numreplicas timeout: the followers holding the connection's last write durably, counted
// by the leader — asked of it by a follower that took the request.
void Raft::client_wait(ClientRequest request) {
  const auto& wait = std::get<WaitRequest>(request.request);
  const std::optional<TimeMs> deadline =
      wait.timeout_ms > 0 ? std::optional<TimeMs>(now_ms_ + wait.timeout_ms) : std::nullopt;
  if (role_ == Role::leader) {
    PendingWait pending;
    pending.token = session_of(request).value_or(SessionToken{});
    pending.replicas = static_cast<uint64_t>(wait.replicas);
    pending.deadline_ms = deadline;
    pending.request = std::move(request);
    waits_.push_back(std::move(pending));
    serve_waits();
    return;
  }
  // A follower's own clock bounds it too, with room for the leader's answer to arrive.
  const std::optional<TimeMs> own_deadline =
      deadline ? std::optional<TimeMs>(*deadline + options_.request_timeout_ms) : std::nullopt;
  follower_waits_.push_back(
      {std::move(request), next_wait_id_++, std::nullopt, Term(), own_deadline});
}

size_t Raft::followers_holding(LogIndex index) const {
  size_t count = 0;
  for (const auto& [id, peer] : peers_) count += peer.match >= index ? 1 : 0;
  return count;
}

size_t Raft::followers_in_reach() const {
  size_t count = 0;
  for (const auto& [id, peer] : peers_) {
    count += peer.heard_at_ms > 0 && peer.heard_at_ms + options_.min_replicas_max_lag_ms >= now_ms_
                 ? 1
                 : 0;
  }
  return count;
}

// Leader: answers the waits that have their count, or reached their deadline, or whose write was
// lost (its index holds another term's entry here).
void Raft::serve_waits() {
  if (role_ != Role::leader) return;
  for (auto it = waits_.begin(); it != waits_.end();) {
    const auto lost = lost_write(it->token, "the connection's last write");
    const size_t count = followers_holding(it->token.index);
    const bool done =
        lost || count >= it->replicas || (it->deadline_ms && *it->deadline_ms <= now_ms_);
    if (!done) {
      ++it;
      continue;
    }
    if (it->request) {
      reply(*it->request, lost ? Reply::error(*lost) : Reply::number(static_cast<int64_t>(count)));
    } else {
      proto::RaftMessage response;
      response.set_type(proto::RaftMessage::WAIT_RESPONSE);
      response.set_read_id(it->remote_wait_id);
      response.set_success(!lost);
      response.set_wait_count(count);
      if (lost) response.set_reason(*lost);
      send(it->remote, std::move(response));
    }
    it = waits_.erase(it);
  }
}

void Raft::on_wait(const proto::RaftMessage& message) {
  const NodeId from(message.from());
  if (role_ != Role::leader) {
    proto::RaftMessage response;
    response.set_type(proto::RaftMessage::WAIT_RESPONSE);
    response.set_read_id(message.read_id());
    response.set_success(false);
    send(from, std::move(response));
    return;
  }
  PendingWait pending;
  pending.remote = from;
  pending.remote_wait_id = message.read_id();
  pending.token = {Term(message.wait_term()), LogIndex(message.read_index())};
  pending.replicas = message.wait_replicas();
  if (message.wait_timeout_ms() > 0)
    pending.deadline_ms = now_ms_ + static_cast<TimeMs>(message.wait_timeout_ms());
  waits_.push_back(std::move(pending));
  serve_waits();
}

void Raft::on_wait_response(const proto::RaftMessage& message) {
  for (auto it = follower_waits_.begin(); it != follower_waits_.end(); ++it) {
    if (it->wait_id != message.read_id()) continue;
    if (message.success()) {
      reply(it->request, Reply::number(static_cast<int64_t>(message.wait_count())));
    } else if (!message.reason().empty()) {
      reply(it->request, Reply::from_error_text(message.reason()));
    } else {
      it->sent_to.reset();  // not the leader: asked again of the next one
      return;
    }
    follower_waits_.erase(it);
    return;
  }
}

Reply Raft::refusal_naming_leader() const {
  if (!leader_) return Reply::not_leader(std::nullopt, "NOTLEADER no leader is known yet; retry");
  const auto address = options_.client_addresses.find(leader_->value());
  if (address == options_.client_addresses.end()) {
    return Reply::not_leader(leader_,
                             fmt::format("NOTLEADER the leader is node {}", leader_->value()));
  }
  return Reply::not_leader(leader_, fmt::format("NOTLEADER the leader is node {} at {}",
                                                leader_->value(), address->second));
}

void Raft::append_client_write(uint64_t sequence, proto::Write write, Origin origin) {
  REPLIKV_ASSERT(role_ == Role::leader, "only a leader appends client writes");
  resolve_expiry(write, wall_ms_);
  proto::LogEntry entry;
  *entry.mutable_write() = std::move(write);
  entry.set_origin_node(origin.node);
  entry.set_origin_incarnation(origin.incarnation);
  entry.set_origin_sequence(sequence);
  proposed_windows_[origin].mark(sequence);
  append(std::move(entry));
}

void Raft::reply(const ClientRequest& request, Reply reply_value,
                 std::optional<SessionToken> written, std::optional<SessionToken> read_at) {
  pending_.replies.push_back(
      {request.connection, request.sequence, std::move(reply_value),
       written ? std::optional<SessionPosition>(position_of(*written)) : std::nullopt,
       read_at ? std::optional<SessionPosition>(position_of(*read_at)) : std::nullopt});
}

// Requests past their deadline. A write that left this node may still take effect: `-TIMEOUT`
// says so. One that never left (no leader was known) is definitely not applied.
void Raft::expire_requests() {
  // Called at every input: the writes are walked only once the earliest deadline among them has
  // come (under pipelined load hundreds wait at once, and a walk per input was a visible part of
  // the leader's time). The walk finds the next earliest.
  TimeMs next_deadline = std::numeric_limits<TimeMs>::max();
  for (auto it = pending_writes_.begin();
       now_ms_ >= pending_deadline_min_ && it != pending_writes_.end();) {
    PendingWrite& pending = it->second;
    if (pending.deadline_ms > now_ms_) {
      next_deadline = std::min(next_deadline, pending.deadline_ms);
      ++it;
      continue;
    }
    if (pending.refused_by) --refused_writes_;
    if (pending.blocked_pop != 0) blocked_pops_.finish(pending.blocked_pop);
    if (pending.sent) {
      reply(pending.request,
            Reply::unknown(fmt::format("TIMEOUT the write was not confirmed within {} ms; "
                                       "it may still take effect",
                                       options_.request_timeout_ms)));
    } else {
      --unsent_writes_;
      reply(pending.request,
            Reply::not_leader(std::nullopt,
                              fmt::format("NOTLEADER no leader was known for {} ms; the write "
                                          "was not applied, retry",
                                          options_.request_timeout_ms)));
    }
    if (pending.forwarded) --forwards_in_flight_;
    it = pending_writes_.erase(it);
  }
  if (now_ms_ >= pending_deadline_min_) pending_deadline_min_ = next_deadline;
  while (!follower_reads_.empty() && follower_reads_.front().deadline_ms <= now_ms_) {
    reply(follower_reads_.front().request,
          Reply::unknown(
              fmt::format("TIMEOUT the read could not be confirmed by a leader within {} ms; retry",
                          options_.request_timeout_ms)));
    follower_reads_.pop_front();
  }
  while (!session_reads_.empty() && session_reads_.front().deadline_ms <= now_ms_) {
    const SessionRead& read = session_reads_.front();
    reply(read.request,
          Reply::unknown(fmt::format(
              "TIMEOUT this node has applied up to {}, behind the session's {}, after {} ms; "
              "retry, or read at another node",
              to_string(applied_position()),
              to_string(session_of(read.request).value_or(SessionToken{})),
              options_.request_timeout_ms)));
    session_reads_.pop_front();
  }
  for (auto it = follower_waits_.begin(); it != follower_waits_.end();) {
    if (!it->deadline_ms || *it->deadline_ms > now_ms_) {
      ++it;
      continue;
    }
    reply(it->request, Reply::unknown("TIMEOUT no leader answered WAIT in time; retry"));
    it = follower_waits_.erase(it);
  }
  serve_waits();  // the leader's, at their deadlines
  for (auto& request :
       blocked_pops_.expired(now_ms_, options_.mutants.answer_tried_waiters_at_timeout)) {
    const auto pop = blocking_pop_of(std::get<CommandRequest>(request.request).argv);
    reply(request, pop ? pop->timeout_reply : Reply::null_array());
  }
  if (handover_ && handover_->deadline_ms <= now_ms_) {
    const auto& failover =
        *std::get<StrategyCommand>(handover_->request.request).as<FailoverRequest>();
    const std::string now_leads = leader_ ? fmt::format("node {} leads", leader_->value())
                                          : std::string("no leader is known yet");
    if (handover_->forced) {
      reply(handover_->request,
            Reply::error(fmt::format(
                "ERR the forced promotion of node {} failed within {} ms ({}): it needs {} votes "
                "of reachable voters whose logs are no newer than its own",
                handover_->target.value(), failover.timeout_ms, now_leads, election_quorum())));
    } else {
      reply(handover_->request,
            Reply::unknown(
                fmt::format("TIMEOUT the handover to node {} did not complete within {} ms; {}",
                            handover_->target.value(), failover.timeout_ms, now_leads)));
    }
    handover_.reset();  // a leader that still leads takes writes again
    // Waiters held back while leadership was moving: their lists may have elements now.
    wake_blocked_pops(blocked_pops_.waited_keys());
    try_woken_blocked_pops();
  }
}

// Follower: sends the writes and read-index requests of this turn to the leader, one batch each.
void Raft::flush_forwards() {
  if (role_ == Role::leader || !leader_) return;
  if (unsent_writes_ > 0 || refused_writes_ > 0) {
    proto::RaftMessage message;
    message.set_type(proto::RaftMessage::FORWARD);
    uint64_t message_bytes = 0;
    for (auto& [sequence, pending] : pending_writes_) {
      // Never sent; or refused by a node that was not the leader, and a leader is known that is
      // another node, or the same one in a later term (it has won an election since).
      const bool resend = pending.refused_by &&
                          (*pending.refused_by != *leader_ || term_ > pending.refused_in_term);
      if (pending.sent && !resend) continue;
      proto::LogEntry entry;
      *entry.mutable_write() = pending.write;  // kept: it may have to go again
      entry.set_origin_node(options_.node_id.value());
      entry.set_origin_incarnation(incarnation_);
      entry.set_origin_sequence(sequence);
      entry.SerializeToString(message.add_entries());
      message_bytes += message.entries(message.entries_size() - 1).size();
      if (resend) {
        pending.refused_by.reset();
        pending.resent = true;
        --refused_writes_;
      } else {
        pending.sent = true;
        --unsent_writes_;
        ++writes_forwarded_;
      }
      if (static_cast<uint64_t>(message.entries_size()) >= options_.append_entries_max ||
          message_bytes >= options_.append_bytes_max) {
        send(*leader_, std::move(message));
        message.Clear();
        message.set_type(proto::RaftMessage::FORWARD);
        message_bytes = 0;
      }
    }
    if (message.entries_size() > 0) send(*leader_, std::move(message));
  }
  for (auto& wait : follower_waits_) {
    if (wait.sent_to == leader_ && wait.sent_term == term_) continue;
    const auto& request = std::get<WaitRequest>(wait.request.request);
    const SessionToken token = session_of(wait.request).value_or(SessionToken{});
    proto::RaftMessage message;
    message.set_type(proto::RaftMessage::WAIT);
    message.set_read_id(wait.wait_id);
    message.set_read_index(token.index.value());
    message.set_wait_term(token.term.value());
    message.set_wait_replicas(static_cast<uint64_t>(request.replicas));
    // What is left of its timeout (at least a millisecond: 0 would mean none).
    if (wait.deadline_ms) {
      message.set_wait_timeout_ms(static_cast<uint64_t>(
          std::max<TimeMs>(1, *wait.deadline_ms - options_.request_timeout_ms - now_ms_)));
    }
    send(*leader_, std::move(message));
    wait.sent_to = leader_;
    wait.sent_term = term_;
  }
  const uint64_t last_read_id = next_read_id_ - 1;
  if (!follower_reads_.empty() && read_id_sent_ < last_read_id) {
    proto::RaftMessage message;
    message.set_type(proto::RaftMessage::READ_INDEX);
    message.set_read_id(last_read_id);
    send(*leader_, std::move(message));
    read_id_sent_ = last_read_id;
  }
}

// Leader: a follower learns of a new commit index with the next message it gets; when none went
// this turn, a heartbeat carries it, so forwarded writes and follower reads are answered without
// waiting for the heartbeat interval.
void Raft::propagate_commit() {
  if (role_ != Role::leader) return;
  for (auto& [id, peer] : peers_) {
    // With APPENDs in flight their answers bring more messages, which carry it; the last one
    // leaves the pipeline empty and the commit index goes then.
    if (peer.inflight == 0 && std::min(commit_, peer.match) > peer.commit_sent)
      send_append(NodeId(id), peer, true, true);
  }
}

// At-most-once: true the first time a replica applies (origin, sequence), false after — in log
// order, so every replica decides the same.
bool Raft::apply_once(const proto::LogEntry& entry) {
  if (entry.origin_node() == 0) return true;
  SequenceWindow& window = applied_windows_[Origin::of(entry)];
  if (window.seen(entry.origin_sequence())) {
    ++duplicates_skipped_;
    return false;
  }
  window.mark(entry.origin_sequence());
  windows_dirty_[Origin::of(entry)] = true;
  return true;
}

// --- Forwarded requests ---------------------------------------------------------------------

void Raft::on_forward(const proto::RaftMessage& message) {
  const NodeId from(message.from());
  if (role_ != Role::leader || handing_over()) {
    // Not appended now. (Not proof that an earlier copy was not: the sender sends it again to
    // the next leader it learns of.)
    proto::RaftMessage response;
    response.set_type(proto::RaftMessage::FORWARD_RESPONSE);
    proto::LogEntry entry;
    for (const std::string& bytes : message.entries()) {
      if (entry.ParseFromString(bytes)) response.add_refused_sequences(entry.origin_sequence());
    }
    response.set_reason(refusal_naming_leader().text);
    send(from, std::move(response));
    return;
  }
  bool appended = false;
  const bool refuse_all = followers_in_reach() < options_.min_replicas;
  proto::RaftMessage rejection;
  proto::LogEntry entry;
  for (const std::string& bytes : message.entries()) {
    if (!entry.ParseFromString(bytes) || entry.origin_node() != from.value() ||
        !entry.has_write() || entry.write().has_expire() ||
        entry.write().op_case() == proto::Write::OP_NOT_SET ||
        (entry.write().has_command() && !is_valid_command_write(entry.write())) ||
        (entry.write().has_transaction() && !is_valid_transaction_write(entry.write()))) {
      ++malformed_messages_;
      continue;
    }
    // Seen before (a duplicate the network made, or older than the window): appended once already,
    // or never to be — either way not again.
    const Origin origin = Origin::of(entry);
    if (proposed_windows_[origin].seen(entry.origin_sequence())) continue;
    if (refuse_all) {
      // Refused before any append, for good: marked, so a copy arriving later is not appended.
      proposed_windows_[origin].mark(entry.origin_sequence());
      rejection.add_rejected_sequences(entry.origin_sequence());
      ++min_replicas_refused_;
      continue;
    }
    append_client_write(entry.origin_sequence(), std::move(*entry.mutable_write()), origin);
    appended = true;
  }
  if (rejection.rejected_sequences_size() > 0) {
    rejection.set_type(proto::RaftMessage::FORWARD_RESPONSE);
    rejection.set_reason("NOREPLICAS Not enough good replicas to write.");
    send(from, std::move(rejection));
  }
  if (appended) {
    broadcast_append(false);
    advance_commit();
  }
}

// A refusal is not proof that the write was never appended: the network may have delivered
// another copy of the same FORWARD while the refusing node still led (found by the simulator,
// seed 1095276466). So the write waits for its outcome, and goes again — same sequence — to the
// next leader this node learns of: the sequence windows apply it at most once whichever copies
// are appended. It is answered when applied, or `-TIMEOUT` at its deadline.
void Raft::on_forward_response(const proto::RaftMessage& message) {
  for (const uint64_t sequence : message.rejected_sequences()) {
    // Refused by a leader before any append. Definite only if no other node was ever sent it
    // (one that refused it, not leading, may have appended another copy while it led).
    const auto it = pending_writes_.find(sequence);
    if (it == pending_writes_.end() || !it->second.forwarded || it->second.resent ||
        it->second.refused_by)
      continue;
    reply(it->second.request, Reply::from_error_text(message.reason()));
    --forwards_in_flight_;
    pending_writes_.erase(it);
  }
  for (const uint64_t sequence : message.refused_sequences()) {
    const auto it = pending_writes_.find(sequence);
    if (it == pending_writes_.end() || !it->second.forwarded || it->second.refused_by) continue;
    it->second.refused_by = NodeId(message.from());
    // The term this node was in when refused (a refuser behind it — one that lost its disk — must
    // not make the write go again at once, to the same node, in a loop).
    it->second.refused_in_term = std::max(Term(message.term()), term_);
    ++refused_writes_;
  }
}

}  // namespace replikv::core
