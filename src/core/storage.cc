#include "core/storage.h"

#include <fmt/format.h>

namespace replikv::core {

const char* column_name(Column column) {
  switch (column) {
    case Column::log: return "log";
    case Column::data: return "data";
    case Column::meta: return "meta";
    case Column::expiry: return "expiry";
  }
  return "unknown";
}

std::string state_digest(const StorageView& view) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto mix = [&hash](std::string_view bytes) {
    // Length first, so that ("ab", "c") and ("a", "bc") differ.
    for (uint64_t length = bytes.size(), i = 0; i < 8; ++i, length >>= 8) {
      hash = (hash ^ (length & 0xff)) * 0x100000001b3ULL;
    }
    for (const char c : bytes) hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  };
  for (const Column column : {Column::data, Column::expiry}) {
    view.scan(column, {}, [&](std::string_view key, std::string_view value) {
      mix(key);
      mix(value);
      return true;
    });
    mix(column_name(column));
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace replikv::core
