#include "core/causality/versioned_commands.h"

#include <fmt/format.h>

#include "core/causality/context_text.h"

namespace replikv::core {

const std::vector<CommandSpec>& versioned_command_specs() {
  static const std::vector<CommandSpec> specs = {
      {"vget", 2, false, CommandSpec::Handler::strategy, 1, 1, 1, "readonly fast"},
      {"vset", -4, true, CommandSpec::Handler::strategy, 1, 1, 1, "write denyoom"},
  };
  return specs;
}

namespace {

std::variant<Request, Reply> parse_vset(std::span<const std::string_view> argv) {
  VSetCommand command;
  command.key = std::string(argv[1]);
  auto context = parse_context_text(argv[2]);
  if (!context) {
    return Reply::error(
        "ERR VSET context: not a causal context (pass the first element VGET answered, as it "
        "was)");
  }
  command.context = std::move(*context);
  command.value = std::string(argv[3]);
  for (size_t i = 4; i < argv.size(); ++i) {
    const bool seconds = equals_ignore_case(argv[i], "ex");
    if ((!seconds && !equals_ignore_case(argv[i], "px")) || i + 1 >= argv.size() ||
        command.expiry.kind != Expiry::Kind::none) {
      return Reply::error("ERR syntax error");
    }
    const auto amount = parse_int64(argv[++i]);
    if (!amount || *amount <= 0 || *amount > (seconds ? INT64_MAX / 1000 : INT64_MAX)) {
      return Reply::error("ERR invalid expire time in 'vset' command");
    }
    command.expiry = {Expiry::Kind::relative_ms, seconds ? *amount * 1000 : *amount};
  }
  return Request{StrategyCommand::of("vset", std::move(command), true)};
}

}  // namespace

std::variant<Request, Reply> parse_versioned_command(const CommandSpec& spec,
                                                     std::span<const std::string_view> argv) {
  if (spec.name == "vget") {
    VGetCommand command;
    command.key = std::string(argv[1]);
    return Request{StrategyCommand::of("vget", std::move(command), false)};
  }
  if (spec.name == "vset") return parse_vset(argv);
  return Reply::error(fmt::format("ERR unknown command '{}'", spec.name));
}

std::optional<std::vector<std::string>> vget_values(const Reply& reply) {
  if (reply.kind != Reply::Kind::array || reply.elements.size() != 2) return std::nullopt;
  std::vector<std::string> values;
  for (const auto& element : reply.elements[1].elements) values.push_back(element.text);
  return values;
}

std::optional<std::string> vget_context(const Reply& reply) {
  if (reply.kind != Reply::Kind::array || reply.elements.size() != 2) return std::nullopt;
  return reply.elements[0].text;
}

}  // namespace replikv::core
