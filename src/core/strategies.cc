// The registry of strategies (core/strategy.h). Adding a strategy is one line in builtin().

#include "core/assert.h"
#include "core/leader/strategy.h"
#include "core/standalone_strategy.h"
#include "core/strategy.h"

namespace replikv::core {
namespace {

std::vector<std::unique_ptr<Strategy>> builtin() {
  std::vector<std::unique_ptr<Strategy>> all;
  all.push_back(make_standalone_strategy());
  all.push_back(leader::make_strategy());
  return all;
}

// Registered once, read by every thread after: a registration in a test happens before the
// simulations it runs.
std::vector<std::unique_ptr<Strategy>>& registry() {
  static std::vector<std::unique_ptr<Strategy>> all = builtin();
  return all;
}

}  // namespace

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
  registry().push_back(std::move(strategy));
}

}  // namespace replikv::core
