// Raft's log replication (§5.3, §5.4): APPENDs checked whole and taken, their answers, the
// leader's pipelined sends, and the commit rule — the highest index of this term the ack
// policy's set holds durably (leader/commit_rule.h).
#include <algorithm>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leader/raft.h"
#include "core/leader/raft_records.h"

namespace replikv::core {
using namespace raft_records;

void Raft::protocol_violation(std::string what) {
  if (protocol_violations_++ == 0) first_protocol_violation_ = std::move(what);
}

std::optional<std::vector<proto::LogEntry>> Raft::parse_entries(const proto::RaftMessage& message) {
  std::vector<proto::LogEntry> entries(static_cast<size_t>(message.entries_size()));
  uint64_t index = message.prev_log_index();
  uint64_t term = message.prev_log_term();
  for (size_t i = 0; i < entries.size(); ++i) {
    proto::LogEntry& entry = entries[i];
    if (!entry.ParseFromString(message.entries(static_cast<int>(i))) || entry.index() != ++index ||
        entry.term() < term || entry.term() > message.term() ||
        (entry.has_write() && entry.write().op_case() == proto::Write::OP_NOT_SET)) {
      return std::nullopt;
    }
    term = entry.term();
  }
  return entries;
}

std::optional<LogIndex> Raft::committed_conflict(
    const proto::RaftMessage& message, const std::vector<proto::LogEntry>& entries) const {
  if (rollback_from_) return std::nullopt;  // rolling back already: allowed, or it would not be
  const LogIndex prev(message.prev_log_index());
  if (prev.value() + 1 < log_start_.value()) return std::nullopt;  // compacted: compared otherwise
  if (prev > last_index_) return std::nullopt;                     // refused: a gap
  if (prev > LogIndex() && term_at(prev) != Term(message.prev_log_term())) {
    if (prev <= commit_) return prev;
    return std::nullopt;  // refused: an uncommitted mismatch
  }
  for (const auto& entry : entries) {
    const LogIndex index(entry.index());
    if (index < log_start_ || index > last_index_ || index > commit_) continue;
    if (term_at(index) != Term(entry.term())) return index;
  }
  return std::nullopt;
}

void Raft::on_append(const proto::RaftMessage& message) {
  const NodeId from(message.from());
  if (role_ == Role::leader) {
    // step() brought the terms level: another node leads the term this one leads.
    protocol_violation(fmt::format("node {} sent an APPEND of term {}, which this node leads",
                                   from.value(), message.term()));
    return;
  }
  auto entries = parse_entries(message);
  if (!entries) {
    // Damaged or out of order: nothing of it is taken, and the leader hears of no success.
    ++malformed_messages_;
    return;
  }
  // Truncating a committed entry where no rollback is allowed breaks the protocol: refused before
  // anything of the message is taken — its sender is not followed, nor its term's timers reset.
  if (const auto at = committed_conflict(message, *entries);
      at && !rollback_allowed(*at, std::max(data_loss_term_, Term(message.data_loss_term())))) {
    protocol_violation(
        fmt::format("node {} sent entries that would truncate committed entry {} (commit index {})",
                    from.value(), at->value(), commit_.value()));
    return;
  }
  if (role_ != Role::follower || leader_ != from) become_follower(term_, from);
  leader_heard_ms_ = now_ms_;
  reset_election_deadline();
  note_data_loss_term(Term(message.data_loss_term()));
  if (message.fresh_stamp() > 0 && message.stamp_run() == epoch()) {
    note_freshness(static_cast<TimeMs>(message.fresh_stamp() - 1),
                   LogIndex(message.fresh_commit()));
  }

  proto::RaftMessage response;
  response.set_type(proto::RaftMessage::APPEND_RESPONSE);
  response.set_term(term_.value());
  response.set_round(message.round());
  response.set_heartbeat(message.heartbeat());
  response.set_stamp(static_cast<uint64_t>(now_ms_) + 1);
  response.set_stamp_run(epoch());
  const LogIndex prev(message.prev_log_index());
  // Below the log's start, entries were applied here, so committed: they match the leader's.
  const bool compacted = prev.value() + 1 < log_start_.value();
  if (rollback_from_) {
    need_rollback(*rollback_from_, from, response);  // waiting for the snapshot
    return;
  }
  if (compacted && rollback_possible() && !message.heartbeat()) {
    // Where committed entries can be lost (rollback on), a compacted prefix is no proof of
    // agreement: compare at its last entry (its term is known), or — the leader's log ending
    // before it — this node holds committed entries the leader lacks.
    const LogIndex boundary(log_start_.value() - 1);
    if (LogIndex(message.last_log_index()) < boundary) {
      need_rollback(LogIndex(message.last_log_index() + 1), from, response);
      return;
    }
    response.set_success(false);
    response.set_compacted(true);
    response.set_hint_index(boundary.value());
    response.set_rejected_index(prev.value());
    send(from, std::move(response));
    return;
  }
  if (!compacted && prev <= commit_ && prev > LogIndex() &&
      term_at(prev) != Term(message.prev_log_term())) {
    need_rollback(prev, from, response);  // a committed entry of this node the leader lacks
    return;
  }
  if (!compacted && (prev > last_index_ || term_at(prev) != Term(message.prev_log_term()))) {
    response.set_success(false);
    response.set_hint_index(
        std::min(last_index_.value(), prev.value() == 0 ? 0 : prev.value() - 1));
    response.set_rejected_index(prev.value());
    send(from, std::move(response));
    return;
  }
  for (int n = 0; n < message.entries_size(); ++n) {
    proto::LogEntry& entry = (*entries)[static_cast<size_t>(n)];
    const std::string& bytes = message.entries(n);
    const LogIndex index(entry.index());
    if (index < log_start_) continue;  // applied here and compacted
    if (index <= last_index_) {
      if (term_at(index) == Term(entry.term())) continue;  // already held
      // A conflicting suffix: it was never committed (the leader's log holds every committed
      // entry), so it is safe to drop (§5.3). Unless acknowledgements did not wait for a
      // majority: then the state built on it rolls back, by snapshot.
      if (index <= commit_) {
        need_rollback(index, from, response);
        return;
      }
      // One operation for the whole suffix: a log that only appends writes it as a record that
      // supersedes every entry from `index` on (storage/log_state.h).
      pending_.batch.erase_to_end(Column::log, index_key(index));
      for (LogIndex i = index; i <= last_index_; i = i.next()) {
        log_bytes_ -= entry_bytes_.back();
        entry_bytes_.pop_back();
        ++truncated_entries_;  // never committed: a deposed leader's, or a stale follower's
      }
      term_starts_.erase(term_starts_.lower_bound(index.value()), term_starts_.end());
      term_starts_dirty_ = true;
      last_index_dirty_ = true;
      last_index_ = LogIndex(index.value() - 1);
      last_term_ = term_at(last_index_);
      while (!recent_.empty() && recent_first_.value() + recent_.size() > index.value())
        recent_.pop_back();
      if (recent_.empty()) recent_first_ = index;
      taken_index_ = std::min(taken_index_, LogIndex(index.value() - 1));
      // What was durable beyond the cut is gone: no earlier Ready may vouch for the new entries
      // that will take those indexes.
      const LogIndex kept(index.value() - 1);
      durable_index_ = std::min(durable_index_, kept);
      for (auto& [ready, last] : ready_last_index_) last = std::min(last, kept);
    }
    REPLIKV_ASSERT(index == last_index_.next(), "entries arrive in order after prev_log_index");
    append_encoded(std::move(entry), bytes);
  }
  // Entries from the log: a snapshot received in part is of no use now.
  if (message.entries_size() > 0) abandon_install();
  const LogIndex match(prev.value() + static_cast<uint64_t>(message.entries_size()));
  const LogIndex leader_commit(std::min(message.commit_index(), match.value()));
  if (leader_commit > commit_) {
    commit_ = leader_commit;
    apply_committed();
  }
  response.set_success(true);
  response.set_match_index(match.value());
  // A commit-only heartbeat (round 0) needs no answer: the leader would ignore it.
  if (!(message.heartbeat() && message.round() == 0)) send(from, std::move(response));
}

void Raft::on_append_response(const proto::RaftMessage& message) {
  if (role_ != Role::leader) return;
  auto it = peers_.find(message.from());
  if (it == peers_.end()) return;
  Peer& peer = it->second;
  peer.heard_at_ms = now_ms_;
  if (message.stamp_run() != peer.stamp_run) {
    // The follower restarted: its clock, and so its stamps, start afresh.
    peer.stamp_run = message.stamp_run();
    peer.stamp_heard = peer.stamp_confirmed = 0;
    peer.fresh_pending.reset();
    peer.fresh_unsent.reset();
  }
  peer.stamp_heard = std::max(peer.stamp_heard, message.stamp());
  if (message.round() > peer.round_acked) {
    peer.round_acked = message.round();
    confirm_rounds();
  }
  if (!message.success() && message.compacted() && !message.heartbeat()) {
    // It cannot vouch for what it compacted: from its last compacted entry, where it can compare.
    peer.match = LogIndex();
    peer.next = std::min(LogIndex(message.hint_index() + 1), last_index_.next());
    peer.inflight = 0;
    send_append(NodeId(it->first), peer, false);
    return;
  }
  if (message.needs_snapshot()) {
    // It holds committed entries this leader lacks: it rolls back to this leader's snapshot.
    peer.match = LogIndex();
    peer.next = LogIndex();
    peer.inflight = 0;
    send_append(NodeId(it->first), peer, false);
    return;
  }
  if (message.heartbeat() && message.round() == 0) return;  // it answers a commit-only heartbeat
  if (message.heartbeat() && !message.success() && peer.match.value() > 0 &&
      LogIndex(message.rejected_index()) == peer.match) {
    // A heartbeat goes at what the follower acknowledged holding: refused there, it lost entries
    // it had acknowledged (its disk was replaced, or it ran without fsync and crashed). What the
    // leader knew of it is void; replication starts again from what it holds now.
    peer.match = LogIndex();
    peer.next = LogIndex(message.hint_index() + 1);
    peer.inflight = 0;
    peer.progress_ms = now_ms_;
    send_append(NodeId(it->first), peer, false);
    serve_reads();
    return;
  }
  if (message.heartbeat()) {
    // Entries the follower still lacks: send what was never sent; resend what was, if the
    // pipeline has made no progress for a heartbeat interval (an APPEND or its answer was lost —
    // the network may drop anything). Entries merely in flight are left alone.
    if (peer.match < last_index_) {
      const bool stalled =
          peer.inflight == 0 || now_ms_ - peer.progress_ms >= options_.heartbeat_interval_ms;
      if (stalled) {
        peer.next = peer.match.next();
        peer.inflight = 0;
        peer.progress_ms = now_ms_;
        ++appends_resent_;
      }
      if (peer.next <= last_index_) send_append(NodeId(it->first), peer, false);
    }
    serve_reads();
    return;
  }
  if (peer.inflight > 0) --peer.inflight;
  if (message.success()) {
    peer.progress_ms = now_ms_;
    if (LogIndex(message.match_index()) > peer.match) peer.match = LogIndex(message.match_index());
    if (peer.hold_log_from.value() > 0 && peer.match >= peer.hold_log_from)
      peer.hold_log_from = LogIndex();
    if (peer.next <= peer.match) peer.next = peer.match.next();
    advance_commit();
    serve_waits();
    tell_target();
  } else if (LogIndex(message.rejected_index()) <= peer.match) {
    // Stale: it answers an APPEND sent before a later one succeeded (the follower holds `match`).
    // Resending would only repeat what it has.
    serve_reads();
    return;
  } else {
    // Back up to what the follower holds, then resend from there.
    peer.next =
        LogIndex(std::max<uint64_t>(1, std::min(peer.next.value() - 1, message.hint_index() + 1)));
    if (peer.next <= peer.match) peer.next = peer.match.next();
    peer.inflight = 0;
  }
  if (peer.next <= last_index_) send_append(NodeId(it->first), peer, false);
  serve_reads();
}

void Raft::send_append(NodeId to, Peer& peer, bool heartbeat, bool commit_only) {
  proto::RaftMessage message;
  message.set_type(proto::RaftMessage::APPEND);
  message.set_term(term_.value());
  message.set_round(commit_only ? 0 : round_);
  message.set_last_log_index(last_index_.value());
  message.set_last_log_term(last_term_.value());
  if (data_loss_term_ > Term()) message.set_data_loss_term(data_loss_term_.value());
  if (peer.fresh_unsent) {
    message.set_fresh_stamp(static_cast<uint64_t>(peer.fresh_unsent->stamp) + 1);
    message.set_fresh_commit(peer.fresh_unsent->commit.value());
    message.set_stamp_run(peer.fresh_unsent->run);
    peer.fresh_unsent.reset();
  }
  if (heartbeat) {
    // At what the follower is known to hold, so it always fits — or at 0 when that entry was
    // compacted away (the follower is getting a snapshot).
    message.set_heartbeat(true);
    const LogIndex prev = peer.match.value() + 1 >= log_start_.value() ? peer.match : LogIndex();
    message.set_prev_log_index(prev.value());
    message.set_prev_log_term(term_at(prev).value());
    message.set_commit_index(std::min(commit_, peer.match).value());
    peer.commit_sent = std::max(peer.commit_sent, std::min(commit_, peer.match));
    send(to, std::move(message));
    return;
  }
  // The entries it needs next were compacted away: the state machine instead.
  if (peer.snapshot || peer.next < log_start_) {
    send_snapshot(to, peer);
    return;
  }
  if (peer.inflight >= options_.inflight_appends_max) return;  // flow control
  // From where the leader believes the follower is; with nothing new to send this is a probe
  // (no entries) that the follower accepts or rejects with a hint.
  const LogIndex prev(std::min(peer.next.value() - 1, last_index_.value()));
  message.set_prev_log_index(prev.value());
  message.set_prev_log_term(term_at(prev).value());
  const uint64_t last_max =
      std::min(last_index_.value(), prev.value() + options_.append_entries_max);
  message.set_commit_index(commit_.value());
  message.set_from(options_.node_id.value());
  // The entries go on the wire as they are stored, each appended as field `entries` (9,
  // length-delimited): protobuf reads concatenated fields as one message, so nothing is copied
  // into a message or encoded again.
  std::string wire = message.SerializeAsString();
  const size_t header_bytes = wire.size();
  std::string scratch;
  uint64_t last = prev.value();
  while (last < last_max &&
         (last == prev.value() || wire.size() - header_bytes < options_.append_bytes_max)) {
    ++last;
    const std::string_view bytes = entry_bytes_at(LogIndex(last), scratch);
    wire.push_back(static_cast<char>((proto::RaftMessage::kEntriesFieldNumber << 3) | 2));
    for (uint64_t length = bytes.size();; length >>= 7) {
      if (length < 0x80) {
        wire.push_back(static_cast<char>(length));
        break;
      }
      wire.push_back(static_cast<char>((length & 0x7f) | 0x80));
    }
    wire.append(bytes);
  }
  peer.commit_sent = std::max(peer.commit_sent, std::min(commit_, LogIndex(last)));
  peer.next = LogIndex(last + 1);  // pipelined: the next APPEND does not wait for this one
  ++peer.inflight;
  // Early: it may leave before this node's own sync (core/ready.h) — it carries log entries, which
  // count for this node only once persisted, and a term that is already durable (take_ready
  // holds it back when the same Ready writes a term or vote).
  pending_.messages.push_back({options_.node_id, to, std::move(wire), /*early=*/true});
}

void Raft::broadcast_append(bool heartbeat) {
  if (role_ != Role::leader) return;
  for (auto& [id, peer] : peers_) {
    if (heartbeat || peer.next <= last_index_) send_append(NodeId(id), peer, heartbeat);
  }
  if (heartbeat) heartbeat_due_ms_ = now_ms_ + options_.heartbeat_interval_ms;
}

// The highest index the ack policy's nodes hold durably — this node counting only what it has
// synced — if it is of this term (§5.4.2): a majority; the leader alone (async); the leader and k
// followers; the leader and every voting follower (sync).
void Raft::advance_commit() {
  if (role_ != Role::leader) return;
  std::vector<uint64_t>& matches = held_scratch_;  // reused: this runs on every acknowledgement
  matches.clear();
  for (const auto& [id, peer] : peers_) {
    if (peer.voter) matches.push_back(peer.match.value());  // a non-voter counts toward no quorum
  }
  const auto candidate =
      acknowledged_index(options_.ack, options_.ack_followers, majority(), durable_index_, matches);
  if (candidate && *candidate > commit_ && term_at(*candidate) == term_) {
    const LogIndex previous = commit_;
    commit_ = *candidate;
    REPLIKV_ASSERT(commit_ > previous, "the commit index never moves back");
    apply_committed();
  }
  serve_reads();
}

}  // namespace replikv::core
