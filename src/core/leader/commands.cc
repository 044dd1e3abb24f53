#include "core/leader/commands.h"

#include <fmt/format.h>

namespace replikv::core::leader {

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs = {
      {"failover", -3, false, CommandSpec::Handler::strategy, 0, 0, 0, "admin noscript stale"},
  };
  return specs;
}

namespace {

// FAILOVER TO <node> [FORCE] [ACCEPT-DATA-LOSS] [TIMEOUT <ms>]; the node as its id or nK.
std::variant<Request, Reply> parse_failover(std::span<const std::string_view> argv) {
  const auto syntax_error = [] { return Reply::error("ERR syntax error"); };
  FailoverRequest failover;
  if (!equals_ignore_case(argv[1], "to")) return syntax_error();
  std::string_view node = argv[2];
  if (!node.empty() && (node[0] == 'n' || node[0] == 'N')) node.remove_prefix(1);
  const auto id = parse_int64(node);
  if (!id || *id < 1 || *id > 0xffffffffLL)
    return Reply::error("ERR FAILOVER TO takes a node id (2, or n2)");
  failover.target = static_cast<uint32_t>(*id);
  for (size_t i = 3; i < argv.size(); ++i) {
    if (equals_ignore_case(argv[i], "force")) {
      failover.force = true;
    } else if (equals_ignore_case(argv[i], "accept-data-loss")) {
      failover.accept_data_loss = true;
    } else if (equals_ignore_case(argv[i], "timeout") && i + 1 < argv.size()) {
      const auto ms = parse_int64(argv[++i]);
      if (!ms || *ms <= 0)
        return Reply::error("ERR FAILOVER TIMEOUT must be a positive number of milliseconds");
      failover.timeout_ms = *ms;
    } else {
      return syntax_error();
    }
  }
  if (failover.accept_data_loss && !failover.force) {
    return Reply::error("ERR ACCEPT-DATA-LOSS goes with FORCE (a handover loses nothing)");
  }
  return Request{failover_command(failover)};
}

}  // namespace

std::variant<Request, Reply> parse_command(const CommandSpec& spec,
                                           std::span<const std::string_view> argv) {
  if (spec.name == "failover") return parse_failover(argv);
  return Reply::error(fmt::format("ERR unknown command '{}'", spec.name));
}

}  // namespace replikv::core::leader
