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

std::optional<Hlc> parse_hlc(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  Hlc out;
  const auto number = [](std::string_view part, int64_t& value) {
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    return !part.empty() && error == std::errc() && end == part.data() + part.size();
  };
  if (!number(text.substr(0, dot), out.first) || !number(text.substr(dot + 1), out.second)) {
    return std::nullopt;
  }
  return out;
}

bool lww_after(const Hlc& a_hlc, const Dot& a, const Hlc& b_hlc, const Dot& b) {
  if (a_hlc != b_hlc) return a_hlc > b_hlc;
  // An actor is "node.incarnation", the incarnation in fixed-width hex: the node's number first,
  // then the text.
  const auto node_of = [](std::string_view actor) {
    int64_t node = 0;
    const std::string_view digits = actor.substr(0, actor.find('.'));
    std::from_chars(digits.data(), digits.data() + digits.size(), node);
    return node;
  };
  const int64_t a_node = node_of(a.actor), b_node = node_of(b.actor);
  if (a_node != b_node) return a_node > b_node;
  if (a.actor != b.actor) return a.actor > b.actor;
  return a.counter > b.counter;
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
