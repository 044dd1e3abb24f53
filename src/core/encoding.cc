#include "core/encoding.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "core/assert.h"

namespace replikv::core {

uint64_t key_hash(std::string_view key) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (const char c : key) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;  // FNV 64 prime
  }
  hash = (hash ^ (hash >> 30)) * 0xbf58476d1ce4e5b9ULL;
  hash = (hash ^ (hash >> 27)) * 0x94d049bb133111ebULL;
  return hash ^ (hash >> 31);
}

std::string Fnv64::hex() const { return fmt::format("{:016x}", hash_); }

std::string data_key(std::string_view user_key) {
  std::string key;
  key.reserve(8 + user_key.size());
  append_u64_be(key, key_hash(user_key));
  key.append(user_key);
  return key;
}

std::string_view user_key_of(std::string_view data_key) { return data_key.substr(8); }

std::string data_key_start(uint64_t hash) {
  std::string key;
  append_u64_be(key, hash);
  return key;
}

namespace {
constexpr uint8_t value_has_expiry = 1;
constexpr uint8_t value_has_metadata = 2;
constexpr uint8_t value_has_version = 4;
constexpr int value_type_shift = 3;  // bits 3–5: the value's type (ValueType; 0 = string)
constexpr uint8_t value_type_mask = 7 << value_type_shift;
}  // namespace

std::string encode_value(std::string_view value, std::optional<TimeMs> expire_at_ms,
                         std::string_view metadata, uint64_t version, ValueType type) {
  REPLIKV_ASSERT(metadata.size() <= UINT32_MAX, "a record's metadata fits its 4-byte length");
  std::string bytes;
  bytes.reserve(1 + (expire_at_ms ? 8 : 0) + (version != 0 ? 10 : 0) +
                (metadata.empty() ? 0 : 4 + metadata.size()) + value.size());
  bytes.push_back(static_cast<char>(
      (expire_at_ms ? value_has_expiry : 0) | (metadata.empty() ? 0 : value_has_metadata) |
      (version != 0 ? value_has_version : 0) | (static_cast<uint8_t>(type) << value_type_shift)));
  if (expire_at_ms) append_u64_be(bytes, static_cast<uint64_t>(*expire_at_ms));
  for (uint64_t rest = version; rest != 0; rest >>= 7)
    bytes.push_back(static_cast<char>((rest & 0x7f) | (rest >= 0x80 ? 0x80 : 0)));
  if (!metadata.empty()) {
    append_u32_be(bytes, static_cast<uint32_t>(metadata.size()));
    bytes.append(metadata);
  }
  bytes.append(value);
  return bytes;
}

std::optional<StoredValue> decode_value(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const auto flags = static_cast<uint8_t>(bytes[0]);
  if ((flags & ~(value_has_expiry | value_has_metadata | value_has_version | value_type_mask)) != 0)
    return std::nullopt;
  StoredValue stored;
  const auto type = static_cast<uint8_t>((flags & value_type_mask) >> value_type_shift);
  if (type > static_cast<uint8_t>(ValueType::last)) return std::nullopt;
  stored.type = static_cast<ValueType>(type);
  std::string_view rest = bytes.substr(1);
  if ((flags & value_has_expiry) != 0) {
    if (rest.size() < 8) return std::nullopt;
    stored.expire_at_ms = static_cast<TimeMs>(read_u64_be(rest));
    rest.remove_prefix(8);
  }
  if ((flags & value_has_version) != 0) {
    for (int shift = 0;; shift += 7) {
      if (rest.empty() || shift > 63) return std::nullopt;
      const auto byte = static_cast<uint8_t>(rest[0]);
      rest.remove_prefix(1);
      stored.version |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    if (stored.version == 0) return std::nullopt;  // (written only when not 0)
  }
  if ((flags & value_has_metadata) != 0) {
    if (rest.size() < 4) return std::nullopt;
    const uint32_t length = read_u32_be(rest);
    rest.remove_prefix(4);
    if (length == 0 || rest.size() < length) return std::nullopt;
    stored.metadata = rest.substr(0, length);
    rest.remove_prefix(length);
  }
  stored.value = rest;
  return stored;
}

std::string expiry_key(TimeMs expire_at_ms, std::string_view user_key) {
  std::string key;
  key.reserve(8 + user_key.size());
  append_u64_be(key, static_cast<uint64_t>(expire_at_ms));
  key.append(user_key);
  return key;
}

std::string_view type_name(ValueType type) {
  switch (type) {
    case ValueType::string:
      return "string";
    case ValueType::hash:
      return "hash";
    case ValueType::list:
      return "list";
    case ValueType::set:
      return "set";
    case ValueType::zset:
      return "zset";
  }
  return "none";
}

std::optional<ValueType> type_of_name(std::string_view name) {
  for (uint8_t t = 0; t <= static_cast<uint8_t>(ValueType::last); ++t) {
    const auto type = static_cast<ValueType>(t);
    const std::string_view known = type_name(type);
    if (known.size() == name.size() &&
        std::equal(known.begin(), known.end(), name.begin(),
                   [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b + 32 : b); })) {
      return type;
    }
  }
  return std::nullopt;
}

std::string encode_header(const CollectionHeader& header) {
  std::string bytes;
  bytes.reserve(32);
  append_u64_be(bytes, header.id);
  append_u64_be(bytes, header.count);
  if (header.head != 0 || header.tail != 0) {
    append_u64_be(bytes, header.head);
    append_u64_be(bytes, header.tail);
  }
  return bytes;
}

std::optional<CollectionHeader> decode_header(std::string_view bytes) {
  if (bytes.size() != 16 && bytes.size() != 32) return std::nullopt;
  CollectionHeader header{read_u64_be(bytes), read_u64_be(bytes.substr(8))};
  if (bytes.size() == 32) {
    header.head = read_u64_be(bytes.substr(16));
    header.tail = read_u64_be(bytes.substr(24));
    if (header.tail < header.head || header.tail - header.head != header.count) return std::nullopt;
  }
  return header;
}

std::string element_key(uint64_t id, char kind, std::string_view rest) {
  std::string key;
  key.reserve(9 + rest.size());
  append_u64_be(key, id);
  key.push_back(kind);
  key.append(rest);
  return key;
}

std::string member_key(uint64_t id, char kind, std::string_view name) {
  std::string key;
  key.reserve(17 + name.size());
  append_u64_be(key, id);
  key.push_back(kind);
  append_u64_be(key, key_hash(name));
  key.append(name);
  return key;
}

std::string score_key(double score) {
  if (score == 0) score = 0;  // -0 sorts (and is stored) as 0
  uint64_t bits;
  std::memcpy(&bits, &score, 8);
  // Negative numbers: every bit flipped (larger magnitudes sort first); others: the sign bit set.
  bits = (bits >> 63) != 0 ? ~bits : bits | (1ULL << 63);
  return u64_be(bits);
}

double score_of_key(std::string_view bytes) {
  uint64_t bits = read_u64_be(bytes);
  bits = (bits >> 63) != 0 ? bits & ~(1ULL << 63) : ~bits;
  double score;
  std::memcpy(&score, &bits, 8);
  return score;
}

}  // namespace replikv::core
