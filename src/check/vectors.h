// Version vectors and dots as histories carry them ("1.5f3a2b1c:7,2.0a0b0c0d:3": per actor —
// node and incarnation — a counter; "-" when empty), for the checkers of strategies that track
// causality (check/causality.h, check/quorum.h).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace replikv::check {

// Actor → the highest counter.
using Vector = std::map<std::string, uint64_t, std::less<>>;

struct Dot {
  std::string actor;
  uint64_t counter = 0;
  auto operator<=>(const Dot&) const = default;
};

// The text form, or nullopt (an actor named twice keeps its highest counter).
std::optional<Vector> parse_vector(std::string_view text);
bool covers(const Vector& vector, const Dot& dot);
// The JSON string's contents ("\"1.ab:3\"" → 1.ab:3), or nullopt.
std::optional<std::string_view> unquote(std::string_view json);

}  // namespace replikv::check
