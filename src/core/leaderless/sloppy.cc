// Sloppy quorums (Dynamo §4.6), with `sloppy_quorum = true`: a write whose replica is down goes
// to a fallback — the next member up on the ring beyond the key's N, none of its replicas — with
// the replica it is meant for (`hinted_for`). The fallback keeps the copy apart from its own keys
// (meta "ll_handoff/" ‖ replica (u32, big-endian) ‖ key → the copy), with a hint for the replica,
// and acknowledges once both are durable; the coordinator counts that acknowledgement toward W.
// The fallback's hint replays the copy it holds (hints.cc) once the replica is back, and drops it
// when the replica acknowledged it.
//
// What it costs: a write answered with a fallback's acknowledgement may be on fewer than W of the
// key's replicas, so a read of R of them may miss it although R + W > N — until the handoff. The
// write's position says how many of the key's own replicas held it (`acks`), so quorum-reads
// judges only the pairs whose quorums truly meet, and counts the misses it does not promise.
// Reads never go to fallbacks: they hold copies for others, not the key.
#include <algorithm>
#include <string_view>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leaderless/replica.h"

namespace replikv::core::leaderless {
namespace {

constexpr std::string_view handoff_prefix = "ll_handoff/";

std::string handoff_key(NodeId target, std::string_view key) {
  return Leaderless::node_key(handoff_prefix, target, key);
}

}  // namespace

void Leaderless::assign_fallbacks(Coordination& coordination,
                                  const proto::LeaderlessMessage& message) {
  if (!options_.sloppy_quorum || options_.linearizable) return;
  std::vector<NodeId> ring_order;
  for (const NodeId replica : coordination.replicas) {
    if (replica == options_.node_id || peer_up(replica) || coordination.holders.contains(replica))
      continue;
    const bool has_fallback =
        std::any_of(coordination.fallbacks.begin(), coordination.fallbacks.end(),
                    [&](const auto& entry) { return entry.second == replica; });
    if (has_fallback) continue;
    if (ring_order.empty()) ring_order = ring_.preference_list(coordination.key, SIZE_MAX);
    for (const NodeId candidate : ring_order) {
      if (candidate == options_.node_id || !peer_up(candidate) ||
          std::find(coordination.replicas.begin(), coordination.replicas.end(), candidate) !=
              coordination.replicas.end() ||
          coordination.fallbacks.contains(candidate))
        continue;
      coordination.fallbacks.emplace(candidate, replica);
      proto::LeaderlessMessage held = message;
      held.set_hinted_for(replica.value());
      send(candidate, held);
      break;
    }
  }
}

bool Leaderless::fallback_acknowledged(Coordination& coordination, NodeId from) {
  if (!coordination.fallbacks.contains(from)) return false;
  coordination.holders.insert(from);
  return true;
}

size_t Leaderless::covered(const Coordination& coordination) const {
  size_t count = 0;
  for (const NodeId replica : coordination.replicas) {
    const bool held_for = std::any_of(
        coordination.fallbacks.begin(), coordination.fallbacks.end(), [&](const auto& entry) {
          return entry.second == replica && coordination.holders.contains(entry.first);
        });
    count += coordination.holders.contains(replica) || held_for ? 1 : 0;
  }
  return count;
}

void Leaderless::hold_for(const proto::LeaderlessMessage& message, const KeyState& copy) {
  const NodeId target(message.hinted_for());
  const std::string& key = message.key();
  const auto replicas = replicas_of(key);
  const bool replica =
      std::find(replicas.begin(), replicas.end(), options_.node_id) != replicas.end();
  if (replica || target == options_.node_id ||
      std::find(replicas.begin(), replicas.end(), target) == replicas.end()) {
    ++malformed_;  // a fallback is no replica of the key, and holds it for one that is
    return;
  }
  const bool fresh = !handoffs_.contains({target, key});
  if (fresh && hint_count_ >= options_.hints_max) {
    ++hints_dropped_;  // no room: not acknowledged, so the coordinator does not count it
    return;
  }
  KeyState& held = handoffs_[{target, key}];
  held = joined(held, copy);
  pending_.batch.put(Column::meta, handoff_key(target, key), held.encode());
  pending_.sync = std::max(pending_.sync, Sync::per_policy);
  ++fallback_copies_taken_;
  add_hint(target, key);
  if (!message.ack()) return;
  proto::LeaderlessMessage ack;
  ack.set_type(proto::LeaderlessMessage::REPLICATE_ACK);
  ack.set_request(message.request());
  ack.set_key(key);
  send(NodeId(message.from()), ack);  // (it leaves once the copy and the hint are durable)
}

void Leaderless::load_handoffs() {
  view_.scan(Column::meta, handoff_prefix, [&](std::string_view stored, std::string_view value) {
    if (!stored.starts_with(handoff_prefix)) return false;
    const std::string_view rest = stored.substr(handoff_prefix.size());
    REPLIKV_ASSERT(rest.size() >= 4, "a stored handoff decodes");
    auto copy = KeyState::decode(value);
    REPLIKV_ASSERT(copy.has_value(), "a stored handoff's copy decodes");
    handoffs_[{NodeId(read_u32_be(rest)), std::string(rest.substr(4))}] = std::move(*copy);
    return true;
  });
}

void Leaderless::drop_handoff(NodeId target, const std::string& key) {
  if (handoffs_.erase({target, key}) == 0) return;
  pending_.batch.erase(Column::meta, handoff_key(target, key));
}

KeyState Leaderless::hint_copy(NodeId target, const std::string& key) {
  const auto held = handoffs_.find({target, key});
  return held != handoffs_.end() ? held->second : load_copy(key);
}

}  // namespace replikv::core::leaderless
