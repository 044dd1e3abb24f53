// Where the multi-leader replica keeps its own records (core/storage.h's columns), beside the
// keyspace's data, expiry and state columns:
//
//   meta  "ml_incarnation"   this node's incarnation (u32, big-endian)
//         "ml_counter"       the last dot counter it issued (u64)
//         "ml_applied"       its applied version vector (position.h's text form)
//         "ml_hlc"           its hybrid clock's last timestamp (u64 wall ms, u32 logical)
//         "ml_collected"     the vector below which it collected tombstones (position.h's form)
//         "ml_tomb/<key>"    a deleted key's state, until every member has the delete
//   log   node ‖ incarnation ‖ counter (u32, u32, u64, big-endian) → an encoded MlEntry, until
//         every member has applied it
#pragma once

#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/causality/dot_set.h"
#include "core/encoding.h"
#include "core/multi_leader/position.h"

namespace replikv::core::multi_leader {

inline constexpr std::string_view meta_incarnation = "ml_incarnation";
inline constexpr std::string_view meta_counter = "ml_counter";
inline constexpr std::string_view meta_applied = "ml_applied";
inline constexpr std::string_view meta_hlc = "ml_hlc";
// Everything below it was collected where it was a tombstone (MultiLeader::collected_).
inline constexpr std::string_view meta_collected = "ml_collected";
inline constexpr std::string_view meta_tombstone_prefix = "ml_tomb/";
// Present while the node catches up after it lost its data (MultiLeader::recovering_).
inline constexpr std::string_view meta_recovering = "ml_recovering";
// Incarnations lost with their node's data and their last surviving write (MultiLeader::fenced_).
inline constexpr std::string_view meta_fenced = "ml_fenced";
// … those of them that are final (MultiLeader::fenced_final_).
inline constexpr std::string_view meta_fenced_final = "ml_fenced_final";

inline std::string tombstone_key(std::string_view key) {
  std::string out(meta_tombstone_prefix);
  out += key;
  return out;
}

inline std::string log_key(const Actor& actor, uint64_t counter) {
  std::string out;
  out.reserve(16);
  append_u32_be(out, actor.node);
  append_u32_be(out, actor.incarnation);
  append_u64_be(out, counter);
  return out;
}

// The version vector stored under meta `key` in `store` (the storage view, or a snapshot of it);
// empty when there is none.
template <typename Store>
CausalContext stored_vector(const Store& store, std::string_view key) {
  const auto text = store.get(Column::meta, key);
  if (!text) return {};
  auto parsed = parse_context_text(*text);
  REPLIKV_ASSERT(parsed.has_value(), "a stored version vector parses");
  return std::move(*parsed);
}

}  // namespace replikv::core::multi_leader
