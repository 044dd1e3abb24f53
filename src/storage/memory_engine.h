// MemoryEngine: an in-memory engine for tests and the simulator.
//
// Reads see every write. What a crash would keep is tracked with an undo log: every change
// since the last sync appends the key's previous value (or its absence). sync() forgets the undo
// log — everything written is now durable; crash() puts the previous values back, newest first,
// so each key ends at its value before its first change: the engine holds exactly what was
// synced. crash_keeping(n) keeps the first n batches written since the sync: a power loss that
// finds some of the unsynced writes on the disk, which the real engines recover as a prefix of
// their batches (a torn tail cut back to a whole batch: storage/segment_log.h). Writing costs one
// append per key (no hashing) and syncing costs only freeing the log, which keeps long
// simulations fast.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/engine.h"

namespace replikv::storage {

class MemoryEngine final : public Engine {
 public:
  std::optional<std::string> get(core::Column column, std::string_view key) const override;
  void scan(core::Column column, std::string_view start, const Visitor& visit) const override;
  void scan_reverse(core::Column column, std::string_view before,
                    const Visitor& visit) const override;
  // A copy of the tables (this engine holds test and simulation data only).
  std::unique_ptr<core::StorageView> snapshot() const override;
  Status write(const core::WriteBatch& batch) override;
  Status sync() override;
  // On the loop: written and synced at once (Engine's way), and counted.
  Status write_checkpoint(const core::WriteBatch& batch) override {
    Status status = Engine::write_checkpoint(batch);
    ++stats_.checkpoints_written_total;
    stats_.checkpoint_bytes_total += batch.bytes();
    return status;
  }
  EngineStats stats() const override { return stats_; }
  std::string name() const override { return "memory"; }

  // Loses every write since the last sync, keeping what was synced.
  void crash() { crash_keeping(0); }
  // Keeps what was synced and the first `batches` batches written since (at most all of them).
  void crash_keeping(size_t batches);
  // Loses everything, synced or not: a disk replaced by an empty one.
  void wipe();
  // Batches written but not yet synced.
  size_t unsynced_batches() const { return unsynced_batches_; }

 private:
  using Table = std::map<std::string, std::string, std::less<>>;
  using Tables = std::array<Table, core::column_count>;
  class Frozen;

  Tables tables_;
  struct Undo {
    core::Column column;
    std::string key;
    std::optional<std::string> previous;  // nullopt: the key was absent
  };
  std::vector<Undo> undo_;            // in write order
  std::vector<size_t> batch_starts_;  // where each unsynced batch's changes begin in undo_
  size_t unsynced_batches_ = 0;
  EngineStats stats_;
};

}  // namespace replikv::storage
