// The commands the multi-leader strategy adds (core/strategy.h, Strategy::commands):
//
//   VGET key                  every live sibling of `key`, highest first, and the causal context
//                             they were read at: a two-element array [context, [value, …]].
//   VSET key context value [EX seconds | PX milliseconds]
//                             writes `value` superseding exactly the siblings `context` covers
//                             (the client's merge of what VGET gave it); concurrent ones stay.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/causality/dot_set.h"
#include "core/command.h"
#include "core/reply.h"

namespace replikv::core::multi_leader {

struct VGetCommand : StrategyCommand::Payload {
  std::string key;
};

struct VSetCommand : StrategyCommand::Payload {
  std::string key;
  CausalContext context;
  std::string value;
  Expiry expiry;  // none or relative_ms
};

const std::vector<CommandSpec>& command_specs();
std::variant<Request, Reply> parse_command(const CommandSpec& spec,
                                           std::span<const std::string_view> argv);

}  // namespace replikv::core::multi_leader
