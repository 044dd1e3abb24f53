// Tombstone collection: a deleted key's copy is a tombstone (its registers deleted, its context
// kept, so a copy that still holds an older value learns it was deleted). Kept forever, deleted
// keys would cost as much as live ones; collected too early, a replica that missed the delete
// brings the value back (a zombie) and a later write could be judged against a context that no
// longer exists (Riak's KV679).
//
// So a tombstone is collected only when its delete's coordinator knows every one of the key's N
// replicas acknowledged it durably; then, after the grace (`tombstone_grace_ms`, cluster-wide, and
// at least twice the request timeout and a full anti-entropy cycle: every node compared its tree
// with every peer's since), and with no hint for the key pending here, the coordinator sends REAP
// with the tombstone it wrote. A replica removes its copy only if it is exactly that tombstone: a
// copy that saw anything more — a concurrent write, a later one — keeps it all. A replica that
// misses the REAP keeps its tombstone, which anti-entropy then brings back to the others: a
// tombstone is never wrong, only not yet collected. Dots stay unique across the key's removal
// (node, incarnation, persisted counter), so no later write reuses one the old context named.
//
// The grace is what keeps a late copy from bringing a value back: a copy of the key sent before
// the delete and delivered after the collection (a coordinator paused longer than the grace, a
// link whose queue held it that long, a node whose request timeout is longer than the grace) is
// joined as new. As Cassandra's gc_grace_seconds, it must exceed the longest such delay.
//
// Only in the causal mode, with anti-entropy on, fsync "always" on every replica of the key (their
// heartbeats say) and sloppy quorums off. Under fsync "never" a replica's acknowledgement of the
// delete can be lost with a crash, leaving it the older value the others no longer have a tombstone
// to supersede. The linearizable mode keeps its tombstones (a tag must stay above every tag
// written); so do sloppy quorums (a fallback holds copies for a replica, hints them itself, and no
// REAP reaches it).
#include <algorithm>

#include "core/causality/context_text.h"
#include "core/leaderless/replica.h"

namespace replikv::core::leaderless {

void Leaderless::schedule_reap(const std::string& key, const KeyState& copy) {
  if (options_.linearizable || options_.anti_entropy_interval_ms == 0 || options_.pbs_draws ||
      options_.sloppy_quorum || !options_.fsync_always || options_.tombstone_grace_ms == 0)
    return;
  // What may be collected of the copy: the key's registers when they are tombstones only, and
  // the elements it removed (tombstones, every increment reset).
  KeyState part;
  part.seen_hlc = copy.seen_hlc;  // (a copy holds no register stamped above it)
  if (!copy.registers.empty() &&
      std::all_of(copy.registers.begin(), copy.registers.end(),
                  [](const auto& entry) { return entry.second.tombstone; })) {
    part.registers = copy.registers;
    part.context = copy.context;
  }
  for (const auto& [name, element] : copy.elements) {
    if (!element.present()) part.elements.emplace(name, element);
  }
  if (part.empty()) return;
  const TimeMs cycle =
      options_.anti_entropy_interval_ms * static_cast<TimeMs>(std::max<size_t>(1, peers_.size()));
  const TimeMs delay =
      options_.mutants.reap_early
          ? 0
          : std::max(options_.tombstone_grace_ms, 2 * options_.request_timeout_ms + cycle);
  reaps_.push_back({key, std::move(part), monotonic_ms_ + delay});
}

void Leaderless::reap_due() {
  const size_t due = reaps_.size();
  for (size_t i = 0; i < due && !reaps_.empty() && reaps_.front().at_ms <= monotonic_ms_; ++i) {
    Reap next = std::move(reaps_.front());
    reaps_.pop_front();
    // Every replica of the key syncs before it acknowledges, as its heartbeats say: else a crash
    // may have taken its acknowledgement of the delete (never collected then).
    bool unknown = false, volatile_replica = false;
    for (const NodeId replica : replicas_of(next.key)) {
      if (replica == options_.node_id) continue;
      const auto peer = peers_.find(replica);
      if (peer == peers_.end() || !peer->second.durable) {
        unknown = true;
      } else if (!*peer->second.durable) {
        volatile_replica = true;
      }
    }
    if (volatile_replica && !options_.mutants.reap_early) continue;
    const bool hinted = std::any_of(hints_.begin(), hints_.end(), [&](const auto& entry) {
      return entry.second.contains(next.key);
    });
    if ((hinted || unknown) && !options_.mutants.reap_early) {
      // A replica still waits for a hint of the key (the hint replays this copy), or has not said
      // yet how it syncs: later.
      next.at_ms = monotonic_ms_ + options_.anti_entropy_interval_ms;
      reaps_.push_back(std::move(next));
      continue;
    }
    proto::LeaderlessMessage message;
    message.set_type(proto::LeaderlessMessage::REAP);
    message.set_key(next.key);
    message.set_state(next.tombstone.encode());
    for (const NodeId replica : replicas_of(next.key)) {
      if (replica != options_.node_id) send(replica, message);
    }
    ++reaps_sent_;
    if (report_history_ && !next.tombstone.registers.empty()) {
      // What a read may no longer find once it is gone: the checkers count the versions this
      // context covers as deleted and collected (check/quorum.h).
      history_events_.push_back({{"event", "\"reaped\""},
                                 {"reaped_key", quoted(next.key)},
                                 {"context", "\"" + context_text(next.tombstone.context) + "\""}});
    }
    reap(next.key, next.tombstone);
  }
}

void Leaderless::reap(const std::string& key, const KeyState& tombstone) {
  const auto replicas = replicas_of(key);
  if (std::find(replicas.begin(), replicas.end(), options_.node_id) == replicas.end()) return;
  // Each part goes only if this copy holds exactly it: a copy that saw more — a concurrent
  // write, a later one — keeps it all.
  Stored stored = load_stored(key);
  std::vector<ElementName> names;
  for (const auto& [name, element] : tombstone.elements) names.push_back(name);
  const KeyState before = load_part(stored, &names);
  KeyState copy = before;
  bool changed = false;
  if (!tombstone.registers.empty() && copy.registers == tombstone.registers &&
      copy.context == tombstone.context) {
    copy.registers.clear();
    copy.context.clear();
    ++tombstones_reaped_;
    changed = true;
  }
  for (const auto& [name, element] : tombstone.elements) {
    const auto mine = copy.elements.find(name);
    if (mine == copy.elements.end() || !(mine->second == element)) continue;
    copy.elements.erase(mine);
    ++elements_reaped_;
    changed = true;
  }
  // (Nothing of the key left — no register, no context, no element state — and store_copy drops
  // it whole.)
  if (changed) store_copy(key, std::move(stored), before, std::move(copy));
}

void Leaderless::receive_reap(const proto::LeaderlessMessage& message) {
  const auto tombstone = KeyState::decode(message.state());
  const auto replicas = replicas_of(message.key());
  if (!tombstone ||
      std::find(replicas.begin(), replicas.end(), options_.node_id) == replicas.end()) {
    ++malformed_;
    return;
  }
  reap(message.key(), *tombstone);
}

}  // namespace replikv::core::leaderless
