// Every byte layout replikv writes to storage, in one place.
//
// Data column
//   key   = key_hash(user key) as 8 bytes big-endian ‖ user key
//   value = flags (1 byte; bit 0: has expiry, bit 1: has metadata, bit 2: has version)
//           ‖ [expire_at_ms, 8 bytes big-endian] ‖ [version, LEB128 varint, not 0]
//           ‖ [metadata length, 4 bytes big-endian ‖ metadata] ‖ user value
//   The version is the write version of the record's last write (the applied index of the write
//   that made it; core/keyspace.h): what WATCH compares. Records written before versions existed
//   have none (0).
//   Metadata is what a strategy keeps beside a value (a causal context, a timestamp); a record
//   without any is written exactly as before metadata existed (bit 1 clear), so the single
//   leader's data needs no upgrade step and older data reads unchanged.
// Keys are ordered by their hash first. That makes SCAN's cursor a plain integer that survives
// restarts and means the same thing on every replica (the hash to resume from), and it lets later
// anti-entropy compare replicas range by range of the hash space.
//
// Expiry column
//   key   = expire_at_ms as 8 bytes big-endian ‖ user key;  value = empty
// An index of the keys that have a time to live, in expiry order, for the active expiry sweep.
//
// State column: the records a checkpoint writes with the data and expiry columns, and nothing else
// writes (besides a snapshot install, which replaces them all) — docs/storage.md
//   "counters" → four 8-byte big-endian numbers: keys in the data column, keys with a time to
//                live, writes applied (the log position, and the write version WATCH
//                compares), and the version of the last FLUSHALL (records of older versions
//                have the first three only). One record, so a write that moves them costs
//                one put, not four.
//   "erase_versions_" ‖ bucket → the write version of the last erase of a key in that bucket
//                of key hashes (WATCH's).
//   "raft_applied" → 8 bytes: the log index the state reflects (Raft).
//   "raft_applied_terms" → (first applied index, term) pairs, 16 bytes each: the term of every
//                applied entry (Raft).
//   "raft_window_" ‖ origin node id (8 bytes big-endian) → that origin's sequence window (Raft's
//                at-most-once record; replicated state, so snapshots carry it).
// The whole column is replicated state: a snapshot carries all of it.
//
// Meta column: the node's own records (Raft's term, vote, log positions;
// core/leader/raft_records.h).
//
// The hash is FNV-1a 64 followed by the splitmix64 finalizer (to spread FNV's weak low bits). It is
// part of the on-disk format: changing it needs a data migration.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/types.h"

namespace replikv::core {

uint64_t key_hash(std::string_view key);

// Big-endian 8-byte numbers (keys sort by them), inline: they are on every hot path.
inline void store_u64_be(char* out, uint64_t value) {
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap64(value);
  std::memcpy(out, &value, 8);
}
inline uint64_t load_u64_be(const char* bytes) {
  uint64_t value;
  std::memcpy(&value, bytes, 8);
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap64(value);
  return value;
}
inline void append_u64_be(std::string& out, uint64_t value) {
  char bytes[8];
  store_u64_be(bytes, value);
  out.append(bytes, 8);
}
inline std::string u64_be(uint64_t value) {
  std::string out;
  append_u64_be(out, value);
  return out;
}
inline uint64_t read_u64_be(std::string_view bytes) {
  return load_u64_be(bytes.data());
}  // size >= 8
inline void append_u32_be(std::string& out, uint32_t value) {
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap32(value);
  out.append(reinterpret_cast<const char*>(&value), 4);
}
inline uint32_t read_u32_be(std::string_view bytes) {  // size >= 4
  uint32_t value;
  std::memcpy(&value, bytes.data(), 4);
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap32(value);
  return value;
}

// FNV-1a, 64 bits, over length-prefixed byte strings (so ("ab", "c") and ("a", "bc") differ): for
// comparing replicas' states (DEBUG DIGEST), not for security.
class Fnv64 {
 public:
  void add(std::string_view bytes) {
    for (uint64_t length = bytes.size(), i = 0; i < 8; ++i, length >>= 8)
      mix(static_cast<uint8_t>(length));
    for (const char c : bytes) mix(static_cast<uint8_t>(c));
  }
  uint64_t value() const { return hash_; }
  std::string hex() const;  // 16 hex digits

 private:
  void mix(uint8_t byte) { hash_ = (hash_ ^ byte) * 0x100000001b3ULL; }
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

std::string data_key(std::string_view user_key);
// The user key inside a data-column key (which must be at least 8 bytes).
std::string_view user_key_of(std::string_view data_key);
// The first data-column key whose hash is >= hash.
std::string data_key_start(uint64_t hash);

struct StoredValue {
  std::optional<TimeMs> expire_at_ms;
  uint64_t version = 0;       // the keyspace's write version of its last write; 0: none kept
  std::string_view value;     // points into the encoded bytes
  std::string_view metadata;  // likewise; empty when the record has none
};
std::string encode_value(std::string_view value, std::optional<TimeMs> expire_at_ms,
                         std::string_view metadata = {}, uint64_t version = 0);
// nullopt when the bytes are not a value this version wrote (a corrupt record).
std::optional<StoredValue> decode_value(std::string_view bytes);

std::string expiry_key(TimeMs expire_at_ms, std::string_view user_key);

// State column keys (above).
inline constexpr std::string_view state_counters = "counters";
inline constexpr std::string_view state_applied = "raft_applied";
inline constexpr std::string_view state_applied_terms = "raft_applied_terms";
inline constexpr std::string_view state_window_prefix = "raft_window_";
// "erase_versions_" ‖ bucket (2 bytes big-endian) → 8 bytes: the write version of the last erase
// of a key whose hash falls in that bucket (of erase_version_buckets; WATCH's, core/keyspace.h).
inline constexpr std::string_view state_erase_versions_prefix = "erase_versions_";
inline constexpr uint32_t erase_version_buckets = 4096;

}  // namespace replikv::core
