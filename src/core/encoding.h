// Every byte layout replikv writes to storage, in one place.
//
// Data column
//   key   = key_hash(user key) as 8 bytes big-endian ‖ user key
//   value = flags (1 byte; bit 0: has expiry, bit 1: has metadata, bit 2: has version,
//                   bits 3–5: the type — 0 string, 1 hash, 2 list, 3 set, 4 sorted set)
//           ‖ [expire_at_ms, 8 bytes big-endian] ‖ [version, LEB128 varint, not 0]
//           ‖ [metadata length, 4 bytes big-endian ‖ metadata] ‖ user value
//   The version is the write version of the record's last write (the applied index of the write
//   that made it; core/keyspace.h): what WATCH compares. Records written before versions existed
//   have none (0).
//   Metadata is what a strategy keeps beside a value (a causal context, a timestamp); a record
//   without any is written exactly as before metadata existed (bit 1 clear), so the single
//   leader's data needs no upgrade step and older data reads unchanged.
//   A string's user value is its bytes. A collection's is its header (CollectionHeader below):
//   its elements live in the elements column under its collection id.
// Keys are ordered by their hash first. That makes SCAN's cursor a plain integer that survives
// restarts and means the same thing on every replica (the hash to resume from), and it lets later
// anti-entropy compare replicas range by range of the hash space.
//
// Elements column: one record per element of a hash, set, sorted set or list
//   key   = collection id (8 bytes big-endian) ‖ kind (1 byte) ‖ …
//     'h' ‖ key_hash(field) (8) ‖ field   → the field's value            (hash)
//     's' ‖ key_hash(member) (8) ‖ member → empty                        (set)
//     'm' ‖ key_hash(member) (8) ‖ member → score (8 bytes, score_key)   (sorted set, by member)
//     'o' ‖ score_key(score) (8) ‖ member → empty                        (sorted set, by score)
//     'l' ‖ position (8 bytes big-endian) → the element                  (list)
//   Members sort by their hash as keys do, so HSCAN/SSCAN/ZSCAN cursors are hashes too; a
//   sorted set is kept twice, by member and in score order; a list's positions run from its
//   header's head (inclusive) to tail (exclusive). A collection id is never reused: deleting a
//   collection erases its id's range in one range erase (docs/storage.md, "Collections").
//
// Expiry column
//   key   = expire_at_ms as 8 bytes big-endian ‖ user key;  value = empty
// An index of the keys that have a time to live, in expiry order, for the active expiry sweep.
//
// State column: the records a checkpoint writes with the data and expiry columns, and nothing else
// writes (besides a snapshot install, which replaces them all) — docs/storage.md
//   "counters" → five 8-byte big-endian numbers: keys in the data column, keys with a time to
//                live, writes applied (the log position, and the write version WATCH
//                compares), the version of the last FLUSHALL and the next collection id
//                (records of older versions have the first three or four only). One record, so a
//                write that moves them costs one put, not four.
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

// What a key holds. Stored in the record's flags; a value of another type answers WRONGTYPE.
enum class ValueType : uint8_t { string = 0, hash = 1, list = 2, set = 3, zset = 4, last = zset };
// TYPE's name for it.
std::string_view type_name(ValueType type);
std::optional<ValueType> type_of_name(std::string_view name);  // any case

struct StoredValue {
  std::optional<TimeMs> expire_at_ms;
  ValueType type = ValueType::string;
  uint64_t version = 0;       // the keyspace's write version of its last write; 0: none kept
  std::string_view value;     // points into the encoded bytes
  std::string_view metadata;  // likewise; empty when the record has none
};
std::string encode_value(std::string_view value, std::optional<TimeMs> expire_at_ms,
                         std::string_view metadata = {}, uint64_t version = 0,
                         ValueType type = ValueType::string);
// nullopt when the bytes are not a value this version wrote (a corrupt record).
std::optional<StoredValue> decode_value(std::string_view bytes);

std::string expiry_key(TimeMs expire_at_ms, std::string_view user_key);

// A collection's header: the user value of its record in the data column.
struct CollectionHeader {
  uint64_t id = 0;     // its elements' prefix in the elements column
  uint64_t count = 0;  // elements (fields, members); a list's is tail - head
  uint64_t head = 0;   // a list's first position, and one past its last (others: 0)
  uint64_t tail = 0;
};
std::string encode_header(const CollectionHeader& header);
std::optional<CollectionHeader> decode_header(std::string_view bytes);  // nullopt: corrupt

// Element-column keys (above). `prefix_of` is the id's 8 bytes; `element_key` appends the kind
// and the rest.
inline constexpr char element_field = 'h';
inline constexpr char element_member = 's';
inline constexpr char element_scored = 'm';
inline constexpr char element_order = 'o';
inline constexpr char element_position = 'l';
// Not an element: a strategy's state of one, beside it — the multi-leader strategy's causal
// state of a field or member: id ‖ 'x' ‖ the member key's kind, hash and name.
inline constexpr char element_state = 'x';
std::string element_key(uint64_t id, char kind, std::string_view rest);
// id ‖ kind ‖ key_hash(name) ‖ name: a field, set member or sorted-set member.
std::string member_key(uint64_t id, char kind, std::string_view name);
// A double as 8 bytes that sort as the numbers do (-0 as 0; NaN is never stored).
std::string score_key(double score);
double score_of_key(std::string_view bytes);  // size >= 8

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
