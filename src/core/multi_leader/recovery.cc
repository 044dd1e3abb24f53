// The multi-leader replica after a loss: what a recovering node still waits for and answers, and
// which writes a session or context names that a fence says will never come (docs/multi-leader.md,
// "A node that lost its data").
#include <fmt/format.h>
#include <algorithm>
#include <set>
#include <utility>
#include "core/assert.h"
#include "core/encoding.h"
#include "core/multi_leader/replica.h"
#include "core/multi_leader/storage_keys.h"

namespace replikv::core::multi_leader {

std::optional<std::string> MultiLeader::lost_write(const CausalContext& vector,
                                                   std::string_view what) const {
  for (const auto& [actor, counter] : vector) {
    const auto fence = fenced_.find(actor);
    if (fence == fenced_.end() || counter <= fence->second ||
        counter <= counter_in(applied_, actor) || !fenced_final_.contains(actor)) {
      continue;
    }
    return fmt::format(
        "LOSTWRITE {} names write {}.{:08x}:{}, lost with its node (its data, or a crash under "
        "fsync \"never\" before the node sent it): it will never be applied. {}",
        what, actor.node, actor.incarnation, counter,
        what == "the context" ? "Read it again (VGET)" : "Start a new session (SESSION RESET)");
  }
  return std::nullopt;
}

std::string MultiLeader::recovery_waiting() const {
  std::string waiting;
  for (const auto& [id, peer] : peers_) {
    std::string why;
    if (!peer.target) {
      why = "not heard since the loss";
    } else {
      for (const auto& [actor, counter] : *peer.target) {
        if (counter_in(applied_, actor) >= counter) continue;
        why = fmt::format("lacks {}.{:08x}:{}", actor.node, actor.incarnation,
                          counter_in(applied_, actor) + 1);
        break;
      }
      if (why.empty()) continue;
    }
    waiting += fmt::format("{}{} ({})", waiting.empty() ? "" : ", ", id.value(), why);
  }
  return waiting;
}

Reply MultiLeader::recovering_refusal() const {
  return Reply::error(
      "TRYAGAIN this node lost its data and is catching up with every member (waiting for " +
      recovery_waiting() +
      "); until then it takes INCRBY but no write that replaces values — retry, or write at "
      "another node");
}

}  // namespace replikv::core::multi_leader
