// The registry of strategies (core/strategy.h). Adding a strategy is one line in builtin().

#include <fmt/format.h>

#include "core/assert.h"
#include "core/leader/strategy.h"
#include "core/leaderless/strategy.h"
#include "core/multi_leader/strategy.h"
#include "core/standalone_strategy.h"
#include "core/strategy.h"

namespace replikv::core {
namespace {

std::vector<std::unique_ptr<Strategy>> builtin() {
  std::vector<std::unique_ptr<Strategy>> all;
  all.push_back(make_standalone_strategy());
  all.push_back(leader::make_strategy());
  all.push_back(multi_leader::make_strategy());
  all.push_back(leaderless::make_strategy());
  return all;
}

// Registered once, read by every thread after: a registration in a test happens before the
// simulations it runs.
std::vector<std::unique_ptr<Strategy>>& registry() {
  static std::vector<std::unique_ptr<Strategy>> all = builtin();
  return all;
}

}  // namespace

const std::vector<CommandSpec>& Strategy::commands() const {
  static const std::vector<CommandSpec> none;
  return none;
}

std::variant<Request, Reply> Strategy::parse_command(const CommandSpec& spec,
                                                     std::span<const std::string_view>) const {
  return Reply::error(fmt::format("ERR unknown command '{}'", spec.name));
}

std::optional<std::string> Strategy::refuse_write_replicas(uint32_t, const Settings&) const {
  return fmt::format(
      "{} writes wait for what the strategy's settings say; a per-connection write "
      "quorum is the leaderless strategy's",
      name());
}

const CommandSpec* Strategy::find_command(std::string_view name) const {
  for (const auto& spec : commands()) {
    if (equals_ignore_case(spec.name, name)) return &spec;
  }
  return nullptr;
}

const Strategy* strategy_with_command(std::string_view name) {
  for (const auto& strategy : registry()) {
    if (strategy->find_command(name) != nullptr) return strategy.get();
  }
  return nullptr;
}

std::string fingerprint(const Strategy& strategy, const Settings& settings) {
  std::string out(strategy.name());
  for (const auto& spec : strategy.setting_specs()) {
    if (spec.cluster_wide) out += " " + spec.name + "=" + settings.text(spec.name);
  }
  return out;
}

std::vector<const Strategy*> strategies() {
  std::vector<const Strategy*> out;
  for (const auto& strategy : registry()) out.push_back(strategy.get());
  return out;
}

const Strategy* find_strategy(std::string_view name) {
  for (const auto& strategy : registry()) {
    if (strategy->name() == name) return strategy.get();
  }
  return nullptr;
}

std::string strategy_names() {
  std::string out;
  for (const auto& strategy : registry()) {
    out += (out.empty() ? "" : ", ") + std::string(strategy->name());
  }
  return out;
}

void register_strategy(std::unique_ptr<Strategy> strategy) {
  REPLIKV_ASSERT(find_strategy(strategy->name()) == nullptr,
                 "a strategy's name is registered once");
  for (const auto& spec : strategy->commands()) {
    REPLIKV_ASSERT(
        find_command(spec.name) == nullptr && spec.handler == CommandSpec::Handler::strategy,
        "a strategy's command is its own: not a core or server command's name");
  }
  registry().push_back(std::move(strategy));
}

}  // namespace replikv::core
