// The multi-leader replica's peer protocol: applying writes in causal order, shipping this
// node's, relaying others', acknowledging, and forgetting what every member has.
#include <algorithm>

#include "core/assert.h"
#include "core/causality/wire.h"
#include "core/encoding.h"
#include "core/multi_leader/replica.h"
#include "core/multi_leader/storage_keys.h"

namespace replikv::core::multi_leader {
namespace {

// Entries received ahead of what can be applied are held up to this many (then dropped: the
// sender sends them again when the receiver's acknowledgements show it lacks them).
constexpr uint64_t pending_entries_max = 8192;

}  // namespace

void MultiLeader::apply_entry(const proto::MlEntry& entry, std::string bytes, KeyState* given) {
  const Actor actor{entry.node(), entry.incarnation()};
  const Dot dot{actor, entry.counter()};
  uint64_t& have = applied_[actor];
  REPLIKV_ASSERT(entry.counter() == have + 1, "an actor's writes apply in counter order, once");
  CausalContext replaces;
  if (entry.kind() != proto::MlEntry::INCREMENT) {
    if (entry.replaces_given()) {
      replaces = context_of(entry.replaces());
    } else {
      replaces = context_of(entry.deps());
      if (dot.counter > 1) replaces[actor] = dot.counter - 1;
    }
  }
  if (entry.element_kind() != 0) {
    apply_element(entry, dot, replaces);
  } else {
    KeyState state = given != nullptr ? std::move(*given) : load_state(entry.key());
    const TimeMs deadline = entry.deadline_ms();
    if (entry.kind() == proto::MlEntry::INCREMENT) {
      if (!options_.mutants.drop_peer_increments || given != nullptr) {
        state.increment(dot, {entry.delta(), deadline, entry.request_id()});
      }
    } else {
      if (options_.mutants.replace_unseen && given == nullptr) state.registers.clear();
      state.write(replaces, dot,
                  Register{{entry.hlc_wall_ms(), entry.hlc_logical()},
                           entry.kind() == proto::MlEntry::TOMBSTONE,
                           entry.value(),
                           deadline});
    }
    if (options_.policy == ConflictPolicy::lww) {
      for (const Dot& discarded : state.resolve_lww()) {
        ++conflicts_resolved_;
        if (discarded.actor.node == options_.node_id.value() &&
            !options_.mutants.discard_unreported) {
          discarded_unpersisted_.push_back(discarded);
        }
      }
    }
    // A value or a delete of the key takes every element state its origin had seen too.
    if (entry.kind() != proto::MlEntry::INCREMENT &&
        (!state.element_counts.empty() ||
         keyspace_.live_type(entry.key(), wall_ms_).value_or(ValueType::string) !=
             ValueType::string)) {
      supersede_elements(entry.key(), replaces, std::move(state));
    } else {
      store_state(entry.key(), std::move(state));
    }
  }
  highest_applied_hlc_ =
      std::max(highest_applied_hlc_, HlcTimestamp{entry.hlc_wall_ms(), entry.hlc_logical()});
  have = dot.counter;
  ++entries_applied_;
  pending_.batch.put(Column::log, log_key(actor, dot.counter), std::move(bytes));
  pending_.sync = std::max(pending_.sync, Sync::per_policy);
  meta_dirty_ = true;
}

void MultiLeader::peer_message(const Message& message) {
  proto::MultiLeaderMessage decoded;
  if (!decoded.ParseFromString(message.payload) || decoded.from() != message.from.value() ||
      !peers_.contains(message.from)) {
    ++malformed_;
    return;
  }
  if (const HlcTimestamp hlc{decoded.hlc_wall_ms(), decoded.hlc_logical()};
      hlc.wall_ms != 0 && !clock_.observe(hlc, wall_ms_)) {
    ++hlc_refused_;
  }
  switch (decoded.type()) {
    case proto::MultiLeaderMessage::STATUS:
      receive_status(decoded);
      break;
    case proto::MultiLeaderMessage::ENTRIES:
      receive_entries(decoded);
      break;
    case proto::MultiLeaderMessage::SNAPSHOT:
      receive_snapshot(decoded);
      break;
    case proto::MultiLeaderMessage::SNAPSHOT_ACK:
      receive_snapshot_ack(decoded);
      break;
    default:
      ++malformed_;
      break;
  }
}

void MultiLeader::receive_status(const proto::MultiLeaderMessage& message) {
  Peer& peer = peers_.at(NodeId(message.from()));
  // A peer's incarnations follow one another: once its new one spoke, a late status of an earlier
  // one (its vector may be one the new incarnation lost) is ignored.
  const Actor sender{message.from(), message.incarnation()};
  const bool restarted = peer.incarnation != 0 && peer.incarnation != message.incarnation();
  if (peer.retired.contains(message.incarnation()) || fenced_.contains(sender)) {
    ++stale_statuses_;
    return;
  }
  if (restarted) peer.retired.insert(peer.incarnation);
  if (message.recovering() && peer.fenced_for != message.incarnation()) {
    // The peer lost its data: its earlier incarnations write no more, and what they wrote that no
    // member has applied is gone with it. Fenced before this node says where it stands (below).
    if (restarted)
      fence({message.from(), peer.incarnation},
            counter_in(applied_, {message.from(), peer.incarnation}), false);
    fence_earlier_incarnations(message.from(), message.incarnation());
    peer.fenced_for = message.incarnation();
  }
  for (const auto& position : message.final_positions()) {
    const Actor lost{position.node(), position.incarnation()};
    if (lost.node == message.from() && lost != sender) fence(lost, position.counter(), true);
  }
  if (restarted && recovering_) {
    // What the peer's earlier incarnation said no longer holds: every member is asked again.
    for (auto& [id, other] : peers_) other.target.reset();
  }
  peer.incarnation = message.incarnation();
  peer.recovering = message.recovering();
  CausalContext reported = context_of(message.applied());
  if (!peer.heard || restarted) {
    // First word since this node started: it may have lost what was sent before, or have more.
    peer.sent = reported;
  }
  peer.heard = true;
  peer.last_heard_ms = monotonic_ms_;
  for (const auto& [actor, counter] : reported) {
    auto& sent = peer.sent[actor];
    sent = std::max(sent, counter);
  }
  if (recovering_ && message.heard_incarnation() == self_.incarnation && !peer.target) {
    peer.target = reported;
  }
  peer.reported = std::move(reported);
  catch_up(peer);
  end_recovery();
  // Increments fold as soon as every member has them — a hot counter's state stays as small as
  // the acknowledgements' round trip allows, not a heartbeat's worth of writes. (The log and the
  // tombstones wait for the heartbeat: each compaction is a range deletion in the store.)
  if (const CausalContext everyone = stable(); !everyone.empty() && caught_up_with_reports()) {
    fold_below_ = everyone;
  }
  serve_waiting();
}

void MultiLeader::receive_entries(const proto::MultiLeaderMessage& message) {
  for (const auto& bytes : message.entries()) {
    proto::MlEntry entry;
    if (!entry.ParseFromString(bytes) || entry.counter() == 0 ||
        (entry.element_kind() != 0 && !is_element_kind(entry.element_kind()))) {
      ++malformed_;
      continue;
    }
    const Actor actor{entry.node(), entry.incarnation()};
    if (entry.counter() <= counter_in(applied_, actor)) {
      ++entries_duplicate_;
      continue;
    }
    if (actor.node != self_.node && !fenced_.contains(actor)) {
      // An incarnation of a recovering peer that is not its current one, and that this node had
      // not heard of when it fenced the others: fenced too, at nothing.
      const auto origin = peers_.find(NodeId(actor.node));
      if (origin != peers_.end() && origin->second.recovering &&
          origin->second.incarnation != actor.incarnation) {
        fence(actor, counter_in(applied_, actor), false);
      }
    }
    if (const auto fence = fenced_.find(actor); fence != fenced_.end() &&
                                                entry.counter() > fence->second &&
                                                !options_.mutants.skip_fences) {
      ++entries_fenced_;  // a write of a lost incarnation no member had: gone with its data
      continue;
    }
    if (actor == self_) {
      ++malformed_;  // this incarnation's writes beyond what it issued: not from this cluster
      continue;
    }
    if (const HlcTimestamp hlc{entry.hlc_wall_ms(), entry.hlc_logical()};
        !clock_.observe(hlc, wall_ms_)) {
      ++hlc_refused_;
    }
    auto& queue = pending_entries_[actor];
    if (queue.contains(entry.counter())) continue;
    if (pending_count_ >= pending_entries_max) {
      ++entries_dropped_;
      continue;
    }
    const uint64_t counter = entry.counter();
    queue.emplace(counter, std::make_pair(std::move(entry), bytes));
    ++pending_count_;
  }
  apply_pending();
  // Every member hears where this node stands with the Ready that makes it durable — not only
  // the sender: a member learns that every other has a write (and folds its increments, drops
  // its tombstone) a round trip after it was made, not a heartbeat.
  status_due_ = true;
}

bool MultiLeader::deliverable(const proto::MlEntry& entry) const {
  if (options_.mutants.skip_dependencies) return true;
  for (const auto& dep : entry.deps()) {
    if (counter_in(applied_, Actor{dep.node(), dep.incarnation()}) < dep.counter()) return false;
  }
  return true;
}

// Applies every held entry that is next in its actor's stream and whose dependencies are applied,
// until none is.
void MultiLeader::apply_pending() {
  bool progress = true;
  bool any = false;
  while (progress) {
    progress = false;
    for (auto it = pending_entries_.begin(); it != pending_entries_.end();) {
      auto& queue = it->second;
      while (!queue.empty()) {
        auto first = queue.begin();
        const uint64_t have = counter_in(applied_, it->first);
        if (first->first <= have) {
          ++entries_duplicate_;
        } else if (first->first == have + 1 && deliverable(first->second.first)) {
          apply_entry(first->second.first, std::move(first->second.second));
          progress = any = true;
        } else {
          break;
        }
        queue.erase(first);
        --pending_count_;
      }
      it = queue.empty() ? pending_entries_.erase(it) : std::next(it);
    }
  }
  if (any) {
    end_recovery();
    serve_waiting();
  }
}

void MultiLeader::end_recovery() {
  if (!recovering_) return;
  CausalContext highest;
  for (const auto& [id, peer] : peers_) {
    if (!peer.target) return;
    highest = join(highest, *peer.target);
  }
  // Every member has fenced this node's earlier incarnations at what it had of them: the highest
  // is all of them that survives.
  for (const auto& [actor, counter] : highest) {
    if (actor.node == self_.node && actor != self_) fence(actor, counter, true);
  }
  if (!covers_vector(applied_, highest)) return;
  recovering_ = false;
  pending_.batch.erase(Column::meta, std::string(meta_recovering));
  pending_.sync = std::max(pending_.sync, Sync::per_policy);
  status_due_ = true;  // members fold and collect again
}

void MultiLeader::fence(const Actor& actor, uint64_t counter, bool final) {
  const auto existing = fenced_.find(actor);
  const bool was_final = fenced_final_.contains(actor);
  uint64_t fence = counter;
  if (final && existing != fenced_.end()) fence = std::max(fence, existing->second);
  if (existing != fenced_.end() && existing->second == fence && was_final == final) return;
  fenced_[actor] = fence;
  if (final) {
    fenced_final_.insert(actor);
  } else {
    fenced_final_.erase(actor);
  }
  if (const auto held = pending_entries_.find(actor); held != pending_entries_.end()) {
    auto& queue = held->second;
    for (auto entry = queue.upper_bound(fence); entry != queue.end();) {
      entry = queue.erase(entry);
      --pending_count_;
      ++entries_fenced_;
    }
    if (queue.empty()) pending_entries_.erase(held);
  }
  CausalContext finals;
  for (const Actor& fenced : fenced_final_) finals.emplace(fenced, fenced_.at(fenced));
  pending_.batch.put(Column::meta, std::string(meta_fenced), context_text(fenced_));
  pending_.batch.put(Column::meta, std::string(meta_fenced_final), context_text(finals));
  // Synced before anything leaves: the statuses that follow report all this node applied
  // (shippable()), which a recovering peer's target must cover.
  pending_.sync = Sync::always;
}

void MultiLeader::fence_earlier_incarnations(uint32_t node, uint32_t current) {
  std::vector<Actor> earlier;
  for (const auto& [actor, counter] : applied_) {
    if (actor.node == node && actor.incarnation != current) earlier.push_back(actor);
  }
  for (const auto& [actor, counter] : fenced_) {
    if (actor.node == node && actor.incarnation != current) earlier.push_back(actor);
  }
  for (const Actor& actor : earlier) fence(actor, counter_in(applied_, actor), false);
}

void MultiLeader::send_status(NodeId to) {
  proto::MultiLeaderMessage message;
  message.set_type(proto::MultiLeaderMessage::STATUS);
  message.set_from(options_.node_id.value());
  message.set_incarnation(self_.incarnation);
  add_positions(shippable(), *message.mutable_applied());
  const Peer& peer = peers_.at(to);
  message.set_heard_incarnation(peer.incarnation);
  message.set_recovering(recovering_);
  CausalContext own_fences;
  for (const Actor& actor : fenced_final_) {
    if (actor.node == self_.node) own_fences.emplace(actor, fenced_.at(actor));
  }
  add_positions(own_fences, *message.mutable_final_positions());
  message.set_hlc_wall_ms(clock_.last().wall_ms);
  message.set_hlc_logical(clock_.last().logical);
  pending_.messages.push_back({options_.node_id, to, message.SerializeAsString(), false});
}

void MultiLeader::send_entries(Peer& peer, const Actor& actor, uint64_t after, uint64_t upto) {
  proto::MultiLeaderMessage message;
  message.set_type(proto::MultiLeaderMessage::ENTRIES);
  message.set_from(options_.node_id.value());
  message.set_incarnation(self_.incarnation);
  const std::string start = log_key(actor, after + 1);
  const std::string prefix = start.substr(0, 8);
  uint64_t next = after + 1;
  view_.scan(Column::log, start, [&](std::string_view key, std::string_view value) {
    if (!key.starts_with(prefix) || key.size() != 16 || read_u64_be(key.substr(8)) != next) {
      return false;  // another actor's, or a gap (compacted: the peer needs what is not kept)
    }
    message.add_entries(std::string(value));
    ++next;
    // Never past `upto`: the log may hold entries written and not yet synced (fsync "never").
    return next <= upto &&
           static_cast<uint64_t>(message.entries_size()) < options_.entries_per_message_max;
  });
  if (message.entries_size() == 0) {
    if (after + 1 <= counter_in(compacted_, actor)) {
      ++entries_compacted_away_;
      peer.needs_snapshot = true;
    }
    return;
  }
  if (actor != self_) entries_relayed_ += static_cast<uint64_t>(message.entries_size());
  auto& sent = peer.sent[actor];
  sent = std::max(sent, next - 1);
  message.set_hlc_wall_ms(clock_.last().wall_ms);
  message.set_hlc_logical(clock_.last().logical);
  pending_.messages.push_back({options_.node_id, peer.id, message.SerializeAsString(), false});
}

// This node's new entries, to every peer that has everything before them (the others catch up
// from the log at the next heartbeat). They leave with the Ready that writes them: once durable.
void MultiLeader::ship_fresh() {
  // Under fsync "never", this node's writes wait for the Ready that syncs them (heartbeat()).
  if (fresh_.empty() || counter_in(shippable(), self_) < fresh_.back().first) return;
  const uint64_t first = fresh_.front().first;
  const uint64_t last = fresh_.back().first;
  for (auto& [id, peer] : peers_) {
    auto& sent = peer.sent[self_];
    if (sent + 1 != first) continue;
    for (size_t begin = 0; begin < fresh_.size(); begin += options_.entries_per_message_max) {
      proto::MultiLeaderMessage message;
      message.set_type(proto::MultiLeaderMessage::ENTRIES);
      message.set_from(options_.node_id.value());
      message.set_incarnation(self_.incarnation);
      const size_t end = std::min(fresh_.size(), begin + options_.entries_per_message_max);
      for (size_t i = begin; i < end; ++i) message.add_entries(fresh_[i].second);
      message.set_hlc_wall_ms(clock_.last().wall_ms);
      message.set_hlc_logical(clock_.last().logical);
      pending_.messages.push_back({options_.node_id, id, message.SerializeAsString(), false});
    }
    sent = last;
  }
  fresh_.clear();
}

// What this node had applied at `monotonic_ms`, as far as the samples kept say (nothing when they
// do not go back that far).
const CausalContext& MultiLeader::applied_as_of(TimeMs monotonic_ms) const {
  static const CausalContext none;
  const CausalContext* found = &none;
  for (const auto& [at_ms, vector] : applied_samples_) {
    if (at_ms > monotonic_ms) break;
    found = &vector;
  }
  return *found;
}

// Every heartbeat: tell each peer where this node stands; send a peer what it has lacked for a
// while — this node's writes, or another actor's (its origin may be out of the peer's reach) —
// and forget what every member has.
void MultiLeader::heartbeat() {
  // Under fsync "never" a node still syncs once a heartbeat what it has applied since the last
  // time, and only then tells peers or sends them its writes (shippable()): a crash loses what a
  // client was told, never what another node was.
  if (!options_.fsync_always && synced_ != applied_) pending_.sync = Sync::always;
  // A sample of what this node has applied, every heartbeat, kept for twice relay_after_ms.
  applied_samples_.emplace_back(monotonic_ms_, applied_);
  while (applied_samples_.size() > 1 &&
         applied_samples_[1].first <= monotonic_ms_ - 2 * options_.relay_after_ms) {
    applied_samples_.pop_front();
  }
  // A transfer whose sender went quiet (it restarted, or gave up) is dropped; it starts again.
  if (incoming_ && monotonic_ms_ - incoming_->heard_ms > 4 * options_.relay_after_ms) {
    incoming_.reset();
  }
  for (auto& [id, peer] : peers_) {
    send_status(id);
    if (!peer.heard) continue;
    if (peer.snapshot) {
      // A transfer under way: on from what the peer has, when it stopped acknowledging.
      if (monotonic_ms_ - peer.snapshot->progress_ms >= options_.relay_after_ms) {
        peer.snapshot->sent = peer.snapshot->acked;
        peer.snapshot->progress_ms = monotonic_ms_;
        send_snapshot_chunks(peer);
      }
      continue;
    }
    if (peer.needs_snapshot) {
      start_snapshot(peer);
      continue;
    }
    catch_up(peer);
  }
  compact_and_collect();
}

// Sends `peer` what it lacks, a window at a time, the next window as soon as it acknowledges the
// last: this node's own writes at once, another actor's once the peer has lacked them for
// relay_after_ms (its origin may be out of the peer's reach; normally the origin's own stream
// gets there first). What is sent and not acknowledged within relay_after_ms is sent again.
void MultiLeader::catch_up(Peer& peer) {
  if (!peer.heard || peer.snapshot || peer.needs_snapshot) return;
  const uint64_t window = 4 * options_.entries_per_message_max;
  for (const auto& [actor, applied] : applied_) {
    // What the log holds: entries applied since the last Ready are not written yet (a scan for
    // them finds nothing, and costs an iterator).
    const uint64_t have =
        std::min({applied, counter_in(logged_, actor), counter_in(shippable(), actor)});
    const uint64_t reported = counter_in(peer.reported, actor);
    if (reported >= have) {
      peer.lagging_since.erase(actor);
      continue;
    }
    auto [lag, fresh] = peer.lagging_since.try_emplace(
        actor, Peer::Lag{monotonic_ms_, monotonic_ms_, reported, false});
    if (!fresh && lag->second.reported != reported) {
      lag->second.progress_ms = monotonic_ms_;
      lag->second.reported = reported;
    }
    // Another actor's writes: once the peer has acknowledged none of them for relay_after_ms
    // while lacking some this node has held that long — its origin is not getting through (under
    // a steady load the peer always lacks the newest for a moment, and gets them from their
    // origin). Then until the peer has all this node has.
    if (actor != self_ && !lag->second.relaying) {
      const bool stalled = monotonic_ms_ - lag->second.progress_ms >= options_.relay_after_ms;
      const uint64_t held =
          counter_in(applied_as_of(monotonic_ms_ - options_.relay_after_ms), actor);
      if (!stalled || reported >= held) continue;
      lag->second.relaying = true;
    }
    uint64_t& sent = peer.sent[actor];
    if (sent < reported) sent = reported;
    if (monotonic_ms_ - lag->second.progress_ms >= options_.relay_after_ms) {
      sent = reported;  // what was sent is lost, or the peer dropped it: again
      lag->second.progress_ms = monotonic_ms_;
    }
    while (sent < have && sent - reported < window) {
      const uint64_t before = sent;
      send_entries(peer, actor, sent, have);
      if (sent == before || peer.needs_snapshot) break;  // nothing kept to send from there
    }
  }
}

const CausalContext& MultiLeader::shippable() const {
  return options_.fsync_always || pending_.sync == Sync::always ? applied_ : synced_;
}

bool MultiLeader::caught_up_with_reports() const {
  for (const auto& [id, peer] : peers_) {
    if (!covers_vector(applied_, peer.reported)) return false;
  }
  return true;
}

CausalContext MultiLeader::stable() const {
  // Nothing is stable while a member that lost its data catches up: it has not yet applied what
  // it once reported, and what it holds of its former incarnation's writes may exist nowhere else.
  if (recovering_) return {};
  CausalContext out = shippable();
  for (const auto& [id, peer] : peers_) {
    if (!peer.heard || peer.recovering) return {};
    for (auto& [actor, counter] : out)
      counter = std::min(counter, counter_in(peer.reported, actor));
  }
  return out;
}

// Log entries every member has applied are dropped; so are deleted keys whose tombstones every
// member has applied (nothing a node can still deliver predates them).
void MultiLeader::compact_and_collect() {
  if (options_.mutants.collect_unstable) collect_tombstones(applied_);
  const CausalContext everyone = stable();
  if (everyone.empty()) return;
  for (const auto& [actor, counter] : everyone) {
    uint64_t& done = compacted_[actor];
    if (counter <= done) continue;
    pending_.batch.erase_range(Column::log, log_key(actor, 0), log_key(actor, counter + 1));
    done = counter;
  }
  // Tombstones go only once this node has applied everything any member reported: a write
  // concurrent with a tombstone was applied by its origin before that origin reported covering
  // the tombstone, so by then it is here too — collected earlier, a concurrent write still on its
  // way (lww: one the tombstone beat on every other node) would arrive at an empty key and stay
  // (found in review).
  if (!caught_up_with_reports()) return;
  fold_below_ =
      everyone;  // increments every later write covers: keys fold them as they are written
  collect_tombstones(everyone);
}

void MultiLeader::collect_tombstones(const CausalContext& below) {
  std::vector<std::string> collectable;
  for (const auto& [key, state] : tombstones_) {
    if (std::all_of(state.registers.begin(), state.registers.end(),
                    [&](const auto& entry) { return covers(below, entry.first); })) {
      collectable.push_back(key);
    }
  }
  for (const auto& key : collectable) {
    KeyState state = tombstones_.at(key);
    tombstones_collected_ += state.collect(below);
    store_state(key, std::move(state));
  }
  if (collectable.empty()) return;
  raise_collected(below);
  pending_.sync = std::max(pending_.sync, Sync::per_policy);
}

void MultiLeader::raise_collected(const CausalContext& below) {
  if (covers_vector(collected_, below)) return;
  collected_ = join(collected_, below);
  pending_.batch.put(Column::meta, std::string(meta_collected), context_text(collected_));
}

}  // namespace replikv::core::multi_leader
