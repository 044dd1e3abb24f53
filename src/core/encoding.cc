#include "core/encoding.h"

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
}  // namespace

std::string encode_value(std::string_view value, std::optional<TimeMs> expire_at_ms,
                         std::string_view metadata, uint64_t version) {
  REPLIKV_ASSERT(metadata.size() <= UINT32_MAX, "a record's metadata fits its 4-byte length");
  std::string bytes;
  bytes.reserve(1 + (expire_at_ms ? 8 : 0) + (version != 0 ? 10 : 0) +
                (metadata.empty() ? 0 : 4 + metadata.size()) + value.size());
  bytes.push_back(static_cast<char>((expire_at_ms ? value_has_expiry : 0) |
                                    (metadata.empty() ? 0 : value_has_metadata) |
                                    (version != 0 ? value_has_version : 0)));
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
  if ((flags & ~(value_has_expiry | value_has_metadata | value_has_version)) != 0)
    return std::nullopt;
  StoredValue stored;
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

}  // namespace replikv::core
