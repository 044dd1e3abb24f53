#include "storage/memory_engine.h"

namespace replikv::storage {

std::optional<std::string> MemoryEngine::get(core::Column column, std::string_view key) const {
  const auto& table = tables_[static_cast<size_t>(column)];
  const auto it = table.find(key);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

void MemoryEngine::scan(core::Column column, std::string_view start, const Visitor& visit) const {
  const auto& table = tables_[static_cast<size_t>(column)];
  for (auto it = table.lower_bound(start); it != table.end(); ++it) {
    if (!visit(it->first, it->second)) return;
  }
}

Status MemoryEngine::write(const core::WriteBatch& batch) {
  for (const auto& op : batch.operations()) {
    auto& table = tables_[static_cast<size_t>(op.column)];
    const auto existing = table.find(op.key);
    // Remember the synced value the first time this key changes after a sync.
    undo_.try_emplace({static_cast<uint8_t>(op.column), op.key},
                      existing == table.end() ? std::nullopt : std::optional<std::string>(existing->second));
    if (op.kind == core::WriteBatch::Operation::Kind::put) {
      if (existing == table.end()) {
        table.emplace(op.key, op.value);
      } else {
        existing->second = op.value;
      }
    } else if (existing != table.end()) {
      table.erase(existing);
    }
  }
  ++unsynced_batches_;
  ++stats_.batches_written_total;
  stats_.bytes_written_total += batch.bytes();
  return Status::ok();
}

Status MemoryEngine::sync() {
  undo_.clear();
  unsynced_batches_ = 0;
  ++stats_.syncs_total;
  ++stats_.wal_syncs_total;
  return Status::ok();
}

void MemoryEngine::crash() {
  for (auto& [where, value] : undo_) {
    auto& table = tables_[where.first];
    if (value) {
      table.insert_or_assign(where.second, std::move(*value));
    } else {
      table.erase(where.second);
    }
  }
  undo_.clear();
  unsynced_batches_ = 0;
}

}  // namespace replikv::storage
