// The commands every strategy that keeps siblings adds (core/strategy.h, Strategy::commands) —
// multi-leader and leaderless alike:
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

namespace replikv::core {

struct VGetCommand : StrategyCommand::Payload {
  std::string key;
};

struct VSetCommand : StrategyCommand::Payload {
  std::string key;
  CausalContext context;
  std::string value;
  Expiry expiry;  // none or relative_ms
};

const std::vector<CommandSpec>& versioned_command_specs();
// The typed VGET or VSET (arity already checked), or the error reply.
std::variant<Request, Reply> parse_versioned_command(const CommandSpec& spec,
                                                     std::span<const std::string_view> argv);

// What the simulator's and chaos's final reads make of VGET's reply: its values, and its context
// (nullopt for a reply that is not VGET's).
std::optional<std::vector<std::string>> vget_values(const Reply& reply);
std::optional<std::string> vget_context(const Reply& reply);

}  // namespace replikv::core
