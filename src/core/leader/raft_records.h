// Raft's records in storage (internal to src/core/leader): the meta keys, the log's keys, and the
// helpers that read them. Log records are <term, 8 bytes big-endian><encoded LogEntry>, under
// their index, big-endian.
#pragma once

#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/ready.h"
#include "core/storage.h"
#include "core/types.h"

namespace replikv::core::raft_records {

inline constexpr std::string_view meta_term = "raft_term";
inline constexpr std::string_view meta_vote = "raft_vote";
inline constexpr std::string_view meta_commit = "raft_commit";
inline constexpr std::string_view meta_epoch = "raft_epoch";
inline constexpr std::string_view meta_last_index = "raft_last_index";
inline constexpr std::string_view meta_term_starts =
    "raft_term_starts";  // (first index, term) pairs
inline constexpr std::string_view meta_log_start =
    "raft_log_start";  // first index held, term before it
// A snapshot install in progress: index, term, the sending leader's term, chunks staged, phase.
inline constexpr std::string_view meta_install = "raft_install";
// 1 byte: 1 for a voter, 0 for a non-voter (an empty data directory that joined a cluster with
// a history). Written by the first run of a data directory, before anything else leaves it.
inline constexpr std::string_view meta_voter = "raft_voter";
// 8 bytes: this data directory's incarnation, random, made at its first run (LogEntry
// origin_incarnation).
inline constexpr std::string_view meta_incarnation = "raft_incarnation";
// 8 bytes: the highest term an operator's promotion accepting data loss began (RaftMessage
// data_loss_term): committed entries of earlier terms the leader lacks may be rolled back.
inline constexpr std::string_view meta_data_loss_term = "raft_data_loss_term";

inline std::string index_key(LogIndex index) {
  std::string key;
  append_u64_be(key, index.value());
  return key;
}

inline std::string u64_bytes(uint64_t value) {
  std::string bytes;
  append_u64_be(bytes, value);
  return bytes;
}

// An 8-byte record of the meta column (or of `column`); 0 when absent.
inline uint64_t read_meta(const StorageView& view, std::string_view key,
                          Column column = Column::meta) {
  const auto bytes = view.get(column, key);
  if (!bytes) return 0;
  REPLIKV_ASSERT(bytes->size() == 8, "a raft meta record is 8 bytes");
  return read_u64_be(*bytes);
}

// The term of the entry at `index` as `view` holds it: from its log record, or from the log
// start record for the entry just before the first held.
inline Term stored_term_at(const StorageView& view, LogIndex index) {
  if (index.value() == 0) return Term();
  if (const auto record = view.get(Column::log, index_key(index))) {
    REPLIKV_ASSERT(record->size() >= 8, "a log record starts with its term");
    return Term(read_u64_be(*record));
  }
  const auto start = view.get(Column::meta, meta_log_start);
  REPLIKV_ASSERT(start && start->size() == 16 && read_u64_be(*start) == index.value() + 1,
                 "an entry asked for is in the log or just before it");
  return Term(read_u64_be(std::string_view(*start).substr(8)));
}

// Raises the Ready's sync demand to at least `sync`.
inline void demand(Ready& ready, Sync sync) {
  if (static_cast<uint8_t>(sync) > static_cast<uint8_t>(ready.sync)) ready.sync = sync;
}

}  // namespace replikv::core::raft_records
