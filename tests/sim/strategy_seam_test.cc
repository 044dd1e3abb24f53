// The strategy seam (core/strategy.h), proved by a strategy that exists only in this test: it is
// registered here, and the simulator and the node's configuration find it by name, take its
// settings, build its replica, ask its promises, run its own checks and the history checker it
// names, and take the command it adds — with no line of theirs naming it.
#include <gtest/gtest.h>

#include "check/checkers.h"

#include "core/standalone.h"
#include "core/strategy.h"
#include "runtime/config.h"
#include "sim/simulator.h"
#include "storage/memory_engine.h"

namespace replikv {
namespace {

// Each check's verdict and summary, for a failure's message.
std::string verdicts(const sim::SimResult& result) {
  std::string out;
  for (const auto& check : result.checks) {
    out += check.checker + ": " + check::to_string(check.verdict) + " — " + check.summary + "\n";
  }
  return out;
}

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

// The command the test strategy adds: SEAMECHO <word>, typed as its own payload.
struct EchoPayload : core::StrategyCommand::Payload {
  explicit EchoPayload(std::string word) : word(std::move(word)) {}
  std::string word;
};

// A history checker of the test strategy's own, registered in check/'s registry: it counts the
// operations it was shown, and says invalid when the test asks it to.
struct HistoryCheckerState {
  static inline int runs = 0;
  static inline bool say_invalid = false;
};
check::CheckResult judge_test_history(const check::History& history) {
  ++HistoryCheckerState::runs;
  // The field the strategy adds to every answered operation comes back through the one parser.
  size_t marked = 0, ok = 0;
  for (const auto& op : history.operations) {
    if (op.outcome != check::Outcome::ok) continue;
    ++ok;
    const auto it = op.fields.find("seam");
    marked += it != op.fields.end() && it->second == "\"answered\"";
  }
  const bool valid = !HistoryCheckerState::say_invalid && ok > 0 && marked == ok;
  return {"test-history",
          valid ? check::Verdict::valid : check::Verdict::invalid,
          std::to_string(marked) + " of " + std::to_string(ok) + " answered operations marked",
          {},
          {}};
}

// The test strategy's replica: the standalone one, which takes SEAMECHO <word> from its own
// typed payload as the write of <word> under the key "seamecho".
class EchoReplica final : public core::ForwardingReplica {
 public:
  using ForwardingReplica::ForwardingReplica;
  void client_request(core::ClientRequest request) override {
    if (const auto* command = std::get_if<core::StrategyCommand>(&request.request)) {
      if (const auto* echo = command->as<EchoPayload>()) {
        request.request = core::SetRequest{"seamecho", echo->word, {}, {}, false};
      }
    }
    inner_->client_request(std::move(request));
  }
};

class TestStrategy final : public core::Strategy {
 public:
  std::string_view name() const override { return "test-seam"; }
  std::string_view summary() const override { return "a strategy registered by a test"; }
  const std::vector<core::SettingSpec>& setting_specs() const override {
    static const std::vector<core::SettingSpec> specs = {
        core::unsigned_setting("sweep_keys_max", "keys an expiry sweep deletes at most", 200, 1,
                               1000),
        core::boolean_setting("promise_nothing", "expect every violation", false),
        core::boolean_setting("name_a_missing_checker", "judge by a checker never registered",
                              false)};
    return specs;
  }
  const std::vector<core::CommandSpec>& commands() const override {
    static const std::vector<core::CommandSpec> specs = {
        {"seamecho", 2, false, core::CommandSpec::Handler::strategy, 0, 0, 0, "fast"}};
    return specs;
  }
  std::variant<core::Request, core::Reply> parse_command(
      const core::CommandSpec& spec, std::span<const std::string_view> argv) const override {
    if (argv[1] == "bad") return core::Reply::error("ERR SEAMECHO takes a good word");
    return core::Request{
        core::StrategyCommand::of(std::string(spec.name), EchoPayload(std::string(argv[1])), true)};
  }
  core::HistoryFields history_fields(const core::Reply&,
                                     const std::optional<core::SessionPosition>&,
                                     bool) const override {
    return {{"seam", "\"answered\""}};
  }
  std::vector<std::string> history_checks(const core::Settings& settings) const override {
    if (settings.flag("name_a_missing_checker")) return {"no-such-checker"};
    return {"lost-writes", "test-history"};
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
    return std::make_unique<EchoReplica>(std::make_unique<core::Standalone>(storage, rng, options));
  }
  std::vector<std::string> expected_violations(const core::Settings& settings,
                                               const core::RunConditions&) const override {
    if (settings.flag("promise_nothing")) return {"linearizable", "lost-writes", "test-history"};
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
    check::register_checker({"test-history", "the test strategy's own", judge_test_history});
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
  EXPECT_FALSE(result.failed()) << verdicts(result);
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
  EXPECT_EQ(result.expected_violations,
            (std::vector<std::string>{"linearizable", "lost-writes", "test-history"}));
}

// Its runs are judged by the history checkers it names — its own among them — and by those only.
TEST(StrategySeam, TheHistoryCheckersItNamesJudgeItsRuns) {
  registered();
  sim::SimOptions options;
  options.strategy = "test-seam";
  options.ops = 200;
  HistoryCheckerState::say_invalid = false;
  const int runs_before = HistoryCheckerState::runs;
  const sim::SimResult result = sim::run_simulation(options);
  EXPECT_EQ(HistoryCheckerState::runs, runs_before + 1);
  EXPECT_FALSE(result.failed()) << verdicts(result);
  EXPECT_NE(result.history.find("\"seam\":\"answered\""), std::string::npos)
      << "its history field is written";
  std::vector<std::string> names;
  for (const auto& check : result.checks) names.push_back(check.checker);
  EXPECT_NE(std::find(names.begin(), names.end(), "test-history"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "lost-writes"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "linearizable"), names.end())
      << "a checker it does not name does not judge it";

  // Its checker's violation fails the run, unless its settings do not promise that verdict.
  HistoryCheckerState::say_invalid = true;
  EXPECT_TRUE(sim::run_simulation(options).failed());
  options.settings = {{"promise_nothing", "true"}};
  EXPECT_FALSE(sim::run_simulation(options).failed());
  HistoryCheckerState::say_invalid = false;

  options.settings = {{"name_a_missing_checker", "true"}};
  const auto error = sim::validate(options);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("'no-such-checker', which does not exist"), std::string::npos) << *error;
}

// Its command reaches its replica, which acts on the typed payload: the word is written and read
// back through the Ready contract like any write.
TEST(StrategySeam, ItsCommandReachesItsReplica) {
  const core::Strategy& strategy = registered();
  storage::MemoryEngine engine;
  core::NodeContext node;
  node.members = {core::NodeId(1)};
  const auto replica =
      strategy.make_replica(engine, core::Rng(1), node, strategy.default_settings());
  const std::vector<std::string_view> argv = {"SEAMECHO", "hello"};
  auto parsed = strategy.parse_command(*strategy.find_command("seamecho"), argv);
  ASSERT_TRUE(std::holds_alternative<core::Request>(parsed));
  const auto answer = [&](core::Request request) {
    replica->client_request({core::ConnectionId(1), 1, std::move(request), {}, std::nullopt});
    core::Ready ready;
    EXPECT_TRUE(replica->take_ready(ready));
    EXPECT_TRUE(engine.write(ready.batch).is_ok());
    EXPECT_TRUE(engine.sync().is_ok());
    replica->persisted(ready.id);
    return ready.replies.size() == 1 ? ready.replies[0].reply : core::Reply::error("no reply");
  };
  EXPECT_EQ(answer(std::get<core::Request>(std::move(parsed))), core::Reply::ok());
  EXPECT_EQ(answer(core::GetRequest{"seamecho"}), core::Reply::bulk("hello"));
}

// The command it adds is found through it (and only through it), parsed by it into its own type.
TEST(StrategySeam, ItsCommandsAreFoundAndParsedThroughIt) {
  const core::Strategy& strategy = registered();
  EXPECT_EQ(core::find_command("seamecho"), nullptr) << "not a core command";
  const core::CommandSpec* spec = strategy.find_command("SEAMECHO");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(core::strategy_with_command("seamecho"), &strategy);
  EXPECT_EQ(core::find_strategy("leader")->find_command("seamecho"), nullptr);
  const std::vector<std::string_view> argv = {"SEAMECHO", "hello"};
  auto parsed = strategy.parse_command(*spec, argv);
  ASSERT_TRUE(std::holds_alternative<core::Request>(parsed));
  const auto& request = std::get<core::Request>(parsed);
  ASSERT_TRUE(core::answered_by_strategy(request));
  const auto* echo = std::get<core::StrategyCommand>(request).as<EchoPayload>();
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(echo->word, "hello");
  EXPECT_TRUE(core::is_write(request)) << "as its parser says";
  const std::vector<std::string_view> bad = {"SEAMECHO", "bad"};
  EXPECT_EQ(std::get<core::Reply>(strategy.parse_command(*spec, bad)),
            core::Reply::error("ERR SEAMECHO takes a good word"));
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
