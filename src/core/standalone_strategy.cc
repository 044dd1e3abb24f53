// The standalone strategy at the seam (core/strategy.h): one node, no peers, no settings of its
// own. Every read sees every write before it; with fsync "never" a crash loses what the OS had
// not written back.
#include "core/standalone_strategy.h"

#include <fmt/format.h>

#include "core/standalone.h"

namespace replikv::core {
namespace {

class StandaloneStrategy final : public Strategy {
 public:
  std::string_view name() const override { return "standalone"; }
  std::string_view summary() const override {
    return "one node, no replication: every write durable on it before its reply";
  }
  const std::vector<SettingSpec>& setting_specs() const override {
    static const std::vector<SettingSpec> none;
    return none;
  }
  std::optional<std::string> validate(const Settings&, const NodeContext& node) const override {
    if (node.members.size() > 1) {
      return fmt::format("peers: the standalone strategy runs one node, not {}",
                         node.members.size());
    }
    return std::nullopt;
  }
  StrategyTraits traits(const Settings&) const override {
    StrategyTraits traits;
    traits.single_node = true;
    return traits;
  }
  ReadOptions read_default(const Settings&) const override {
    return {ReadConsistency::linearizable, 0};
  }
  std::optional<std::string> refuse_read(const ReadOptions&, const Settings&) const override {
    return std::nullopt;  // one node: every consistency is served by its one copy
  }
  std::unique_ptr<Replica> make_replica(const StorageView& storage, Rng rng,
                                        const NodeContext& node, const Settings&) const override {
    StandaloneOptions options;
    options.node_id = node.node;
    options.cache_bytes_max = node.cache_bytes_max;
    return std::make_unique<Standalone>(storage, rng, options);
  }
  std::vector<std::string> expected_violations(const Settings&,
                                               const RunConditions& conditions) const override {
    // A crash loses what the OS had not written back: acknowledged writes, and with them
    // linearizability; reads may then miss them (stale, behind their own session's); the queue
    // loses acknowledged pushes, and an acknowledged pop undone leaves its element to pop again.
    if (!conditions.fsync_always) {
      return {"linearizable", "lost-writes", "stale-reads", "sessions", "queue"};
    }
    return {};
  }
};

}  // namespace

std::unique_ptr<Strategy> make_standalone_strategy() {
  return std::make_unique<StandaloneStrategy>();
}

}  // namespace replikv::core
