// SnapshotSource: reads the state machine out of a frozen storage view in bounded chunks.
//
// What a snapshot holds (docs/snapshots.md): every record of the data, elements, expiry and state
// columns — the replicated state, with the keyspace counters, the per-origin sequence windows and
// the applied index and terms. Nothing of the log, term, vote or positions (the meta column): those
// belong to the receiving node.
// A chunk holds records up to `bytes_max` (at least one record, however large), so memory is
// bounded by the chunk size whatever the data size; the source keeps only its position (a column
// and the last key sent), so it can go on over many loop turns while the node keeps writing —
// the view is frozen — and can start a chunk again from where any earlier one ended.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/storage.h"
#include "core/types.h"
#include "proto/replikv.pb.h"

namespace replikv::core {

class SnapshotSource {
 public:
  SnapshotSource(std::unique_ptr<StorageView> view, LogIndex index, Term term);

  // Chunk `number` (0, 1, …: each after the one before; a chunk asked again is read again).
  proto::SnapshotChunk chunk(uint64_t number, size_t bytes_max);
  LogIndex index() const { return index_; }
  Term term() const { return term_; }

 private:
  struct Position {
    int stage = 0;      // into the column order (data, elements, expiry, state)
    std::string after;  // the last key sent in that column (empty with `fresh`)
    bool fresh = true;  // nothing sent from this column yet
  };

  std::unique_ptr<StorageView> view_;
  LogIndex index_;
  Term term_;
  // Where each chunk starts: chunk n starts at starts_[n] (known for every chunk made so far).
  std::vector<Position> starts_;
};

// Install side (docs/snapshots.md §5): the steps, each one atomic batch.
// Staging: a chunk's records go to the `staging` column, keyed <column byte><key> (a column of
// their own: the meta column is written with the log, and a snapshot does not belong there).
std::string staged_key(Column column, std::string_view key);
void stage_chunk(const proto::SnapshotChunk& chunk, WriteBatch& batch);
// Erases what a snapshot replaces: the data, elements, expiry and state columns.
void erase_replicated_state(WriteBatch& batch);
// Moves staged records (about `bytes_max` of them, at least one) into their columns, erasing
// them from staging in the same batch (one range erase); true when staging is empty after this
// batch. Idempotent across crashes: a record is moved by the batch that erases it from staging.
// `position` (empty at first) is where the next batch starts, kept by the caller: scanning from
// the start of staging again would step over every erased key each time (RocksDB tombstones).
bool move_staged(const StorageView& view, size_t bytes_max, std::string& position,
                 WriteBatch& batch);
// Erases whatever is staged (an install abandoned before its last chunk).
void discard_staged(WriteBatch& batch);

}  // namespace replikv::core
