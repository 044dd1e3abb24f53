#include "storage/memory_engine.h"

namespace replikv::storage {

namespace {

template <typename Table>
std::optional<std::string> table_get(const Table& table, std::string_view key) {
  const auto it = table.find(key);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

template <typename Table>
void table_scan(const Table& table, std::string_view start,
                const core::StorageView::Visitor& visit) {
  for (auto it = table.lower_bound(start); it != table.end(); ++it) {
    if (!visit(it->first, it->second)) return;
  }
}

template <typename Table>
void table_scan_reverse(const Table& table, std::string_view before,
                        const core::StorageView::Visitor& visit) {
  auto it = before.empty() ? table.end() : table.lower_bound(before);
  while (it != table.begin()) {
    --it;
    if (!visit(it->first, it->second)) return;
  }
}

}  // namespace

// The tables as they were when the snapshot was taken, shared by every snapshot of it.
class MemoryEngine::Frozen final : public core::StorageView {
 public:
  explicit Frozen(std::shared_ptr<const Tables> tables) : tables_(std::move(tables)) {}
  std::optional<std::string> get(core::Column column, std::string_view key) const override {
    return table_get((*tables_)[static_cast<size_t>(column)], key);
  }
  void scan(core::Column column, std::string_view start, const Visitor& visit) const override {
    table_scan((*tables_)[static_cast<size_t>(column)], start, visit);
  }
  void scan_reverse(core::Column column, std::string_view before,
                    const Visitor& visit) const override {
    table_scan_reverse((*tables_)[static_cast<size_t>(column)], before, visit);
  }
  std::unique_ptr<core::StorageView> snapshot() const override {
    return std::make_unique<Frozen>(tables_);
  }

 private:
  std::shared_ptr<const Tables> tables_;
};

std::optional<std::string> MemoryEngine::get(core::Column column, std::string_view key) const {
  return table_get(tables_[static_cast<size_t>(column)], key);
}

void MemoryEngine::scan(core::Column column, std::string_view start, const Visitor& visit) const {
  table_scan(tables_[static_cast<size_t>(column)], start, visit);
}

void MemoryEngine::scan_reverse(core::Column column, std::string_view before,
                                const Visitor& visit) const {
  table_scan_reverse(tables_[static_cast<size_t>(column)], before, visit);
}

std::unique_ptr<core::StorageView> MemoryEngine::snapshot() const {
  return std::make_unique<Frozen>(std::make_shared<const Tables>(tables_));
}

Status MemoryEngine::write(const core::WriteBatch& batch) {
  batch_starts_.push_back(undo_.size());
  for (const auto& op : batch.operations()) {
    auto& table = tables_[static_cast<size_t>(op.column)];
    if (op.kind == core::WriteBatch::Operation::Kind::erase_range ||
        op.kind == core::WriteBatch::Operation::Kind::erase_to_end) {
      const bool to_end = op.kind == core::WriteBatch::Operation::Kind::erase_to_end;
      auto it = table.lower_bound(op.key);
      while (it != table.end() && (to_end || it->first < op.value)) {
        undo_.push_back({op.column, it->first, std::move(it->second)});
        it = table.erase(it);
      }
      continue;
    }
    // One search: the position also serves as the hint for an insert.
    const auto position = table.lower_bound(op.key);
    const bool exists = position != table.end() && position->first == op.key;
    if (op.kind == core::WriteBatch::Operation::Kind::put) {
      if (exists) {
        undo_.push_back({op.column, op.key, std::move(position->second)});
        position->second = op.value;
      } else {
        undo_.push_back({op.column, op.key, std::nullopt});
        table.emplace_hint(position, op.key, op.value);
      }
    } else if (exists) {
      undo_.push_back({op.column, op.key, std::move(position->second)});
      table.erase(position);
    }
  }
  ++unsynced_batches_;
  ++stats_.batches_written_total;
  stats_.bytes_written_total += batch.bytes();
  return Status::ok();
}

Status MemoryEngine::sync() {
  undo_.clear();
  batch_starts_.clear();
  unsynced_batches_ = 0;
  ++stats_.syncs_total;
  ++stats_.wal_syncs_total;
  return Status::ok();
}

void MemoryEngine::wipe() {
  for (auto& table : tables_) table.clear();
  undo_.clear();
  batch_starts_.clear();
  unsynced_batches_ = 0;
}

void MemoryEngine::crash_keeping(size_t batches) {
  const size_t kept = batches < batch_starts_.size() ? batch_starts_[batches] : undo_.size();
  // Newest first: a key changed twice ends at its value before the first change undone.
  for (auto undo = undo_.rbegin(); undo != undo_.rend() - static_cast<ptrdiff_t>(kept); ++undo) {
    auto& table = tables_[static_cast<size_t>(undo->column)];
    if (undo->previous) {
      table.insert_or_assign(std::move(undo->key), std::move(*undo->previous));
    } else if (const auto it = table.find(undo->key); it != table.end()) {
      table.erase(it);
    }
  }
  undo_.clear();
  batch_starts_.clear();
  unsynced_batches_ = 0;
}

}  // namespace replikv::storage
