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
#include <utility>

namespace replikv::check {

// Actor → the highest counter.
using Vector = std::map<std::string, uint64_t, std::less<>>;

struct Dot {
  std::string actor;
  uint64_t counter = 0;
  auto operator<=>(const Dot&) const = default;
};

// A hybrid logical clock's timestamp as histories carry it ("1733472000123.4": wall ms, logical).
using Hlc = std::pair<int64_t, int64_t>;
std::optional<Hlc> parse_hlc(std::string_view text);

// lww's order of two versions: the timestamp, then node, incarnation and counter (the replicas'
// own order, core/causality/register.h).
bool lww_after(const Hlc& a_hlc, const Dot& a, const Hlc& b_hlc, const Dot& b);

// The text form, or nullopt (an actor named twice keeps its highest counter).
std::optional<Vector> parse_vector(std::string_view text);
bool covers(const Vector& vector, const Dot& dot);
// The JSON string's contents ("\"1.ab:3\"" → 1.ab:3), or nullopt.
std::optional<std::string_view> unquote(std::string_view json);

}  // namespace replikv::check
