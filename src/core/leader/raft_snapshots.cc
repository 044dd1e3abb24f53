// Raft: snapshots — the leader sending the state machine to a follower whose next entries were
// compacted away, and the follower installing it atomically across crashes (docs/snapshots.md).
//
// Leader: a follower's `next` below the log's first index starts a transfer from a frozen view
// of storage (core/storage.h): its applied index and that entry's term are the snapshot's
// position, read from the view itself, so data and position agree whatever is still unapplied.
// Chunks go out `snapshot_chunks_inflight_max` at a time; the follower acknowledges the chunks
// it staged, in order. Chunks unacknowledged for a heartbeat interval before the first answer,
// or for an election timeout once answers come (a chunk of a megabyte is written and synced
// before its answer), are sent again from the first of them; a follower that asks for an earlier
// chunk than it acknowledged lost its staging (it restarted) and is sent everything again from
// there. The follower's final answer says which log position it now holds; replication goes on from
// the next entry.
//
// Follower: a snapshot at or below its commit index is refused as done (it holds all that; the
// leader goes on from its commit index); one whose last entry its log holds with the same term
// too (the log matching property makes everything before it the leader's). Otherwise the chunks
// are staged in order (any other chunk is answered with the one expected). The last chunk's
// batch switches over in one atomic write: the old state and log erased, positions set to the
// snapshot, marker "moving". Then each tick moves a bounded batch from staging into place; the
// batch after the last removes the marker. Meanwhile the node appends entries (its log is
// independent of the state), but applies nothing, serves no reads and stands for no election.
#include <algorithm>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leader/raft.h"
#include "core/leader/raft_records.h"

namespace replikv::core {
using namespace raft_records;

// --- Leader ---------------------------------------------------------------------------------

void Raft::send_snapshot(NodeId to, Peer& peer) {
  // Stalled: nothing acknowledged for a heartbeat interval (lost, or the follower was away), or
  // no progress for an election timeout once chunks flow (a follower writes and syncs each
  // chunk before it answers: a megabyte may take longer than a heartbeat interval).
  const bool stalled = peer.snapshot && peer.snapshot->next > peer.snapshot->acked &&
                       now_ms_ - peer.snapshot->progress_ms >=
                           (peer.snapshot->acked == 0 ? options_.heartbeat_interval_ms
                                                      : options_.election_timeout_ms_min);
  // Nothing of it arrived (the follower was away): a newer snapshot instead, so that it is not
  // left as far behind as it was when this one was taken.
  if (stalled && peer.snapshot->acked == 0) peer.snapshot.reset();
  // The follower stopped answering half-way: the view goes (a later answer starts a new one).
  if (stalled && now_ms_ - peer.heard_at_ms >= options_.election_timeout_ms_min)
    peer.snapshot.reset();
  // Not for a follower that is not answering (down, or cut off): its next answer starts one. A
  // snapshot pins its view's versions in storage, and chunks to nowhere cost reads.
  if (!peer.snapshot && now_ms_ - peer.heard_at_ms >= options_.election_timeout_ms_min) return;
  // At most one new snapshot per peer per heartbeat interval, whatever the answers say (a view
  // costs the memory engine a copy; a storm of them helps no one).
  if (!peer.snapshot && peer.snapshot_taken_ms != 0 &&
      now_ms_ - peer.snapshot_taken_ms < options_.heartbeat_interval_ms) {
    return;
  }
  if (!peer.snapshot) {
    auto view = view_.snapshot();
    const auto applied = view->get(Column::state, state_applied);
    const LogIndex index(applied && applied->size() == 8 ? read_u64_be(*applied) : 0);
    // Nothing it lacks yet (its position came from its answer to a snapshot refused as done, or
    // the stored state lags — no checkpoint since it fell behind, or none at all): the next
    // heartbeat's answer tries again, and the checkpoint is brought forward rather than left to
    // checkpoint_interval_ms (a follower rolling back waits on it).
    if (index <= peer.match) {
      if (applied_ > index) checkpoint_wanted_ = true;
      return;
    }
    const Term term = stored_term_at(*view, index);
    peer.snapshot = std::make_shared<SnapshotSending>(SnapshotSending{
        SnapshotSource(std::move(view), index, term), 0, 0, std::nullopt, now_ms_, now_ms_});
    peer.snapshot_taken_ms = now_ms_;
  }
  SnapshotSending& sending = *peer.snapshot;
  if (stalled) {
    sending.next = sending.acked;  // a chunk or its answer was lost
    sending.progress_ms = now_ms_;
  }
  while (sending.next < sending.acked + options_.snapshot_chunks_inflight_max &&
         (!sending.last || sending.next <= *sending.last)) {
    proto::RaftMessage message;
    message.set_type(proto::RaftMessage::INSTALL_SNAPSHOT);
    *message.mutable_snapshot() = sending.source.chunk(sending.next, options_.snapshot_chunk_bytes);
    if (message.snapshot().last()) sending.last = sending.next;
    ++sending.next;
    ++snapshot_chunks_sent_;
    send(to, std::move(message));
  }
}

void Raft::on_install_snapshot_response(const proto::RaftMessage& message) {
  if (role_ != Role::leader) return;
  const auto it = peers_.find(message.from());
  if (it == peers_.end()) return;
  Peer& peer = it->second;
  peer.heard_at_ms = now_ms_;
  if (message.success()) {
    // It holds the log up to match_index: from a snapshot, or refusing one as already held (or,
    // `compacted`, says only where to go on from: nothing is counted for it).
    const LogIndex match(message.match_index());
    if (match > peer.match) peer.match = match;
    if (message.compacted()) {
      peer.snapshot.reset();
      peer.next = std::min(LogIndex(message.hint_index() + 1), last_index_.next());
      peer.inflight = 0;
      send_append(NodeId(it->first), peer, false);
      return;
    }
    // The log is kept from here until it takes entries again (see maybe_compact).
    peer.hold_log_from = peer.match.next();
    if (peer.snapshot && (peer.snapshot->source.index() <= peer.match ||
                          LogIndex(message.snapshot_index()) != peer.snapshot->source.index())) {
      if (peer.snapshot->source.index() == LogIndex(message.snapshot_index())) {
        ++snapshots_sent_;
        snapshot_send_ms_ = now_ms_ - peer.snapshot->started_ms;
      }
      peer.snapshot.reset();
    }
    peer.next = peer.match.next();
    peer.inflight = 0;
    peer.progress_ms = now_ms_;
    advance_commit();
    if (!peer.snapshot && peer.next <= last_index_) send_append(NodeId(it->first), peer, false);
    return;
  }
  if (!peer.snapshot || LogIndex(message.snapshot_index()) != peer.snapshot->source.index()) return;
  SnapshotSending& sending = *peer.snapshot;
  const uint64_t expected = message.chunk_next();
  if (expected > sending.acked) {
    sending.acked = std::min(expected, sending.next);
    sending.progress_ms = now_ms_;
  } else if (expected < sending.acked) {
    // It lost what it had staged (a restart discards a partial install): from there again.
    sending.acked = sending.next = expected;
    sending.progress_ms = now_ms_;
  }
  send_snapshot(NodeId(it->first), peer);
}

// --- Follower -------------------------------------------------------------------------------

void Raft::on_install_snapshot(const proto::RaftMessage& message) {
  const NodeId from(message.from());
  if (role_ == Role::leader) {
    protocol_violation(fmt::format("node {} sent a snapshot in term {}, which this node leads",
                                   from.value(), message.term()));
    return;
  }
  if (!well_formed(message.snapshot())) {
    ++malformed_messages_;
    return;
  }
  if (role_ != Role::follower || leader_ != from) become_follower(term_, from);
  leader_heard_ms_ = now_ms_;
  reset_election_deadline();
  note_data_loss_term(Term(message.data_loss_term()));

  const proto::SnapshotChunk& chunk = message.snapshot();
  const LogIndex index(chunk.index());
  const Term term(chunk.term());
  proto::RaftMessage response;
  response.set_type(proto::RaftMessage::INSTALL_SNAPSHOT_RESPONSE);
  response.set_snapshot_index(index.value());
  auto answer_done = [&](LogIndex match) {
    response.set_success(true);
    response.set_match_index(match.value());
    send(from, std::move(response));
  };
  if (installing()) {
    // Moving a snapshot into place (this one or another): its log starts after that snapshot,
    // and it takes entries meanwhile — the leader goes on from there.
    answer_done(install_->index);
    return;
  }
  if (index <= commit_ && !rollback_from_) {
    if (rollback_possible()) {
      // Committed here is no proof the leader has it: go on from there, and the APPENDs compare.
      response.set_success(true);
      response.set_compacted(true);
      response.set_hint_index(commit_.value());
      send(from, std::move(response));
      return;
    }
    answer_done(commit_);  // committed entries are the leader's: go on from there
    return;
  }
  if (!rollback_from_ && index <= last_index_ && index.value() + 1 >= log_start_.value() &&
      term_at(index) == term) {
    answer_done(index);  // the log holds it: everything up to it is the leader's
    return;
  }
  const bool same = install_ && install_->index == index && install_->term == term &&
                    install_->leader_term == term_;
  if (checkpoint_in_flight_id_ != 0) {
    // A checkpoint begun before this snapshot arrived is still being written: it would land on
    // the snapshot's state. Nothing is staged until it is in (no new one begins meanwhile); the
    // leader sends again when it sees no progress.
    response.set_chunk_next(same ? install_->chunk_next : 0);
    send(from, std::move(response));
    return;
  }
  if (chunk.number() == 0 && !(same && install_->chunk_next > 0)) {
    if (install_) discard_staged(pending_.batch);  // another snapshot's chunks
    install_ = Install{index, term, term_, 0, false, now_ms_, 0};
    early_chunks_.clear();
  } else if (!same || chunk.number() != install_->chunk_next) {
    // Ahead of the one expected (the network reordered them): kept in memory, a window's worth
    // at most, until the ones before it arrive. Repeated, or of a snapshot this node is not
    // receiving: dropped. Either way the answer says which chunk it expects.
    if (same && chunk.number() > install_->chunk_next &&
        chunk.number() < install_->chunk_next + options_.snapshot_chunks_inflight_max) {
      early_chunks_.emplace(chunk.number(), chunk);
    }
    response.set_chunk_next(same ? install_->chunk_next : 0);
    send(from, std::move(response));
    return;
  }
  bool last = stage(chunk);
  for (auto it = early_chunks_.find(install_->chunk_next); !last && it != early_chunks_.end();
       it = early_chunks_.find(install_->chunk_next)) {
    last = stage(it->second);
    early_chunks_.erase(it);
  }
  response.set_chunk_next(install_->chunk_next);
  if (!last) {
    write_install_marker();
    send(from, std::move(response));
    return;
  }
  early_chunks_.clear();
  switch_to_snapshot();
  answer_done(index);
}

namespace {

// An element record as core/encoding.h lays them out: an id, a kind, and what the kind holds.
bool well_formed_element(std::string_view key, std::string_view value) {
  if (key.size() < 9) return false;
  switch (key[8]) {
    case element_field:
    case element_member:
      return key.size() >= 17;
    case element_scored:
      return key.size() >= 17 && value.size() == 8;
    case element_order:
      return key.size() >= 17 && value.empty();
    case element_position:
      return key.size() == 17;
    default:
      return false;
  }
}

}  // namespace

bool Raft::well_formed(const proto::SnapshotChunk& chunk) {
  if (chunk.index() == 0) return false;
  for (const auto& record : chunk.records()) {
    const std::string& key = record.key();
    const std::string& value = record.value();
    switch (static_cast<Column>(record.column())) {
      case Column::data: {
        const auto stored = key.size() < 8 ? std::nullopt : decode_value(value);
        if (!stored) return false;
        // A collection's record holds its header (core/encoding.h).
        if (stored->type != ValueType::string && !decode_header(stored->value)) return false;
        break;
      }
      case Column::expiry:
        if (key.size() < 8) return false;
        break;
      case Column::elements:
        if (!well_formed_element(key, value)) return false;
        break;
      case Column::state:
        if (key == state_counters) {
          if (value.size() != 24 && value.size() != 32 && value.size() != 40) return false;
        } else if (key == state_applied) {
          if (value.size() != 8) return false;
        } else if (key == state_applied_terms) {
          if (value.size() % 16 != 0) return false;
        } else if (key.starts_with(state_erase_versions_prefix)) {
          const std::string_view bucket =
              std::string_view(key).substr(state_erase_versions_prefix.size());
          if (bucket.size() != 2 || value.size() != 8 ||
              ((static_cast<uint8_t>(bucket[0]) << 8) | static_cast<uint8_t>(bucket[1])) >=
                  static_cast<int>(erase_version_buckets)) {
            return false;
          }
        } else if (key.starts_with(state_window_prefix)) {
          const size_t id = key.size() - state_window_prefix.size();
          if ((id != 8 && id != 16) || !SequenceWindow::decode(value)) return false;
        } else {
          return false;  // a state record this version does not know
        }
        break;
      default:
        return false;  // the node's own records (meta) and the log never travel in a snapshot
    }
  }
  return true;
}

// Stages the next chunk; true for the last.
bool Raft::stage(const proto::SnapshotChunk& chunk) {
  REPLIKV_ASSERT(install_ && chunk.number() == install_->chunk_next, "chunks are staged in order");
  stage_chunk(chunk, pending_.batch);
  ++install_->chunk_next;
  ++snapshot_chunks_received_;
  demand(pending_, Sync::per_policy);
  return chunk.last();
}

// Every chunk is staged: in this one batch, the old state and log go and the positions become
// the snapshot's (the records move into place in the steps that follow).
void Raft::switch_to_snapshot() {
  const LogIndex index = install_->index;
  const Term term = install_->term;
  // Holds whatever a peer sends: on_install_snapshot answers a chunk of a snapshot at or below the
  // commit index (without a rollback under way) before staging anything, and nothing between that
  // check and this call moves the commit index.
  REPLIKV_ASSERT(index > commit_ || rollback_from_,
                 "a snapshot installed is ahead of the commit index");
  if (rollback_from_) {
    // The one path on which commit and applied move back: the committed entries from
    // rollback_from_ on are discarded with the state they built, and counted.
    rollback_entries_ += commit_.value() + 1 - rollback_from_->value();
    rollback_from_.reset();
  }
  erase_replicated_state(pending_.batch);
  pending_.batch.erase_to_end(Column::log, "");
  entry_bytes_.clear();
  log_bytes_ = 0;
  REPLIKV_ASSERT(checkpoint_in_flight_id_ == 0, "no checkpoint lands on a snapshot's state");
  keyspace_.reset_to_storage();  // its open writes were erased with the rest
  applied_windows_.clear();
  windows_dirty_.clear();
  applied_terms_.clear();  // the snapshot's history arrives with it (finish_install reads it)
  applied_terms_dirty_ = false;
  fresh_as_of_.reset();  // what was fresh is replaced (or rolled back)
  log_start_ = index.next();
  log_start_term_ = term;
  std::string start;
  append_u64_be(start, log_start_.value());
  append_u64_be(start, log_start_term_.value());
  pending_.batch.put(Column::meta, std::string(meta_log_start), std::move(start));
  last_index_ = index;
  last_term_ = term;
  last_index_dirty_ = true;
  term_starts_.clear();
  term_starts_[0] = Term();
  term_starts_dirty_ = true;
  recent_.clear();
  recent_first_ = index.next();
  taken_index_ = index;
  // No Ready written so far vouches for this log: the one carrying this batch does.
  durable_index_ = LogIndex();
  ready_last_index_.clear();
  log_written_ = true;
  commit_ = index;
  applied_ = index;
  // The snapshot's state is the checkpoint now: its applied index goes in this batch, with the
  // marker (what the node applied before it was discarded with the rest).
  pending_.batch.put(Column::state, std::string(state_applied), u64_bytes(applied_.value()));
  applied_written_ = applied_;
  checkpoint_applied_ = applied_;
  dirty_since_ms_.reset();
  install_->moving = true;
  install_->switched_ms = now_ms_;
  install_move_position_.clear();
  snapshot_receive_ms_ = now_ms_ - install_->started_ms;
  install_staged_empty_ = false;
  install_move_pending_ = true;
  write_install_marker();
}

// One moving step per input, once the previous step's batch is applied.
void Raft::continue_install() {
  if (!installing() || install_move_pending_) return;
  if (install_staged_empty_) {
    finish_install();
    return;
  }
  install_staged_empty_ =
      move_staged(view_, options_.snapshot_move_bytes, install_move_position_, pending_.batch);
  install_move_pending_ = true;
  demand(pending_, Sync::per_policy);
  pending_.tick_at_ms = wall_seen_ms_;  // the next step at once
}

void Raft::finish_install() {
  pending_.batch.erase(Column::meta, std::string(meta_install));
  demand(pending_, Sync::per_policy);
  snapshot_move_ms_ = now_ms_ - install_->switched_ms;
  install_.reset();
  keyspace_.reset_to_storage();
  load_windows();
  load_applied_terms();
  ++snapshots_installed_;
  apply_committed();  // entries after the snapshot that committed meanwhile
}

// This node holds committed entries, from `from` on, that the leader lacks. Allowed only where
// acknowledgements do not wait for a majority (options_.rollback); the leader is asked for a
// snapshot, and entries from it are refused until one is installed.
// A committed entry is never truncated — no rollback under a quorum, unless an operator accepted
// data loss after it. A leader that asks for one anyway breaks the protocol (or is forged): its
// message is dropped and counted, and nothing here moves.
bool Raft::rollback_allowed(LogIndex from, Term data_loss_term) const {
  return options_.rollback ||
         (data_loss_term > Term() &&
          (from > last_index_ || from < log_start_ || term_at(from) < data_loss_term));
}

void Raft::need_rollback(LogIndex from, NodeId leader, proto::RaftMessage& response) {
  if (!rollback_allowed(from, data_loss_term_)) {
    protocol_violation(
        fmt::format("node {} sent entries that would truncate committed entry {} (commit index {})",
                    leader.value(), from.value(), commit_.value()));
    return;
  }
  if (!rollback_from_ || from < *rollback_from_) rollback_from_ = from;
  response.set_success(false);
  response.set_needs_snapshot(true);
  response.set_hint_index(0);
  send(leader, std::move(response));
}

// Drops a snapshot being received (not one moving into place, which must finish).
void Raft::abandon_install() {
  if (!install_ || install_->moving) return;
  discard_staged(pending_.batch);
  pending_.batch.erase(Column::meta, std::string(meta_install));
  install_.reset();
  early_chunks_.clear();
}

void Raft::write_install_marker() {
  std::string marker;
  append_u64_be(marker, install_->index.value());
  append_u64_be(marker, install_->term.value());
  append_u64_be(marker, install_->leader_term.value());
  append_u64_be(marker, install_->chunk_next);
  marker.push_back(install_->moving ? 1 : 0);
  pending_.batch.put(Column::meta, std::string(meta_install), std::move(marker));
}

}  // namespace replikv::core
