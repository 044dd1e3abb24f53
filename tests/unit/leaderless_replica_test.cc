// Leaderless collections (docs/leaderless.md, "Collections") on three replicas driven step by step
// (N = 3: every node a replica of every key), partitioned by holding links: sets merge add-wins,
// increments all count, removed elements' states are collected without leaving a copy the other
// replicas cannot read, and a running total never becomes NaN.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/leaderless/replica.h"
#include "step_cluster.h"

namespace replikv::core::leaderless {
namespace {

struct StepSetup {
  using Replica = Leaderless;
  using Options = leaderless::Options;
  static constexpr std::string_view strategy = "leaderless";
  static void defaults(Options& options, bool) {
    options.n = 3;
    options.w = 1;  // each side of a partition writes and reads its own copy
    options.r = 1;
    options.read_repair = ReadRepair::async;
    options.heartbeat_interval_ms = 10;
    options.request_timeout_ms = 100;
    options.anti_entropy_interval_ms = 50;
    options.tombstone_grace_ms = 10;
  }
};
using Cluster = StepCluster<StepSetup>;

// Every node's own copy of `key` read with `words` (R = 1 reads the node's copy first).
std::vector<std::string> on_every_node(Cluster& cluster, const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (int node = 1; node <= Cluster::members; ++node) out.push_back(cluster.run(node, words));
  return out;
}

uint64_t summed(Cluster& cluster, std::string_view metric) {
  uint64_t total = 0;
  for (int node = 1; node <= Cluster::members; ++node) total += cluster.metric(node, metric);
  return total;
}

uint64_t malformed(Cluster& cluster) {
  uint64_t total = 0;
  for (int node = 1; node <= Cluster::members; ++node) {
    total += cluster.node(node).status().malformed_messages_total;
  }
  return total;
}

TEST(LeaderlessCollections, APartitionHealsIntoAnAddWinsSetAndEveryIncrement) {
  Cluster cluster;
  EXPECT_EQ(cluster.run(1, {"sadd", "s", "a", "b"}), "2");
  EXPECT_EQ(cluster.run(1, {"hset", "h", "n", "10"}), "1");
  cluster.run(300);
  cluster.partition_one(1);
  EXPECT_EQ(cluster.run(1, {"srem", "s", "a"}), "1");
  EXPECT_EQ(cluster.run(2, {"sadd", "s", "a"}), "0");  // there: an add all the same
  EXPECT_EQ(cluster.run(2, {"srem", "s", "b"}), "1");
  EXPECT_EQ(cluster.run(1, {"hincrby", "h", "n", "5"}), "15");
  EXPECT_EQ(cluster.run(3, {"hincrby", "h", "n", "-2"}), "8");
  EXPECT_EQ(cluster.run(1, {"smembers", "s"}), "[b]");
  cluster.release_all();
  cluster.run(500);  // anti-entropy brings every copy to the join
  const std::vector<std::string> set(Cluster::members, "[a]");
  EXPECT_EQ(on_every_node(cluster, {"smembers", "s"}), set);
  const std::vector<std::string> sum(Cluster::members, "13");
  EXPECT_EQ(on_every_node(cluster, {"hget", "h", "n"}), sum);
  EXPECT_EQ(malformed(cluster), 0u);
}

// A removal's element states are collected after every replica acknowledged it; a delete then
// takes the rest while a new field comes in. What is left must still be a copy every replica can
// read and send (a collection that cleared the key's timestamp under a newer element's register
// made copies the others refused as malformed, and every quorum read of the key timed out).
TEST(LeaderlessCollections, CollectedElementsLeaveACopyEveryReplicaCanRead) {
  Cluster cluster([](Options& options) { options.w = options.r = 3; });
  EXPECT_EQ(cluster.run(1, {"hset", "h", "f", "1", "g", "2"}), "2");
  EXPECT_EQ(cluster.run(1, {"hdel", "h", "f"}), "1");
  EXPECT_EQ(cluster.run(2, {"del", "h"}), "1");
  EXPECT_EQ(cluster.run(3, {"hset", "h", "k", "v"}), "1");
  cluster.run(2000);  // every reap due
  EXPECT_GT(summed(cluster, "elements_reaped"), 0u);
  const std::vector<std::string> left(Cluster::members, "[k v]");
  EXPECT_EQ(on_every_node(cluster, {"hgetall", "h"}), left);
  EXPECT_EQ(malformed(cluster), 0u);
  EXPECT_EQ(cluster.run(2, {"hset", "h", "x", "y"}), "1");
  EXPECT_EQ(cluster.run(1, {"hlen", "h"}), "2");
}

// +inf on one side, -inf on the other: the score shows 0 (NaN shows as 0 on every replica), and
// an increment that would make a coordinator's own total NaN is refused as Redis refuses a NaN
// score — a NaN total would never compare equal to itself, and no join would settle.
TEST(LeaderlessCollections, ARunningTotalNeverBecomesNaN) {
  Cluster cluster;
  cluster.partition_one(1);
  EXPECT_EQ(cluster.run(1, {"zincrby", "z", "inf", "m"}), "inf");
  EXPECT_EQ(cluster.run(2, {"zincrby", "z", "-inf", "m"}), "-inf");
  cluster.release_all();
  cluster.run(500);
  const std::vector<std::string> zero(Cluster::members, "0");
  EXPECT_EQ(on_every_node(cluster, {"zscore", "z", "m"}), zero);
  EXPECT_EQ(cluster.run(1, {"zincrby", "z", "-inf", "m"}),
            "ERR resulting score is not a number (NaN)");
  EXPECT_EQ(cluster.run(1, {"zincrby", "z", "1", "m"}), "0");  // inf + 1 - inf: still NaN, 0
  EXPECT_EQ(malformed(cluster), 0u);
}

// W = R = 2 of 3: node 3 misses an add that nodes 1 and 2 acknowledged; a removal coordinated
// by node 3 afterwards still removes it — it reads R replicas' copies of what it removes first —
// where a removal on node 3's copy alone (the mutant) answers 0 and leaves the member there.
std::vector<std::string> remove_on_a_lagging_replica(bool unread) {
  Cluster cluster([&](Options& options) {
    options.w = options.r = 2;
    options.anti_entropy_interval_ms = 0;
    options.mutants.remove_unread = unread;
  });
  cluster.hold(1, 3);  // node 3 never gets node 1's copies
  EXPECT_EQ(cluster.run(1, {"sadd", "s", "m", "keep"}), "2");
  EXPECT_EQ(cluster.run(1, {"hset", "h", "f", "v"}), "1");
  std::vector<std::string> out = {cluster.run(3, {"srem", "s", "m"}),
                                  cluster.run(3, {"hdel", "h", "f"})};
  cluster.release_all();
  cluster.run(500);
  out.push_back(cluster.run(2, {"smembers", "s"}));
  out.push_back(cluster.run(2, {"hlen", "h"}));
  return out;
}

TEST(LeaderlessCollections, ARemovalRemovesWhatAQuorumAcknowledgedBeforeIt) {
  EXPECT_EQ(remove_on_a_lagging_replica(false),
            (std::vector<std::string>{"1", "1", "[keep]", "0"}));
  // The mutant: node 3's copy alone.
  EXPECT_EQ(remove_on_a_lagging_replica(true),
            (std::vector<std::string>{"0", "0", "[keep m]", "1"}));
}

// A peer's copy naming node 1's own dots near the end of their range (no replica made it: a
// node's counter is persisted with its writes) is refused and counted; node 1 writes on.
TEST(LeaderlessCollections, ACopyNamingThisNodesDotsFarAheadIsRefused) {
  Cluster cluster;
  EXPECT_EQ(cluster.run(1, {"sadd", "s", "a"}), "1");
  KeyState forged;
  forged.seen_hlc = {1, 0};
  ElementState& element = forged.elements[{element_member, "a"}];
  element.write({cluster.node(1).actor(), counter_max - 1}, Register{{1, 0}, false, {}, 0});
  proto::LeaderlessMessage message;
  message.set_type(proto::LeaderlessMessage::REPLICATE);
  message.set_request(1);
  message.set_key("s");
  message.set_state(forged.encode());
  message.set_from(2);
  Message wire{NodeId(2), NodeId(1), {}};
  message.SerializeToString(&wire.payload);
  const uint64_t before = cluster.node(1).status().malformed_messages_total;
  cluster.node(1).peer_message(wire);
  EXPECT_EQ(cluster.node(1).status().malformed_messages_total, before + 1);
  EXPECT_EQ(cluster.run(1, {"sadd", "s", "b"}), "1");
  EXPECT_EQ(cluster.run(1, {"srem", "s", "a"}), "1");
  EXPECT_EQ(cluster.run(1, {"smembers", "s"}), "[b]");
}

TEST(LeaderlessCollections, WhatTakesAPositionOrSeveralKeysIsRefusedByName) {
  Cluster cluster;
  for (const auto& words : std::vector<std::vector<std::string>>{{"lpush", "l", "x"},
                                                                 {"spop", "s"},
                                                                 {"zremrangebyrank", "z", "0", "1"},
                                                                 {"smove", "a", "b", "m"},
                                                                 {"zunionstore", "d", "1", "z"},
                                                                 {"hincrbyfloat", "h", "f", "1"},
                                                                 {"rename", "a", "b"},
                                                                 {"flushall"}}) {
    const std::string reply = cluster.run(1, words);
    EXPECT_NE(reply.find("is not offered by the leaderless strategy"), std::string::npos)
        << words.front() << ": " << reply;
  }
}

}  // namespace
}  // namespace replikv::core::leaderless
