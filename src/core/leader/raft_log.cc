// Raft: the log — appending, compaction, the in-memory cache of recent entries, and reading
// entries and terms back (src/core/leader/raft.h; records in raft_records.h).
#include "core/assert.h"
#include "core/encoding.h"
#include "core/leader/raft.h"
#include "core/leader/raft_records.h"

namespace replikv::core {
using namespace raft_records;

// --- Log ------------------------------------------------------------------------------------

void Raft::append(proto::LogEntry entry) {
  REPLIKV_ASSERT(role_ == Role::leader, "only a leader makes entries");
  entry.set_term(term_.value());
  entry.set_index(last_index_.next().value());
  entry.set_time_ms(wall_ms_);
  std::string bytes = entry.SerializeAsString();
  append_encoded(std::move(entry), std::move(bytes));
}

// Appends `entry`, whose encoding is `bytes`, after the last.
void Raft::append_encoded(proto::LogEntry entry, std::string bytes) {
  const LogIndex index = last_index_.next();
  REPLIKV_ASSERT(entry.index() == index.value(), "log entries are appended in order");
  REPLIKV_ASSERT(Term(entry.term()) >= last_term_, "terms in the log never decrease");
  std::string record;
  record.reserve(8 + bytes.size());
  append_u64_be(record, entry.term());
  record.append(bytes);
  entry_bytes_.push_back(static_cast<uint32_t>(record.size()));
  log_bytes_ += record.size();
  pending_.batch.put(Column::log, index_key(index), std::move(record));
  demand(pending_, Sync::per_policy);
  if (Term(entry.term()) != last_term_ || index == log_start_) {
    term_starts_[index.value()] = Term(entry.term());
    term_starts_dirty_ = true;
  }
  last_index_dirty_ = true;
  last_index_ = index;
  last_term_ = Term(entry.term());
  if (recent_.empty()) recent_first_ = index;
  recent_.push_back({std::move(entry), std::move(bytes)});
  log_written_ = true;
}

// Erases the log below what is applied, keeping a tail, once it is long (a follower that needs an
// erased entry gets a snapshot). In the same batch as the new start record, so a crash leaves the
// old log or the cut one.
void Raft::maybe_compact() {
  REPLIKV_ASSERT(entry_bytes_.size() == last_index_.value() + 1 - log_start_.value(),
                 "one size per entry held");
  if (entry_bytes_.size() <= options_.log_compact_entries &&
      log_bytes_ <= options_.log_compact_bytes)
    return;
  // Keep at most log_keep_entries applied entries, and no more of them than a quarter of
  // log_compact_bytes (so a compaction by size frees at least three quarters).
  const uint64_t keep_bytes_max = options_.log_compact_bytes / 4;
  // A leader keeps what a follower catching up by snapshot needs next: the entries after a
  // snapshot being sent, and after one just installed until the follower takes entries — or it
  // would need another snapshot at once. Only for followers heard from within an election
  // timeout: one that went away holds nothing.
  //
  // It also keeps what a follower heard from within an election timeout still needs, while the
  // log stays within log_compact_bytes: a follower behind under load then catches up by entries
  // instead of being sent a snapshot it must install while the load goes on (installing, it
  // confirms no round, and the leader's lease would run out — docs/benchmarks.md).
  LogIndex limit = checkpoint_applied_;  // storage holds the state up to here; the log the rest
  if (role_ == Role::leader) {
    const bool room_for_laggards =
        options_.hold_log_for_followers && log_bytes_ <= options_.log_compact_bytes;
    for (const auto& [id, peer] : peers_) {
      if (now_ms_ - peer.heard_at_ms >= options_.election_timeout_ms_min) continue;
      if (peer.snapshot) limit = std::min(limit, peer.snapshot->source.index());
      if (peer.hold_log_from.value() > 0)
        limit = std::min(limit, LogIndex(peer.hold_log_from.value() - 1));
      if (room_for_laggards && !peer.snapshot) limit = std::min(limit, peer.match);
    }
  }
  LogIndex new_start = log_start_;
  uint64_t kept_bytes = log_bytes_;
  for (size_t i = 0; new_start <= limit; ++i, new_start = new_start.next()) {
    const bool entries_ok = applied_.value() - new_start.value() + 1 <= options_.log_keep_entries;
    if (entries_ok && kept_bytes <= keep_bytes_max) break;
    kept_bytes -= entry_bytes_[i];
  }
  if (new_start <= log_start_) return;
  REPLIKV_ASSERT(new_start <= checkpoint_applied_.next(),
                 "only checkpointed entries are compacted");
  const Term before = term_at(LogIndex(new_start.value() - 1));
  const Term first = new_start <= last_index_ ? term_at(new_start) : Term();
  pending_.batch.erase_range(Column::log, index_key(log_start_), index_key(new_start));
  compacted_entries_ += new_start.value() - log_start_.value();
  for (uint64_t i = log_start_.value(); i < new_start.value(); ++i) {
    log_bytes_ -= entry_bytes_.front();
    entry_bytes_.pop_front();
  }
  // Term starts below the new first index go; the first index's term is kept as a start.
  term_starts_.erase(term_starts_.upper_bound(0), term_starts_.upper_bound(new_start.value()));
  if (new_start <= last_index_) term_starts_[new_start.value()] = first;
  term_starts_dirty_ = true;
  log_start_ = new_start;
  log_start_term_ = before;
  std::string record;
  append_u64_be(record, log_start_.value());
  append_u64_be(record, log_start_term_.value());
  pending_.batch.put(Column::meta, std::string(meta_log_start), std::move(record));
  while (!recent_.empty() && recent_first_ < log_start_) {
    recent_.pop_front();
    recent_first_ = recent_first_.next();
  }
  if (recent_.empty()) recent_first_ = last_index_.next();
}

// Keeps the newest entries decoded in memory, for sending and applying without a storage read —
// but never drops one the storage does not hold yet (not handed over in a Ready).
void Raft::trim_recent() {
  while (recent_.size() > recent_entries_max && recent_first_ <= taken_index_) {
    recent_.pop_front();
    recent_first_ = recent_first_.next();
  }
}

const proto::LogEntry* Raft::entry_at(LogIndex index, proto::LogEntry& scratch) const {
  if (index.value() == 0 || index > last_index_) return nullptr;
  if (!recent_.empty() && index >= recent_first_)
    return &recent_[index.value() - recent_first_.value()].entry;
  std::string record;
  const std::string_view bytes = entry_bytes_at(index, record);
  REPLIKV_ASSERT(scratch.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
                 "a log entry decodes");
  return &scratch;
}

// The entry at `index` as it is encoded (an index up to the last): from memory when recent, else
// read from storage into `scratch`.
std::string_view Raft::entry_bytes_at(LogIndex index, std::string& scratch) const {
  REPLIKV_ASSERT(index >= log_start_ && index <= last_index_,
                 "entry_bytes_at() names an entry the log holds");
  if (!recent_.empty() && index >= recent_first_)
    return recent_[index.value() - recent_first_.value()].bytes;
  auto bytes = view_.get(Column::log, index_key(index));
  REPLIKV_ASSERT(bytes.has_value() && bytes->size() >= 8,
                 "every index up to the last is in the log");
  scratch = std::move(*bytes);
  return std::string_view(scratch).substr(8);
}

Term Raft::term_at(LogIndex index) const {
  if (index > last_index_ || index.value() == 0) return Term();
  REPLIKV_ASSERT(index.value() + 1 >= log_start_.value(),
                 "term_at() asks of an entry the log still knows");
  if (index.value() + 1 == log_start_.value()) return log_start_term_;
  // Nearly always an index of the newest term: no search.
  if (index.value() >= term_starts_.rbegin()->first) return term_starts_.rbegin()->second;
  auto it = term_starts_.upper_bound(index.value());
  return std::prev(it)->second;
}

bool Raft::log_up_to_date(LogIndex last_index, Term last_term) const {
  return last_term > last_term_ || (last_term == last_term_ && last_index >= last_index_);
}

bool Raft::may_leave_early(const Message& message) const {
  // Field 1 (`type`), varint: tag byte 0x08. Generated code and send_append both write it first;
  // absent, the type is 0 (PRE_VOTE).
  const std::string_view wire = message.payload;
  if (wire.size() < 2 || static_cast<uint8_t>(wire[0]) != 0x08) return false;
  uint64_t type = 0;
  for (size_t i = 1, shift = 0; i < wire.size() && shift < 64; ++i, shift += 7) {
    const auto byte = static_cast<uint8_t>(wire[i]);
    type |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return type == proto::RaftMessage::APPEND;
  }
  return false;
}

}  // namespace replikv::core
