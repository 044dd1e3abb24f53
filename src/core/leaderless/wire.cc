#include "core/leaderless/wire.h"

namespace replikv::core::leaderless {
namespace {

constexpr int depth_max = 4;  // replies nest an array in an array at most (VGET)

std::optional<Reply> decode(const proto::LlReply& in, int depth) {
  if (depth > depth_max) return std::nullopt;
  Reply out;
  switch (in.kind()) {
    case proto::LlReply::STATUS:
      out = Reply::status(in.text());
      break;
    case proto::LlReply::ERROR:
      out = Reply::error(in.text());
      break;
    case proto::LlReply::INTEGER:
      out = Reply::number(in.integer());
      break;
    case proto::LlReply::BULK:
      out = Reply::bulk(in.text());
      break;
    case proto::LlReply::NIL:
      out = Reply::nil();
      break;
    case proto::LlReply::ARRAY: {
      std::vector<Reply> elements;
      for (const auto& element : in.elements()) {
        auto decoded = decode(element, depth + 1);
        if (!decoded) return std::nullopt;
        elements.push_back(std::move(*decoded));
      }
      out = Reply::array(std::move(elements));
      break;
    }
    case proto::LlReply::NULL_ARRAY:
      out = Reply::null_array();
      break;
    default:
      return std::nullopt;
  }
  switch (in.outcome()) {
    case proto::LlReply::OK:
      out.outcome = Outcome::ok;
      break;
    case proto::LlReply::REFUSED:
      out.outcome = Outcome::refused;
      break;
    case proto::LlReply::UNKNOWN:
      out.outcome = Outcome::unknown;
      break;
    case proto::LlReply::SEVERAL_VALUES:
      out.outcome = Outcome::several_values;
      break;
    default:
      return std::nullopt;  // a coordinator never answers not_leader: there is none
  }
  return out;
}

}  // namespace

void encode_reply(const Reply& reply, proto::LlReply& out) {
  switch (reply.kind) {
    case Reply::Kind::status:
      out.set_kind(proto::LlReply::STATUS);
      break;
    case Reply::Kind::error:
      out.set_kind(proto::LlReply::ERROR);
      break;
    case Reply::Kind::integer:
      out.set_kind(proto::LlReply::INTEGER);
      break;
    case Reply::Kind::bulk:
      out.set_kind(proto::LlReply::BULK);
      break;
    case Reply::Kind::null:
      out.set_kind(proto::LlReply::NIL);
      break;
    case Reply::Kind::array:
      out.set_kind(proto::LlReply::ARRAY);
      break;
    case Reply::Kind::null_array:
      out.set_kind(proto::LlReply::NULL_ARRAY);
      break;
  }
  out.set_integer(reply.integer);
  out.set_text(reply.text);
  for (const auto& element : reply.elements) encode_reply(element, *out.add_elements());
  switch (reply.outcome) {
    case Outcome::ok:
      out.set_outcome(proto::LlReply::OK);
      break;
    case Outcome::refused:
    case Outcome::not_leader:
      out.set_outcome(proto::LlReply::REFUSED);
      break;
    case Outcome::unknown:
      out.set_outcome(proto::LlReply::UNKNOWN);
      break;
    case Outcome::several_values:
      out.set_outcome(proto::LlReply::SEVERAL_VALUES);
      break;
  }
}

std::optional<Reply> decode_reply(const proto::LlReply& in) { return decode(in, 0); }

}  // namespace replikv::core::leaderless
