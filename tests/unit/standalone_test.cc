// The standalone replica through the Ready contract: Redis's semantics for every data command,
// and the durability rule (no reply before its sync).
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "core/command.h"
#include "core/keyspace.h"
#include "support/driver.h"

namespace replikv::core {
namespace {

using testing_driver = replikv::testing::TestDriver;

// Builds a request from words, the way a client would send it.
Request req(std::vector<std::string_view> argv) {
  const CommandSpec* spec = find_command(argv[0]);
  REPLIKV_ASSERT(spec && !check_arity(*spec, argv.size()), "test request must be well-formed");
  auto parsed = parse_request(*spec, argv);
  REPLIKV_ASSERT(std::holds_alternative<Request>(parsed), "test request must parse");
  return std::get<Request>(parsed);
}

class StandaloneTest : public ::testing::Test {
 protected:
  Reply run(std::vector<std::string_view> argv) { return driver_.run(req(std::move(argv))); }
  testing_driver driver_;
};

TEST_F(StandaloneTest, SetThenGet) {
  EXPECT_EQ(run({"SET", "k", "v"}), Reply::ok());
  EXPECT_EQ(run({"GET", "k"}), Reply::bulk("v"));
  EXPECT_EQ(run({"GET", "missing"}), Reply::nil());
}

TEST_F(StandaloneTest, SetConditionsAndGetOption) {
  EXPECT_EQ(run({"SET", "k", "1", "XX"}), Reply::nil());
  EXPECT_EQ(run({"SET", "k", "1", "NX"}), Reply::ok());
  EXPECT_EQ(run({"SET", "k", "2", "NX"}), Reply::nil());
  EXPECT_EQ(run({"SET", "k", "3", "XX", "GET"}), Reply::bulk("1"));
  EXPECT_EQ(run({"SET", "k", "4", "NX", "GET"}), Reply::bulk("3"));
  EXPECT_EQ(run({"GET", "k"}), Reply::bulk("3"));
}

// Blocking pops: a client whose lists are empty waits — oldest first, as Redis serves them —
// until a write leaves one of its lists with elements; its timeout answers it only when nothing
// was popped for it; a closed connection's wait ends; a BLMOVE's push serves the next waiter.
TEST_F(StandaloneTest, BlockingPopsWaitForAPushOldestFirstAndTimeOut) {
  const auto reply_of = [&](uint64_t sequence) -> std::optional<Reply> {
    std::optional<Reply> found;
    for (auto& reply : driver_.take_released()) {
      if (reply.sequence == sequence) found = reply.reply;
    }
    return found;
  };
  const uint64_t first = driver_.send(req({"BLPOP", "q", "0"}), 2);
  const uint64_t second = driver_.send(req({"BRPOP", "q", "r", "0"}), 3);
  driver_.sync();
  EXPECT_FALSE(reply_of(first).has_value());
  EXPECT_EQ(driver_.replica().status().blocked_clients, 2u);
  EXPECT_EQ(run({"RPUSH", "q", "a"}), Reply::number(1));
  EXPECT_EQ(driver_.replica().status().blocked_clients, 1u);
  const uint64_t push = driver_.send(req({"RPUSH", "r", "b"}));
  driver_.sync();
  const auto released = driver_.take_released();
  std::map<uint64_t, Reply> by_sequence;
  for (const auto& reply : released) by_sequence[reply.sequence] = reply.reply;
  EXPECT_EQ(by_sequence[push], Reply::number(1)) << "the push answers what it pushed";
  EXPECT_EQ(by_sequence[second], Reply::array({Reply::bulk("r"), Reply::bulk("b")}));
  EXPECT_EQ(run({"LLEN", "q"}), Reply::number(0));
  EXPECT_EQ(run({"EXISTS", "r"}), Reply::number(0));

  // The timeout: 0.5 s.
  const uint64_t timed = driver_.send(req({"BLPOP", "z", "0.5"}), 4);
  driver_.tick(1400);
  EXPECT_FALSE(reply_of(timed).has_value());
  driver_.tick(1600);
  driver_.sync();
  EXPECT_EQ(reply_of(timed), Reply::null_array());
  EXPECT_EQ(driver_.replica().status().blocked_timeouts_total, 1u);

  // A closed connection's wait ends: nothing is popped for it.
  driver_.send(req({"BLPOP", "w", "0"}), 5);
  driver_.replica().client_closed(ConnectionId(5));
  EXPECT_EQ(run({"RPUSH", "w", "x"}), Reply::number(1));
  EXPECT_EQ(run({"LLEN", "w"}), Reply::number(1));

  // BLMOVE's push onto its destination serves the client waiting there.
  const uint64_t mover = driver_.send(req({"BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"}), 6);
  const uint64_t taker = driver_.send(req({"BLPOP", "dst", "0"}), 7);
  EXPECT_EQ(run({"RPUSH", "src", "e"}), Reply::number(1));
  driver_.sync();
  by_sequence.clear();
  for (const auto& reply : driver_.take_released()) by_sequence[reply.sequence] = reply.reply;
  (void)first;
  EXPECT_EQ(by_sequence[mover], Reply::bulk("e"));
  EXPECT_EQ(by_sequence[taker], Reply::array({Reply::bulk("dst"), Reply::bulk("e")}));
  EXPECT_EQ(run({"EXISTS", "src", "dst"}), Reply::number(0));
  EXPECT_EQ(driver_.replica().status().blocked_clients, 0u);

  // What is there is popped at once; a key of another type is WRONGTYPE at once.
  EXPECT_EQ(run({"RPUSH", "ready", "1"}), Reply::number(1));
  EXPECT_EQ(run({"BLPOP", "ready", "0"}), Reply::array({Reply::bulk("ready"), Reply::bulk("1")}));
  EXPECT_EQ(run({"RPUSH", "ready", "2"}), Reply::number(1));
  EXPECT_EQ(run({"BRPOPLPUSH", "ready", "moved", "0"}), Reply::bulk("2"));
  EXPECT_EQ(run({"BLMPOP", "0", "1", "moved", "LEFT"}),
            Reply::array({Reply::bulk("moved"), Reply::array({Reply::bulk("2")})}));
  EXPECT_EQ(run({"SET", "s", "v"}), Reply::ok());
  EXPECT_EQ(run({"BLPOP", "s", "0"}), wrong_type());
  const std::vector<std::string_view> negative = {"blpop", "s", "-1"};
  EXPECT_EQ(std::get<Reply>(parse_request(*find_command("blpop"), negative)),
            Reply::error("ERR timeout is negative"));
}

TEST_F(StandaloneTest, CasComparesWithTheCurrentValueOrAbsence) {
  EXPECT_EQ(run({"CAS", "k", "v1"}), Reply::number(1));  // expected absent: it was
  EXPECT_EQ(run({"CAS", "k", "v2"}), Reply::number(0));  // now present
  EXPECT_EQ(run({"CAS", "k", "nope", "v2"}), Reply::number(0));
  EXPECT_EQ(run({"GET", "k"}), Reply::bulk("v1"));
  EXPECT_EQ(run({"CAS", "k", "v1", "v2"}), Reply::number(1));
  EXPECT_EQ(run({"GET", "k"}), Reply::bulk("v2"));
  EXPECT_EQ(run({"CAS", "missing", "x", "y"}), Reply::number(0));
  EXPECT_EQ(run({"EXISTS", "missing"}), Reply::number(0));
  // A value with a time to live loses it, as with a plain SET.
  EXPECT_EQ(run({"SET", "t", "a", "EX", "100"}), Reply::ok());
  EXPECT_EQ(run({"CAS", "t", "a", "b"}), Reply::number(1));
  EXPECT_EQ(run({"TTL", "t"}), Reply::number(-1));
}

TEST_F(StandaloneTest, ExpireFamilyAndPersist) {
  EXPECT_EQ(run({"EXPIRE", "missing", "10"}), Reply::number(0));
  EXPECT_EQ(run({"SET", "k", "v"}), Reply::ok());
  EXPECT_EQ(run({"EXPIRE", "k", "100", "XX"}), Reply::number(0));  // has no time to live yet
  EXPECT_EQ(run({"EXPIRE", "k", "100", "NX"}), Reply::number(1));
  EXPECT_EQ(run({"TTL", "k"}), Reply::number(100));
  EXPECT_EQ(run({"EXPIRE", "k", "50", "GT"}), Reply::number(0));
  EXPECT_EQ(run({"PEXPIRE", "k", "50000", "LT"}), Reply::number(1));
  EXPECT_EQ(run({"TTL", "k"}), Reply::number(50));
  EXPECT_EQ(run({"PERSIST", "k"}), Reply::number(1));
  EXPECT_EQ(run({"PERSIST", "k"}), Reply::number(0));
  EXPECT_EQ(run({"TTL", "k"}), Reply::number(-1));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "LT"}), Reply::number(1))
      << "no time to live counts as infinite";
  EXPECT_EQ(run({"EXPIRE", "k", "-1"}), Reply::number(1)) << "a time in the past deletes the key";
  EXPECT_EQ(run({"EXISTS", "k"}), Reply::number(0));
  EXPECT_EQ(run({"SET", "a", "1"}), Reply::ok());
  EXPECT_EQ(run({"PEXPIREAT", "a", "1"}), Reply::number(1));
  EXPECT_EQ(run({"GET", "a"}), Reply::nil());
}

TEST_F(StandaloneTest, ExpiryIsLazyAndSwept) {
  driver_.tick(10'000);
  EXPECT_EQ(run({"SET", "k", "v", "PX", "100"}), Reply::ok());
  EXPECT_EQ(run({"PTTL", "k"}), Reply::number(100));
  EXPECT_EQ(run({"TTL", "nokey"}), Reply::number(-2));
  driver_.tick(10'100);
  EXPECT_EQ(run({"GET", "k"}), Reply::bulk("v"));  // Redis: alive until the clock passes it
  driver_.tick(10'101);
  EXPECT_EQ(run({"GET", "k"}), Reply::nil());
  EXPECT_EQ(run({"EXISTS", "k"}), Reply::number(0));
  EXPECT_EQ(run({"DBSIZE"}), Reply::number(1));  // not swept yet, as in Redis
  driver_.tick(10'500);
  driver_.sync();
  EXPECT_EQ(run({"DBSIZE"}), Reply::number(0));
  EXPECT_EQ(driver_.replica().status().expired_keys_total, 1u);
}

TEST_F(StandaloneTest, KeepTtlAndOverwriteClearsTtl) {
  driver_.tick(1'000);
  run({"SET", "k", "v", "EX", "10"});
  run({"SET", "k", "w", "KEEPTTL"});
  EXPECT_EQ(run({"TTL", "k"}), Reply::number(10));
  run({"SET", "k", "x"});
  EXPECT_EQ(run({"TTL", "k"}), Reply::number(-1));
  EXPECT_EQ(driver_.replica().status().keys_with_expiry, 0u);
}

TEST_F(StandaloneTest, DelAndExistsCountKeysNotArguments) {
  run({"MSET", "a", "1", "b", "2"});
  EXPECT_EQ(run({"EXISTS", "a", "a", "c"}), Reply::number(2));
  EXPECT_EQ(run({"DEL", "a", "a", "c"}), Reply::number(1));
  EXPECT_EQ(run({"DBSIZE"}), Reply::number(1));
}

TEST_F(StandaloneTest, MsetWithRepeatedKeyCountsOnce) {
  run({"MSET", "a", "1", "a", "2"});
  EXPECT_EQ(run({"DBSIZE"}), Reply::number(1));
  EXPECT_EQ(run({"MGET", "a", "x"}), Reply::array({Reply::bulk("2"), Reply::nil()}));
}

TEST_F(StandaloneTest, IncrFamily) {
  EXPECT_EQ(run({"INCR", "n"}), Reply::number(1));
  EXPECT_EQ(run({"INCRBY", "n", "41"}), Reply::number(42));
  EXPECT_EQ(run({"DECR", "n"}), Reply::number(41));
  EXPECT_EQ(run({"DECRBY", "n", "50"}), Reply::number(-9));
  run({"SET", "s", "abc"});
  EXPECT_EQ(run({"INCR", "s"}), Reply::error("ERR value is not an integer or out of range"));
  run({"SET", "big", "9223372036854775807"});
  EXPECT_EQ(run({"INCR", "big"}), Reply::error("ERR increment or decrement would overflow"));
  EXPECT_EQ(run({"GET", "big"}), Reply::bulk("9223372036854775807"));
}

TEST_F(StandaloneTest, ScanVisitsEveryKeyExactlyOnceWithoutWrites) {
  for (int i = 0; i < 100; ++i) {
    const std::string key = "key" + std::to_string(i);
    run({"SET", key, "v"});
  }
  std::set<std::string> seen;
  std::string cursor = "0";
  int rounds = 0;
  do {
    const Reply reply = run({"SCAN", cursor, "COUNT", "7"});
    ASSERT_EQ(reply.elements.size(), 2u);
    cursor = reply.elements[0].text;
    for (const auto& key : reply.elements[1].elements) {
      EXPECT_TRUE(seen.insert(key.text).second) << key.text;
    }
    ASSERT_LT(++rounds, 100);
  } while (cursor != "0");
  EXPECT_EQ(seen.size(), 100u);
}

TEST_F(StandaloneTest, ScanMatchAndKeysPattern) {
  run({"MSET", "user:1", "a", "user:2", "b", "order:1", "c"});
  const Reply keys = run({"KEYS", "user:*"});
  EXPECT_EQ(keys.elements.size(), 2u);
  const Reply scan = run({"SCAN", "0", "MATCH", "order:?", "COUNT", "1000"});
  EXPECT_EQ(scan.elements[0], Reply::bulk("0"));
  EXPECT_EQ(scan.elements[1], Reply::array({Reply::bulk("order:1")}));
  const Reply typed = run({"SCAN", "0", "TYPE", "hash"});
  EXPECT_TRUE(typed.elements[1].elements.empty());
}

TEST_F(StandaloneTest, NoReplyBeforeItsSync) {
  driver_.send(req({"SET", "k", "v"}));
  driver_.send(req({"GET", "k"}));  // a read of unsynced state waits too
  EXPECT_TRUE(driver_.take_released().empty());
  EXPECT_EQ(driver_.waiting_replies(), 2u);
  driver_.sync();
  EXPECT_EQ(driver_.take_released().size(), 2u);
}

TEST_F(StandaloneTest, ManyRequestsShareOneBatch) {
  run({"MSET", "old1", "x", "old2", "y"});
  driver_.take_after_each_input(false);
  const auto written_before = driver_.engine().stats().batches_written_total;
  std::vector<uint64_t> sequences;
  for (auto argv : std::vector<std::vector<std::string_view>>{{"SET", "a", "1"},
                                                              {"SET", "b", "2"},
                                                              {"DEL", "a", "old1"},
                                                              {"INCR", "b"},
                                                              {"GET", "b"},
                                                              {"EXISTS", "a", "b", "old2"},
                                                              {"DBSIZE"},
                                                              {"KEYS", "*"},
                                                              {"SCAN", "0", "COUNT", "100"}}) {
    sequences.push_back(driver_.send(req(argv)));
  }
  driver_.sync();
  EXPECT_EQ(driver_.engine().stats().batches_written_total - written_before, 1u);
  std::map<uint64_t, Reply> replies;
  for (auto& reply : driver_.take_released()) replies[reply.sequence] = reply.reply;
  EXPECT_EQ(replies[sequences[2]], Reply::number(2));
  EXPECT_EQ(replies[sequences[3]], Reply::number(3));
  EXPECT_EQ(replies[sequences[4]], Reply::bulk("3"));
  EXPECT_EQ(replies[sequences[5]], Reply::number(2));
  EXPECT_EQ(replies[sequences[6]], Reply::number(2));
  std::set<std::string> keys, scanned;
  for (const auto& key : replies[sequences[7]].elements) keys.insert(key.text);
  for (const auto& key : replies[sequences[8]].elements[1].elements) scanned.insert(key.text);
  EXPECT_EQ(keys, (std::set<std::string>{"b", "old2"}));
  EXPECT_EQ(scanned, keys);
  driver_.take_after_each_input(true);
  driver_.restart();
  EXPECT_EQ(driver_.replica().status().key_count, 2u);
}

TEST_F(StandaloneTest, CountersSurviveRestart) {
  run({"MSET", "a", "1", "b", "2"});
  run({"SET", "c", "3", "EX", "100"});
  driver_.restart();
  const auto status = driver_.replica().status();
  EXPECT_EQ(status.key_count, 3u);
  EXPECT_EQ(status.keys_with_expiry, 1u);
  EXPECT_EQ(status.applied_index, LogIndex(2));
}

TEST_F(StandaloneTest, CrashKeepsSyncedAndDropsUnsynced) {
  run({"SET", "durable", "1"});
  driver_.send(req({"SET", "lost", "2"}));
  driver_.crash();
  EXPECT_EQ(run({"GET", "durable"}), Reply::bulk("1"));
  EXPECT_EQ(run({"GET", "lost"}), Reply::nil());
  EXPECT_EQ(run({"DBSIZE"}), Reply::number(1));
}

// The record cache is a cache: off, tiny (evicting on every put, some records larger than all of
// it) or roomy, the same commands get the same answers. The keyspace reads records through
// pointers into the cache; this is the test that they never dangle across an eviction.
TEST(StandaloneCache, TheCacheSizeNeverChangesAnAnswer) {
  // Requests go in turns of 1 to 8 that share one batch, so reads, KEYS and SCAN also see the
  // open batch's writes: with the cache off those sit in the overlay, with the tiny cache pinned
  // there or — larger than it — in the overlay, with the roomy one pinned.
  replikv::testing::TestDriver off(1, 0), tiny(1, 400), roomy(1, 1 << 20);
  for (auto* driver : {&off, &tiny, &roomy}) driver->take_after_each_input(false);
  std::mt19937 random(11);
  auto key = [&] { return "k" + std::to_string(random() % 12); };
  auto value = [&] {
    return std::string(1 + random() % 320, static_cast<char>('a' + random() % 26));
  };
  for (int turn = 0; turn < 1000; ++turn) {
    std::vector<std::vector<std::string>> requests(1 + random() % 8);
    for (auto& words : requests) {
      const std::string k = key();
      const std::string v = value();
      const std::string n = std::to_string(random() % 5);
      switch (random() % 14) {
        case 0:
          words = {"SET", k, v};
          break;
        case 1:
          words = {"SET", k, v, "NX", "GET"};
          break;
        case 2:
          words = {"SET", k, v, "XX", "EX", "100"};
          break;
        case 3:
          words = {"SET", k, v, "KEEPTTL", "GET"};
          break;
        case 4:
          words = {"GET", k};
          break;
        case 5:
          words = {"DEL", k, key()};
          break;
        case 6:
          words = {"INCRBY", k, n};
          break;
        case 7:
          words = {"CAS", k, v};
          break;
        case 8:
          words = {"EXPIRE", k, "50"};
          break;
        case 9:
          words = {"PERSIST", k};
          break;
        case 10:
          words = {"TTL", k};
          break;
        case 11:
          words = {"KEYS", "*"};
          break;
        case 12:
          words = {"SCAN", "0", "COUNT", std::to_string(1 + random() % 8)};
          break;
        default:
          words = {"DBSIZE"};
          break;
      }
    }
    std::vector<std::vector<core::ClientReply>> replies;
    for (auto* driver : {&roomy, &off, &tiny}) {
      for (const auto& words : requests) {
        const std::vector<std::string_view> argv(words.begin(), words.end());
        driver->send(req(argv));
      }
      driver->sync();
      replies.push_back(driver->take_released());
    }
    ASSERT_EQ(replies[0].size(), requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      for (size_t other : {1, 2}) {
        ASSERT_EQ(replies[other].size(), requests.size());
        EXPECT_EQ(replies[other][i].reply, replies[0][i].reply)
            << "turn " << turn << ", " << requests[i][0] << ", cache "
            << (other == 1 ? "off" : "tiny");
      }
    }
    if (HasFailure()) return;
  }
}

TEST_F(StandaloneTest, ClockNeverMovesBack) {
  driver_.tick(5'000);
  run({"SET", "k", "v", "PX", "10"});
  driver_.tick(5'011);
  driver_.tick(1'000);  // the wall clock jumped back; expiry does not undo itself
  EXPECT_EQ(run({"GET", "k"}), Reply::nil());
}

}  // namespace
}  // namespace replikv::core
