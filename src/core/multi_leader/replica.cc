// The multi-leader replica: start, a key's state in the keyspace, reads, Readies and status.
// Client writes are in writes.cc, collections in collections.cc, the peer protocol in streams.cc.
#include "core/multi_leader/replica.h"

#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/multi_leader/storage_keys.h"

namespace replikv::core::multi_leader {

MultiLeader::MultiLeader(const StorageView& view, Rng rng, Options options)
    : options_(std::move(options)),
      rng_(rng),
      view_(view),
      keyspace_(view, options_.cache_bytes_max),
      clock_(options_.max_clock_offset_ms) {
  for (const NodeId member : options_.members) {
    if (member == options_.node_id) continue;
    Peer peer;
    peer.id = member;
    peers_.emplace(member, std::move(peer));
  }
  load();
}

void MultiLeader::load() {
  const auto incarnation = view_.get(Column::meta, meta_incarnation);
  const uint32_t stored_incarnation =
      incarnation && incarnation->size() == 4 ? read_u32_be(*incarnation) : 0;
  // A node takes a new incarnation when its data directory is new, and at every start under fsync
  // "never": a crash may have taken writes it had answered — their dots are in clients' session
  // positions and contexts — and those dots must never name another write.
  if (incarnation && incarnation->size() == 4 && options_.fsync_always) {
    self_ = {options_.node_id.value(), read_u32_be(*incarnation)};
    const auto counter = view_.get(Column::meta, meta_counter);
    counter_ = counter && counter->size() == 8 ? read_u64_be(*counter) : 0;
  } else {
    uint32_t fresh = 0;
    const uint32_t previous = stored_incarnation;
    while (fresh == 0 || fresh == previous) fresh = static_cast<uint32_t>(rng_.next_u64());
    self_ = {options_.node_id.value(), fresh};
    counter_ = 0;
    pending_.sync = Sync::always;  // the new incarnation is durable before anything uses it
    meta_dirty_ = true;
  }
  // An empty data directory that does not found the cluster belongs to a member that lost its
  // data; it stays recovering, across restarts, until it has caught up.
  // (A cluster of one has no member to catch up with.)
  const bool lost =
      !incarnation && !options_.bootstrap && !peers_.empty() && !options_.mutants.skip_recovery;
  if (lost) pending_.batch.put(Column::meta, std::string(meta_recovering), "1");
  recovering_ = lost || (view_.get(Column::meta, meta_recovering) && !peers_.empty());
  fenced_ = stored_vector(view_, meta_fenced);
  for (const auto& [actor, counter] : stored_vector(view_, meta_fenced_final)) {
    fenced_final_.insert(actor);
  }
  applied_ = stored_vector(view_, meta_applied);
  if (counter_ > 0) applied_[self_] = counter_;
  logged_ = applied_;
  collected_ = stored_vector(view_, meta_collected);
  // Under fsync "never" the previous incarnation's writes that a crash took were never sent (a
  // node ships only what it synced): what survives here is all there will ever be of it. Members
  // learn it from this node's statuses, and answer a session that names a lost write at once.
  if (self_.incarnation != stored_incarnation && stored_incarnation != 0) {
    const Actor previous{self_.node, stored_incarnation};
    fence(previous, counter_in(applied_, previous), true);
  }
  // What the log no longer holds, per actor: everything before its first entry kept.
  for (const auto& [actor, counter] : applied_) {
    uint64_t first = counter + 1;
    view_.scan(Column::log, log_key(actor, 0), [&](std::string_view key, std::string_view) {
      if (key.size() == 16 && read_u32_be(key) == actor.node &&
          read_u32_be(key.substr(4)) == actor.incarnation) {
        first = read_u64_be(key.substr(8));
      }
      return false;
    });
    compacted_[actor] = first - 1;
  }
  if (const auto hlc = view_.get(Column::meta, meta_hlc); hlc && hlc->size() == 12) {
    clock_.restore({static_cast<TimeMs>(read_u64_be(*hlc)), read_u32_be(hlc->substr(8))});
  }
  view_.scan(Column::meta, meta_tombstone_prefix,
             [&](std::string_view key, std::string_view value) {
               if (!key.starts_with(meta_tombstone_prefix)) return false;
               auto state = KeyState::decode(value);
               REPLIKV_ASSERT(state.has_value(), "a stored tombstone decodes");
               tombstones_.emplace(std::string(key.substr(meta_tombstone_prefix.size())),
                                   std::move(*state));
               return true;
             });
}

KeyState MultiLeader::load_state(const std::string& key) {
  if (const auto it = written_.find(key); it != written_.end()) return it->second.state;
  if (const auto it = tombstones_.find(key); it != tombstones_.end()) return it->second;
  const auto metadata = keyspace_.stored_metadata(key);
  if (!metadata || metadata->empty()) return {};
  auto state = KeyState::decode(*metadata);
  REPLIKV_ASSERT(state.has_value(), "a stored key state decodes");
  return std::move(*state);
}

void MultiLeader::store_state(const std::string& key, KeyState state) {
  state.expire(wall_ms_);
  if (!state.increments.empty() && !fold_below_.empty()) state.fold(fold_below_);
  if (!state.element_counts.empty()) {
    // The key shows its collection (collections.cc): its own state rides the collection's record.
    const auto record = keyspace_.live_record(key, wall_ms_);
    REPLIKV_ASSERT(record && record->type != ValueType::string,
                   "a key that counts elements holds its collection");
    const auto header = decode_header(record->value);
    REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
    forget_string_forms(key);
    keyspace_.put_collection(key, record->type, *header, state.encode());
    return;
  }
  const auto rendered = state.render(wall_ms_);
  const auto tombstone = tombstones_.find(key);
  if (rendered) {
    if (tombstone != tombstones_.end()) {
      tombstones_.erase(tombstone);
      pending_.batch.erase(Column::meta, tombstone_key(key));
    }
    if (options_.policy == ConflictPolicy::siblings &&
        state.live(wall_ms_).size() > options_.siblings_max) {
      ++siblings_over_cap_;
    }
    // The value now, for reads; the state it is encoded in with the next Ready (a hot counter's
    // state is encoded once per Ready, not once per INCR).
    keyspace_.put(
        key, rendered->value,
        rendered->deadline_ms != 0 ? std::optional<TimeMs>(rendered->deadline_ms) : std::nullopt,
        {});
    written_.insert_or_assign(key, Written{std::move(state), std::move(*rendered)});
    return;
  }
  written_.erase(key);
  keyspace_.remove(key);
  if (state.empty()) {
    if (tombstone != tombstones_.end()) {
      tombstones_.erase(tombstone);
      pending_.batch.erase(Column::meta, tombstone_key(key));
    }
    return;
  }
  pending_.batch.put(Column::meta, tombstone_key(key), state.encode());
  tombstones_.insert_or_assign(key, std::move(state));
}

void MultiLeader::serve_read(ClientRequest& request) {
  if (request.read.consistency == ReadConsistency::session && request.session) {
    const auto position = decode_position(*request.session);
    if (const auto lost =
            position ? lost_write(position->vector, "the session's position") : std::nullopt) {
      ++lost_writes_named_;
      reply(request, Reply::error(*lost));
      return;
    }
    if (position && !covers_vector(applied_, position->vector) &&
        !options_.mutants.sessions_unwaited) {
      waiting_.push_back({std::move(request), monotonic_ms_ + options_.request_timeout_ms});
      return;
    }
  }
  answer_read(request);
}

// A read this node may serve now: GET and the keyspace's reads, or VGET.
void MultiLeader::answer_read(ClientRequest& request) {
  if (const auto* command = std::get_if<StrategyCommand>(&request.request)) {
    const auto* vget_command = command->as<VGetCommand>();
    REPLIKV_ASSERT(vget_command != nullptr, "the only read the strategy answers is VGET");
    const VGetCommand copy = *vget_command;
    vget(request, copy);
    return;
  }
  ++reads_;
  reply(request, keyspace_.execute(request.request, wall_ms_), std::nullopt,
        encode_position(read_position()));
}

// Session reads and WAITs that can be answered now, or whose time ran out.
void MultiLeader::serve_waiting() {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    ClientRequest& request = it->request;
    const auto position =
        request.session ? decode_position(*request.session) : std::optional<Position>();
    if (const auto* wait = std::get_if<WaitRequest>(&request.request)) {
      if (const auto lost = position ? lost_write(position->vector, "the connection's last write")
                                     : std::nullopt) {
        ++lost_writes_named_;
        reply(request, Reply::error(*lost));
        it = waiting_.erase(it);
        continue;
      }
      int64_t holding = 0;
      for (const auto& [id, peer] : peers_) {
        if (position && covers_vector(peer.reported, position->vector)) ++holding;
      }
      if (!position) holding = static_cast<int64_t>(peers_.size());  // no write to wait for
      if (holding >= wait->replicas || monotonic_ms_ >= it->deadline_ms) {
        reply(request, Reply::number(holding));
        it = waiting_.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    if (!position || covers_vector(applied_, position->vector)) {
      answer_read(request);
      it = waiting_.erase(it);
    } else if (const auto lost = lost_write(position->vector, "the session's position")) {
      ++lost_writes_named_;
      reply(request, Reply::error(*lost));
      it = waiting_.erase(it);
    } else if (monotonic_ms_ >= it->deadline_ms) {
      ++session_timeouts_;
      reply(request,
            Reply::error(fmt::format("TRYAGAIN this node has not yet applied the session's "
                                     "writes ({} ms); read at another node or retry",
                                     options_.request_timeout_ms)));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
}

void MultiLeader::reply(const ClientRequest& request, Reply reply,
                        std::optional<SessionPosition> written,
                        std::optional<SessionPosition> read_at) {
  pending_.replies.push_back({request.connection, request.sequence, std::move(reply),
                              std::move(written), std::move(read_at)});
}

// What a read has seen: everything applied, and the highest timestamp among them — a write's
// even when this node's clock refused to move there.
Position MultiLeader::read_position() const {
  return {applied_, std::max(clock_.last(), highest_applied_hlc_)};
}

void MultiLeader::tick(TimeMs wall_ms, TimeMs monotonic_ms) {
  wall_ms_ = std::max(wall_ms_, wall_ms);
  monotonic_ms_ = std::max(monotonic_ms_, monotonic_ms);
  if (monotonic_ms_ >= next_heartbeat_ms_) {
    next_heartbeat_ms_ = monotonic_ms_ + options_.heartbeat_interval_ms;
    heartbeat();
  }
  if (wall_ms_ >= next_sweep_ms_) {
    next_sweep_ms_ = wall_ms_ + options_.expiry_sweep_interval_ms;
    expire_due();
  }
  serve_waiting();
  pending_.tick_at_ms = std::min(next_sweep_ms_, wall_ms_ + (next_heartbeat_ms_ - monotonic_ms_));
}

// Expiry has no leader here: each node removes, by its own clock, exactly the registers and
// increments whose deadline passed — never a concurrent rewrite — and writes nothing for it (the
// dots stay covered by its applied vector, so a peer's older state cannot bring them back).
void MultiLeader::expire_due() {
  for (const auto& key : keyspace_.due_keys(wall_ms_, options_.expiry_sweep_keys_max)) {
    KeyState state = load_state(key);
    expired_ += state.expire(wall_ms_);
    store_state(key, std::move(state));
    pending_.sync = std::max(pending_.sync, Sync::per_policy);
  }
}

void MultiLeader::persisted(ReadyId ready_id) {
  REPLIKV_ASSERT(ready_id <= last_taken_, "persisted() names a Ready that was never taken");
  REPLIKV_ASSERT(ready_id >= durable_, "the durable position never moves back");
  durable_ = ready_id;
  while (!discards_in_flight_.empty() && discards_in_flight_.front().first <= ready_id) {
    for (const Dot& dot : discards_in_flight_.front().second) {
      ++conflicts_discarded_;
      if (report_history_) {
        history_events_.push_back(
            {{"event", "\"discarded\""},
             {"dot", "\"" + context_text({{dot.actor, dot.counter}}) + "\""}});
      }
    }
    discards_in_flight_.pop_front();
  }
}

void MultiLeader::encode_written() {
  for (auto& [key, written] : written_) {
    const TimeMs deadline = written.rendered.deadline_ms;
    keyspace_.put(key, std::move(written.rendered.value),
                  deadline != 0 ? std::optional<TimeMs>(deadline) : std::nullopt,
                  written.state.encode());
  }
  written_.clear();
}

bool MultiLeader::take_ready(Ready& out) {
  ship_fresh();
  if (status_due_) {
    status_due_ = false;
    for (const auto& [id, peer] : peers_) send_status(id);  // leave once what they say is durable
  }
  if (meta_dirty_) {
    meta_dirty_ = false;
    std::string incarnation;
    append_u32_be(incarnation, self_.incarnation);
    pending_.batch.put(Column::meta, std::string(meta_incarnation), std::move(incarnation));
    std::string counter;
    append_u64_be(counter, counter_);
    pending_.batch.put(Column::meta, std::string(meta_counter), std::move(counter));
    pending_.batch.put(Column::meta, std::string(meta_applied), context_text(applied_));
    std::string hlc;
    append_u64_be(hlc, static_cast<uint64_t>(clock_.last().wall_ms));
    append_u32_be(hlc, clock_.last().logical);
    pending_.batch.put(Column::meta, std::string(meta_hlc), std::move(hlc));
    if (pending_.sync == Sync::none) pending_.sync = Sync::per_policy;
  }
  encode_written();
  keyspace_.checkpoint(pending_.batch);  // its log is for peers: what it answered is in storage
  if (!hand_over(pending_, last_taken_, out)) return false;
  logged_ = applied_;
  if (out.sync == Sync::always || (options_.fsync_always && out.sync == Sync::per_policy)) {
    synced_ = applied_;
  }
  if (!discarded_unpersisted_.empty()) {
    discards_in_flight_.emplace_back(out.id, std::move(discarded_unpersisted_));
    discarded_unpersisted_.clear();
  }
  return true;
}

ReplicaStatus MultiLeader::status() const {
  ReplicaStatus status;
  status.role = "master";  // every node takes writes
  status.state = "leader";
  status.node_id = options_.node_id;
  keyspace_.describe(status);
  status.durable_ready_id = durable_;
  status.writes_applied_total = entries_applied_;
  status.reads_total = reads_;
  status.expired_keys_total = expired_;
  status.replication_offset = LogIndex(counter_);
  status.malformed_messages_total = malformed_;
  status.receiving_state = incoming_.has_value();
  for (const auto& [id, peer] : peers_) {
    FollowerStatus follower;
    follower.node = id;
    const auto it = peer.reported.find(self_);
    const uint64_t match = it == peer.reported.end() ? 0 : it->second;
    follower.match = LogIndex(match);
    follower.lag_entries = counter_ - std::min(counter_, match);
    follower.heard_ms_ago = peer.heard ? monotonic_ms_ - peer.last_heard_ms : -1;
    status.followers.push_back(follower);
  }
  uint64_t pending_peers = 0;
  std::string waiting_for;  // each actor's first held entry, and what it waits for
  for (const auto& [actor, entries] : pending_entries_) {
    pending_peers += entries.size();
    if (entries.empty() || waiting_for.size() > 200) continue;
    const auto& [counter, held] = *entries.begin();
    std::string needs;
    const uint64_t have = applied_.contains(actor) ? applied_.at(actor) : 0;
    if (counter != have + 1) {
      needs = fmt::format("{}.{:08x}:{}", actor.node, actor.incarnation, have + 1);
    } else {
      for (const auto& dep : held.first.deps()) {
        const Actor of{dep.node(), dep.incarnation()};
        if ((applied_.contains(of) ? applied_.at(of) : 0) < dep.counter()) {
          needs = fmt::format("{}.{:08x}:{}", of.node, of.incarnation, dep.counter());
          break;
        }
      }
    }
    waiting_for += fmt::format("{}{}.{:08x}:{} needs {}", waiting_for.empty() ? "" : ", ",
                               actor.node, actor.incarnation, counter, needs);
  }
  status.metrics =
      MetricList()
          .text("conflict_policy", "how concurrent writes to a key are resolved",
                options_.policy == ConflictPolicy::lww ? "lww" : "siblings", true)
          .text("actor", "this node's incarnation, as its writes' dots name it",
                fmt::format("{}.{:08x}", self_.node, self_.incarnation))
          .gauge("dots_issued", "writes this node made in this incarnation",
                 static_cast<int64_t>(counter_), true)
          .text("applied_vector", "per actor, the writes this node has applied",
                context_text(applied_))
          .counter("writes_local_total", "client writes taken by this node", writes_)
          .counter("entries_applied_total", "writes applied, this node's and its peers'",
                   entries_applied_)
          .counter("entries_relayed_total", "writes of other nodes sent on to a peer lacking them",
                   entries_relayed_)
          .counter("entries_duplicate_total", "writes received that were already applied",
                   entries_duplicate_)
          .counter("entries_dropped_total",
                   "writes received too far ahead to hold (the sender sends them again)",
                   entries_dropped_)
          .gauge("entries_waiting", "writes received, waiting for the writes they depend on",
                 static_cast<int64_t>(pending_peers))
          .text("entries_waiting_for",
                "per actor, the first write held back and the write it waits for",
                waiting_for.empty() ? "-" : waiting_for)
          .counter("conflicts_discarded_total",
                   "this node's writes a concurrent write with a later timestamp beat (lww): "
                   "each discarded write counted once, at the node that took it",
                   conflicts_discarded_, true)
          .counter("conflicts_resolved_total",
                   "concurrent values this node dropped resolving a conflict (lww; a value "
                   "is dropped on every node that sees the conflict)",
                   conflicts_resolved_)
          .counter("increments_retried_total",
                   "INCRs with an ID this node had already counted (answered, not counted again)",
                   increments_retried_)
          .counter("siblings_refused_total", "writes refused: the key was at siblings_max",
                   siblings_refused_)
          .counter("merges_refused_total",
                   "VSETs refused: the counter had increments their context had not seen",
                   merges_refused_)
          .counter("siblings_over_cap_total",
                   "keys left with more siblings than siblings_max by writes from peers",
                   siblings_over_cap_)
          .counter("hlc_refused_total",
                   "timestamps from peers or clients further ahead than max_clock_offset_ms, "
                   "not taken by this node's clock",
                   hlc_refused_, true)
          .counter("entries_compacted_away_total",
                   "times a peer lacked writes this node had already dropped (it needs a state "
                   "transfer)",
                   entries_compacted_away_)
          .counter("snapshots_sent_total", "state transfers started to peers", snapshots_sent_)
          .counter("snapshots_installed_total", "state transfers received and joined",
                   snapshots_installed_)
          .gauge("tombstones", "deleted keys remembered until every member has the delete",
                 static_cast<int64_t>(tombstones_.size()))
          .counter("tombstones_collected_total", "deletes every member had, forgotten",
                   tombstones_collected_)
          .counter("session_timeouts_total",
                   "session reads refused: this node had not applied the session's writes in time",
                   session_timeouts_)
          .flag("recovering",
                "this node lost its data and catches up: it takes INCRBY but no write that "
                "replaces values until it has what every member had",
                recovering_, true)
          .text("recovering_waiting_for",
                "while recovering: the members it has not caught up with, and why",
                recovering_ ? recovery_waiting() : std::string("-"))
          .counter("recovering_refused_total",
                   "writes refused while this node was recovering (-TRYAGAIN)", recovering_refused_)
          .counter("entries_fenced_total",
                   "writes of an incarnation lost with its node's data, beyond what any member "
                   "had when the loss was known: refused (gone with the data)",
                   entries_fenced_)
          .counter("lost_writes_named_total",
                   "session reads and VSETs refused (-LOSTWRITE): they named a write lost with its "
                   "node",
                   lost_writes_named_)
          .counter("stale_statuses_total",
                   "statuses from a peer's earlier incarnation that arrived after its new one "
                   "(ignored)",
                   stale_statuses_)
          .take();
  return status;
}

std::vector<HistoryFields> MultiLeader::take_history_events() {
  report_history_ = true;
  return std::exchange(history_events_, {});
}

HistoryFields MultiLeader::last_write_fields() const {
  if (!last_dot_) return {};
  CausalContext context;
  if (last_context_) {
    context = *last_context_;
  } else {
    // Everything applied when it was made: what is applied now, less the write itself (the
    // simulator asks right after the request).
    context = applied_;
    if (last_dot_->counter > 1) {
      context[last_dot_->actor] = last_dot_->counter - 1;
    } else {
      context.erase(last_dot_->actor);
    }
  }
  HistoryFields fields = {
      {"dot", "\"" + context_text({{last_dot_->actor, last_dot_->counter}}) + "\""},
      {"context", "\"" + context_text(context) + "\""},
      {"hlc", "\"" + last_stamp_.text() + "\""}};
  if (last_increment_) fields.emplace_back("increment", "true");
  // A command that made several writes (a collection's: one per element) took the dots before
  // this one too.
  if (const uint64_t writes = counter_ - request_first_counter_; writes > 1)
    fields.emplace_back("writes", std::to_string(writes));
  if (last_tombstone_) fields.emplace_back("tombstone", "true");
  // A merge: the context the client sent, beside the one the write carries (merge_context), so
  // a checker can tell what the client had seen from what its node added.
  if (last_client_context_)
    fields.emplace_back("client_context", "\"" + context_text(*last_client_context_) + "\"");
  return fields;
}

SessionCheck MultiLeader::check_session(const SessionPosition& position) const {
  const auto decoded = decode_position(position);
  if (!decoded) return SessionCheck::satisfied;
  if (covers_vector(applied_, decoded->vector)) return SessionCheck::satisfied;
  return lost_write(decoded->vector, "the session's position") ? SessionCheck::lost
                                                               : SessionCheck::wait;
}

// Over what a client can see, the same on every node once they have applied the same writes:
// every key's live registers and increments (tombstones and what expired left out — each node
// collects and expires by its own clock).
std::string MultiLeader::state_digest() const {
  Fnv64 hash;
  keyspace_.visit([&](std::string_view, std::string_view user_key, std::string_view value,
                      std::optional<TimeMs>, std::string_view metadata, ValueType type) {
    const auto written = written_.find(std::string(user_key));
    auto state = written != written_.end() ? std::optional<KeyState>(written->second.state)
                                           : KeyState::decode(metadata);
    if (!state) return true;
    state->expire(wall_ms_);
    std::erase_if(state->registers, [](const auto& entry) { return entry.second.tombstone; });
    if (state->empty()) return true;
    hash.add(user_key);
    hash.add(state->canonical());  // whatever each node has folded
    if (type != ValueType::string) {
      // A collection: its elements' states, whatever id each node keeps them under.
      // (And the type and count it shows: what clients read of it.)
      const auto header = decode_header(value);
      if (header) {
        hash.add(type_name(type));
        hash.add(std::to_string(header->count));
        hash.add(elements_digest(header->id));
      }
    }
    return true;
  });
  return hash.hex();
}

}  // namespace replikv::core::multi_leader
