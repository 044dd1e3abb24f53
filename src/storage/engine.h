// Engine: a storage engine behind the core's StorageView, applying its WriteBatches.
//
// Contract
// - write(batch) applies every operation of the batch atomically: after a crash either all of it
//   is there or none of it. It does not sync; the write is visible to reads at once.
// - sync() makes every write before it durable. One sync covers every write since the last one
//   (group commit): the runtime runs one at a time, and starts the next once it finished.
// - A failed write or sync returns an error Status; the caller must stop the node rather than go
//   on as if it had succeeded (a lost fsync cannot be retried safely).
//
// Thread-safety: an engine is used from one thread, with one exception. When sync_off_thread() is
// true, sync() may run on one other thread while the owner goes on writing and reading; it then
// makes durable every write that returned before sync() was called (a write made while it runs
// may or may not be covered: the runtime counts it as not). The runtime uses this to keep its
// event loop serving while the device syncs (runtime/sync_worker.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/storage.h"

namespace replikv::storage {

class Status {
 public:
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }
  bool is_ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }

 private:
  Status() = default;
  explicit Status(std::string message) : message_(std::move(message)) {
    if (message_.empty()) message_ = "unknown storage error";
  }
  std::string message_;
};

struct EngineStats {
  uint64_t batches_written_total = 0;
  uint64_t bytes_written_total = 0;
  uint64_t syncs_total = 0;       // sync() calls that completed
  uint64_t wal_syncs_total = 0;   // the engine's own count of log syncs (RocksDB's WAL_FILE_SYNCED)
};

class Engine : public core::StorageView {
 public:
  virtual Status write(const core::WriteBatch& batch) = 0;
  virtual Status sync() = 0;
  virtual bool sync_off_thread() const { return false; }
  virtual EngineStats stats() const = 0;
  virtual std::string name() const = 0;
};

}  // namespace replikv::storage
