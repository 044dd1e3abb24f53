// Collections under the multi-leader strategy (docs/multi-leader.md, "Collections"): three nodes
// driven step by step, partitioned by holding links. A set merges add-wins (an add concurrent with
// a remove survives it), HINCRBY and ZINCRBY lose no increment, a hash field's concurrent values
// resolve alike everywhere — and random writes of every kind under random partitions, a wiped node
// caught up by a state transfer included, end with every node showing the same.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/command.h"
#include "core/random.h"
#include "core/strategy.h"
#include "multi_leader_cluster.h"

namespace replikv::core::multi_leader {
namespace {

Request command(const std::vector<std::string>& words) {
  return words_request("multi-leader", words);
}

TEST(MultiLeaderCollections, ConcurrentAddAndRemoveConvergeAddWinsAndNoIncrementIsLost) {
  Cluster cluster;
  EXPECT_EQ(run(cluster, 1, {"sadd", "s", "a", "b"}), "2");
  EXPECT_EQ(run(cluster, 1, {"hset", "h", "n", "10"}), "1");
  EXPECT_EQ(run(cluster, 1, {"zadd", "z", "1.5", "m"}), "1");
  cluster.run(200);
  EXPECT_EQ(run(cluster, 3, {"smembers", "s"}), "[a b]");

  partition_one(cluster, 1);
  // Side 1 removes a and adds c; side 2 adds a again (concurrent with the remove) and removes b.
  EXPECT_EQ(run(cluster, 1, {"srem", "s", "a"}), "1");
  EXPECT_EQ(run(cluster, 1, {"sadd", "s", "c"}), "1");
  EXPECT_EQ(run(cluster, 2, {"sadd", "s", "a"}), "0");  // (a member there already: an add still)
  EXPECT_EQ(run(cluster, 2, {"srem", "s", "b"}), "1");
  // Counters on both sides.
  for (int i = 0; i < 5; ++i) run(cluster, 1, {"hincrby", "h", "n", "2"});
  for (int i = 0; i < 3; ++i) run(cluster, 2, {"hincrby", "h", "n", "-1"});
  // (Node 3 has node 2's decrements once they travel.)
  EXPECT_EQ(run(cluster, 3, {"hincrby", "h", "n", "100"}), "110");
  EXPECT_EQ(run(cluster, 1, {"zincrby", "z", "0.25", "m"}), "1.75");
  EXPECT_EQ(run(cluster, 2, {"zincrby", "z", "2", "m"}), "3.5");
  EXPECT_EQ(run(cluster, 2, {"zadd", "z", "incr", "1", "m"}), "4.5");
  // A field set on both sides: one value wins, the same everywhere.
  run(cluster, 1, {"hset", "h", "g", "one"});
  run(cluster, 2, {"hset", "h", "g", "two"});
  cluster.run(200);
  cluster.release_all();
  cluster.run(500);

  for (int node = 1; node <= members; ++node) {
    SCOPED_TRACE(node);
    EXPECT_EQ(run(cluster, node, {"smembers", "s"}), "[a c]");  // a: the add won
    EXPECT_EQ(run(cluster, node, {"hget", "h", "n"}), std::to_string(10 + 10 - 3 + 100));
    EXPECT_EQ(run(cluster, node, {"zscore", "z", "m"}), "4.75");  // 1.5 + 0.25 + 2 + 1
    EXPECT_EQ(run(cluster, node, {"hget", "h", "g"}), run(cluster, 1, {"hget", "h", "g"}));
    EXPECT_EQ(run(cluster, node, {"scard", "s"}), "2");
    EXPECT_EQ(cluster.node(node).state_digest(), cluster.node(1).state_digest());
  }
}

TEST(MultiLeaderCollections, ARemoveThatTakesUnseenAddsIsCaught) {
  // Mutant: a removal takes every add of the member, seen or not (remove-wins).
  Cluster cluster([](Options& options) { options.mutants.remove_unseen_elements = true; });
  run(cluster, 1, {"sadd", "s", "a", "b"});
  cluster.run(200);
  partition_one(cluster, 1);
  run(cluster, 1, {"srem", "s", "a"});
  run(cluster, 2, {"sadd", "s", "a", "x"});
  cluster.run(100);
  cluster.release_all();
  cluster.run(500);
  bool add_won_everywhere = true;
  for (int node = 1; node <= members; ++node) {
    add_won_everywhere &= run(cluster, node, {"sismember", "s", "a"}) == "1";
  }
  EXPECT_FALSE(add_won_everywhere);
}

TEST(MultiLeaderCollections, PositionalCommandsAndWholeKeyMovesAreRefusedNamingTheStrategy) {
  Cluster cluster;
  run(cluster, 1, {"sadd", "s", "a"});
  for (const auto& words : std::vector<std::vector<std::string>>{{"lpush", "l", "x"},
                                                                 {"spop", "s"},
                                                                 {"smove", "s", "t", "a"},
                                                                 {"zpopmin", "z"},
                                                                 {"hincrbyfloat", "h", "f", "1.5"},
                                                                 {"rename", "s", "t"},
                                                                 {"copy", "s", "t"},
                                                                 {"expire", "s", "10"},
                                                                 {"persist", "s"}}) {
    const std::string reply = run(cluster, 1, words);
    EXPECT_TRUE(reply.starts_with("ERR") && reply.find("multi-leader") != std::string::npos)
        << words.front() << ": " << reply;
  }
  EXPECT_EQ(run(cluster, 1, {"smembers", "s"}), "[a]");
  // A string key's RENAME still works.
  run(cluster, 1, {"set", "k", "v"});
  EXPECT_EQ(run(cluster, 1, {"rename", "k", "k2"}), "OK");
}

// Found by review: a ZADD with CH names its members after the options (a member already there at
// the same score is added again, and wins against a concurrent ZREM); a ZADD XX on a missing key
// writes nothing (no delete that would beat a concurrent SET elsewhere); VGET and VSET refuse a
// collection; a counter's reply is what the element shows.
TEST(MultiLeaderCollections, ReviewedCornersOfZAddVsetAndCounterReplies) {
  Cluster cluster;
  run(cluster, 1, {"zadd", "z", "1", "a", "2", "b"});
  cluster.run(200);
  partition_one(cluster, 1);
  run(cluster, 1, {"zrem", "z", "a"});
  EXPECT_EQ(run(cluster, 2, {"zadd", "z", "CH", "1", "a"}), "0");  // unchanged: an add still
  EXPECT_EQ(run(cluster, 2, {"set", "k", "v"}), "OK");
  EXPECT_EQ(run(cluster, 1, {"zadd", "k", "XX", "1", "m"}), "0");
  EXPECT_EQ(run(cluster, 1, {"zadd", "k", "XX", "INCR", "1", "m"}), "(nil)");
  cluster.run(100);
  cluster.release_all();
  cluster.run(500);
  for (int node = 1; node <= members; ++node) {
    SCOPED_TRACE(node);
    EXPECT_EQ(run(cluster, node, {"zscore", "z", "a"}), "1");
    EXPECT_EQ(run(cluster, node, {"get", "k"}), "v");
  }
  EXPECT_EQ(run(cluster, 1, {"vget", "z"}).substr(0, 9), "WRONGTYPE");
  EXPECT_EQ(run(cluster, 1, {"vset", "z", "1.1:1", "x"}).substr(0, 9), "WRONGTYPE");
  // A score whose increments come from two nodes: the reply is what ZSCORE shows after it.
  run(cluster, 1, {"zadd", "f", "0.1", "m"});
  cluster.run(100);
  run(cluster, 1, {"zincrby", "f", "0.2", "m"});
  cluster.run(100);
  const std::string reply = run(cluster, 2, {"zincrby", "f", "0.3", "m"});
  EXPECT_EQ(reply, run(cluster, 2, {"zscore", "f", "m"}));
  cluster.run(100);
  EXPECT_EQ(run(cluster, 1, {"zscore", "f", "m"}), reply);
}

// Random writes of every kind to a few keys, at random nodes, under random partitions; at the end
// every node shows the same and the counters hold every increment.
void random_writes_converge(uint64_t seed, bool wipe) {
  SCOPED_TRACE(fmt::format("seed {}", seed));
  Rng rng(seed);
  Cluster cluster;
  const std::vector<std::string> keys = {"k1", "k2", "k3"};
  const std::vector<std::string> members_of = {"a", "b", "c", "d"};
  int64_t counted = 0;        // HINCRBY on counters/n: never reset
  int64_t score_counted = 0;  // ZINCRBY on board/p (whole numbers: exact in a double)
  for (int step = 0; step < 400; ++step) {
    const int node = 1 + static_cast<int>(rng.below(members));
    const std::string key = keys[rng.below(keys.size())];
    const std::string member = members_of[rng.below(members_of.size())];
    const std::string n = std::to_string(rng.below(5));
    switch (rng.below(14)) {
      case 0:
      case 1:
        run(cluster, node, {"sadd", key, member});
        break;
      case 2:
        run(cluster, node, {"srem", key, member});
        break;
      case 3:
        run(cluster, node, {"hset", key, member, n});
        break;
      case 4:
        run(cluster, node, {"hincrby", key, member, n});
        break;
      case 5:
        run(cluster, node, {"hdel", key, member});
        break;
      case 6:
        run(cluster, node, {"zadd", key, n, member});
        break;
      case 7:
        run(cluster, node, {"zincrby", key, n, member});
        break;
      case 8:
        run(cluster, node, {"zrem", key, member});
        break;
      case 9:
        run(cluster, node, {rng.below(2) ? "del" : "unlink", key});
        break;
      case 10:
        run(cluster, node, {"set", key, n});
        break;
      case 11:
        run(cluster, node, {"sunionstore", key, keys[rng.below(keys.size())], "k1"});
        break;
      case 12: {
        const int64_t delta = static_cast<int64_t>(rng.below(7)) - 3;
        EXPECT_EQ(
            cluster.request(node, command({"hincrby", "counters", "n", std::to_string(delta)}))
                .kind,
            Reply::Kind::integer);
        counted += delta;
        const int64_t score_delta = static_cast<int64_t>(rng.below(9)) - 4;
        EXPECT_EQ(
            cluster.request(node, command({"zincrby", "board", std::to_string(score_delta), "p"}))
                .kind,
            Reply::Kind::bulk);
        score_counted += score_delta;
        break;
      }
      default: {
        // The partition changes: a link held or the network healed.
        if (rng.below(3) == 0) {
          cluster.release_all();
        } else {
          const int from = 1 + static_cast<int>(rng.below(members));
          const int to = 1 + static_cast<int>(rng.below(members));
          if (from != to) cluster.hold(from, to);
        }
        break;
      }
    }
    cluster.run(static_cast<TimeMs>(rng.below(40)));
  }
  cluster.release_all();
  cluster.run(1000);
  if (wipe) {
    // Node 3 loses its disk: every member has dropped the log entries it needs, so a state
    // transfer brings it back — elements and all.
    cluster.wipe(3);
    cluster.run(3000);
  }
  for (int node = 1; node <= members; ++node) {
    SCOPED_TRACE(fmt::format("node {}", node));
    EXPECT_EQ(cluster.node(node).state_digest(), cluster.node(1).state_digest());
    for (const auto& key : keys) {
      const std::string type = run(cluster, node, {"type", key});
      EXPECT_EQ(type, run(cluster, 1, {"type", key})) << key;
      std::vector<std::string> read;
      if (type == "set") read = {"smembers", key};
      if (type == "hash") read = {"hgetall", key};
      if (type == "zset") read = {"zrange", key, "0", "-1", "withscores"};
      if (type == "string") read = {"get", key};
      if (!read.empty()) {
        EXPECT_EQ(run(cluster, node, read), run(cluster, 1, read)) << key;
        if (type != "string") {
          const auto size = cluster.node(node).local_collection_size(key);
          EXPECT_TRUE(size && *size != UINT64_MAX) << key << " counts its elements";
        }
      }
    }
    EXPECT_EQ(run(cluster, node, {"hget", "counters", "n"}), std::to_string(counted));
    EXPECT_EQ(run(cluster, node, {"zscore", "board", "p"}), std::to_string(score_counted));
  }
}

TEST(MultiLeaderCollections, RandomWritesUnderPartitionsConverge) {
  for (uint64_t seed = 1; seed <= 6; ++seed) random_writes_converge(seed, false);
}

TEST(MultiLeaderCollections, AWipedNodeGetsItsCollectionsByAStateTransfer) {
  for (uint64_t seed = 11; seed <= 13; ++seed) random_writes_converge(seed, true);
}

}  // namespace
}  // namespace replikv::core::multi_leader
