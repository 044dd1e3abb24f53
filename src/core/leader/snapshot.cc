#include "core/leader/snapshot.h"

#include <array>

#include "core/assert.h"
#include "core/encoding.h"

namespace replikv::core {
namespace {

// The replicated state: the data, the collections' elements, the expiry index and the state
// column (counters, applied index, windows, applied terms). The meta column is the node's own.
constexpr std::array<Column, 4> column_order = {Column::data, Column::elements, Column::expiry,
                                                Column::state};

bool replicated(Column column) {
  return column == Column::data || column == Column::elements || column == Column::expiry ||
         column == Column::state;
}

// The smallest key after `key`.
std::string successor(const std::string& key) { return key + '\0'; }

}  // namespace

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

std::string staged_key(Column column, std::string_view key) {
  std::string out(1, static_cast<char>(column));
  out.append(key);
  return out;
}

void stage_chunk(const proto::SnapshotChunk& chunk, WriteBatch& batch) {
  for (const auto& record : chunk.records()) {
    const auto column = static_cast<Column>(record.column());
    REPLIKV_ASSERT(replicated(column), "a snapshot holds data, elements, expiry and state records");
    batch.put(Column::staging, staged_key(column, record.key()), record.value());
  }
}

void erase_replicated_state(WriteBatch& batch) {
  batch.erase_to_end(Column::data, "");
  batch.erase_to_end(Column::elements, "");
  batch.erase_to_end(Column::expiry, "");
  batch.erase_to_end(Column::state, "");
}

bool move_staged(const StorageView& view, size_t bytes_max, std::string& position,
                 WriteBatch& batch) {
  size_t bytes = 0;
  bool more = false;
  std::string first, last;
  view.scan(Column::staging, position, [&](std::string_view key, std::string_view value) {
    if (bytes > 0 && bytes + key.size() + value.size() > bytes_max) {
      more = true;
      return false;
    }
    REPLIKV_ASSERT(!key.empty(), "a staged key names its column");
    const auto column = static_cast<Column>(key[0]);
    REPLIKV_ASSERT(replicated(column), "a staged record goes to data, elements, expiry or state");
    batch.put(column, std::string(key.substr(1)), std::string(value));
    if (first.empty()) first.assign(key);
    last.assign(key);
    bytes += key.size() + value.size();
    return true;
  });
  if (!first.empty()) {
    position = successor(last);
    batch.erase_range(Column::staging, std::move(first), position);
  }
  return !more;
}

void discard_staged(WriteBatch& batch) { batch.erase_to_end(Column::staging, ""); }

}  // namespace replikv::core
