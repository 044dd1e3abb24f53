// Hinted handoff (Dynamo §4.6): a replica that did not acknowledge a write before the request's
// time ran out gets the key later. The coordinator keeps a hint — the replica and the key, in its
// meta column, so a restart keeps it — and once it hears from the replica again sends it the
// key's copy as it is then (which holds the write or what superseded it), a few per tick, until
// the replica acknowledges it durably. Hints are bounded in number (hints_max) and age
// (hint_window_ms); the ones dropped are counted, and anti-entropy is what repairs them.
//
// Storage: meta "ll_hint/" ‖ node (u32, big-endian) ‖ key → when the hint was made (u64 wall ms).
#include <algorithm>
#include <string_view>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leaderless/replica.h"

namespace replikv::core::leaderless {
namespace {

constexpr std::string_view hint_prefix = "ll_hint/";

std::string hint_key(NodeId target, std::string_view key) {
  return Leaderless::node_key(hint_prefix, target, key);
}

}  // namespace

std::string Leaderless::node_key(std::string_view prefix, NodeId node, std::string_view key) {
  std::string out(prefix);
  append_u32_be(out, node.value());
  out += key;
  return out;
}

std::string Leaderless::quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

void Leaderless::load_hints() {
  view_.scan(Column::meta, hint_prefix, [&](std::string_view stored, std::string_view value) {
    if (!stored.starts_with(hint_prefix)) return false;
    const std::string_view rest = stored.substr(hint_prefix.size());
    REPLIKV_ASSERT(rest.size() >= 4 && value.size() == 8, "a stored hint decodes");
    const NodeId target(read_u32_be(rest));
    hints_[target][std::string(rest.substr(4))] = static_cast<TimeMs>(read_u64_be(value));
    ++hint_count_;
    return true;
  });
}

void Leaderless::add_hint(NodeId target, const std::string& key) {
  auto& keys = hints_[target];
  const bool fresh = !keys.contains(key);
  if (fresh && hint_count_ >= options_.hints_max) {
    ++hints_dropped_;
    return;
  }
  keys[key] = wall_ms_;
  if (fresh) ++hint_count_;
  ++hints_written_;
  std::string when;
  append_u64_be(when, static_cast<uint64_t>(wall_ms_));
  pending_.batch.put(Column::meta, hint_key(target, key), std::move(when));
  pending_.sync = std::max(pending_.sync, Sync::per_policy);
}

void Leaderless::drop_hint(NodeId target, const std::string& key) {
  const auto node = hints_.find(target);
  if (node == hints_.end() || node->second.erase(key) == 0) return;
  --hint_count_;
  pending_.batch.erase(Column::meta, hint_key(target, key));
  drop_handoff(target, key);
}

void Leaderless::replay_hints() {
  // Hints past the window go (anti-entropy repairs what they held).
  for (auto& [target, keys] : hints_) {
    for (auto it = keys.begin(); it != keys.end();) {
      if (wall_ms_ - it->second <= options_.hint_window_ms) {
        ++it;
        continue;
      }
      ++hints_expired_;
      --hint_count_;
      pending_.batch.erase(Column::meta, hint_key(target, it->first));
      drop_handoff(target, it->first);
      it = keys.erase(it);
    }
  }
  std::erase_if(replays_, [&](const auto& entry) {
    return monotonic_ms_ >= entry.second.resend_ms;  // unanswered: sent again below
  });
  for (const auto& [target, keys] : hints_) {
    if (keys.empty() || !peer_up(target)) continue;
    uint64_t budget = options_.hint_replays_per_tick;
    for (const auto& [key, made_ms] : keys) {
      if (budget == 0) break;
      const bool in_flight = std::any_of(replays_.begin(), replays_.end(), [&](const auto& r) {
        return r.second.target == target && r.second.key == key;
      });
      if (in_flight) continue;
      --budget;
      const uint64_t id = next_id();
      replays_.emplace(id,
                       Replay{target, key, wall_ms_, monotonic_ms_ + options_.request_timeout_ms});
      proto::LeaderlessMessage message = replicate_message(id, key, hint_copy(target, key), true);
      send(target, message);
    }
  }
}

bool Leaderless::hint_acknowledged(NodeId from, uint64_t request) {
  const auto it = replays_.find(request);
  if (it == replays_.end()) return false;
  if (it->second.target == from) {
    const auto node = hints_.find(from);
    // A hint made after the replay left names a write the replay may not have carried: it stays.
    if (node != hints_.end()) {
      const auto hint = node->second.find(it->second.key);
      if (hint != node->second.end() && hint->second < it->second.sent_wall_ms) {
        ++hints_replayed_;
        drop_hint(from, it->second.key);
      }
    }
    replays_.erase(it);
  }
  return true;
}

}  // namespace replikv::core::leaderless
