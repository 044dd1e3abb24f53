#include "core/upgrade.h"

#include <string>
#include <string_view>

#include "core/encoding.h"

namespace replikv::core {

WriteBatch upgrade_layout(const StorageView& view) {
  WriteBatch batch;
  auto move = [&](std::string_view key, std::string_view value) {
    batch.put(Column::state, std::string(key), std::string(value));
    batch.erase(Column::meta, std::string(key));
  };
  for (const std::string_view key : {state_counters, state_applied, state_applied_terms}) {
    if (const auto value = view.get(Column::meta, key)) move(key, *value);
  }
  view.scan(Column::meta, state_window_prefix, [&](std::string_view key, std::string_view value) {
    if (!key.starts_with(state_window_prefix)) return false;
    move(key, value);
    return true;
  });
  constexpr std::string_view stage_prefix = "raft_stage_";
  view.scan(Column::meta, stage_prefix, [&](std::string_view key, std::string_view value) {
    if (!key.starts_with(stage_prefix)) return false;
    batch.put(Column::staging, std::string(key.substr(stage_prefix.size())), std::string(value));
    batch.erase(Column::meta, std::string(key));
    return true;
  });
  return batch;
}

}  // namespace replikv::core
