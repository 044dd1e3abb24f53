// What the leaderless protocol carries besides copies: a client's reply, from the coordinator to
// the node the client is connected to (version vectors: core/causality/wire.h).
#pragma once

#include <optional>

#include "core/reply.h"
#include "proto/replikv.pb.h"

namespace replikv::core::leaderless {

void encode_reply(const Reply& reply, proto::LlReply& out);
// nullopt for a message no coordinator sends (an unknown kind, nesting too deep).
std::optional<Reply> decode_reply(const proto::LlReply& in);

}  // namespace replikv::core::leaderless
