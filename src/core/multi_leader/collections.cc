// Collections under the multi-leader strategy (docs/multi-leader.md, "Collections"): hashes,
// sets and sorted sets whose elements merge one by one.
//
// Each field or member has a state of its own — a KeyState: registers under the dots of the writes
// that set it, and increments — kept beside its element in the elements column (id ‖ 'x' ‖ the
// member key's kind, hash and name). What the element shows is derived from it exactly as a string
// key's value is:
//
//   hash field   the highest live register, plus the field's HINCRBY increments (a counter);
//   set member   present while its state holds anything: an add concurrent with a remove survives
//                the remove (an observed-remove set: a remove takes only the adds it had seen);
//   zset member  its score: the highest live register (ZADD's), plus its ZINCRBY increments.
//
// A removal (HDEL, SREM, ZREM, and the removals a command such as ZREMRANGEBYSCORE makes) takes the
// registers and increments its origin had applied and adds no tombstone: nothing of it is needed
// to order later writes, since an element's concurrent registers are all kept (none is discarded,
// so a later removal can never meet one node holding a register another discarded). A write to the
// key itself — SET, DEL, a *STORE's destination — supersedes every element state its origin had
// seen too, and the key is rebuilt from what is left (work: the collection's size, at each node).
//
// The key's own state (its string registers) stays in the key's record as its metadata, with the
// count of element states per kind: a key shows its collection while it has any element, of the
// first kind in type order (hash, set, sorted set) when concurrent writes made it two types at
// once.
#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <utility>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/data/collections.h"
#include "core/encoding.h"
#include "core/multi_leader/replica.h"
#include "core/multi_leader/storage_keys.h"

namespace replikv::core::multi_leader {

namespace {

// The element kinds that carry a state, in the order a key shows them.
constexpr char shown_kinds[] = {element_field, element_member, element_scored};

// The kind a key with these element counts shows, or 0 when it has none.
char shown_kind(const std::map<char, uint64_t>& counts) {
  for (const char kind : shown_kinds) {
    if (counts.contains(kind)) return kind;
  }
  return 0;
}

std::string state_key(uint64_t id, char kind, std::string_view name) {
  std::string key = member_key(id, kind, name);
  key.insert(8, 1, element_state);
  return key;
}

// A sorted-set member's score as its state shows it: ZADD's highest live register, plus ZINCRBY's
// increments. NaN (+inf and -inf added on two nodes) shows as 0, everywhere alike.
double score_of_state(const KeyState& state, TimeMs now_ms) {
  double base = 0;
  if (const auto* best = state.winner(now_ms); best != nullptr && best->second.value.size() == 8) {
    base = score_of_raw(best->second.value);
  }
  const double score = base + state.float_total(now_ms);
  return std::isnan(score) ? 0 : score;
}

}  // namespace

bool MultiLeader::is_element_kind(uint32_t kind) {
  return kind == static_cast<uint8_t>(element_field) ||
         kind == static_cast<uint8_t>(element_member) ||
         kind == static_cast<uint8_t>(element_scored);
}

std::optional<CollectionHeader> MultiLeader::collection_header(const std::string& key) {
  const auto record = keyspace_.live_record(key, wall_ms_);
  if (!record || record->type == ValueType::string) return std::nullopt;
  const auto header = decode_header(record->value);
  REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
  return header;
}

MultiLeader::ElementStates MultiLeader::element_states(uint64_t id, char kind) const {
  ElementStates states;
  std::string begin = kind_begin(id, element_state), end = kind_end(id, element_state);
  if (kind != 0) {
    begin.push_back(kind);
    end = begin;
    end.back() = static_cast<char>(kind + 1);
  }
  keyspace_.scan_elements(begin, end, [&](std::string_view key, std::string_view value) {
    auto state = KeyState::decode(value);
    REPLIKV_ASSERT(state.has_value() && key.size() >= 18, "a stored element state decodes");
    states.emplace(std::make_pair(key[9], std::string(key.substr(18))), std::move(*state));
    return true;
  });
  return states;
}

void MultiLeader::show_element(Keyspace::Collection& collection, char kind, std::string_view name,
                               const KeyState* state) {
  std::optional<std::string> shown;
  if (state != nullptr) {
    switch (kind) {
      case element_field:
        if (const auto rendered = state->render(wall_ms_)) shown = rendered->value;
        break;
      case element_member:
        shown.emplace();
        break;
      default:
        shown = raw_score(score_of_state(*state, wall_ms_));
        break;
    }
  }
  show_member(keyspace_, collection, kind, name, shown);
}

void MultiLeader::forget_string_forms(const std::string& key) {
  written_.erase(key);
  if (const auto it = tombstones_.find(key); it != tombstones_.end()) {
    tombstones_.erase(it);
    pending_.batch.erase(Column::meta, tombstone_key(key));
  }
}

void MultiLeader::rebuild_collection(const std::string& key, KeyState state,
                                     const ElementStates& elements) {
  state.element_counts.clear();
  if (elements.empty()) {
    keyspace_.remove(key);  // the elements go with the record (string forms: store_state's)
    store_state(key, std::move(state));
    return;
  }
  for (const auto& [element, element_state] : elements) ++state.element_counts[element.first];
  const char shown = shown_kind(state.element_counts);
  Keyspace::Collection collection{key, type_of_element_kind(shown), {}, std::nullopt, true};
  collection.header.id = keyspace_.new_collection_id();
  for (const auto& [element, element_state] : elements) {
    keyspace_.put_element(state_key(collection.header.id, element.first, element.second),
                          element_state.encode());
    if (element.first == shown) show_element(collection, shown, element.second, &element_state);
  }
  collection.header.count = state.element_counts.at(shown);
  forget_string_forms(key);
  // (A new id: the old one's elements are dropped with the record's rewrite.)
  keyspace_.put_collection(key, collection.type, collection.header, state.encode());
}

void MultiLeader::supersede_elements(const std::string& key, const CausalContext& replaces,
                                     KeyState state) {
  const auto record = keyspace_.live_record(key, wall_ms_);
  const auto header =
      record && record->type != ValueType::string ? decode_header(record->value) : std::nullopt;
  if (!header) {
    rebuild_collection(key, std::move(state), {});
    return;
  }
  const uint64_t id = header->id;
  // What the write takes of each element: work the collection's size, memory only what changes.
  const auto each_state = [&](const std::function<void(char kind, std::string_view name,
                                                       KeyState before, KeyState after)>& visit) {
    keyspace_.scan_elements(kind_begin(id, element_state), kind_end(id, element_state),
                            [&](std::string_view element, std::string_view value) {
                              auto decoded = KeyState::decode(value);
                              REPLIKV_ASSERT(decoded.has_value() && element.size() >= 18,
                                             "a stored element state decodes");
                              KeyState after = *decoded;
                              after.remove(replaces);
                              visit(element[9], element.substr(18), std::move(*decoded),
                                    std::move(after));
                              return true;
                            });
  };
  std::map<char, uint64_t> left;
  uint64_t taken = 0;
  each_state([&](char kind, std::string_view, KeyState before, KeyState after) {
    if (!(after == before)) ++taken;
    if (!after.empty()) ++left[kind];
  });
  if (left.empty()) {
    rebuild_collection(key, std::move(state), {});  // (the id's elements go by one range erase)
    return;
  }
  state.element_counts = left;
  if (taken == 0) {
    store_state(key, std::move(state));  // it had seen none of them
    return;
  }
  std::vector<std::pair<std::pair<char, std::string>, KeyState>> changed;
  each_state([&](char kind, std::string_view name, KeyState before, KeyState after) {
    if (!(after == before)) changed.emplace_back(std::make_pair(kind, std::string(name)), after);
  });
  const char was_shown = element_kind_of(record->type);
  const char shown = shown_kind(left);
  Keyspace::Collection collection{key, type_of_element_kind(shown), *header, std::nullopt, true};
  for (const auto& [element, after] : changed) {
    const std::string stored = state_key(id, element.first, element.second);
    if (after.empty()) {
      keyspace_.erase_element(stored);
    } else {
      keyspace_.put_element(stored, after.encode());
    }
    if (element.first == shown && shown == was_shown) {
      show_element(collection, shown, element.second, after.empty() ? nullptr : &after);
    }
  }
  if (shown != was_shown) {
    // Another type shows now (the write took every element of the one shown): all again.
    rebuild_collection(key, std::move(state), element_states(id));
    return;
  }
  collection.header.count = left.at(shown);
  forget_string_forms(key);
  keyspace_.put_collection(key, collection.type, collection.header, state.encode());
}

void MultiLeader::apply_element(const proto::MlEntry& entry, const Dot& dot,
                                const CausalContext& replaces) {
  const std::string& key = entry.key();
  const char kind = static_cast<char>(entry.element_kind());
  const std::string& name = entry.element();
  // The key's own state: a string's registers that this collection now hides, and the counts.
  KeyState key_state;
  if (const auto it = written_.find(key); it != written_.end()) {
    key_state = std::move(it->second.state);
  } else {
    key_state = load_state(key);
  }
  auto header = collection_header(key);
  REPLIKV_ASSERT(header.has_value() || key_state.element_counts.empty(),
                 "a key that counts elements holds its collection");
  if (!header) header = CollectionHeader{keyspace_.new_collection_id(), 0, 0, 0};
  const std::string stored = state_key(header->id, kind, name);
  KeyState element;
  if (const auto bytes = keyspace_.element(stored)) {
    auto decoded = KeyState::decode(*bytes);
    REPLIKV_ASSERT(decoded.has_value(), "a stored element state decodes");
    element = std::move(*decoded);
  }
  const bool had = !element.empty();
  switch (entry.kind()) {
    case proto::MlEntry::INCREMENT:
      if (!options_.mutants.drop_peer_increments || dot.actor == self_) {
        element.increment(dot, {entry.delta(), 0, {}, entry.float_delta()});
      }
      break;
    case proto::MlEntry::TOMBSTONE:
      // (Mutant: a removal takes every add of the element, seen or not — remove-wins.)
      if (options_.mutants.remove_unseen_elements) {
        element = {};
      } else {
        element.remove(replaces);
      }
      break;
    default:
      element.write(replaces, dot,
                    Register{{entry.hlc_wall_ms(), entry.hlc_logical()}, false, entry.value(), 0});
      break;
  }
  if (!element.increments.empty() && !fold_below_.empty()) element.fold(fold_below_);
  const bool has = !element.empty();
  if (has) {
    keyspace_.put_element(stored, element.encode());
  } else if (had) {
    keyspace_.erase_element(stored);
  }
  const char was_shown = shown_kind(key_state.element_counts);
  if (has && !had) ++key_state.element_counts[kind];
  if (had && !has && --key_state.element_counts[kind] == 0) key_state.element_counts.erase(kind);
  const char shown = shown_kind(key_state.element_counts);
  if (shown == 0) {
    rebuild_collection(key, std::move(key_state), {});
    return;
  }
  if (was_shown != 0 && was_shown != shown) {
    // The key shows another type now (writes of two types met): every element again.
    rebuild_collection(key, std::move(key_state), element_states(header->id));
    return;
  }
  Keyspace::Collection collection{key, type_of_element_kind(shown), *header, std::nullopt, true};
  if (kind == shown) show_element(collection, kind, name, has ? &element : nullptr);
  collection.header.count = key_state.element_counts.at(shown);
  forget_string_forms(key);
  keyspace_.put_collection(key, collection.type, collection.header, key_state.encode());
}

std::string MultiLeader::elements_digest(uint64_t id) const {
  Fnv64 hash;
  for (auto& [element, state] : element_states(id)) {
    hash.add(std::string_view(&element.first, 1));
    hash.add(element.second);
    hash.add(state.canonical());
  }
  return hash.hex();
}

// The entries a client's command makes of what it changed in the collection at `key` (`id`: the
// collection it left there): each element it put or erased, once, in the order first touched.
void MultiLeader::element_writes(const std::string& key, uint64_t id, bool gone,
                                 const std::vector<std::string>& observed,
                                 const CommandRequest* command,
                                 std::vector<ElementWrite>& out) const {
  // An add of a member already there is an add all the same: it wins against a remove
  // concurrent with it (SADD, and ZADD without conditions, name their members again).
  std::vector<std::string> named;
  static const std::vector<std::string> no_arguments;
  const std::string_view name = command != nullptr && command->spec != nullptr
                                    ? std::string_view(command->spec->name)
                                    : std::string_view();
  const auto& argv = command != nullptr ? command->argv : no_arguments;
  const ZAddShape zadd = name == "zadd" ? zadd_shape(argv) : ZAddShape{};
  if (name == "sadd") {
    for (size_t i = 2; i < argv.size(); ++i) {
      named.push_back(member_key(id, element_member, argv[i]));
    }
  } else if (name == "zadd" && !zadd.conditional) {
    for (size_t i = zadd.first_score + 1; i < argv.size(); i += 2) {
      named.push_back(member_key(id, element_scored, argv[i]));
    }
  }
  std::set<std::string_view> seen;
  std::vector<const std::string*> touched;
  for (const auto& element : observed) touched.push_back(&element);
  for (const auto& element : named) touched.push_back(&element);
  for (const auto* touched_element : touched) {
    const std::string& element = *touched_element;
    if (element.size() < 17 || read_u64_be(element) != id) continue;
    const char kind = element[8];
    if (!is_element_kind(static_cast<uint8_t>(kind)) || !seen.insert(element).second) continue;
    ElementWrite write{key, kind, element.substr(17), proto::MlEntry::VALUE, {}, 0, 0};
    const auto value = gone ? std::nullopt : keyspace_.element(element);
    if (!value) {
      write.entry = proto::MlEntry::TOMBSTONE;
    } else if (name == "hincrby") {
      write.entry = proto::MlEntry::INCREMENT;
      write.delta = parse_int64(argv[3]).value_or(0);
    } else if (name == "zincrby") {
      write.entry = proto::MlEntry::INCREMENT;
      write.float_delta = parse_score(argv[2]).value_or(0);
    } else if (name == "zadd" && zadd.incr) {
      write.entry = proto::MlEntry::INCREMENT;
      write.float_delta = parse_score(argv[argv.size() - 2]).value_or(0);
    } else {
      write.value = *value;
    }
    out.push_back(std::move(write));
  }
}

char MultiLeader::element_kind_of(ValueType type) {
  switch (type) {
    case ValueType::hash:
      return element_field;
    case ValueType::set:
      return element_member;
    case ValueType::zset:
      return element_scored;
    default:
      return 0;
  }
}

void MultiLeader::collection_write(const std::string& key,
                                   std::map<std::string, HeldBefore>& held_before,
                                   const CommandRequest* command,
                                   const std::optional<HlcTimestamp>& seen_hlc, KeyState before) {
  const auto held = held_before.find(key);
  const bool held_string = held != held_before.end() && held->second.id == 0;
  const uint64_t id_before = held != held_before.end() ? held->second.id : 0;
  const auto header = collection_header(key);
  const uint64_t id_after = header ? header->id : 0;
  std::vector<ElementWrite> writes;
  element_writes(key, id_after != 0 ? id_after : id_before, id_after == 0, written_elements_,
                 command, writes);
  // A destination written over (SUNIONSTORE, ZRANGESTORE …): what it held goes first, as a DEL
  // would take it — then its new elements.
  // (A key that held nothing is not written over: ZADD XX on a missing key writes nothing.)
  const bool replaced =
      held_string || (id_before != 0 && id_after != id_before && (id_after != 0 || writes.empty()));
  if (replaced) {
    local_write(key, proto::MlEntry::TOMBSTONE, {}, 0, 0, nullptr, seen_hlc, std::move(before));
  } else if (id_after == 0 && id_before != 0) {
    // Its last shown element went with the record, and with it the key's own state and the
    // elements of kinds it did not show: back they come (a concurrent string's registers or
    // another type's elements this collection hid show now).
    rebuild_collection(key, std::move(before), held->second.hidden);
  }
  for (const auto& write : writes) {
    local_write(key, write.entry, write.value, 0, write.delta, nullptr, seen_hlc, KeyState{},
                &write);
  }
}

std::optional<Reply> MultiLeader::counter_reply(const CommandRequest& command) {
  const std::string_view name = command.spec->name;
  const auto& argv = command.argv;
  const auto header = collection_header(argv[1]);
  if (!header) return std::nullopt;
  if (name == "hincrby") {
    const auto value = keyspace_.element(member_key(header->id, element_field, argv[2]));
    const auto number = value ? parse_int64(*value) : std::nullopt;
    if (number) return Reply::number(*number);
  } else if (name == "zincrby" || (name == "zadd" && zadd_shape(argv).incr)) {
    const std::string& member = name == "zincrby" ? argv[3] : argv.back();
    const auto value = keyspace_.element(member_key(header->id, element_scored, member));
    if (value && value->size() == 8) return Reply::bulk(render_score(score_of_raw(*value)));
  }
  return std::nullopt;
}

std::optional<std::string> MultiLeader::refuse_on_collection(const Request& request) {
  std::string_view what;
  std::string key;
  if (const auto* expire = std::get_if<ExpireRequest>(&request)) {
    what = "a time to live";
    key = expire->key;
  } else if (const auto* command = std::get_if<CommandRequest>(&request)) {
    const std::string_view name = command->spec->name;
    if (name == "rename" || name == "renamenx" || name == "copy") {
      what = name == "copy" ? "COPY" : "RENAME";
      key = command->argv[1];
    }
  }
  if (what.empty() || !collection_header(key)) return std::nullopt;
  return fmt::format(
      "ERR {} on a collection is not offered by the multi-leader strategy: its elements merge one "
      "by one under the key, and nodes would not agree on when the key as a whole {} "
      "(docs/multi-leader.md)",
      what,
      what == "a time to live" ? "expires; DEL it instead"
      : what == "COPY"
          ? "was copied; SUNIONSTORE or ZUNIONSTORE copy a set or sorted set member by member"
          : "moved; SUNIONSTORE or ZUNIONSTORE copy it member by member, then DEL it");
}

}  // namespace replikv::core::multi_leader
