// A key's copy in storage (docs/leaderless.md, "Storage").
//
// The key's part — its registers, context and timestamp — is its keyspace record's metadata (the
// record's value is what the node shows: a string's value for GET, SCAN, KEYS and DBSIZE, or a
// collection's header with its elements), or, when nothing of the key shows, a meta record
// "ll_tomb/<key>" kept in memory as well. Beside the part it holds where the key's element states
// are and how many: each element's state is a record of its own in the elements column, under an
// id this node gave the key (`id ‖ 'x' ‖ kind ‖ hash ‖ name`, apart from the ids of the
// collections it shows, which a rewrite of the record replaces), so a write of one element reads
// and writes that element's state and the key's part — never the whole collection — and the
// elements a read sees change only where their states did.
//
// Every change goes through store_copy(before, after): only the elements whose state changed are
// written, the present counts move with them, and the key's digest (anti_entropy.cc) moves by
// the hashes of what changed.
#include <set>
#include <utility>

#include "core/assert.h"
#include "core/data/collections.h"
#include "core/encoding.h"
#include "core/leaderless/replica.h"

namespace replikv::core::leaderless {
namespace {

constexpr std::string_view meta_tombstone_prefix = "ll_tomb/";
constexpr char kinds_in_order[] = {element_field, element_member, element_scored};

std::string tombstone_key(std::string_view key) {
  std::string out(meta_tombstone_prefix);
  out += key;
  return out;
}

std::string state_key(uint64_t id, char kind, std::string_view name) {
  std::string key = member_key(id, kind, name);
  key.insert(8, 1, element_state);
  return key;
}

// The kind a key with these present counts shows (0: none).
char shown_kind(const std::map<char, uint64_t>& present) {
  for (const char kind : kinds_in_order) {
    if (present.contains(kind)) return kind;
  }
  return 0;
}

}  // namespace

std::string Leaderless::encode_stored(const Stored& stored) {
  proto::LlKeyState message;
  stored.part.to_proto(message);
  message.set_local_states_id(stored.states_id);
  message.set_local_states(stored.states);
  for (const auto& [kind, count] : stored.present) {
    auto& out = *message.add_local_present();
    out.set_kind(static_cast<uint8_t>(kind));
    out.set_count(count);
  }
  std::string bytes;
  message.SerializeToString(&bytes);
  return bytes;
}

std::optional<Leaderless::Stored> Leaderless::decode_stored(std::string_view bytes) {
  proto::LlKeyState message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  auto part = KeyState::from_proto(message);
  if (!part || !part->elements.empty()) return std::nullopt;
  Stored stored;
  stored.part = std::move(*part);
  stored.states_id = message.local_states_id();
  stored.states = message.local_states();
  for (const auto& present : message.local_present()) {
    if (present.count() != 0) stored.present[static_cast<char>(present.kind())] = present.count();
  }
  return stored;
}

void Leaderless::load_tombstones() {
  view_.scan(Column::meta, meta_tombstone_prefix,
             [&](std::string_view key, std::string_view value) {
               if (!key.starts_with(meta_tombstone_prefix)) return false;
               auto stored = decode_stored(value);
               REPLIKV_ASSERT(stored.has_value(), "a stored tombstone decodes");
               tombstones_.emplace(std::string(key.substr(meta_tombstone_prefix.size())),
                                   std::move(*stored));
               return true;
             });
}

Leaderless::Stored Leaderless::load_stored(const std::string& key) {
  if (const auto it = tombstones_.find(key); it != tombstones_.end()) return it->second;
  const auto metadata = keyspace_.stored_metadata(key);
  if (!metadata || metadata->empty()) return {};
  auto stored = decode_stored(*metadata);
  REPLIKV_ASSERT(stored.has_value(), "a stored copy decodes");
  return std::move(*stored);
}

KeyState Leaderless::load_part(const Stored& stored, const std::vector<ElementName>* names) const {
  KeyState copy = stored.part;
  if (stored.states_id == 0 || stored.states == 0) return copy;
  const auto decode = [](std::string_view bytes) {
    auto state = ElementState::decode(bytes);
    REPLIKV_ASSERT(state.has_value(), "a stored element state decodes");
    return std::move(*state);
  };
  if (names != nullptr) {
    for (const auto& name : *names) {
      if (const auto bytes =
              keyspace_.element(state_key(stored.states_id, name.first, name.second))) {
        copy.elements.insert_or_assign(name, decode(*bytes));
      }
    }
    return copy;
  }
  keyspace_.scan_elements(
      kind_begin(stored.states_id, element_state), kind_end(stored.states_id, element_state),
      [&](std::string_view key, std::string_view value) {
        REPLIKV_ASSERT(key.size() >= 18, "an element state's key");
        copy.elements.emplace(ElementName{key[9], std::string(key.substr(18))}, decode(value));
        return true;
      });
  return copy;
}

KeyState Leaderless::load_copy(const std::string& key) {
  return load_part(load_stored(key), nullptr);
}

KeyState Leaderless::copy_of(const std::string& key) { return load_copy(key); }

std::map<std::string, KeyState> Leaderless::copies() const {
  std::vector<std::pair<std::string, Stored>> stored(tombstones_.begin(), tombstones_.end());
  keyspace_.visit([&](std::string_view, std::string_view key, std::string_view,
                      std::optional<TimeMs>, std::string_view metadata, ValueType) {
    if (metadata.empty()) return true;
    auto one = decode_stored(metadata);
    REPLIKV_ASSERT(one.has_value(), "a stored copy decodes");
    stored.emplace_back(std::string(key), std::move(*one));
    return true;
  });
  std::map<std::string, KeyState> out;
  for (const auto& [key, one] : stored) out.insert_or_assign(key, load_part(one, nullptr));
  return out;
}

void Leaderless::store_copy(const std::string& key, Stored stored, const KeyState& before,
                            KeyState after) {
  pending_.sync = std::max(pending_.sync, Sync::per_policy);
  const char was_shown = shown_kind(stored.present);
  uint64_t digest_change = part_hash(key, before) ^ part_hash(key, after);
  // The elements either side names: those whose state changed are written (an empty state is
  // none), with the counts.
  std::set<ElementName> names;
  for (const auto& [name, state] : before.elements) names.insert(name);
  for (const auto& [name, state] : after.elements) names.insert(name);
  std::vector<ElementName> changed;
  for (const auto& name : names) {
    const auto b = before.elements.find(name);
    const auto a = after.elements.find(name);
    const ElementState* was =
        b != before.elements.end() && !b->second.empty() ? &b->second : nullptr;
    const ElementState* now =
        a != after.elements.end() && !a->second.empty() ? &a->second : nullptr;
    if (was == nullptr && now == nullptr) continue;
    if (was != nullptr && now != nullptr && *was == *now) continue;
    digest_change ^=
        (was ? element_hash(key, name, *was) : 0) ^ (now ? element_hash(key, name, *now) : 0);
    if (stored.states_id == 0) stored.states_id = keyspace_.new_collection_id();
    const std::string record = state_key(stored.states_id, name.first, name.second);
    if (now != nullptr) {
      keyspace_.put_element(record, now->encode());
      if (was == nullptr) ++stored.states;
    } else {
      keyspace_.erase_element(record);
      REPLIKV_ASSERT(stored.states > 0, "an element state erased was counted");
      --stored.states;
    }
    const bool present_before = was != nullptr && was->present();
    const bool present_after = now != nullptr && now->present();
    if (present_before != present_after) {
      auto& count = stored.present[name.first];
      if (present_after) {
        ++count;
      } else {
        REPLIKV_ASSERT(count > 0, "a present element was counted");
        if (--count == 0) stored.present.erase(name.first);
      }
    }
    changed.push_back(name);
  }
  const Elements after_elements = std::move(after.elements);
  after.elements.clear();
  stored.part = std::move(after);
  update_digest(key, digest_change, stored.empty());

  const auto tombstone = tombstones_.find(key);
  const auto forget_tombstone = [&] {
    if (tombstone == tombstones_.end()) return;
    tombstones_.erase(tombstone);
    pending_.batch.erase(Column::meta, tombstone_key(key));
  };
  const char shown = shown_kind(stored.present);
  if (shown != 0) {
    // A collection: the elements whose state changed shown again when the record shows that
    // kind already, else every present element of the kind shown anew under a new id (the
    // record's rewrite drops the old id's).
    forget_tombstone();
    const ValueType type = type_of_element_kind(shown);
    const auto record = keyspace_.live_record(key, wall_ms_);
    const auto header =
        record && record->type == type ? decode_header(record->value) : std::nullopt;
    Keyspace::Collection collection{key, type, {}, std::nullopt, true};
    if (header && was_shown == shown) {
      collection.header = *header;
      for (const auto& name : changed) {
        if (name.first != shown) continue;
        const auto a = after_elements.find(name);
        show_member(keyspace_, collection, shown, name.second,
                    a != after_elements.end() ? a->second.shown(shown) : std::nullopt);
      }
    } else {
      collection.header.id = keyspace_.new_collection_id();
      std::string begin = kind_begin(stored.states_id, element_state);
      begin.push_back(shown);
      std::string end = begin;
      end.back() = static_cast<char>(shown + 1);
      std::vector<std::pair<std::string, std::string>> members;
      keyspace_.scan_elements(begin, end, [&](std::string_view state_key, std::string_view value) {
        auto state = ElementState::decode(value);
        REPLIKV_ASSERT(state.has_value(), "a stored element state decodes");
        if (auto element = state->shown(shown)) {
          members.emplace_back(std::string(state_key.substr(18)), std::move(*element));
        }
        return true;
      });
      for (const auto& [name, element] : members) {
        show_member(keyspace_, collection, shown, name, element);
      }
    }
    collection.header.count = stored.present.at(shown);
    keyspace_.put_collection(key, type, collection.header, encode_stored(stored));
    return;
  }
  if (const auto rendered = stored.part.render(wall_ms_)) {
    forget_tombstone();
    keyspace_.put(
        key, rendered->value,
        rendered->deadline_ms != 0 ? std::optional<TimeMs>(rendered->deadline_ms) : std::nullopt,
        encode_stored(stored));
    return;
  }
  keyspace_.remove(key);
  if (stored.empty()) {
    forget_tombstone();
    return;
  }
  pending_.batch.put(Column::meta, tombstone_key(key), encode_stored(stored));
  tombstones_.insert_or_assign(key, std::move(stored));
}

}  // namespace replikv::core::leaderless
