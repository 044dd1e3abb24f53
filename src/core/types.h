// Strong types for the numbers the protocols pass around.
//
// A term is never passed where a log index was meant: each is its own type, convertible only
// explicitly. Times are plain integers whose unit is part of the name (`now_ms`, `latency_us`), so
// no clock type leaks into the pure core.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace replikv::core {

template <typename Tag, typename Raw>
class Strong {
 public:
  using raw_type = Raw;
  constexpr Strong() = default;
  constexpr explicit Strong(Raw value) : value_(value) {}
  constexpr Raw value() const { return value_; }
  constexpr auto operator<=>(const Strong&) const = default;
  constexpr Strong next() const { return Strong(value_ + 1); }

 private:
  Raw value_{};
};

using Term = Strong<struct TermTag, uint64_t>;
using LogIndex = Strong<struct LogIndexTag, uint64_t>;
using NodeId = Strong<struct NodeIdTag, uint32_t>;
// Identifies one Ready handed to the driver; increases by one per Ready.
using ReadyId = Strong<struct ReadyIdTag, uint64_t>;
// Identifies a client connection to the driver that owns it; the core only echoes it back.
using ConnectionId = Strong<struct ConnectionIdTag, uint64_t>;

// Milliseconds since an epoch the driver chooses (Unix epoch in the real runtime, zero in the
// simulator). Expiry times are stored in this unit.
using TimeMs = int64_t;

}  // namespace replikv::core

template <typename Tag, typename Raw>
struct std::hash<replikv::core::Strong<Tag, Raw>> {
  size_t operator()(const replikv::core::Strong<Tag, Raw>& s) const noexcept {
    return std::hash<Raw>{}(s.value());
  }
};
