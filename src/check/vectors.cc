#include "check/vectors.h"

#include <algorithm>
#include <charconv>

namespace replikv::check {

std::optional<Vector> parse_vector(std::string_view text) {
  Vector out;
  if (text.empty() || text == "-") return out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t colon = item.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    uint64_t counter = 0;
    const std::string_view number = item.substr(colon + 1);
    const auto [end, error] =
        std::from_chars(number.data(), number.data() + number.size(), counter);
    if (error != std::errc() || end != number.data() + number.size()) return std::nullopt;
    auto& slot = out[std::string(item.substr(0, colon))];
    slot = std::max(slot, counter);
  }
  return out;
}

bool covers(const Vector& vector, const Dot& dot) {
  const auto it = vector.find(dot.actor);
  return it != vector.end() && dot.counter <= it->second;
}

std::optional<std::string_view> unquote(std::string_view json) {
  if (json.size() < 2 || json.front() != '"' || json.back() != '"') return std::nullopt;
  return json.substr(1, json.size() - 2);
}

}  // namespace replikv::check
