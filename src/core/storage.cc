#include "core/storage.h"

namespace replikv::core {

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
