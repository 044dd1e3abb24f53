#include "core/leaderless/position.h"

#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/causality/context_text.h"

namespace replikv::core::leaderless {
namespace {

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t bar = text.find('|');
    out.push_back(text.substr(0, bar));
    if (bar == std::string_view::npos) return out;
    text.remove_prefix(bar + 1);
  }
}

bool is_number(std::string_view text) {
  return !text.empty() && text.size() <= 10 &&
         text.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string quoted(std::string_view text) { return fmt::format("\"{}\"", text); }

std::string nodes_text(const std::vector<NodeId>& nodes) {
  std::string out;
  for (const NodeId node : nodes) out += fmt::format("{}{}", out.empty() ? "" : ".", node.value());
  return out;
}

const char* order_text(ReadOrder order) {
  switch (order) {
    case ReadOrder::lww:
      return "lww";
    case ReadOrder::siblings:
      return "siblings";
    case ReadOrder::tags:
      return "tags";
  }
  return "siblings";
}

}  // namespace

SessionPosition encode_write_position(const WritePosition& p) {
  return SessionPosition{fmt::format(
      "w|{}|{}|{}|{}|{}|{}|{}", context_text({{p.dot.actor, p.dot.counter}}), p.hlc.text(),
      p.replicas, p.n, nodes_text(p.nodes), context_text(p.superseded), p.tombstone ? 1 : 0)};
}

SessionPosition encode_read_position(const ReadPosition& p) {
  std::string registers;
  for (const Dot& dot : p.registers) {
    registers += (registers.empty() ? "" : ",") + context_text({{dot.actor, dot.counter}});
  }
  if (registers.empty()) registers = "-";
  const char* shown = p.shown == ReadShown::one   ? "one"
                      : p.shown == ReadShown::all ? "all"
                                                  : "none";
  return SessionPosition{fmt::format("r|{}|{}|{}|{}|{}|{}|{}|{}", context_text(p.seen), p.replicas,
                                     p.written_back, p.n, nodes_text(p.nodes), registers,
                                     order_text(p.order), shown)};
}

HistoryFields position_fields(const SessionPosition& position) {
  const auto parts = split(position.bytes);
  if (parts.size() < 6 || !is_number(parts[3]) || !is_number(parts[4]) ||
      parts[5].find_first_not_of("0123456789.") != std::string_view::npos) {
    return {};
  }
  if (!parse_context_text(parts[1])) return {};
  if (parts[0] == "w" && parts.size() == 8 && parse_context_text(parts[6]) &&
      (parts[7] == "0" || parts[7] == "1")) {
    return {{"dot", quoted(parts[1])},
            {"hlc", quoted(parts[2])},
            {"acks", std::string(parts[3])},
            {"n", std::string(parts[4])},
            {"replicas", quoted(parts[5])},
            {"context", quoted(parts[6])},
            {"tombstone", parts[7] == "1" ? "true" : "false"}};
  }
  if (parts[0] == "r" && is_number(parts[2]) && parts.size() == 9 &&
      (parts[7] == "lww" || parts[7] == "siblings" || parts[7] == "tags") &&
      (parts[8] == "one" || parts[8] == "all" || parts[8] == "none")) {
    return {{"seen", quoted(parts[1])},
            {"asked", std::string(parts[2])},
            {"written_back", std::string(parts[3])},
            {"n", std::string(parts[4])},
            {"replicas", quoted(parts[5])},
            {"registers", quoted(parts[6])},
            {"order", quoted(parts[7])},
            {"shown", quoted(parts[8])}};
  }
  return {};
}

}  // namespace replikv::core::leaderless
