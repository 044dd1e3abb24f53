#include "core/encoding.h"

#include <fmt/format.h>

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

std::string encode_value(std::string_view value, std::optional<TimeMs> expire_at_ms) {
  std::string bytes;
  bytes.reserve(1 + (expire_at_ms ? 8 : 0) + value.size());
  bytes.push_back(expire_at_ms ? 1 : 0);
  if (expire_at_ms) append_u64_be(bytes, static_cast<uint64_t>(*expire_at_ms));
  bytes.append(value);
  return bytes;
}

std::optional<StoredValue> decode_value(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const auto flags = static_cast<uint8_t>(bytes[0]);
  if (flags > 1) return std::nullopt;
  if (flags == 0) return StoredValue{std::nullopt, bytes.substr(1)};
  if (bytes.size() < 9) return std::nullopt;
  return StoredValue{static_cast<TimeMs>(read_u64_be(bytes.substr(1))), bytes.substr(9)};
}

std::string expiry_key(TimeMs expire_at_ms, std::string_view user_key) {
  std::string key;
  key.reserve(8 + user_key.size());
  append_u64_be(key, static_cast<uint64_t>(expire_at_ms));
  key.append(user_key);
  return key;
}

}  // namespace replikv::core
