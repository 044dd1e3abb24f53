// Node configuration: the member lists of strategy "leader" and the checks made before a node
// starts (a bad list is an error at start, never a half-configured cluster).
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "runtime/config.h"

namespace replikv::runtime {
namespace {

TEST(Config, MemberListsParse) {
  std::map<uint32_t, std::string> members;
  ASSERT_EQ(parse_members("1=127.0.0.1:7579,2=127.0.0.1:7580,3=localhost:7581", members),
            std::nullopt);
  EXPECT_EQ(members.size(), 3u);
  EXPECT_EQ(members.at(2), "127.0.0.1:7580");
  EXPECT_EQ(members.at(3), "localhost:7581");
}

TEST(Config, BadMemberListsSayWhatIsWrong) {
  std::map<uint32_t, std::string> members;
  EXPECT_EQ(parse_members("1=127.0.0.1", members), "expected id=host:port, got '1=127.0.0.1'");
  EXPECT_EQ(parse_members("x=127.0.0.1:1", members), "expected id=host:port, got 'x=127.0.0.1:1'");
  EXPECT_EQ(parse_members("0=127.0.0.1:1", members), "expected id=host:port, got '0=127.0.0.1:1'");
  EXPECT_EQ(parse_members("1=127.0.0.1:99999", members), "bad port in '1=127.0.0.1:99999'");
  EXPECT_EQ(parse_members("1=a:1,1=b:2", members), "node 1 is listed twice");
  EXPECT_EQ(parse_members("1=a:1,", members), "expected id=host:port, got ''");
}

TEST(Config, LeaderStrategyNeedsAConsistentMemberList) {
  Config config;
  EXPECT_NE(load_config(std::nullopt, {{"strategy", "leader"}}, config), std::nullopt)
      << "no peers";
  Config missing;
  const auto error = load_config(
      std::nullopt, {{"strategy", "leader"}, {"node_id", "4"}, {"peers", "1=h:1,2=h:2"}}, missing);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("not in the member list"), std::string::npos) << *error;
  Config heartbeat;
  EXPECT_NE(load_config(std::nullopt,
                        {{"strategy", "leader"},
                         {"peers", "1=h:1"},
                         {"election_timeout_ms", "100"},
                         {"heartbeat_interval_ms", "60"}},
                        heartbeat),
            std::nullopt)
      << "heartbeats must come at least twice per election timeout";
  Config compaction;
  const auto keep = load_config(std::nullopt,
                                {{"strategy", "leader"},
                                 {"peers", "1=h:1"},
                                 {"log_compact_entries", "100"},
                                 {"log_keep_entries", "100"}},
                                compaction);
  ASSERT_TRUE(keep.has_value());
  EXPECT_NE(keep->find("log_keep_entries"), std::string::npos) << *keep;
  Config compacting;
  EXPECT_EQ(load_config(std::nullopt,
                        {{"strategy", "leader"},
                         {"peers", "1=127.0.0.1:7579"},
                         {"log_compact_entries", "100"},
                         {"log_keep_entries", "10"}},
                        compacting),
            std::nullopt);
  EXPECT_EQ(compacting.strategy_settings.number("log_compact_entries"), 100u);
  EXPECT_EQ(compacting.strategy_settings.number("log_keep_entries"), 10u);
  Config good;
  EXPECT_EQ(
      load_config(std::nullopt,
                  {{"strategy", "leader"}, {"peers", "1=127.0.0.1:7579,2=127.0.0.1:7580"}}, good),
      std::nullopt);
  EXPECT_EQ(good.strategy, "leader");
  // The ack policy: majority, async, sync, or a follower count below the member count.
  const std::map<std::string, std::string> three = {
      {"strategy", "leader"}, {"peers", "1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3"}};
  for (const char* good_ack : {"majority", "async", "sync", "1", "2"}) {
    Config loaded;
    auto settings = three;
    settings["ack"] = good_ack;
    EXPECT_EQ(load_config(std::nullopt, settings, loaded), std::nullopt) << good_ack;
    EXPECT_EQ(loaded.strategy_settings.text("ack"), good_ack);
  }
  for (const char* bad_ack : {"0", "3", "all", "-1", ""}) {
    Config loaded;
    auto settings = three;
    settings["ack"] = bad_ack;
    const auto refused = load_config(std::nullopt, settings, loaded);
    ASSERT_NE(refused, std::nullopt) << bad_ack;
    EXPECT_NE(refused->find("ack"), std::string::npos) << *refused;
  }
}

}  // namespace
}  // namespace replikv::runtime

namespace replikv::runtime {
namespace {

// A strategy's keys belong to it: under another strategy they are refused, naming the owner, and
// an unknown key is refused as such; the strategy is applied first wherever it is given.
TEST(Config, AStrategysKeysAreItsOwn) {
  Config standalone;
  const auto refused = load_config(std::nullopt, {{"ack", "async"}}, standalone);
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->find("'ack' is a setting of strategy \"leader\""), std::string::npos)
      << *refused;
  Config typo;
  const auto unknown = load_config(std::nullopt, {{"acks", "async"}}, typo);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_NE(unknown->find("unknown configuration key 'acks'"), std::string::npos) << *unknown;
  Config nosuch;
  const auto strategy = load_config(std::nullopt, {{"strategy", "paxos"}}, nosuch);
  ASSERT_TRUE(strategy.has_value());
  EXPECT_NE(strategy->find("standalone, leader"), std::string::npos) << *strategy;
  // "ack" sorts before "strategy": the strategy is still chosen first.
  Config leader;
  EXPECT_EQ(
      load_config(std::nullopt,
                  {{"ack", "async"}, {"strategy", "leader"}, {"peers", "1=h:1,2=h:2"}}, leader),
      std::nullopt);
  EXPECT_EQ(config_value(leader, "ack"), "async");
  EXPECT_EQ(config_value(standalone, "ack"), std::nullopt);
}

// A flag overrides the file, the strategy too: the file's strategy does not come back and reset
// the settings the command line gave for the other one.
TEST(Config, AFlagsStrategyOverridesTheFiles) {
  const std::string path = ::testing::TempDir() + "replikv-config-test.toml";
  {
    std::ofstream file(path);
    file << "strategy = \"standalone\"\nport = 7400\n";
  }
  Config config;
  EXPECT_EQ(load_config(path, {{"strategy", "leader"}, {"ack", "async"}, {"peers", "1=h:1,2=h:2"}},
                        config),
            std::nullopt);
  EXPECT_EQ(config.strategy, "leader");
  EXPECT_EQ(config_value(config, "ack"), "async");
  EXPECT_EQ(config.port, 7400);
  std::remove(path.c_str());
}

// The heartbeat defaults to a tenth of the election timeout, so a shorter timeout alone is a
// valid configuration.
TEST(Config, TheHeartbeatFollowsTheElectionTimeout) {
  Config config;
  EXPECT_EQ(
      load_config(std::nullopt,
                  {{"strategy", "leader"}, {"peers", "1=h:1"}, {"election_timeout_ms", "150"}},
                  config),
      std::nullopt);
  const auto traits = strategy_of(config).traits(config.strategy_settings);
  EXPECT_EQ(traits.lag_known_within_ms, 15);
}

}  // namespace
}  // namespace replikv::runtime
