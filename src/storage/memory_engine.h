// MemoryEngine: an in-memory engine for tests and the simulator.
//
// It keeps two copies of every column: what has been written (what reads see) and what has been
// synced. crash() throws away everything written since the last sync, as a power loss would — so
// a test or a simulated run can tell whether a replica ever acknowledged a write it had not made
// durable.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

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
  size_t unsynced_batches() const { return unsynced_.size(); }

 private:
  using Table = std::map<std::string, std::string, std::less<>>;
  static void apply(std::array<Table, core::column_count>& tables, const core::WriteBatch& batch);

  std::array<Table, core::column_count> current_;
  std::array<Table, core::column_count> durable_;
  std::vector<core::WriteBatch> unsynced_;
  EngineStats stats_;
};

}  // namespace replikv::storage
