// State transfer between multi-leader nodes: a peer that lacks writes this node has dropped from
// its log (every member had them — then it lost them: a disk replaced, or a crash under fsync
// "never") gets this node's whole state, frozen at one point, in chunks, and joins it into its
// own (KeyState::join): its own writes not yet shipped survive, and what this node had
// superseded or collected is dropped there too. The chunks are built when the transfer starts
// and kept until the peer has them all (docs/multi-leader.md, "State transfer").
#include <algorithm>

#include "core/assert.h"
#include "core/causality/wire.h"
#include "core/encoding.h"
#include "core/multi_leader/replica.h"
#include "core/multi_leader/storage_keys.h"

namespace replikv::core::multi_leader {
void MultiLeader::start_snapshot(Peer& peer) {
  // The state goes out only once it is synced (the chunks leave with or after this Ready).
  if (!options_.fsync_always) pending_.sync = Sync::always;
  const auto frozen = view_.snapshot();
  const CausalContext vector = stored_vector(*frozen, meta_applied);
  const CausalContext collected = stored_vector(*frozen, meta_collected);
  OutgoingSnapshot snapshot;
  // Random: a node that restarts (same incarnation under fsync "always") must not send a new
  // transfer under an id its peer still holds chunks of (found by the simulator: the peer
  // appended the new transfer's chunks to the old one's).
  snapshot.id = rng_.next_u64();
  ++snapshots_started_;
  snapshot.progress_ms = monotonic_ms_;
  proto::MultiLeaderMessage chunk;
  uint64_t bytes = 0;
  const auto flush = [&](bool last) {
    chunk.set_type(proto::MultiLeaderMessage::SNAPSHOT);
    chunk.set_from(options_.node_id.value());
    chunk.set_incarnation(self_.incarnation);
    chunk.set_snapshot_id(snapshot.id);
    chunk.set_chunk(snapshot.chunks.size());
    chunk.set_last(last);
    if (last) {
      add_positions(vector, *chunk.mutable_snapshot_vector());
      add_positions(collected, *chunk.mutable_snapshot_collected());
    }
    snapshot.chunks.push_back(chunk.SerializeAsString());
    chunk.Clear();
    bytes = 0;
  };
  const auto add = [&](std::string_view key, std::string_view state, char kind = 0,
                       std::string_view element = {}) {
    auto& record = *chunk.add_records();
    record.set_key(std::string(key));
    record.set_state(std::string(state));
    if (kind != 0) {
      record.set_element_kind(static_cast<uint8_t>(kind));
      record.set_element(std::string(element));
    }
    bytes += key.size() + state.size() + element.size();
    if (bytes >= options_.snapshot_chunk_bytes) flush(false);
  };
  std::vector<std::pair<std::string, uint64_t>> collections;  // key, id
  frozen->scan(Column::data, {}, [&](std::string_view key, std::string_view value) {
    const auto stored = decode_value(value);
    REPLIKV_ASSERT(stored.has_value(), "a stored record decodes");
    if (!stored->metadata.empty()) add(user_key_of(key), stored->metadata);
    if (stored->type != ValueType::string) {
      const auto header = decode_header(stored->value);
      REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
      collections.emplace_back(user_key_of(key), header->id);
    }
    return true;
  });
  // A collection's elements follow its key: each one's state (collections.cc).
  for (const auto& [key, id] : collections) {
    const std::string prefix = element_key(id, element_state, {});
    frozen->scan(Column::elements, prefix, [&](std::string_view element, std::string_view state) {
      if (!element.starts_with(prefix) || element.size() < 18) return false;
      add(key, state, element[9], element.substr(18));
      return true;
    });
  }
  frozen->scan(Column::meta, meta_tombstone_prefix,
               [&](std::string_view key, std::string_view value) {
                 if (!key.starts_with(meta_tombstone_prefix)) return false;
                 add(key.substr(meta_tombstone_prefix.size()), value);
                 return true;
               });
  flush(true);
  ++snapshots_sent_;
  peer.needs_snapshot = false;
  peer.snapshot = std::move(snapshot);
  send_snapshot_chunks(peer);
}

void MultiLeader::send_snapshot_chunks(Peer& peer) {
  auto& snapshot = *peer.snapshot;
  const size_t window = std::max<size_t>(1, options_.snapshot_chunks_inflight);
  snapshot.sent = std::max(snapshot.sent, snapshot.acked);
  while (snapshot.sent < snapshot.chunks.size() && snapshot.sent < snapshot.acked + window) {
    pending_.messages.push_back({options_.node_id, peer.id, snapshot.chunks[snapshot.sent], false});
    ++snapshot.sent;
  }
}

void MultiLeader::receive_snapshot_ack(const proto::MultiLeaderMessage& message) {
  Peer& peer = peers_.at(NodeId(message.from()));
  if (!peer.snapshot || peer.snapshot->id != message.snapshot_id()) return;
  auto& snapshot = *peer.snapshot;
  // The receiver's word is what counts: it may have lost what it had (a restart), and then it
  // starts again from the first chunk.
  const size_t next = std::min<size_t>(message.chunk(), snapshot.chunks.size());
  if (next < snapshot.acked) snapshot.sent = next;
  if (next != snapshot.acked) snapshot.progress_ms = monotonic_ms_;
  snapshot.acked = next;
  if (snapshot.acked >= snapshot.chunks.size()) {
    peer.snapshot.reset();
    return;
  }
  send_snapshot_chunks(peer);
}

void MultiLeader::receive_snapshot(const proto::MultiLeaderMessage& message) {
  const NodeId from(message.from());
  // From an incarnation that is gone (a late message): its state may hold writes fenced since.
  if (fenced_.contains(Actor{message.from(), message.incarnation()}) ||
      peers_.at(from).retired.contains(message.incarnation())) {
    return;
  }
  if (message.chunk() == 0) {
    // A first chunk starts a transfer over: the same sender's again (it started over), or another
    // one once the transfer under way has gone quiet. One that still moves is not displaced: two
    // peers sending at once would otherwise restart each other at every first chunk, for good
    // (found by the simulator: 24 million messages in a 13-second run). The other sender hears
    // chunk 0 acknowledged and tries again after relay_after_ms.
    const bool busy = incoming_ && incoming_->from != from &&
                      monotonic_ms_ - incoming_->heard_ms <= options_.relay_after_ms;
    if (!busy) incoming_ = IncomingSnapshot{from, message.snapshot_id(), 0, {}, {}, monotonic_ms_};
  }
  if (incoming_ && incoming_->from == from && incoming_->id == message.snapshot_id() &&
      incoming_->next == message.chunk()) {
    for (const auto& record : message.records()) {
      if (record.element_kind() == 0) {
        incoming_->records.insert_or_assign(record.key(), record.state());
      } else if (is_element_kind(record.element_kind())) {
        incoming_->elements[record.key()].insert_or_assign(
            {static_cast<char>(record.element_kind()), record.element()}, record.state());
      } else {
        ++malformed_;
      }
    }
    ++incoming_->next;
    incoming_->heard_ms = monotonic_ms_;
    if (message.last()) {
      const CausalContext vector = context_of(message.snapshot_vector());
      // A state with writes beyond a fence (this node's is provisional: the sender had more of a
      // lost incarnation) is not joined now; the sender tries again, by then the fence is final.
      const bool beyond_fence = std::any_of(vector.begin(), vector.end(), [&](const auto& at) {
        const auto fence = fenced_.find(at.first);
        return fence != fenced_.end() && at.second > fence->second;
      });
      if (beyond_fence) {
        ++entries_fenced_;
        incoming_.reset();
      } else {
        install_snapshot(vector, context_of(message.snapshot_collected()));
      }
    }
  }
  // Where the receiver stands, whatever arrived: the sender goes on from there.
  proto::MultiLeaderMessage ack;
  ack.set_type(proto::MultiLeaderMessage::SNAPSHOT_ACK);
  ack.set_from(options_.node_id.value());
  ack.set_incarnation(self_.incarnation);
  ack.set_snapshot_id(message.snapshot_id());
  const bool ours = incoming_ && incoming_->from == from && incoming_->id == message.snapshot_id();
  ack.set_chunk(ours ? incoming_->next : (message.last() ? message.chunk() + 1 : 0));
  if (ours && message.last() && incoming_->next == message.chunk() + 1) incoming_.reset();
  pending_.messages.push_back({options_.node_id, from, ack.SerializeAsString(), false});
}

// Joins the received state into this node's: every key either side holds.
void MultiLeader::install_snapshot(const CausalContext& vector, const CausalContext& collected) {
  auto& records = incoming_->records;
  std::vector<std::string> local;
  keyspace_.visit([&](std::string_view, std::string_view user_key, std::string_view,
                      std::optional<TimeMs>, std::string_view, ValueType) {
    if (!records.contains(std::string(user_key))) local.emplace_back(user_key);
    return true;
  });
  for (const auto& [key, state] : tombstones_) {
    if (!records.contains(key)) local.push_back(key);
  }
  const auto join_key = [&](const std::string& key, const KeyState& theirs) {
    // A collection's elements join one by one (collections.cc), before the key's own state is
    // stored over them.
    const auto header = collection_header(key);
    const auto their_elements = incoming_->elements.find(key);
    const bool collection = header.has_value() || their_elements != incoming_->elements.end();
    ElementStates elements;
    if (collection) {
      ElementStates mine = header ? element_states(header->id) : ElementStates{};
      ElementStates received;
      if (their_elements != incoming_->elements.end()) {
        for (const auto& [element, bytes] : their_elements->second) {
          if (auto decoded = KeyState::decode(bytes)) {
            received.emplace(element, std::move(*decoded));
          } else {
            ++malformed_;
          }
        }
      }
      for (const auto* side : {&mine, &received}) {
        for (const auto& [element, state] : *side) {
          if (elements.contains(element)) continue;
          const auto ours = mine.find(element);
          const auto other = received.find(element);
          KeyState joined =
              KeyState::join(ours != mine.end() ? ours->second : KeyState{}, applied_,
                             other != received.end() ? other->second : KeyState{}, vector);
          if (!joined.empty()) elements.emplace(element, std::move(joined));
        }
      }
    }
    KeyState joined = KeyState::join(load_state(key), applied_, theirs, vector);
    if (options_.policy == ConflictPolicy::lww) {
      for (const Dot& discarded : joined.resolve_lww()) {
        ++conflicts_resolved_;
        if (discarded.actor.node == options_.node_id.value()) {
          discarded_unpersisted_.push_back(discarded);
        }
      }
    }
    if (collection) {
      rebuild_collection(key, std::move(joined), elements);
    } else {
      store_state(key, std::move(joined));
    }
  };
  for (const auto& [key, bytes] : records) {
    const auto theirs = KeyState::decode(bytes);
    if (!theirs) {
      ++malformed_;
      continue;
    }
    join_key(key, *theirs);
  }
  for (const auto& key : local) join_key(key, KeyState{});
  for (const auto& [actor, counter] : vector) {
    REPLIKV_ASSERT(actor != self_ || counter <= counter_,
                   "no peer holds writes of this incarnation it never issued");
    auto& have = applied_[actor];
    if (counter <= have) continue;
    have = counter;
    // Those writes came without their entries: this node cannot send them on (a peer that needs
    // them gets a transfer too — found by the simulator: a node that had joined one relayed
    // nothing, and a peer waited forever), and its log starts after them.
    auto& gone = compacted_[actor];
    if (gone < counter) {
      pending_.batch.erase_range(Column::log, log_key(actor, 0), log_key(actor, counter + 1));
      gone = counter;
    }
  }
  // The sender's state lacks the tombstones it collected, and so does the join now.
  raise_collected(collected);
  ++snapshots_installed_;
  if (report_history_) history_events_.push_back({{"event", "\"installed\""}});
  meta_dirty_ = true;
  pending_.sync = std::max(pending_.sync, Sync::per_policy);
  apply_pending();  // held entries now applied count as duplicates, or apply next
  serve_waiting();
}

}  // namespace replikv::core::multi_leader
