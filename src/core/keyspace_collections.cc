// The keyspace's collections (core/keyspace.h, "Collections"): a key's hash, set, sorted set or
// list — its record a header, its elements in the element store — and the keyspace operations
// that move or copy one. The commands themselves are core/data/'s.
#include <limits>
#include <map>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/keyspace.h"

namespace replikv::core {

std::variant<Keyspace::Collection, Reply> Keyspace::collection(const std::string& key,
                                                               ValueType type, TimeMs now_ms) {
  Collection out{key, type, {}, std::nullopt, false};
  const Record* record = peek_live(key, now_ms);
  if (record == nullptr) return out;
  if (record->type != type) return wrong_type();
  const auto header = decode_header(record->value);
  REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
  out.header = *header;
  out.expire_at_ms = record->expire_at_ms;
  out.exists = true;
  return out;
}

void Keyspace::allocate(Collection& collection) {
  if (collection.header.id != 0) return;
  REPLIKV_ASSERT(executing_write_, "a collection gets its id from a write request");
  collection.header.id = next_collection_id_++;
  counters_dirty_ = true;
}

uint64_t Keyspace::new_collection_id() {
  counters_dirty_ = true;
  return next_collection_id_++;
}

void Keyspace::put_collection(const std::string& key, ValueType type,
                              const CollectionHeader& header, std::string_view metadata) {
  REPLIKV_ASSERT(type != ValueType::string && header.id != 0 && header.count != 0,
                 "put_collection() writes a collection with elements");
  write_metadata_ = metadata;
  store(key, encode_header(header), std::nullopt, type);
  write_metadata_ = {};
}

void Keyspace::save(Collection& collection) {
  REPLIKV_ASSERT(collection.type != ValueType::string, "save() writes a collection");
  if (collection.header.count == 0) {
    // Left empty: the key goes (and with it any range its id was given).
    if (collection.exists) {
      erase(collection.key);
    } else if (collection.header.id != 0) {
      elements_.drop(collection.header.id);
    }
    collection.exists = false;
    return;
  }
  REPLIKV_ASSERT(collection.header.id != 0, "a collection with elements has its id");
  store(collection.key, encode_header(collection.header), collection.expire_at_ms, collection.type);
  collection.exists = true;
}

uint64_t Keyspace::list_length(const std::string& key, TimeMs now_ms) {
  const Record* record = peek_live(key, now_ms);
  if (record == nullptr || record->type != ValueType::list) return 0;
  const auto header = decode_header(record->value);
  return header ? header->count : 0;
}

std::vector<std::string> Keyspace::list_elements(const std::string& key, TimeMs now_ms) {
  std::vector<std::string> out;
  const Record* record = peek_live(key, now_ms);
  if (record == nullptr || record->type != ValueType::list) return out;
  const auto header = decode_header(record->value);
  REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
  elements_.scan(element_key(header->id, element_position, u64_be(header->head)),
                 element_key(header->id, element_position, u64_be(header->tail)), storage_hidden(),
                 [&](std::string_view, std::string_view value) {
                   out.emplace_back(value);
                   return true;
                 });
  return out;
}

std::optional<uint64_t> Keyspace::collection_size(const std::string& key, TimeMs now_ms) {
  const Record* record = peek_live(key, now_ms);
  if (record == nullptr || record->type == ValueType::string) return std::nullopt;
  const auto header = decode_header(record->value);
  REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
  std::map<char, uint64_t> kinds;
  elements_.scan(u64_be(header->id), u64_be(header->id + 1), storage_hidden(),
                 [&](std::string_view element, std::string_view) {
                   if (element[8] != element_state) ++kinds[element[8]];
                   return true;
                 });
  for (const auto& [kind, count] : kinds) {
    if (count != header->count) return std::numeric_limits<uint64_t>::max();
  }
  if (kinds.empty() || kinds.size() != (record->type == ValueType::zset ? 2u : 1u))
    return std::numeric_limits<uint64_t>::max();
  return header->count;
}

void Keyspace::rename(const std::string& from, const std::string& to, TimeMs now_ms) {
  auto record = load_live(from, now_ms);
  REPLIKV_ASSERT(record.has_value(), "RENAME moves a live key");
  if (from == to) return;
  erase(from, /*keep_elements=*/true);
  store(to, std::move(record->value), record->expire_at_ms, record->type);
}

void Keyspace::copy(const std::string& from, const std::string& to, TimeMs now_ms) {
  auto record = load_live(from, now_ms);
  REPLIKV_ASSERT(record.has_value(), "COPY copies a live key");
  if (record->type == ValueType::string) {
    store(to, std::move(record->value), record->expire_at_ms);
    return;
  }
  // Every element again under a new id: the work is the collection's size, as Redis's is.
  const auto header = decode_header(record->value);
  REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
  Collection target{to, record->type, *header, record->expire_at_ms, false};
  target.header.id = 0;
  allocate(target);
  std::vector<std::pair<std::string, std::string>> copied;
  elements_.scan(u64_be(header->id), u64_be(header->id + 1), storage_hidden(),
                 [&](std::string_view key, std::string_view value) {
                   std::string key_copy = u64_be(target.header.id);
                   key_copy.append(key.substr(8));
                   copied.emplace_back(std::move(key_copy), std::string(value));
                   return true;
                 });
  for (auto& [key, value] : copied) elements_.put(std::move(key), std::move(value));
  store(to, encode_header(target.header), target.expire_at_ms, target.type);
}

Reply wrong_type() {
  return Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value");
}

}  // namespace replikv::core
