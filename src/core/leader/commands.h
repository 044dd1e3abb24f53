// The commands the single-leader strategy adds (core/strategy.h, Strategy::commands): FAILOVER.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "core/command.h"
#include "core/reply.h"

namespace replikv::core {

// FAILOVER TO <node> [FORCE [ACCEPT-DATA-LOSS]] [TIMEOUT <ms>]: hand leadership to `target` (at
// the leader: it stops taking writes, waits for the target to hold its whole log, then tells it
// to stand), or, FORCE, sent to the target itself: it stands at once, winning only with an
// election quorum of logs no newer than its own; with ACCEPT-DATA-LOSS it takes leadership in a
// new term without votes, and replicas roll back what it lacks.
struct FailoverRequest : StrategyCommand::Payload {
  FailoverRequest() = default;
  FailoverRequest(uint32_t target, bool force, int64_t timeout_ms, bool accept_data_loss = false)
      : target(target), force(force), timeout_ms(timeout_ms), accept_data_loss(accept_data_loss) {}
  uint32_t target = 0;
  bool force = false;
  int64_t timeout_ms = 5000;
  bool accept_data_loss = false;
};

namespace leader {

// The strategy's command specs, as COMMAND lists them.
const std::vector<CommandSpec>& command_specs();
// Parses one (arity checked): the typed command, or Redis-style error.
std::variant<Request, Reply> parse_command(const CommandSpec& spec,
                                           std::span<const std::string_view> argv);

}  // namespace leader

// FAILOVER as the request a client sends (tests, the simulator's operator).
inline StrategyCommand failover_command(const FailoverRequest& failover) {
  return StrategyCommand::of("failover", failover, false);
}

}  // namespace replikv::core
