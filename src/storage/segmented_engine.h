// SegmentedEngine: the replication log and the node's meta records in segment files; the
// replicated state in RocksDB. The engine of the single-leader strategies.
//
// Why: a log entry is appended once, read back in order, and dropped from the front. Kept in
// RocksDB, each one was a memtable insert and a WAL record on every node, flushed and compacted
// away later — an ordered, durable index for data that needs none (docs/storage.md, "The log in
// segment files"; etcd keeps its Raft log in WAL files, TiKV moved its own out of RocksDB into
// raft-engine for the same reason). Here a batch of entries costs one write into a segment file,
// and a group commit one fdatasync.
//
// Where each column lives
// - log, meta: in memory (meta records; where each entry lies), described by the segmented log's
//   frames (storage/segment_log.h, storage/log_records.h). Entries are read from the segment
//   files where they lie (the page cache serves the recent ones).
// - data, expiry, state, staging: RocksDB, written without RocksDB's WAL. A replicated node
//   writes them through checkpoints (ingested files) and, while a snapshot is installed, through
//   batches.
//
// One write-ahead log: every batch is one frame, whatever its columns. A batch that writes
// RocksDB's columns too (a snapshot being installed) is synced into the log before RocksDB sees
// it, and RocksDB records the frame's sequence number with it (in its own meta column); RocksDB
// flushes every column together. After a crash RocksDB holds whole batches up to some frame, and
// the frames after it are written to it again from the log. So a batch is all there or not at all
// across both (the meta column's install marker and the data it guards move together), and
// nothing RocksDB holds is ahead of the log.
//
// Checkpoints are ingested only after the log is synced (the entries they reflect are durable
// first) — and after RocksDB's batches are flushed, if any are not: a batch written again from
// the log after a crash must never land on a checkpoint made after it.
//
// Segments are dropped from the front once every entry they hold is below the log's first index
// — as synced — and RocksDB has flushed the batches they carried.
//
// Closing the engine syncs the log and appends a closing frame (storage/log_records.h), synced
// too: after a clean stop, damage to the last frames is refused as corruption, where after a crash
// it could not be told from a torn tail.
//
// A data directory from before (the log and meta in RocksDB) is moved into segments once, at
// open: the segments are written and synced, then RocksDB's log and meta columns are emptied and a
// marker put in the same flushed write. A crash in between finds no marker and starts over.
//
// Thread-safety: Engine's. sync() and write_checkpoint() may run on other threads beside the
// owner's writes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "storage/engine.h"
#include "storage/segment_log.h"

namespace replikv::storage {

struct SegmentedEngineOptions {
  std::string path;  // RocksDB's files here, the segments in <path>/log
  uint64_t segment_bytes = 64ull << 20;
  bool zero_fill_segments = true;  // SegmentLogOptions::zero_fill
  uint64_t block_cache_bytes = 64ull << 20;
  // Where the segments go; by default <path>/log on the file system. Tests give a MemoryDirectory
  // (a disk whose syncs can be made to fail, or that loses unsynced pages). Called each time the
  // engine opens the log — twice on a first open, for the layout upgrade and then the log — and
  // must give the same storage each time (MemoryDirectory::another_handle).
  std::function<std::unique_ptr<Directory>(Status& error)> log_directory;
  // False: closing the engine leaves what a kill -9 would (RocksDB's unflushed batches lost, the
  // segments as written, no closing frame), for tests.
  bool flush_at_close = true;
};

struct SegmentedEngineRecovery {
  SegmentLogRecovery log;
  uint64_t entries = 0;            // log entries held after the replay
  uint64_t batches_rewritten = 0;  // frames whose RocksDB part was written again
  uint64_t migrated_entries = 0;   // entries moved from RocksDB's log column (a first open)
  uint64_t migrated_records = 0;   // meta records moved likewise
  // The log ends with a closing frame: the engine was closed cleanly (not killed, no power loss).
  bool clean_stop = false;
  double seconds = 0;  // the whole open
};

class SegmentedEngine final : public Engine {
 public:
  static std::unique_ptr<SegmentedEngine> open(const SegmentedEngineOptions& options,
                                               SegmentedEngineRecovery& recovery, Status& error);
  ~SegmentedEngine() override;

  std::optional<std::string> get(core::Column column, std::string_view key) const override;
  void scan(core::Column column, std::string_view start, const Visitor& visit) const override;
  void scan_reverse(core::Column column, std::string_view before,
                    const Visitor& visit) const override;
  void scan_sizes(core::Column column, std::string_view start,
                  const SizeVisitor& visit) const override;
  std::unique_ptr<core::StorageView> snapshot() const override;
  Status write(const core::WriteBatch& batch) override;
  Status sync() override;
  bool sync_off_thread() const override { return true; }
  Status write_checkpoint(const core::WriteBatch& batch) override;
  bool checkpoint_off_thread() const override { return true; }
  EngineStats stats() const override;
  std::string name() const override { return "segments"; }

  // The record RocksDB's meta column holds once the log lives in segments (an engine that keeps
  // its log in RocksDB must refuse such a directory).
  static constexpr std::string_view layout_key = "segments_layout";

  SegmentLogStats log_stats() const;

 private:
  struct Impl;
  explicit SegmentedEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace replikv::storage
