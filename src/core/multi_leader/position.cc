#include "core/multi_leader/position.h"

#include <charconv>

#include <fmt/format.h>

#include "core/command.h"

namespace replikv::core::multi_leader {
namespace {

template <typename T>
std::optional<T> parse_number(std::string_view text, int base = 10) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::string position_text(const Position& position) {
  return context_text(position.vector) + "@" + position.hlc.text();
}

std::optional<Position> parse_position_text(std::string_view text) {
  const size_t at = text.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto vector = parse_context_text(text.substr(0, at));
  const std::string_view clock = text.substr(at + 1);
  const size_t dot = clock.find('.');
  if (!vector || dot == std::string_view::npos) return std::nullopt;
  const auto wall = parse_number<int64_t>(clock.substr(0, dot));
  const auto logical = parse_number<uint32_t>(clock.substr(dot + 1));
  if (!wall || !logical) return std::nullopt;
  return Position{std::move(*vector), {*wall, *logical}};
}

// The bytes: a marker, then the text form (short: a few actors).
SessionPosition encode_position(const Position& position) {
  return SessionPosition{"m" + position_text(position)};
}

std::optional<Position> decode_position(const SessionPosition& position) {
  if (position.bytes.empty() || position.bytes[0] != 'm') return std::nullopt;
  return parse_position_text(std::string_view(position.bytes).substr(1));
}

Position merge(const Position& a, const Position& b) {
  return {join(a.vector, b.vector), std::max(a.hlc, b.hlc)};
}

}  // namespace replikv::core::multi_leader
