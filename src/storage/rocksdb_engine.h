// RocksDbEngine: the default, durable engine.
//
// One RocksDB database per node, one column family per core::Column. Batches are written to the
// WAL without syncing; sync() calls SyncWAL once, which makes every earlier batch durable — the
// group commit of a loop turn. RocksDB's own statistics count the WAL syncs that reached the
// device, which tests compare with the node's group-commit count.
//
// RocksDB and filesystem errors are turned into Status here; nothing RocksDB throws or returns
// leaves this adapter in RocksDB's types.
#pragma once

#include <memory>
#include <string>

#include "storage/engine.h"

namespace replikv::storage {

struct RocksDbOptions {
  std::string path;
  uint64_t block_cache_bytes = 64ull << 20;
  // False when another log is the write-ahead log of every write (storage/segmented_engine.h):
  // writes then skip RocksDB's WAL, and every column is flushed together (atomic flush), so the
  // files on disk always hold whole batches, up to some point. What was written since the last
  // flush is lost with the process; the owner writes it again from its log.
  bool write_ahead_log = true;
  // Close without flushing: with no WAL, what a kill -9 would lose is lost (tests).
  bool flush_at_close = true;
};

class RocksDbEngine final : public Engine {
 public:
  // Opens (creating when missing) the database at options.path. Returns nullptr and sets `error`
  // on failure.
  static std::unique_ptr<RocksDbEngine> open(const RocksDbOptions& options, Status& error);
  ~RocksDbEngine() override;

  std::optional<std::string> get(core::Column column, std::string_view key) const override;
  void scan(core::Column column, std::string_view start, const Visitor& visit) const override;
  void scan_reverse(core::Column column, std::string_view before,
                    const Visitor& visit) const override;
  // A RocksDB snapshot: old versions stay pinned while a view of it lives.
  std::unique_ptr<core::StorageView> snapshot() const override;
  Status write(const core::WriteBatch& batch) override;
  // SyncWAL from the sync thread while the loop writes: RocksDB serializes it with its own log
  // writer (the WAL file's sync is thread-safe on POSIX) and it covers every write before it.
  Status sync() override;
  bool sync_off_thread() const override { return true; }
  // Sorted files built on the calling thread and ingested into their columns atomically.
  Status write_checkpoint(const core::WriteBatch& batch) override;
  bool checkpoint_off_thread() const override { return true; }
  // Writes every column's memtable to files, together, and waits for it.
  Status flush();
  EngineStats stats() const override;
  std::string name() const override { return "rocksdb"; }

 private:
  struct Impl;
  explicit RocksDbEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace replikv::storage
