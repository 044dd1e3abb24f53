// The strategy seam (core/strategy.h), proved by a strategy that exists only in this test: it is
// registered here, and the simulator and the node's configuration find it by name, take its
// settings, build its replica, ask its promises and run its own checks — with no line of theirs
// naming it.
#include <gtest/gtest.h>

#include "core/standalone.h"
#include "core/strategy.h"
#include "runtime/config.h"
#include "sim/simulator.h"

namespace replikv {
namespace {

// A one-node strategy over the standalone replica, with one setting of its own and a checker
// that counts the starts it was shown against the crashes.
class CountingChecks final : public core::RunChecks {
 public:
  void crashed(int, const core::StorageView&, const core::ReplicaStatus&) override { ++crashes_; }
  void started(int, const core::Replica&) override { ++starts_; }
  std::vector<core::CheckFinding> finish(const std::vector<const core::StorageView*>& storage,
                                         const std::vector<const core::Replica*>&) override {
    // Every crash is followed by a start (the run heals), and the first start had no crash.
    const bool valid = starts_ == crashes_ + 1 && storage.size() == 1;
    return {{"test-starts",
             valid,
             std::to_string(starts_) + " starts, " + std::to_string(crashes_) + " crashes",
             {}}};
  }

 private:
  int starts_ = 0;
  int crashes_ = 0;
};

class TestStrategy final : public core::Strategy {
 public:
  std::string_view name() const override { return "test-seam"; }
  std::string_view summary() const override { return "a strategy registered by a test"; }
  const std::vector<core::SettingSpec>& setting_specs() const override {
    static const std::vector<core::SettingSpec> specs = {
        core::unsigned_setting("sweep_keys_max", "keys an expiry sweep deletes at most", 200, 1,
                               1000),
        core::boolean_setting("promise_nothing", "expect every violation", false)};
    return specs;
  }
  std::optional<std::string> validate(const core::Settings& settings,
                                      const core::NodeContext& node) const override {
    if (node.members.size() != 1) return "peers: test-seam runs one node";
    if (settings.number("sweep_keys_max") == 13) return "sweep_keys_max: 13 is unlucky";
    return std::nullopt;
  }
  core::StrategyTraits traits(const core::Settings&) const override {
    core::StrategyTraits traits;
    traits.single_node = true;
    return traits;
  }
  core::ReadOptions read_default(const core::Settings&) const override {
    return {core::ReadConsistency::linearizable, 0};
  }
  std::optional<std::string> refuse_read(const core::ReadOptions&,
                                         const core::Settings&) const override {
    return std::nullopt;
  }
  std::unique_ptr<core::Replica> make_replica(const core::StorageView& storage, core::Rng rng,
                                              const core::NodeContext& node,
                                              const core::Settings& settings) const override {
    ++replicas_made;
    core::StandaloneOptions options;
    options.node_id = node.node;
    options.cache_bytes_max = node.cache_bytes_max;
    options.expiry_sweep_keys_max = settings.number("sweep_keys_max");
    return std::make_unique<core::Standalone>(storage, rng, options);
  }
  std::vector<std::string> expected_violations(const core::Settings& settings,
                                               const core::RunConditions&) const override {
    if (settings.flag("promise_nothing")) return {"linearizable", "lost-writes"};
    return {};
  }
  std::unique_ptr<core::RunChecks> make_run_checks(const core::Settings&, int) const override {
    return std::make_unique<CountingChecks>();
  }

  static inline int replicas_made = 0;
};

const core::Strategy& registered() {
  static const bool once = [] {
    core::register_strategy(std::make_unique<TestStrategy>());
    return true;
  }();
  (void)once;
  return *core::find_strategy("test-seam");
}

TEST(StrategySeam, ARegisteredStrategyIsFoundByName) {
  registered();
  EXPECT_NE(core::strategy_names().find("test-seam"), std::string::npos);
  EXPECT_EQ(core::find_strategy("test-seam")->name(), "test-seam");
}

TEST(StrategySeam, TheSimulatorRunsItsReplicaAndItsChecks) {
  registered();
  sim::SimOptions options;
  options.strategy = "test-seam";
  options.settings = {{"sweep_keys_max", "5"}};
  options.seed = 3;
  options.ops = 600;
  std::string error;
  options.schedule =
      sim::parse_schedule("20 kill 1\n40 restart 1\n90 kill 1\n120 restart 1\n", error);
  ASSERT_TRUE(options.schedule.has_value()) << error;
  const int made_before = TestStrategy::replicas_made;
  const sim::SimResult result = sim::run_simulation(options);
  EXPECT_FALSE(result.failed());
  EXPECT_GT(TestStrategy::replicas_made, made_before);
  const auto own = std::find_if(result.checks.begin(), result.checks.end(),
                                [](const auto& c) { return c.checker == "test-starts"; });
  ASSERT_NE(own, result.checks.end()) << "the strategy's own checker reports beside the others";
  EXPECT_EQ(own->verdict, check::Verdict::valid) << own->summary;
  EXPECT_EQ(result.stats.crashes, 2u) << "the checker saw crashes to count";
  EXPECT_EQ(own->summary, "3 starts, 2 crashes");
  EXPECT_NE(sim::replay_command(options).find("--strategy test-seam"), std::string::npos);
  EXPECT_NE(sim::replay_command(options).find("--sweep-keys-max 5"), std::string::npos);
}

TEST(StrategySeam, ItsSettingsAreCheckedByItsRules) {
  registered();
  sim::SimOptions options;
  options.strategy = "test-seam";
  options.settings = {{"sweep_keys_max", "13"}};
  EXPECT_EQ(sim::validate(options), "sweep_keys_max: 13 is unlucky");
  options.settings = {{"sweep_keys_max", "0"}};
  EXPECT_EQ(sim::validate(options), "sweep_keys_max: expected an integer from 1 to 1000, got '0'");
  options.settings = {{"ack", "async"}};
  EXPECT_EQ(sim::validate(options), "ack: not a setting of strategy test-seam");
  options.settings = {};
  options.nodes = 3;
  EXPECT_EQ(sim::validate(options), "the test-seam strategy runs exactly one node");
}

TEST(StrategySeam, ItsPromisesDecideWhatFailsARun) {
  registered();
  sim::SimOptions options;
  options.strategy = "test-seam";
  options.settings = {{"promise_nothing", "true"}};
  options.ops = 200;
  const sim::SimResult result = sim::run_simulation(options);
  EXPECT_EQ(result.expected_violations, (std::vector<std::string>{"linearizable", "lost-writes"}));
}

TEST(StrategySeam, ANodeConfigurationTakesItsKeys) {
  registered();
  runtime::Config config;
  ASSERT_EQ(runtime::load_config(std::nullopt, {{"strategy", "test-seam"}, {"sweep_keys_max", "7"}},
                                 config),
            std::nullopt);
  EXPECT_EQ(runtime::config_value(config, "sweep_keys_max"), "7");
  runtime::Config unlucky;
  EXPECT_EQ(runtime::load_config(std::nullopt,
                                 {{"strategy", "test-seam"}, {"sweep_keys_max", "13"}}, unlucky),
            "sweep_keys_max: 13 is unlucky");
}

}  // namespace
}  // namespace replikv
