#include "core/leader/snapshot.h"

#include <array>

#include "core/assert.h"
#include "core/encoding.h"

namespace replikv::core {
namespace {

constexpr std::array<Column, 3> column_order = {Column::data, Column::expiry, Column::meta};
constexpr std::string_view window_prefix = "raft_window_";

// The smallest key after `key`.
std::string successor(const std::string& key) { return key + '\0'; }

}  // namespace

bool is_replicated_meta(std::string_view key) { return key == meta_counters || key.starts_with(window_prefix); }

SnapshotSource::SnapshotSource(std::unique_ptr<StorageView> view, LogIndex index, Term term)
    : view_(std::move(view)), index_(index), term_(term), starts_{Position{}} {}

proto::SnapshotChunk SnapshotSource::chunk(uint64_t number, size_t bytes_max) {
  REPLIKV_ASSERT(number < starts_.size(), "snapshot chunks are asked for in order");
  proto::SnapshotChunk out;
  out.set_index(index_.value());
  out.set_term(term_.value());
  out.set_number(number);
  Position position = starts_[number];
  size_t bytes = 0;
  bool full = false;
  while (!full && position.stage < static_cast<int>(column_order.size())) {
    const Column column = column_order[static_cast<size_t>(position.stage)];
    bool column_done = true;
    view_->scan(column, position.fresh ? std::string() : successor(position.after),
                [&](std::string_view key, std::string_view value) {
                  if (column == Column::meta && !is_replicated_meta(key)) return true;
                  if (out.records_size() > 0 && bytes + key.size() + value.size() > bytes_max) {
                    full = true;
                    column_done = false;
                    return false;
                  }
                  proto::SnapshotRecord* record = out.add_records();
                  record->set_column(static_cast<uint32_t>(column));
                  record->set_key(key.data(), key.size());
                  record->set_value(value.data(), value.size());
                  bytes += key.size() + value.size();
                  position.after.assign(key);
                  position.fresh = false;
                  return true;
                });
    if (column_done) position = Position{position.stage + 1, {}, true};
  }
  out.set_last(position.stage >= static_cast<int>(column_order.size()));
  if (number + 1 == starts_.size() && !out.last()) starts_.push_back(position);
  return out;
}

}  // namespace replikv::core
