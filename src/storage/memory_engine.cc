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
    // One search: the position also serves as the hint for an insert.
    const auto position = table.lower_bound(op.key);
    const bool exists = position != table.end() && position->first == op.key;
    // Remember the synced value the first time this key changes after a sync.
    auto [undo, first_change] = undo_[static_cast<size_t>(op.column)].try_emplace(op.key);
    if (first_change && exists) undo->second = position->second;
    if (op.kind == core::WriteBatch::Operation::Kind::put) {
      if (exists) {
        position->second = op.value;
      } else {
        table.emplace_hint(position, op.key, op.value);
      }
    } else if (exists) {
      table.erase(position);
    }
  }
  ++unsynced_batches_;
  ++stats_.batches_written_total;
  stats_.bytes_written_total += batch.bytes();
  return Status::ok();
}

Status MemoryEngine::sync() {
  for (auto& undo : undo_) undo.clear();
  unsynced_batches_ = 0;
  ++stats_.syncs_total;
  ++stats_.wal_syncs_total;
  return Status::ok();
}

void MemoryEngine::crash() {
  for (size_t column = 0; column < undo_.size(); ++column) {
    auto& table = tables_[column];
    for (auto& [key, value] : undo_[column]) {
      if (value) {
        table.insert_or_assign(key, std::move(*value));
      } else if (const auto it = table.find(key); it != table.end()) {
        table.erase(it);
      }
    }
    undo_[column].clear();
  }
  unsynced_batches_ = 0;
}

}  // namespace replikv::storage
