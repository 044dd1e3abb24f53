#include "core/reply.h"

#include <ostream>

#include "core/command.h"

namespace replikv::core {

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::refused:
      return "refused";
    case Outcome::not_leader:
      return "not-leader";
    case Outcome::unknown:
      return "unknown";
    case Outcome::several_values:
      return "several-values";
  }
  return "?";
}

std::string describe(const Reply& reply) {
  std::string out;
  switch (reply.kind) {
    case Reply::Kind::status:
      out = "+" + reply.text;
      break;
    case Reply::Kind::error:
      out = "-" + reply.text;
      break;
    case Reply::Kind::integer:
      out = ":" + std::to_string(reply.integer);
      break;
    case Reply::Kind::bulk:
      out = "$" + reply.text;
      break;
    case Reply::Kind::null:
      out = "(nil)";
      break;
    case Reply::Kind::null_array:
      out = "(nil array)";
      break;
    case Reply::Kind::array: {
      out = "[";
      for (size_t i = 0; i < reply.elements.size(); ++i) {
        out += (i == 0 ? "" : ", ") + describe(reply.elements[i]);
      }
      out += "]";
      break;
    }
  }
  if (reply.outcome != Outcome::ok) out += std::string(" (") + to_string(reply.outcome) + ")";
  return out;
}

std::ostream& operator<<(std::ostream& out, const Reply& reply) { return out << describe(reply); }

Reply Reply::from_error_text(std::string text) {
  const std::string_view code = std::string_view(text).substr(0, text.find(' '));
  if (code == "TIMEOUT") return unknown(std::move(text));
  if (code != "NOTLEADER") return error(std::move(text));
  std::optional<NodeId> leader;
  constexpr std::string_view naming = "the leader is node ";
  if (const size_t at = text.find(naming); at != std::string::npos) {
    const std::string_view rest = std::string_view(text).substr(at + naming.size());
    const auto id = parse_int64(rest.substr(0, rest.find(' ')));
    if (id && *id > 0 && *id <= UINT32_MAX) leader = NodeId(static_cast<uint32_t>(*id));
  }
  return not_leader(leader, std::move(text));
}

}  // namespace replikv::core
