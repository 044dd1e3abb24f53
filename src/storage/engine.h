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
// - write_checkpoint(batch) applies a replica's checkpoint (core/ready.h, step 6) atomically and
//   durably, with every write that returned before the call: when it returns, a crash keeps it
//   and them. The batch holds puts and erases only.
//
// Thread-safety: an engine is used from one thread, with two exceptions. When sync_off_thread() is
// true, sync() may run on one other thread while the owner goes on writing and reading; it then
// makes durable every write that returned before sync() was called (a write made while it runs
// may or may not be covered: the runtime counts it as not). When checkpoint_off_thread() is true,
// write_checkpoint() may run on another thread likewise (the owner writes none of the
// checkpoint's keys meanwhile: the replica guarantees it). The runtime uses these to keep its
// event loop serving while the device works (runtime/storage_worker.h).
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
  uint64_t syncs_total = 0;      // sync() calls that completed
  uint64_t wal_syncs_total = 0;  // the engine's own count of log syncs (RocksDB's WAL_FILE_SYNCED)
  uint64_t checkpoints_written_total = 0;  // write_checkpoint() calls that succeeded
  uint64_t checkpoint_bytes_total = 0;     // their batches' key and value bytes
  // The log in segment files (storage/segmented_engine.h); zero for other engines.
  uint64_t log_frames_total = 0;       // frames appended (one per batch, one per segment)
  uint64_t log_frame_bytes_total = 0;  // their bytes, headers and padding included
  uint64_t log_segments_created_total = 0;
  uint64_t log_segments_removed_total = 0;
  uint64_t log_rollover_waits_total = 0;  // appends that waited for a segment to be prepared
};

class Engine : public core::StorageView {
 public:
  virtual Status write(const core::WriteBatch& batch) = 0;
  virtual Status sync() = 0;
  virtual bool sync_off_thread() const { return false; }
  virtual Status write_checkpoint(const core::WriteBatch& batch) {
    Status status = write(batch);
    return status.is_ok() ? sync() : status;
  }
  virtual bool checkpoint_off_thread() const { return false; }
  virtual EngineStats stats() const = 0;
  virtual std::string name() const = 0;
};

}  // namespace replikv::storage
