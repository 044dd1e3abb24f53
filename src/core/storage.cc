#include "core/storage.h"

namespace replikv::core {

void StorageView::scan_reverse(Column column, std::string_view before, const Visitor& visit) const {
  std::vector<std::pair<std::string, std::string>> entries;
  scan(column, {}, [&](std::string_view key, std::string_view value) {
    if (!before.empty() && key >= before) return false;
    entries.emplace_back(key, value);
    return true;
  });
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (!visit(it->first, it->second)) return;
  }
}

const char* column_name(Column column) {
  switch (column) {
    case Column::log:
      return "log";
    case Column::data:
      return "data";
    case Column::meta:
      return "meta";
    case Column::expiry:
      return "expiry";
    case Column::state:
      return "state";
    case Column::staging:
      return "staging";
    case Column::elements:
      return "elements";
  }
  return "unknown";
}

}  // namespace replikv::core
