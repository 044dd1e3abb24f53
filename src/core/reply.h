// Reply: what a client is answered, independent of the wire protocol.
//
// The core builds replies; the runtime encodes them as RESP2 (runtime/resp.h). Error texts start
// with Redis's error code word ("ERR", "WRONGTYPE", "TIMEOUT", …) so Redis clients classify them
// the way they classify Redis's own.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace replikv::core {

struct Reply {
  enum class Kind : uint8_t { status, error, integer, bulk, null, array, null_array };

  Kind kind = Kind::null;
  int64_t integer = 0;
  std::string text;             // status, error, bulk
  std::vector<Reply> elements;  // array

  static Reply ok() { return status("OK"); }
  static Reply status(std::string text) { return {Kind::status, 0, std::move(text), {}}; }
  static Reply error(std::string text) { return {Kind::error, 0, std::move(text), {}}; }
  static Reply number(int64_t value) { return {Kind::integer, value, {}, {}}; }
  static Reply bulk(std::string bytes) { return {Kind::bulk, 0, std::move(bytes), {}}; }
  static Reply nil() { return {}; }
  static Reply null_array() { return {Kind::null_array, 0, {}, {}}; }
  static Reply array(std::vector<Reply> elements = {}) {
    return {Kind::array, 0, {}, std::move(elements)};
  }

  bool is_error() const { return kind == Kind::error; }
  bool operator==(const Reply&) const = default;
};

}  // namespace replikv::core
