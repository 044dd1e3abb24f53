// Version vectors as the multi-leader and leaderless protocols carry them (repeated MlPosition,
// proto/replikv.proto), and back.
#pragma once

#include <algorithm>

#include "core/causality/dot_set.h"
#include "proto/replikv.pb.h"

namespace replikv::core {

inline CausalContext context_of(
    const google::protobuf::RepeatedPtrField<proto::MlPosition>& positions) {
  CausalContext out;
  for (const auto& position : positions) {
    if (position.counter() == 0) continue;  // names no write
    auto& slot = out[Actor{position.node(), position.incarnation()}];
    slot = std::max(slot, position.counter());
  }
  return out;
}

inline void add_positions(const CausalContext& context,
                          google::protobuf::RepeatedPtrField<proto::MlPosition>& out) {
  for (const auto& [actor, counter] : context) {
    auto& position = *out.Add();
    position.set_node(actor.node);
    position.set_incarnation(actor.incarnation);
    position.set_counter(counter);
  }
}

}  // namespace replikv::core
