#include "storage/memory_engine.h"

namespace replikv::storage {

std::optional<std::string> MemoryEngine::get(core::Column column, std::string_view key) const {
  const auto& table = current_[static_cast<size_t>(column)];
  const auto it = table.find(key);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

void MemoryEngine::scan(core::Column column, std::string_view start, const Visitor& visit) const {
  const auto& table = current_[static_cast<size_t>(column)];
  for (auto it = table.lower_bound(start); it != table.end(); ++it) {
    if (!visit(it->first, it->second)) return;
  }
}

void MemoryEngine::apply(std::array<Table, core::column_count>& tables,
                         const core::WriteBatch& batch) {
  for (const auto& op : batch.operations()) {
    auto& table = tables[static_cast<size_t>(op.column)];
    if (op.kind == core::WriteBatch::Operation::Kind::put) {
      table.insert_or_assign(op.key, op.value);
    } else {
      table.erase(op.key);
    }
  }
}

Status MemoryEngine::write(const core::WriteBatch& batch) {
  apply(current_, batch);
  unsynced_.push_back(batch);
  ++stats_.batches_written_total;
  stats_.bytes_written_total += batch.bytes();
  return Status::ok();
}

Status MemoryEngine::sync() {
  for (const auto& batch : unsynced_) apply(durable_, batch);
  unsynced_.clear();
  ++stats_.syncs_total;
  ++stats_.wal_syncs_total;
  return Status::ok();
}

void MemoryEngine::crash() {
  current_ = durable_;
  unsynced_.clear();
}

}  // namespace replikv::storage
