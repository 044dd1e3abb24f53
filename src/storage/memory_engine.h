// MemoryEngine: an in-memory engine for tests and the simulator.
//
// Reads see every write. What a crash would keep is tracked with an undo log: the first time a
// key changes after a sync, its synced value (or its absence) is remembered. sync() forgets the
// undo log — everything written is now durable; crash() puts every remembered value back, so the
// engine holds exactly what was synced, as after a power loss. Writing costs one lookup per key
// in the undo log and syncing costs nothing, which keeps long simulations fast.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "storage/engine.h"

namespace replikv::storage {

class MemoryEngine final : public Engine {
 public:
  std::optional<std::string> get(core::Column column, std::string_view key) const override;
  void scan(core::Column column, std::string_view start, const Visitor& visit) const override;
  Status write(const core::WriteBatch& batch) override;
  Status sync() override;
  EngineStats stats() const override { return stats_; }
  std::string name() const override { return "memory"; }

  // Loses every write since the last sync, keeping what was synced.
  void crash();
  // Batches written but not yet synced.
  size_t unsynced_batches() const { return unsynced_batches_; }

 private:
  using Table = std::map<std::string, std::string, std::less<>>;

  std::array<Table, core::column_count> tables_;
  // Per column, key -> its value at the last sync (nullopt: absent then).
  std::array<std::unordered_map<std::string, std::optional<std::string>>, core::column_count> undo_;
  size_t unsynced_batches_ = 0;
  EngineStats stats_;
};

}  // namespace replikv::storage
