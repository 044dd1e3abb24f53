#include "core/leader/raft.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leader/raft_records.h"
#include "core/write_codec.h"

namespace replikv::core {
using namespace raft_records;
namespace {

// (index, term) pairs as 16 big-endian bytes each, in index order; index 0 (term_starts_'s "before
// the first entry") is left out. The term starts and the applied terms records.
std::string encode_index_terms(const std::map<uint64_t, Term>& terms) {
  std::string out;
  for (const auto& [index, term] : terms) {
    if (index == 0) continue;
    append_u64_be(out, index);
    append_u64_be(out, term.value());
  }
  return out;
}

// raft_window_<node, 8 bytes><incarnation, 8 bytes>. (Data directories from before incarnations
// have keys without one: incarnation 0.)
std::string window_key(Origin origin) {
  std::string key(state_window_prefix);
  append_u64_be(key, origin.node);
  append_u64_be(key, origin.incarnation);
  return key;
}

}  // namespace

const char* to_string(Raft::Role role) {
  switch (role) {
    case Raft::Role::follower:
      return "follower";
    case Raft::Role::pre_candidate:
      return "pre-candidate";
    case Raft::Role::candidate:
      return "candidate";
    case Raft::Role::leader:
      return "leader";
  }
  return "?";
}

Raft::Raft(const StorageView& view, Rng rng, RaftOptions options)
    : options_(std::move(options)),
      rng_(rng),
      view_(view),
      keyspace_(view, options_.cache_bytes_max) {
  REPLIKV_ASSERT(std::find(options_.nodes.begin(), options_.nodes.end(), options_.node_id) !=
                     options_.nodes.end(),
                 "a node is a member of its own cluster");
  term_ = Term(read_meta(view, meta_term));
  if (const uint64_t vote = read_meta(view, meta_vote); vote != 0)
    vote_ = NodeId(static_cast<uint32_t>(vote));
  commit_ = LogIndex(read_meta(view, meta_commit));
  applied_ = LogIndex(read_meta(view, state_applied, Column::state));
  // The log's shape — its last index and where each term starts — is kept in the meta column,
  // written in the same batch as the entries, so a restart reads it without scanning the log.
  last_index_ = LogIndex(read_meta(view, meta_last_index));
  term_starts_[0] = Term();  // index 0: before the first entry
  if (const auto starts = view.get(Column::meta, meta_term_starts)) {
    REPLIKV_ASSERT(starts->size() % 16 == 0, "the term starts record holds (index, term) pairs");
    for (size_t i = 0; i < starts->size(); i += 16) {
      term_starts_[read_u64_be(std::string_view(*starts).substr(i))] =
          Term(read_u64_be(std::string_view(*starts).substr(i + 8)));
    }
  }
  if (const auto start = view.get(Column::meta, meta_log_start)) {
    REPLIKV_ASSERT(start->size() == 16, "the log start record holds an index and a term");
    log_start_ = LogIndex(read_u64_be(*start));
    log_start_term_ = Term(read_u64_be(std::string_view(*start).substr(8)));
  }
  REPLIKV_ASSERT(last_index_.value() + 1 >= log_start_.value(),
                 "the log does not end before it starts");
  REPLIKV_ASSERT(
      last_index_ < log_start_ || view.get(Column::log, index_key(last_index_)).has_value(),
      "the log holds its last index");
  REPLIKV_ASSERT(
      last_index_ < log_start_ || view.get(Column::log, index_key(log_start_)).has_value(),
      "the log holds its first index");
  REPLIKV_ASSERT(!view.get(Column::log, index_key(last_index_.next())).has_value(),
                 "the log ends at its last index");
  last_term_ = term_at(last_index_);
  // The size of each entry held, for compaction by size (the log is bounded, so this is cheap).
  view.scan_sizes(Column::log, index_key(log_start_), [&](std::string_view, size_t record_bytes) {
    entry_bytes_.push_back(static_cast<uint32_t>(record_bytes));
    log_bytes_ += record_bytes;
    return true;
  });
  durable_index_ = last_index_;
  taken_index_ = last_index_;
  if (commit_ > last_index_) commit_ = last_index_;  // commit is written with a later batch
  REPLIKV_ASSERT(applied_ <= commit_,
                 "after a restart the commit index is at least the applied one");
  applied_written_ = applied_;
  checkpoint_applied_ = applied_;
  for (const NodeId node : options_.nodes) {
    if (node != options_.node_id) peers_[node.value()] = Peer{};
  }
  load_windows();
  load_applied_terms();
  data_loss_term_ = Term(read_meta(view, meta_data_loss_term));
  // An install the last run left: received only in part — its staging goes (the leader sends
  // again from the first chunk); moving into place — it goes on (docs/snapshots.md §5).
  if (const auto marker = view.get(Column::meta, meta_install)) {
    REPLIKV_ASSERT(marker->size() == 33, "the install marker is 33 bytes");
    const std::string_view bytes(*marker);
    Install install{LogIndex(read_u64_be(bytes)),
                    Term(read_u64_be(bytes.substr(8))),
                    Term(read_u64_be(bytes.substr(16))),
                    read_u64_be(bytes.substr(24)),
                    bytes[32] != 0,
                    0,
                    0};
    if (install.moving) {
      REPLIKV_ASSERT(last_index_ >= install.index && applied_ == install.index,
                     "an install moving into place has set the log and positions to the snapshot");
      install_ = install;
      applied_windows_.clear();  // read again once every record is in place
      applied_terms_.clear();
    } else {
      discard_staged(pending_.batch);
      pending_.batch.erase(Column::meta, std::string(meta_install));
    }
  }
  // A new epoch for this run's origin sequences, durable before any write leaves with one: the
  // first Ready syncs it, and messages go only after their Ready is durable.
  const uint64_t epoch = read_meta(view, meta_epoch) + 1;
  if (const auto incarnation = view.get(Column::meta, meta_incarnation)) {
    REPLIKV_ASSERT(incarnation->size() == 8, "the incarnation record is 8 bytes");
    incarnation_ = read_u64_be(*incarnation);
  } else {
    // From a copy of the stream, derived apart: drawing it leaves this node's timers as they were.
    Rng derived(Rng(rng_).next_u64() ^ 0x9e3779b97f4a7c15ULL);
    while (incarnation_ == 0) incarnation_ = derived.next_u64();
    pending_.batch.put(Column::meta, std::string(meta_incarnation), u64_bytes(incarnation_));
  }
  if (const auto voter = view.get(Column::meta, meta_voter)) {
    REPLIKV_ASSERT(voter->size() == 1, "the voter record is one byte");
    voter_ = (*voter)[0] == 1;
  } else {
    // The first run of this data directory (no epoch yet) founds a cluster only when told to;
    // one that ran before this record existed was a voter.
    voter_ = epoch > 1 || options_.bootstrap;
    pending_.batch.put(Column::meta, std::string(meta_voter), std::string(1, voter_ ? 1 : 0));
  }
  REPLIKV_ASSERT(epoch < (uint64_t{1} << 32), "the origin epoch fits 32 bits");
  pending_.batch.put(Column::meta, std::string(meta_epoch), u64_bytes(epoch));
  demand(pending_, Sync::always);
  next_origin_sequence_ = (epoch << 32) | 1;
  // The state applied after the last checkpoint was lost with the process: apply the log's
  // committed entries after it again now, not when the commit index next moves (in a cluster at
  // rest it may not move for a long time). At most one checkpoint's worth (docs/storage.md).
  apply_committed();
}

// The per-origin sequence windows, as applied (replicated state in the meta column).
void Raft::load_windows() {
  applied_windows_.clear();
  view_.scan(Column::state, state_window_prefix, [&](std::string_view key, std::string_view value) {
    if (!key.starts_with(state_window_prefix)) return false;
    const auto window = SequenceWindow::decode(value);
    const std::string_view id = key.substr(state_window_prefix.size());
    REPLIKV_ASSERT(window.has_value() && (id.size() == 8 || id.size() == 16),
                   "a sequence window record decodes");
    const Origin origin{static_cast<uint32_t>(read_u64_be(id)),
                        id.size() == 16 ? read_u64_be(id.substr(8)) : 0};
    applied_windows_[origin] = *window;
    return true;
  });
}

LogIndex Raft::stored_commit_index(const StorageView& view) {
  return LogIndex(read_meta(view, meta_commit));
}

// --- Inputs ---------------------------------------------------------------------------------

void Raft::tick(TimeMs wall_ms, TimeMs monotonic_ms) {
  // Timers, leases and lag run on the monotonic clock, shifted so that the first tick is at
  // time_base_ms (times left at zero — a peer never heard from — are then long past). Expiry runs
  // on the wall clock, never moving back, so entries carry non-decreasing times.
  if (!monotonic_origin_ms_) monotonic_origin_ms_ = monotonic_ms - time_base_ms;
  now_ms_ = std::max(now_ms_, monotonic_ms - *monotonic_origin_ms_);
  wall_seen_ms_ = wall_ms;
  wall_ms_ = std::max(wall_ms_, wall_ms);
  if (election_deadline_ms_ == 0) {
    reset_election_deadline();
    // With lease reads, a node that just started may have promised a leader (before it stopped)
    // not to vote for a minimum election timeout: it keeps that promise as if it had just heard
    // from one.
    if (options_.lease_reads) leader_heard_ms_ = now_ms_;
  }
  continue_install();
  expire_requests();
  if (role_ == Role::leader) {
    // Check-quorum: a leader whose lease ran out — no heartbeat round a majority answered within
    // it — steps down, so a leader cut off from the rest stops accepting writes (which under
    // async it could commit alone) and lease reads.
    const TimeMs since = std::max(became_leader_ms_, lease_start_ms_.value_or(became_leader_ms_));
    if (options_.check_quorum && now_ms_ >= since + lease_ms()) {
      become_follower(term_, std::nullopt);
      return;
    }
    if (now_ms_ >= heartbeat_due_ms_) start_round();
    propose_expiry();
    return;
  }
  if (handover_ && handover_->forced && role_ == Role::follower && !leader_ && voter_ &&
      !installing()) {
    // A voter answered with a higher term: stand again, above it ("a term above every reachable
    // node's").
    start_election(true);
    return;
  }
  if (handover_ && handover_->forced && role_ == Role::candidate) {
    // A forced promotion asks again each heartbeat interval: voters that still owe the old
    // leader its lease grant once it has run out (lease reads). One refused (it voted in this
    // term already, or its log is newer): stand again, a term higher — until the deadline.
    if (now_ms_ >= heartbeat_due_ms_) {
      heartbeat_due_ms_ = now_ms_ + options_.heartbeat_interval_ms;
      const bool refused =
          std::any_of(votes_.begin(), votes_.end(), [](const auto& vote) { return !vote.second; });
      if (refused) {
        start_election(true);
      } else {
        request_votes(true);
      }
    }
    return;
  }
  if (now_ms_ >= election_deadline_ms_) {
    if (installing() || !voter_) {
      // Half-way into a snapshot, this node could not serve as leader; a non-voter never stands.
      reset_election_deadline();
      return;
    }
    if (options_.pre_vote) {
      start_pre_vote();
    } else {
      start_election();
    }
  }
}

void Raft::peer_message(const Message& message) {
  // Parsed into one reused message: its repeated fields keep their strings between messages, so
  // an APPEND's entries cost no allocation once the first few have been seen.
  continue_install();
  proto::RaftMessage& raft = inbox_;
  if (!raft.ParseFromString(message.payload) || raft.from() != message.from.value() ||
      raft.from() == options_.node_id.value() ||
      std::find(options_.nodes.begin(), options_.nodes.end(), NodeId(raft.from())) ==
          options_.nodes.end()) {
    ++malformed_messages_;  // not ours, not from a member, or damaged: count it and go on
    return;
  }
  step(raft);
}

void Raft::persisted(ReadyId ready_id) {
  REPLIKV_ASSERT(ready_id <= last_taken_, "persisted() names a Ready that was never taken");
  durable_ready_ = std::max(durable_ready_, ready_id);
  for (auto it = ready_last_index_.begin();
       it != ready_last_index_.end() && it->first <= ready_id.value();) {
    durable_index_ = it->second;
    it = ready_last_index_.erase(it);
  }
  if (role_ == Role::leader) advance_commit();
}

bool Raft::take_ready(Ready& out) {
  flush_forwards();
  if (round_wanted_ && role_ == Role::leader) {
    // One confirmation round for every read that arrived since the last: it starts now, after
    // all of them.
    start_round();
  }
  round_wanted_ = false;
  propagate_commit();
  maybe_checkpoint();
  maybe_compact();
  if (last_index_dirty_) {
    pending_.batch.put(Column::meta, std::string(meta_last_index), u64_bytes(last_index_.value()));
    last_index_dirty_ = false;
  }
  if (term_starts_dirty_) {
    pending_.batch.put(Column::meta, std::string(meta_term_starts),
                       encode_index_terms(term_starts_));
    term_starts_dirty_ = false;
  }
  if (commit_written_ != commit_) {
    pending_.batch.put(Column::meta, std::string(meta_commit), u64_bytes(commit_.value()));
    commit_written_ = commit_;
  }
  if (!hand_over(pending_, last_taken_, out)) return false;
  if (out.sync == Sync::always) {
    // A term or vote not yet durable: nothing that carries it leaves before the sync.
    for (auto& message : out.messages) message.early = false;
  }
  if (log_written_) {
    ready_last_index_[out.id.value()] = last_index_;
    log_written_ = false;
  }
  taken_index_ = last_index_;
  install_move_pending_ = false;  // the driver applies this batch before the next input
  trim_recent();
  return true;
}

// The applied index rides in the same atomic batch as the state it reflects (a checkpoint), which
// the driver writes apart from the Ready's batch, off the loop if it can, and reports with
// checkpointed(): applied entries are committed and already durable in this node's log (a leader
// counts itself only after its sync; a follower applies what earlier, synced Readies appended), so
// a crash that loses the state applied since the last checkpoint — never written, or still in
// flight — loses what the log applies again. The log is compacted only below the last checkpoint
// reported. Writing the state at every batch cost a data put per write on every node
// (docs/benchmarks.md, docs/storage.md).
void Raft::maybe_checkpoint() {
  // One at a time; none while a snapshot is staged or moved into place (the install replaces the
  // columns a checkpoint writes: one landing after it would put the old state back).
  if (checkpoint_in_flight_id_ != 0 || install_) return;
  const bool dirty = keyspace_.dirty() || !windows_dirty_.empty() || applied_terms_dirty_ ||
                     applied_written_ != applied_;
  if (!dirty) return;
  if (!dirty_since_ms_) dirty_since_ms_ = now_ms_;
  // With the cache off the bound is 0: every batch is a checkpoint (the overlay holds no more).
  // A quarter: while a checkpoint is written its records stay pinned too (the frozen generation)
  // and the next one's gather beside them, so the pinned records stay within half the cache.
  const uint64_t bytes_max = std::min(options_.checkpoint_bytes, options_.cache_bytes_max / 4);
  const bool due = checkpoint_wanted_ ||
                   applied_.value() - checkpoint_applied_.value() >= options_.checkpoint_entries ||
                   keyspace_.dirty_bytes() >= bytes_max ||
                   now_ms_ >= *dirty_since_ms_ + options_.checkpoint_interval_ms;
  if (!due) return;
  WriteBatch& batch = pending_.checkpoint;
  REPLIKV_ASSERT(pending_.checkpoint_id == 0 && batch.empty(), "one checkpoint per Ready");
  keyspace_.begin_checkpoint(batch);
  for (auto& [origin, window_dirty] : windows_dirty_) {
    batch.put(Column::state, window_key(origin), applied_windows_[origin].encode());
  }
  windows_dirty_.clear();
  if (applied_terms_dirty_) {
    batch.put(Column::state, std::string(state_applied_terms), encode_index_terms(applied_terms_));
    applied_terms_dirty_ = false;
  }
  if (applied_written_ != applied_) {
    batch.put(Column::state, std::string(state_applied), u64_bytes(applied_.value()));
    applied_written_ = applied_;
  }
  // (An install replaces the checkpoint itself, rollback included: raft_snapshots.cc.)
  REPLIKV_ASSERT(applied_ >= checkpoint_applied_, "a checkpoint never moves back");
  pending_.checkpoint_id = checkpoint_in_flight_id_ = ++checkpoint_ids_;
  checkpoint_in_flight_applied_ = applied_;
  dirty_since_ms_.reset();
  checkpoint_wanted_ = false;
}

void Raft::checkpointed(uint64_t checkpoint_id) {
  REPLIKV_ASSERT(checkpoint_id != 0 && checkpoint_id == checkpoint_in_flight_id_,
                 "checkpointed() names the checkpoint in flight");
  keyspace_.end_checkpoint();
  REPLIKV_ASSERT(checkpoint_in_flight_applied_ >= checkpoint_applied_,
                 "a checkpoint never moves back");
  checkpoint_applied_ = checkpoint_in_flight_applied_;
  checkpoint_in_flight_id_ = 0;
  ++checkpoints_written_;
}

RaftStatus Raft::raft_status() const {
  RaftStatus status;
  status.role = role_ == Role::leader ? "master" : "slave";
  status.state = to_string(role_);
  status.node_id = options_.node_id;
  status.leader = leader_;
  status.epoch = term_.value();
  status.replication_offset = last_index_;
  keyspace_.describe(status);
  status.checkpoint_index = checkpoint_applied_;
  status.checkpoints_total = checkpoints_written_;  // the keyspace counts only those with records
  status.checkpoint_in_flight = checkpoint_in_flight_id_ != 0;
  status.applied_index = applied_;
  status.durable_ready_id = durable_ready_;
  status.writes_applied_total = writes_applied_;
  status.reads_total = reads_;
  status.expired_keys_total = expired_keys_total_;
  status.blocked_clients = blocked_pops_.size();
  status.blocked_timeouts_total = blocked_pops_.timeouts();
  status.receiving_state = install_.has_value();
  status.malformed_messages_total = malformed_messages_;
  status.peer_protocol_violations_total = protocol_violations_;
  status.first_protocol_violation = first_protocol_violation_;
  if (role_ == Role::leader) {
    for (const auto& [id, peer] : peers_) {
      status.followers.push_back({NodeId(id), peer.match,
                                  last_index_.value() - std::min(peer.match, last_index_).value(),
                                  now_ms_ - peer.heard_at_ms, peer.voter});
    }
  }
  status.term = term_;
  status.commit_index = commit_;
  status.is_leader = role_ == Role::leader;
  status.raft_role = to_string(role_);
  status.last_index = last_index_;
  status.writes_forwarded_total = writes_forwarded_;
  status.duplicates_skipped_total = duplicates_skipped_;
  status.log_first_index = log_start_;
  status.log_compacted_entries_total = compacted_entries_;
  status.appends_resent_total = appends_resent_;
  status.snapshots_sent_total = snapshots_sent_;
  status.snapshot_chunks_sent_total = snapshot_chunks_sent_;
  status.snapshots_installed_total = snapshots_installed_;
  status.snapshot_chunks_received_total = snapshot_chunks_received_;
  status.installing_snapshot = install_.has_value();
  status.voter = voter_;
  status.rollback_entries_total = rollback_entries_;
  status.lag_ms = lag_ms().value_or(-1);
  status.session_reads_lost_total = lost_session_reads_;
  status.min_replicas_refused_total = min_replicas_refused_;
  status.lease_reads_total = lease_reads_;
  status.data_loss_promotions_total = data_loss_promotions_;
  status.truncated_entries_total = truncated_entries_;
  status.snapshot_last_send_ms = snapshot_send_ms_;
  status.snapshot_last_receive_ms = snapshot_receive_ms_;
  status.snapshot_last_move_ms = snapshot_move_ms_;
  return status;
}

ReplicaStatus Raft::status() const {
  RaftStatus raft = raft_status();
  std::vector<Metric> metrics = raft.to_metrics();
  ReplicaStatus status = std::move(static_cast<ReplicaStatus&>(raft));
  status.metrics = std::move(metrics);
  return status;
}

std::vector<Metric> RaftStatus::to_metrics() const {
  MetricList list;
  const auto index = [](LogIndex value) { return static_cast<int64_t>(value.value()); };
  list.text("raft_role", "This node's Raft role: follower, pre-candidate, candidate, leader.",
            raft_role)
      .gauge("term", "The current term.", static_cast<int64_t>(term.value()), true)
      .flag("is_leader", "1 on the leader, 0 elsewhere.", is_leader)
      .gauge("commit_index", "The highest log entry known committed.", index(commit_index))
      .gauge("last_index", "The last entry of this node's log.", index(last_index))
      .counter("writes_forwarded", "Client writes this node forwarded to the leader.",
               writes_forwarded_total)
      .counter("duplicates_skipped", "Log entries skipped as already applied (at most once).",
               duplicates_skipped_total)
      .gauge("log_first_index", "The first entry the log still holds (earlier ones compacted).",
             index(log_first_index))
      .counter("log_compacted_entries", "Log entries erased by compaction.",
               log_compacted_entries_total)
      .counter("snapshots_sent", "Snapshots sent whole to followers (as leader).",
               snapshots_sent_total)
      .counter("snapshot_chunks_sent", "Snapshot chunks sent (resent ones too).",
               snapshot_chunks_sent_total)
      .counter("snapshots_installed", "Snapshots this node installed.", snapshots_installed_total)
      .counter("snapshot_chunks_received", "Snapshot chunks this node staged.",
               snapshot_chunks_received_total)
      .flag("snapshot_installing", "1 while this node receives or installs a snapshot.",
            installing_snapshot)
      .flag("voter",
            "1 for a voter; 0 for a node that rejoined with an empty data directory (counts "
            "toward no quorum).",
            voter)
      .gauge("snapshot_last_send_ms", "How long the last snapshot took to send whole (leader).",
             snapshot_last_send_ms)
      .gauge("snapshot_last_receive_ms",
             "How long the last snapshot took to receive, first chunk to last (follower).",
             snapshot_last_receive_ms)
      .gauge("snapshot_last_move_ms",
             "How long the last snapshot took to move into place (follower).",
             snapshot_last_move_ms)
      .counter("rollback_entries",
               "Committed entries this node discarded to roll back to a leader's snapshot (never "
               "under majority).",
               rollback_entries_total)
      .gauge("lag_ms",
             "This node's lag behind the leader as bounded reads judge it, drift allowed for (-1: "
             "unknown).",
             lag_ms)
      .counter("session_reads_lost",
               "Session reads refused because the session's write was lost in a failover.",
               session_reads_lost_total)
      .counter("min_replicas_refused",
               "Writes refused (before any append) for fewer followers in reach than "
               "min_replicas.",
               min_replicas_refused_total)
      .counter("lease_reads_served", "Linearizable reads the leader served under its lease.",
               lease_reads_total)
      .counter("truncated_entries",
               "Uncommitted entries this node dropped for a leader's conflicting ones (a deposed "
               "leader's suffix).",
               truncated_entries_total)
      .counter("appends_resent",
               "Times a follower's entries were sent again after its pipeline made no progress "
               "for a heartbeat interval (at a leader).",
               appends_resent_total)
      .counter("data_loss_promotions", "Forced promotions of this node that accepted data loss.",
               data_loss_promotions_total);
  return list.take();
}

// Expiry is the leader's (point 7 of the Raft issue): it finds keys due by its clock and appends
// one Expire entry for them; every replica applies the entry, deleting the keys still expired at
// the leader's time. One such entry is in flight at a time.
void Raft::propose_expiry() {
  if (expiry_in_flight_ || now_ms_ < next_expiry_sweep_ms_ || applied_ < term_start_index_ ||
      handing_over())
    return;
  next_expiry_sweep_ms_ = now_ms_ + options_.expiry_sweep_interval_ms;
  const auto keys = keyspace_.due_keys(wall_ms_, options_.expiry_sweep_keys_max);
  if (keys.empty()) return;
  proto::LogEntry entry;
  proto::Expire* expire = entry.mutable_write()->mutable_expire();
  for (const auto& key : keys) expire->add_keys(key);
  expire->set_now_ms(wall_ms_);
  expiry_in_flight_ = true;
  append(std::move(entry));
  broadcast_append(false);
  advance_commit();
}

// --- Messages -------------------------------------------------------------------------------

void Raft::step(const proto::RaftMessage& message) {
  if (message.non_voter()) {
    if (const auto it = peers_.find(message.from()); it != peers_.end() && it->second.voter) {
      // What it acknowledged as a voter, it has forgotten.
      it->second.voter = false;
      it->second.match = LogIndex();
    }
  }
  switch (message.type()) {
    case proto::RaftMessage::FORWARD:
      on_forward(message);
      return;
    case proto::RaftMessage::FORWARD_RESPONSE:
      on_forward_response(message);
      return;
    case proto::RaftMessage::READ_INDEX:
      on_read_index(message);
      return;
    case proto::RaftMessage::READ_INDEX_RESPONSE:
      on_read_index_response(message);
      return;
    case proto::RaftMessage::WAIT:
      on_wait(message);
      return;
    case proto::RaftMessage::WAIT_RESPONSE:
      on_wait_response(message);
      return;
    default:
      break;
  }
  const Term term(message.term());
  const bool in_lease =
      options_.check_quorum && leader_heard_ms_ + options_.election_timeout_ms_min > now_ms_;
  if (term > term_) {
    const bool pre_vote =
        message.type() == proto::RaftMessage::PRE_VOTE ||
        (message.type() == proto::RaftMessage::PRE_VOTE_RESPONSE && message.granted());
    if (message.type() == proto::RaftMessage::VOTE && in_lease &&
        leader_ != NodeId(message.from()) &&
        (!message.transfer() || (message.forced() && options_.lease_reads))) {
      return;  // a leader is alive: a disruptive candidate is ignored (with check-quorum, §9.6)
    }
    if (!pre_vote) {
      const bool from_leader = message.type() == proto::RaftMessage::APPEND ||
                               message.type() == proto::RaftMessage::INSTALL_SNAPSHOT;
      become_follower(term,
                      from_leader ? std::optional<NodeId>(NodeId(message.from())) : std::nullopt);
    }
  } else if (term < term_) {
    if (message.type() == proto::RaftMessage::APPEND ||
        message.type() == proto::RaftMessage::PRE_VOTE ||
        message.type() == proto::RaftMessage::INSTALL_SNAPSHOT ||
        message.type() == proto::RaftMessage::VOTE) {
      // Tell a stale leader or (pre-)candidate about the newer term.
      proto::RaftMessage response;
      response.set_type(
          message.type() == proto::RaftMessage::APPEND     ? proto::RaftMessage::APPEND_RESPONSE
          : message.type() == proto::RaftMessage::PRE_VOTE ? proto::RaftMessage::PRE_VOTE_RESPONSE
          : message.type() == proto::RaftMessage::VOTE
              ? proto::RaftMessage::VOTE_RESPONSE
              : proto::RaftMessage::INSTALL_SNAPSHOT_RESPONSE);
      response.set_term(term_.value());
      response.set_success(false);
      response.set_granted(false);
      response.set_hint_index(last_index_.value());
      send(NodeId(message.from()), std::move(response));
    }
    return;
  }
  switch (message.type()) {
    case proto::RaftMessage::PRE_VOTE:
    case proto::RaftMessage::VOTE:
      on_vote_request(message);
      break;
    case proto::RaftMessage::PRE_VOTE_RESPONSE:
    case proto::RaftMessage::VOTE_RESPONSE:
      on_vote_response(message);
      break;
    case proto::RaftMessage::APPEND:
      on_append(message);
      break;
    case proto::RaftMessage::APPEND_RESPONSE:
      on_append_response(message);
      break;
    case proto::RaftMessage::INSTALL_SNAPSHOT:
      on_install_snapshot(message);
      break;
    case proto::RaftMessage::INSTALL_SNAPSHOT_RESPONSE:
      on_install_snapshot_response(message);
      break;
    case proto::RaftMessage::TIMEOUT_NOW:
      on_timeout_now(message);
      break;
    default:
      ++malformed_messages_;
      break;
  }
}

// The leader's view of which writes it has appended: what every replica applied, plus the
// entries of its log not applied yet (a leader's log is never truncated, so they will be).
void Raft::rebuild_proposed_windows() {
  proposed_windows_ = applied_windows_;
  proto::LogEntry scratch;
  for (LogIndex i = applied_.next(); i <= last_index_; i = i.next()) {
    const proto::LogEntry* entry = entry_at(i, scratch);
    if (entry && entry->origin_node() != 0)
      proposed_windows_[Origin::of(*entry)].mark(entry->origin_sequence());
  }
}

void Raft::send(NodeId to, proto::RaftMessage message) {
  message.set_from(options_.node_id.value());
  if (message.term() == 0) message.set_term(term_.value());
  if (!voter_) message.set_non_voter(true);
  if (data_loss_term_ > Term()) message.set_data_loss_term(data_loss_term_.value());
  pending_.messages.push_back({options_.node_id, to, message.SerializeAsString()});
}

// The key a recent entry writes, when it is a SET (nearly every write under load), for the
// lookup hints below; nullptr otherwise, or when the entry is not decoded in memory.
const std::string* Raft::recent_set_key(LogIndex index) const {
  if (recent_.empty() || index < recent_first_ || index > last_index_) return nullptr;
  const proto::LogEntry& entry = recent_[index.value() - recent_first_.value()].entry;
  return entry.has_write() && entry.write().has_set() ? &entry.write().set().key() : nullptr;
}

// Tries the waiters woken while applying (or when a handover ended), after the entries that woke
// them: each an entry of the log appended now.
void Raft::try_woken_blocked_pops() {
  if (blocked_to_try_.empty()) return;
  for (const uint64_t id : blocked_to_try_) {
    if (!blocked_pops_.contains(id)) continue;
    if (role_ == Role::leader && !handing_over()) {
      try_blocked_pop(id);
      continue;
    }
    // Not tried: this node no longer leads (a definite refusal, nothing popped), or it is
    // handing leadership over (it waits on: refused if leadership moves, woken again if the
    // handover ends with this node still leading).
    const ClientRequest request = blocked_pops_.request(id);
    if (role_ != Role::leader) {
      blocked_pops_.finish(id);
      reply(request, refusal_naming_leader());
    } else if (!blocked_pops_.wait_again(id, now_ms_)) {
      const auto pop = blocking_pop_of(std::get<CommandRequest>(request.request).argv);
      reply(request, pop ? pop->timeout_reply : Reply::null_array());
    }
  }
  blocked_to_try_.clear();
  if (role_ == Role::leader) broadcast_append(false);
}

void Raft::apply_committed() {
  if (installing()) return;  // the state is being replaced: finish_install() applies what follows
  // A run of entries is a run of lookups of random keys in the record cache, each waiting on
  // memory for the table slot and then the entry (a quarter of a follower's CPU under
  // redis-benchmark -P 16): ask for the slot `slot_ahead` entries ahead and for the entry
  // `entry_ahead` ahead, so both have arrived when the entry is applied.
  constexpr uint64_t slot_ahead = 16, entry_ahead = 8;
  for (uint64_t i = 1; i <= slot_ahead && applied_.value() + i <= commit_.value(); ++i) {
    if (const std::string* key = recent_set_key(LogIndex(applied_.value() + i)))
      keyspace_.prefetch_slot(*key);
  }
  while (applied_ < commit_) {
    const LogIndex index = applied_.next();
    if (index.value() + slot_ahead <= commit_.value()) {
      if (const std::string* key = recent_set_key(LogIndex(index.value() + slot_ahead)))
        keyspace_.prefetch_slot(*key);
    }
    if (index.value() + entry_ahead <= commit_.value()) {
      if (const std::string* key = recent_set_key(LogIndex(index.value() + entry_ahead)))
        keyspace_.prefetch_record(*key);
    }
    proto::LogEntry scratch;
    const proto::LogEntry* entry = entry_at(index, scratch);
    REPLIKV_ASSERT(entry != nullptr, "a committed entry is in the log");
    note_applied_term(index, Term(entry->term()));
    if (entry->has_write() && entry->write().has_expire()) {
      const auto& expire = entry->write().expire();
      expired_keys_total_ +=
          keyspace_.expire_keys({expire.keys().begin(), expire.keys().end()}, expire.now_ms());
      if (role_ == Role::leader) expiry_in_flight_ = false;
    } else if (entry->has_write() && apply_once(*entry)) {
      // With clients in blocking pops, the leader notes the keys each entry writes.
      const bool note_writes = role_ == Role::leader && !blocked_pops_.empty();
      if (note_writes) {
        written_keys_.clear();
        keyspace_.observe_writes(&written_keys_);
      }
      Reply result = keyspace_.execute(from_log_write(entry->write()), entry->time_ms());
      if (note_writes) {
        keyspace_.observe_writes(nullptr);
        wake_blocked_pops(written_keys_);
      }
      ++writes_applied_;
      // This node took the request (as leader, or as the follower that forwarded it): every
      // replica computes the same result, so the answer is the same one the leader has.
      if (Origin::of(*entry) == self()) {
        const auto it = pending_writes_.find(entry->origin_sequence());
        if (it != pending_writes_.end() && it->second.blocked_pop != 0 &&
            !answer_blocked_try(it->second.blocked_pop, result)) {
          pending_writes_.erase(it);  // it waits again
        } else if (it != pending_writes_.end()) {
          reply(it->second.request, std::move(result), SessionToken{Term(entry->term()), index});
          if (it->second.forwarded) --forwards_in_flight_;
          if (it->second.refused_by) --refused_writes_;
          pending_writes_.erase(it);
        }
      }
    }
    applied_ = index;
  }
  try_woken_blocked_pops();
  serve_reads();
  serve_follower_reads();
  serve_session_reads();
  settle_freshness();
}

}  // namespace replikv::core
