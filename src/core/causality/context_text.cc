#include "core/causality/context_text.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace replikv::core {
namespace {

template <typename T>
std::optional<T> parse_number(std::string_view text, int base = 10) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::string context_text(const CausalContext& context) {
  if (context.empty()) return "-";
  std::string out;
  for (const auto& [actor, counter] : context) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}.{:08x}:{}", actor.node, actor.incarnation, counter);
  }
  return out;
}

std::optional<CausalContext> parse_context_text(std::string_view text) {
  CausalContext context;
  if (text.empty() || text == "-") return context;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t dot = item.find('.');
    const size_t colon = item.find(':');
    if (dot == std::string_view::npos || colon == std::string_view::npos || colon < dot) {
      return std::nullopt;
    }
    const auto node = parse_number<uint32_t>(item.substr(0, dot));
    const auto incarnation = parse_number<uint32_t>(item.substr(dot + 1, colon - dot - 1), 16);
    const auto counter = parse_number<uint64_t>(item.substr(colon + 1));
    if (!node || !incarnation || !counter) return std::nullopt;
    if (*counter == 0) continue;  // names no write
    auto& slot = context[Actor{*node, *incarnation}];
    slot = std::max(slot, *counter);
  }
  return context;
}

bool covers_vector(const CausalContext& applied, const CausalContext& vector) {
  for (const auto& [actor, counter] : vector) {
    if (counter == 0) continue;
    const auto it = applied.find(actor);
    if (it == applied.end() || it->second < counter) return false;
  }
  return true;
}

}  // namespace replikv::core
