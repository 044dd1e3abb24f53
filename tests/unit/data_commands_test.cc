// The data families' commands (core/data/): parsed and checked as a client's, carried by the log
// as their arguments and run on a replica's keyspace; FLUSHALL's bounded flush across checkpoints.
// (Their replies against Redis 7's own are compared in tests/e2e/test_commands.py.)
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/command.h"
#include "core/data/collections.h"
#include "core/encoding.h"
#include "core/keyspace.h"
#include "core/random.h"
#include "core/write_codec.h"
#include "storage/memory_engine.h"

namespace replikv::core {
namespace {

std::variant<Request, Reply> parse(const std::vector<std::string>& words) {
  const std::vector<std::string_view> argv(words.begin(), words.end());
  const CommandSpec* spec = find_command(argv[0]);
  if (spec == nullptr) return Reply::error("no such command");
  if (auto error = check_arity(*spec, argv.size())) return *error;
  return parse_request(*spec, argv);
}

// Runs a command as a replica applies it: parsed where a client sent it, a write through its log
// form (taken at `now_ms`, as the leader takes it) and back.
Reply run(Keyspace& keyspace, const std::vector<std::string>& words, TimeMs now_ms = 1000) {
  auto parsed = parse(words);
  if (auto* error = std::get_if<Reply>(&parsed)) return *error;
  Request& request = std::get<Request>(parsed);
  if (!is_write(request)) return keyspace.execute(request, now_ms);
  const auto write = to_log_write(request, now_ms);
  EXPECT_TRUE(write.has_value());
  std::string bytes;
  EXPECT_TRUE(write->SerializeToString(&bytes));
  proto::Write decoded;
  EXPECT_TRUE(decoded.ParseFromString(bytes));
  return keyspace.execute(from_log_write(decoded), now_ms);
}

TEST(DataCommands, StringsAnswerAsRedisDoes) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 1 << 20);
  EXPECT_EQ(run(keyspace, {"append", "s", "hello"}), Reply::number(5));
  EXPECT_EQ(run(keyspace, {"APPEND", "s", " world"}), Reply::number(11));
  EXPECT_EQ(run(keyspace, {"strlen", "s"}), Reply::number(11));
  EXPECT_EQ(run(keyspace, {"strlen", "none"}), Reply::number(0));
  EXPECT_EQ(run(keyspace, {"getrange", "s", "0", "4"}), Reply::bulk("hello"));
  EXPECT_EQ(run(keyspace, {"getrange", "s", "-5", "-1"}), Reply::bulk("world"));
  EXPECT_EQ(run(keyspace, {"getrange", "s", "-1", "-5"}), Reply::bulk(""));
  EXPECT_EQ(run(keyspace, {"getrange", "s", "5", "1000"}), Reply::bulk(" world"));
  EXPECT_EQ(run(keyspace, {"substr", "s", "0", "0"}), Reply::bulk("h"));
  EXPECT_EQ(run(keyspace, {"getrange", "s", "x", "1"}),
            Reply::error("ERR value is not an integer or out of range"));
  EXPECT_EQ(run(keyspace, {"setrange", "p", "3", "ab"}), Reply::number(5));
  EXPECT_EQ(run(keyspace, {"get", "p"}), Reply::bulk(std::string("\0\0\0ab", 5)));
  EXPECT_EQ(run(keyspace, {"setrange", "q", "3", ""}), Reply::number(0));
  EXPECT_EQ(run(keyspace, {"exists", "q"}), Reply::number(0)) << "nothing created";
  EXPECT_EQ(run(keyspace, {"setrange", "q", "-1", "x"}),
            Reply::error("ERR offset is out of range"));
  EXPECT_EQ(run(keyspace, {"setrange", "q", "536870912", "x"}),
            Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(run(keyspace, {"setnx", "s", "x"}), Reply::number(0));
  EXPECT_EQ(run(keyspace, {"setnx", "n", "x"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"msetnx", "a", "1", "n", "2"}), Reply::number(0));
  EXPECT_EQ(run(keyspace, {"exists", "a"}), Reply::number(0)) << "none of the pairs";
  EXPECT_EQ(run(keyspace, {"msetnx", "a", "1", "b", "2"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"msetnx", "a", "1", "b"}),
            Reply::error("ERR wrong number of arguments for 'msetnx' command"));
  EXPECT_EQ(run(keyspace, {"getdel", "a"}), Reply::bulk("1"));
  EXPECT_EQ(run(keyspace, {"getdel", "a"}), Reply::nil());
  EXPECT_EQ(run(keyspace, {"getset", "b", "3"}), Reply::bulk("2"));
  EXPECT_EQ(run(keyspace, {"set", "f", "10.50"}), Reply::ok());
  EXPECT_EQ(run(keyspace, {"incrbyfloat", "f", "0.1"}), Reply::bulk("10.6"));
  EXPECT_EQ(run(keyspace, {"incrbyfloat", "f", "-5.0e1"}), Reply::bulk("-39.4"));
  EXPECT_EQ(run(keyspace, {"incrbyfloat", "f", "abc"}),
            Reply::error("ERR value is not a valid float"));
  EXPECT_EQ(run(keyspace, {"incrbyfloat", "s", "1"}),
            Reply::error("ERR value is not a valid float"));
  EXPECT_EQ(run(keyspace, {"incrbyfloat", "g", "1e5000"}),
            Reply::error("ERR value is not a valid float"));
  EXPECT_EQ(run(keyspace, {"setex", "e", "0", "v"}),
            Reply::error("ERR invalid expire time in 'setex' command"));
  EXPECT_EQ(run(keyspace, {"psetex", "e", "1500", "v"}, 1000), Reply::ok());
  EXPECT_EQ(run(keyspace, {"pexpiretime", "e"}), Reply::number(2500));
  EXPECT_EQ(run(keyspace, {"expiretime", "e"}), Reply::number(3)) << "rounded to the nearest";
  EXPECT_EQ(run(keyspace, {"expiretime", "s"}), Reply::number(-1));
  EXPECT_EQ(run(keyspace, {"expiretime", "none"}), Reply::number(-2));
}

// GETEX's relative times become an instant in the log, from the clock of the node that took
// it: a replica applying the entry later keeps the same deadline.
TEST(DataCommands, GetExEntersTheLogWithAnAbsoluteDeadline) {
  auto parsed = parse({"getex", "k", "EX", "10"});
  const auto write = to_log_write(std::get<Request>(parsed), 5000);
  ASSERT_TRUE(write.has_value() && write->has_command());
  const std::vector<std::string> argv(write->command().argv().begin(),
                                      write->command().argv().end());
  EXPECT_EQ(argv, (std::vector<std::string>{"getex", "k", "pxat", "15000"}));

  // A follower forwards it relative; the leader resolves it from its own clock.
  auto forwarded = to_log_write(std::get<Request>(parsed), std::nullopt);
  ASSERT_TRUE(forwarded.has_value());
  EXPECT_EQ(forwarded->command().argv(2), "EX");
  resolve_expiry(*forwarded, 7000);
  EXPECT_EQ(forwarded->command().argv(2), "pxat");
  EXPECT_EQ(forwarded->command().argv(3), "17000");

  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 0);
  run(keyspace, {"set", "k", "v"});
  EXPECT_EQ(keyspace.execute(from_log_write(*write), 9000), Reply::bulk("v"));
  EXPECT_EQ(run(keyspace, {"pexpiretime", "k"}), Reply::number(15000));
  EXPECT_EQ(run(keyspace, {"getex", "k", "persist"}), Reply::bulk("v"));
  EXPECT_EQ(run(keyspace, {"pexpiretime", "k"}), Reply::number(-1));
  EXPECT_EQ(run(keyspace, {"getex", "k", "pxat", "500"}, 1000), Reply::bulk("v"));
  EXPECT_EQ(run(keyspace, {"exists", "k"}), Reply::number(0)) << "a time already past deletes";
  EXPECT_EQ(run(keyspace, {"getex", "k", "ex", "1", "px", "5"}), Reply::error("ERR syntax error"));
  EXPECT_EQ(run(keyspace, {"getex", "k", "ex", "0"}),
            Reply::error("ERR invalid expire time in 'getex' command"));
}

// The largest relative time GETEX takes still parses once the log made it an instant (a replica
// stopped on an entry it cannot take back would stop every replica); and an entry whose
// arguments do not parse answers their error on every replica rather than stopping any.
TEST(DataCommands, NoLogEntryOfACommandStopsAReplica) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 0);
  run(keyspace, {"set", "k", "v"});
  EXPECT_EQ(run(keyspace, {"getex", "k", "px", "4611686018427387903"}), Reply::bulk("v"));
  EXPECT_EQ(run(keyspace, {"getex", "k", "ex", "4611686018427387"}), Reply::bulk("v"));
  proto::Write write;
  for (const char* word : {"setrange", "k", "-1", "x"}) write.mutable_command()->add_argv(word);
  EXPECT_EQ(keyspace.execute(from_log_write(write), 1000),
            Reply::error("ERR offset is out of range"));
}

// What a leader takes from a follower is checked before the log, which trusts its entries.
TEST(DataCommands, OnlyGoodWriteCommandsAreValidLogEntries) {
  const auto command_write = [](std::vector<std::string> argv) {
    proto::Write write;
    for (auto& argument : argv) write.mutable_command()->add_argv(std::move(argument));
    return write;
  };
  EXPECT_TRUE(is_valid_command_write(command_write({"append", "k", "v"})));
  EXPECT_TRUE(is_valid_command_write(command_write({"flushall"})));
  EXPECT_FALSE(is_valid_command_write(command_write({})));
  EXPECT_FALSE(is_valid_command_write(command_write({"append", "k"}))) << "arity";
  EXPECT_FALSE(is_valid_command_write(command_write({"setrange", "k", "-1", "v"}))) << "args";
  EXPECT_FALSE(is_valid_command_write(command_write({"strlen", "k"}))) << "a read";
  EXPECT_FALSE(is_valid_command_write(command_write({"set", "k", "v"}))) << "not a family's";
  EXPECT_FALSE(is_valid_command_write(command_write({"nosuch"})));
}

TEST(DataCommands, KeyspaceCommandsMoveValuesWithTheirTimeToLive) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 1 << 20);
  run(keyspace, {"set", "a", "1", "pxat", "90000"});
  run(keyspace, {"set", "b", "2"});
  EXPECT_EQ(run(keyspace, {"rename", "a", "c"}), Reply::ok());
  EXPECT_EQ(run(keyspace, {"pexpiretime", "c"}), Reply::number(90000));
  EXPECT_EQ(run(keyspace, {"exists", "a"}), Reply::number(0));
  EXPECT_EQ(run(keyspace, {"rename", "a", "c"}), Reply::error("ERR no such key"));
  EXPECT_EQ(run(keyspace, {"renamenx", "c", "b"}), Reply::number(0));
  EXPECT_EQ(run(keyspace, {"renamenx", "c", "c"}), Reply::number(0));
  EXPECT_EQ(run(keyspace, {"rename", "c", "c"}), Reply::ok());
  EXPECT_EQ(run(keyspace, {"copy", "c", "b"}), Reply::number(0));
  EXPECT_EQ(run(keyspace, {"copy", "c", "b", "REPLACE"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"get", "b"}), Reply::bulk("1"));
  EXPECT_EQ(run(keyspace, {"pexpiretime", "b"}), Reply::number(90000));
  EXPECT_EQ(run(keyspace, {"copy", "c", "c"}),
            Reply::error("ERR source and destination objects are the same"));
  EXPECT_EQ(run(keyspace, {"copy", "c", "d", "db", "1"}),
            Reply::error("ERR DB index is out of range"));
  EXPECT_EQ(run(keyspace, {"type", "c"}), Reply::status("string"));
  EXPECT_EQ(run(keyspace, {"type", "zz"}), Reply::status("none"));
  EXPECT_EQ(run(keyspace, {"touch", "b", "c", "zz", "b"}), Reply::number(3));
  EXPECT_EQ(run(keyspace, {"unlink", "b", "zz"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"object", "encoding", "c"}), Reply::bulk("int"));
  run(keyspace, {"set", "long", std::string(45, 'x')});
  EXPECT_EQ(run(keyspace, {"object", "encoding", "long"}), Reply::bulk("raw"));
  EXPECT_EQ(run(keyspace, {"object", "encoding", "zz"}), Reply::nil());
  EXPECT_EQ(run(keyspace, {"object", "nosuch", "c"}),
            Reply::error("ERR unknown subcommand 'nosuch'. Try OBJECT HELP."));
  EXPECT_EQ(run(keyspace, {"object", "encoding"}),
            Reply::error("ERR wrong number of arguments for 'object|encoding' command"));
}

TEST(DataCommands, RandomKeyFindsEveryLiveKeyAndNoExpiredOne) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 1 << 20);
  EXPECT_EQ(run(keyspace, {"randomkey"}), Reply::nil());
  for (int i = 0; i < 8; ++i) run(keyspace, {"set", "k" + std::to_string(i), "v"});
  run(keyspace, {"set", "gone", "v", "pxat", "1500"});
  std::set<std::string> seen;
  for (int i = 0; i < 400; ++i) {
    const Reply key = run(keyspace, {"randomkey"}, 2000);
    ASSERT_EQ(key.kind, Reply::Kind::bulk);
    seen.insert(key.text);
  }
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_FALSE(seen.contains("gone"));
}

Reply exec(Keyspace& keyspace, std::vector<std::vector<std::string>> commands,
           std::vector<WatchedKey> watched, TimeMs now_ms = 1000) {
  return keyspace.execute(TransactionRequest{std::move(commands), std::move(watched), true},
                          now_ms);
}

std::vector<WatchedKey> watch(Keyspace& keyspace, const std::vector<std::string>& keys,
                              TimeMs now_ms = 1000) {
  const Reply reply = keyspace.execute(WatchRequest{keys}, now_ms);
  EXPECT_EQ(reply.elements.size(), keys.size() + 1);
  std::vector<WatchedKey> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out.push_back({keys[i], static_cast<uint64_t>(reply.elements[0].integer),
                   reply.elements[i + 1].integer != 0});
  }
  return out;
}

// Two keys whose hashes fall in different erase-version buckets.
std::pair<std::string, std::string> keys_in_two_buckets() {
  for (int i = 0;; ++i) {
    std::string a = "a" + std::to_string(i), b = "b" + std::to_string(i);
    if (key_hash(a) % erase_version_buckets != key_hash(b) % erase_version_buckets) return {a, b};
  }
}

// A transaction runs its commands in order as one step, a command's bad arguments answering in
// its place; WATCH's versions abort it when a watched key was written, deleted, expired or
// created since — and only then (an absent key whose bucket saw no erase is left alone).
TEST(Transactions, RunWholeOrAbortWhenAWatchedKeyChanged) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 1 << 20);
  EXPECT_EQ(exec(keyspace,
                 {{"set", "a", "1"}, {"set", "a", "1", "bogus"}, {"incr", "a"}, {"get", "a"}}, {}),
            Reply::array({Reply::ok(), Reply::error("ERR syntax error"), Reply::number(2),
                          Reply::bulk("2")}));
  const auto [absent, other] = keys_in_two_buckets();
  auto watched = watch(keyspace, {"a", absent});
  EXPECT_TRUE(watched[0].live);
  EXPECT_FALSE(watched[1].live);
  run(keyspace, {"set", other, "x"});
  run(keyspace, {"del", other});  // an erase in another bucket
  run(keyspace, {"get", "a"});
  EXPECT_EQ(exec(keyspace, {{"incr", "a"}}, watched), Reply::array({Reply::number(3)}));

  watched = watch(keyspace, {"a"});
  run(keyspace, {"set", "a", "3"});  // the same value: still a write
  EXPECT_EQ(exec(keyspace, {{"incr", "a"}}, watched), Reply::null_array());
  EXPECT_EQ(run(keyspace, {"get", "a"}), Reply::bulk("3")) << "nothing of it ran";

  watched = watch(keyspace, {"a"});
  run(keyspace, {"del", "a"});
  EXPECT_EQ(exec(keyspace, {{"set", "z", "1"}}, watched), Reply::null_array());

  watched = watch(keyspace, {absent});
  run(keyspace, {"set", absent, "x"});
  run(keyspace, {"del", absent});  // created and deleted again since
  EXPECT_EQ(exec(keyspace, {{"set", "z", "1"}}, watched), Reply::null_array());

  run(keyspace, {"set", "e", "v", "pxat", "1500"});
  watched = watch(keyspace, {"e"}, 1000);
  EXPECT_EQ(exec(keyspace, {{"set", "z", "1"}}, watched, 2000), Reply::null_array())
      << "expired since";

  watched = watch(keyspace, {absent});
  run(keyspace, {"flushall"});
  EXPECT_EQ(exec(keyspace, {{"set", "z", "1"}}, watched), Reply::null_array());
}

// Write versions and the erase buckets are replicated state: written with the checkpoint, read
// back by a keyspace opened from storage (a restart), so EXEC decides there as it would have.
TEST(Transactions, WriteVersionsSurviveAReopen) {
  storage::MemoryEngine engine;
  auto keyspace = std::make_unique<Keyspace>(engine, 1 << 20);
  run(*keyspace, {"set", "kept", "1"});
  auto watched = watch(*keyspace, {"kept", "gone"});
  run(*keyspace, {"set", "gone", "x"});
  run(*keyspace, {"del", "gone"});
  WriteBatch batch;
  keyspace->checkpoint(batch);
  ASSERT_TRUE(engine.write(batch).is_ok());
  keyspace = std::make_unique<Keyspace>(engine, 1 << 20);
  EXPECT_EQ(exec(*keyspace, {{"get", "kept"}}, {watched[1]}), Reply::null_array())
      << "the erase since WATCH is known after the reopen";
  EXPECT_EQ(exec(*keyspace, {{"get", "kept"}}, {watched[0]}), Reply::array({Reply::bulk("1")}));
  run(*keyspace, {"set", "kept", "2"});
  keyspace->checkpoint(batch);
  ASSERT_TRUE(engine.write(batch).is_ok());
  keyspace = std::make_unique<Keyspace>(engine, 1 << 20);
  EXPECT_EQ(exec(*keyspace, {{"get", "kept"}}, {watched[0]}), Reply::null_array())
      << "a record's version is stored with it";
}

// FLUSHALL drops the dirty state and hides storage until a checkpoint that erases the columns
// has landed — also when a checkpoint from before it is still in flight — so no read, count,
// scan or expiry sweep sees a flushed key, and a keyspace opened from storage afterwards holds
// exactly what was written after the flush.
class FlushAcrossCheckpoints : public ::testing::TestWithParam<uint64_t> {};

TEST_P(FlushAcrossCheckpoints, NoFlushedKeyIsSeenBeforeOrAfterItsCheckpoint) {
  storage::MemoryEngine engine;
  auto keyspace = std::make_unique<Keyspace>(engine, GetParam());
  for (int i = 0; i < 20; ++i) {
    run(*keyspace, {"set", "stored" + std::to_string(i), "v", "pxat", "1500"});
  }
  WriteBatch batch;
  keyspace->checkpoint(batch);
  ASSERT_TRUE(engine.write(batch).is_ok());
  batch.clear();
  run(*keyspace, {"set", "in-flight", "v"});
  keyspace->begin_checkpoint(batch);  // not yet in storage
  run(*keyspace, {"set", "dirty", "v"});

  EXPECT_EQ(run(*keyspace, {"flushall"}), Reply::ok());
  run(*keyspace, {"set", "after", "v"});
  const auto only_after = [&](const char* when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(run(*keyspace, {"dbsize"}), Reply::number(1));
    EXPECT_EQ(run(*keyspace, {"keys", "*"}), Reply::array({Reply::bulk("after")}));
    EXPECT_EQ(run(*keyspace, {"get", "stored3"}), Reply::nil());
    EXPECT_EQ(run(*keyspace, {"get", "in-flight"}), Reply::nil());
    EXPECT_EQ(run(*keyspace, {"get", "dirty"}), Reply::nil());
    EXPECT_EQ(run(*keyspace, {"randomkey"}), Reply::bulk("after"));
    EXPECT_TRUE(keyspace->due_keys(2000, 100).empty()) << "the expiry index is flushed too";
  };
  only_after("the checkpoint from before the flush still in flight");
  ASSERT_TRUE(engine.write(batch).is_ok());
  batch.clear();
  keyspace->end_checkpoint();
  only_after("storage has the checkpoint from before the flush");
  EXPECT_TRUE(keyspace->dirty());
  keyspace->begin_checkpoint(batch);
  only_after("the flush's checkpoint in flight");
  ASSERT_TRUE(engine.write(batch).is_ok());
  keyspace->end_checkpoint();
  only_after("the flush's checkpoint in storage");
  const std::string digest = keyspace->digest();

  keyspace = std::make_unique<Keyspace>(engine, GetParam());
  only_after("opened again from storage");
  EXPECT_EQ(keyspace->digest(), digest);
  EXPECT_EQ(keyspace->expiry_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(CacheSizes, FlushAcrossCheckpoints,
                         ::testing::Values(uint64_t{0}, uint64_t{200}, uint64_t{1} << 20));

// Hashes and sets against a model: random writes over a few keys — fields set and deleted,
// members added and removed, keys deleted, renamed, copied and overwritten by strings — with
// checkpoints begun and landed at random points (writes in between belong to the next one), with
// the cache on and off. Every read agrees with the model, storage's elements column holds exactly
// the model's elements once everything has landed (a deleted collection leaves nothing behind),
// and a keyspace opened from storage reads the same, digest included.
class CollectionsAgainstAModel : public ::testing::TestWithParam<uint64_t> {};

TEST_P(CollectionsAgainstAModel, ReadsAgreeAcrossCheckpointsAndAReopen) {
  storage::MemoryEngine engine;
  auto keyspace = std::make_unique<Keyspace>(engine, GetParam());
  std::map<std::string, std::map<std::string, std::string>> hashes;
  std::map<std::string, std::set<std::string>> sets;
  std::map<std::string, std::map<std::string, double>> zsets;
  std::map<std::string, std::vector<std::string>> lists;
  std::set<std::string> strings;
  Rng random(GetParam() + 11);
  WriteBatch in_flight;
  bool flying = false;
  const auto pick = [&](const char* prefix, uint64_t n) {
    return prefix + std::to_string(random.below(n));
  };
  const auto forget = [&](const std::string& key) {
    hashes.erase(key);
    sets.erase(key);
    zsets.erase(key);
    lists.erase(key);
    strings.erase(key);
  };
  const auto move_model = [&](const std::string& from, const std::string& to) {
    if (hashes.contains(from)) hashes[to] = hashes[from];
    if (sets.contains(from)) sets[to] = sets[from];
    if (zsets.contains(from)) zsets[to] = zsets[from];
    if (lists.contains(from)) lists[to] = lists[from];
    if (strings.contains(from)) strings.insert(to);
  };
  const auto live = [&](const std::string& key) {
    return hashes.contains(key) || sets.contains(key) || zsets.contains(key) ||
           lists.contains(key) || strings.contains(key);
  };
  const char* const prefixes[] = {"h", "s", "z", "l"};
  const auto check = [&](const std::string& key) {
    SCOPED_TRACE(key);
    const Reply type = run(*keyspace, {"type", key});
    if (strings.contains(key)) {
      EXPECT_EQ(type, Reply::status("string"));
      EXPECT_EQ(run(*keyspace, {"hlen", key}), wrong_type());
      return;
    }
    if (const auto it = hashes.find(key); it != hashes.end()) {
      EXPECT_EQ(type, Reply::status("hash"));
      std::map<std::string, std::string> seen;
      const Reply all = run(*keyspace, {"hgetall", key});
      for (size_t i = 0; i + 1 < all.elements.size(); i += 2)
        seen[all.elements[i].text] = all.elements[i + 1].text;
      EXPECT_EQ(seen, it->second);
      EXPECT_EQ(run(*keyspace, {"hlen", key}),
                Reply::number(static_cast<int64_t>(it->second.size())));
      return;
    }
    if (const auto it = sets.find(key); it != sets.end()) {
      EXPECT_EQ(type, Reply::status("set"));
      std::set<std::string> seen;
      for (const Reply& member : run(*keyspace, {"smembers", key}).elements)
        seen.insert(member.text);
      EXPECT_EQ(seen, it->second);
      EXPECT_EQ(run(*keyspace, {"scard", key}),
                Reply::number(static_cast<int64_t>(it->second.size())));
      return;
    }
    if (const auto it = zsets.find(key); it != zsets.end()) {
      EXPECT_EQ(type, Reply::status("zset"));
      // In score order from either end (the walk up and the walk down), members by score.
      std::vector<std::pair<double, std::string>> ordered;
      for (const auto& [member, score] : it->second) ordered.emplace_back(score, member);
      std::sort(ordered.begin(), ordered.end());
      std::vector<Reply> forward, backward;
      for (const auto& [score, member] : ordered) {
        forward.push_back(Reply::bulk(member));
        forward.push_back(Reply::bulk(render_score(score)));
      }
      for (auto at = ordered.rbegin(); at != ordered.rend(); ++at)
        backward.push_back(Reply::bulk(at->second));
      EXPECT_EQ(run(*keyspace, {"zrange", key, "0", "-1", "withscores"}), Reply::array(forward));
      EXPECT_EQ(run(*keyspace, {"zrange", key, "+inf", "-inf", "byscore", "rev"}),
                Reply::array(backward));
      const auto& [score, member] = ordered[ordered.size() / 2];
      EXPECT_EQ(run(*keyspace, {"zrank", key, member}),
                Reply::number(static_cast<int64_t>(ordered.size() / 2)));
      return;
    }
    if (const auto it = lists.find(key); it != lists.end()) {
      EXPECT_EQ(type, Reply::status("list"));
      std::vector<Reply> elements;
      for (const auto& element : it->second) elements.push_back(Reply::bulk(element));
      EXPECT_EQ(run(*keyspace, {"lrange", key, "0", "-1"}), Reply::array(elements));
      // The last occurrence of the first element, found walking from the tail.
      const auto last = std::find(it->second.rbegin(), it->second.rend(), it->second.front());
      EXPECT_EQ(run(*keyspace, {"lpos", key, it->second.front(), "rank", "-1"}),
                Reply::number(static_cast<int64_t>(it->second.rend() - last - 1)));
      return;
    }
    EXPECT_EQ(type, Reply::status("none"));
    EXPECT_EQ(run(*keyspace, {"hgetall", key}), Reply::array());
  };
  const auto check_all = [&] {
    for (int i = 0; i < 4; ++i) {
      for (const char* prefix : prefixes) check(prefix + std::to_string(i));
    }
  };
  for (int step = 0; step < 6000; ++step) {
    const uint64_t choice = random.below(100);
    std::string key;
    if (random.below(2) == 0) {
      // Sorted sets and lists (the other half of the steps).
      const uint64_t op = random.below(10);
      if (op < 3) {
        key = pick("z", 4);
        const std::string member = pick("m", 12);
        const double score = static_cast<double>(random.below(7)) - 3;
        const Reply reply = run(*keyspace, {"zincrby", key, std::to_string(score), member});
        if (strings.contains(key)) {
          EXPECT_EQ(reply, wrong_type());
        } else {
          zsets[key][member] += score;
          EXPECT_EQ(reply, Reply::bulk(render_score(zsets[key][member])));
        }
      } else if (op < 4) {
        key = pick("z", 4);
        const std::string member = pick("m", 12);
        if (zsets.contains(key)) {
          EXPECT_EQ(run(*keyspace, {"zrem", key, member}),
                    Reply::number(static_cast<int64_t>(zsets[key].erase(member))));
          if (zsets[key].empty()) zsets.erase(key);
        }
      } else if (op < 7) {
        key = pick("l", 4);
        const bool left = random.below(2) == 0;
        const std::string element = pick("e", 6);
        if (!strings.contains(key)) {
          auto& list = lists[key];
          left ? (void)list.insert(list.begin(), element) : list.push_back(element);
          EXPECT_EQ(run(*keyspace, {left ? "lpush" : "rpush", key, element}),
                    Reply::number(static_cast<int64_t>(list.size())));
        }
      } else if (op < 8) {
        key = pick("l", 4);
        if (lists.contains(key)) {
          auto& list = lists[key];
          const bool left = random.below(2) == 0;
          const std::string expected = left ? list.front() : list.back();
          left ? (void)list.erase(list.begin()) : list.pop_back();
          EXPECT_EQ(run(*keyspace, {left ? "lpop" : "rpop", key}), Reply::bulk(expected));
          if (list.empty()) lists.erase(key);
        }
      } else if (op < 9) {
        key = pick("l", 4);
        if (lists.contains(key)) {
          auto& list = lists[key];
          const std::string pivot = list[random.below(list.size())];
          const bool after = random.below(2) == 0;
          auto at = std::find(list.begin(), list.end(), pivot);
          list.insert(after ? at + 1 : at, "ins" + std::to_string(step));
          EXPECT_EQ(run(*keyspace, {"linsert", key, after ? "after" : "before", pivot,
                                    "ins" + std::to_string(step)}),
                    Reply::number(static_cast<int64_t>(list.size())));
        }
      } else {
        key = pick("l", 4);
        if (lists.contains(key)) {
          auto& list = lists[key];
          const uint64_t index = random.below(list.size());
          list[index] = "set" + std::to_string(step);
          EXPECT_EQ(run(*keyspace, {"lset", key, std::to_string(index), list[index]}), Reply::ok());
        }
      }
      check(key);
      continue;
    }
    if (choice < 35) {
      key = pick("h", 4);
      const std::string field = pick("f", 12), value = "v" + std::to_string(step);
      const Reply reply = run(*keyspace, {"hset", key, field, value});
      if (strings.contains(key)) {
        EXPECT_EQ(reply, wrong_type());
      } else {
        EXPECT_EQ(reply, Reply::number(hashes[key].contains(field) ? 0 : 1));
        hashes[key][field] = value;
      }
    } else if (choice < 50) {
      key = pick("h", 4);
      const std::string field = pick("f", 12);
      if (!strings.contains(key) && hashes.contains(key)) {
        EXPECT_EQ(run(*keyspace, {"hdel", key, field}),
                  Reply::number(static_cast<int64_t>(hashes[key].erase(field))));
        if (hashes[key].empty()) hashes.erase(key);
      }
    } else if (choice < 70) {
      key = pick("s", 4);
      const std::string member = pick("m", 12);
      if (!strings.contains(key)) {
        EXPECT_EQ(run(*keyspace, {"sadd", key, member}),
                  Reply::number(sets[key].insert(member).second ? 1 : 0));
      }
    } else if (choice < 80) {
      key = pick("s", 4);
      const std::string member = pick("m", 12);
      if (!strings.contains(key) && sets.contains(key)) {
        EXPECT_EQ(run(*keyspace, {"srem", key, member}),
                  Reply::number(static_cast<int64_t>(sets[key].erase(member))));
        if (sets[key].empty()) sets.erase(key);
      }
    } else if (choice < 83) {
      key = pick(prefixes[random.below(4)], 4);
      run(*keyspace, {"del", key});
      forget(key);
    } else if (choice < 86) {
      // RENAME within a family, so the model's maps stay by prefix.
      const char* prefix = prefixes[random.below(4)];
      const std::string from = pick(prefix, 4);
      key = pick(prefix, 4);
      const bool was_live = live(from);
      EXPECT_EQ(run(*keyspace, {"rename", from, key}),
                was_live ? Reply::ok() : Reply::error("ERR no such key"));
      if (was_live && from != key) {
        forget(key);
        move_model(from, key);
        forget(from);
      }
      check(from);
    } else if (choice < 89) {
      const char* prefix = prefixes[random.below(4)];
      const std::string from = pick(prefix, 4);
      key = pick(prefix, 4);
      const bool was_live = live(from);
      if (from != key) {
        EXPECT_EQ(run(*keyspace, {"copy", from, key, "replace"}), Reply::number(was_live ? 1 : 0));
        if (was_live) {
          forget(key);
          move_model(from, key);
        }
      }
    } else if (choice < 91) {
      key = pick(prefixes[random.below(4)], 4);
      EXPECT_EQ(run(*keyspace, {"set", key, "text"}), Reply::ok());
      forget(key);
      strings.insert(key);
    } else {
      // A checkpoint step: begin one, or land the one in flight.
      if (flying) {
        ASSERT_TRUE(engine.write(in_flight).is_ok());
        in_flight.clear();
        keyspace->end_checkpoint();
        flying = false;
      } else {
        keyspace->begin_checkpoint(in_flight);
        flying = keyspace->checkpoint_in_flight();
      }
      check_all();
      continue;
    }
    check(key);
  }
  if (flying) {
    ASSERT_TRUE(engine.write(in_flight).is_ok());
    keyspace->end_checkpoint();
  }
  in_flight.clear();
  keyspace->checkpoint(in_flight);
  ASSERT_TRUE(engine.write(in_flight).is_ok());
  check_all();
  uint64_t elements = 0, expected = 0;
  engine.scan(Column::elements, {}, [&](std::string_view, std::string_view) {
    ++elements;
    return true;
  });
  for (const auto& [key, fields] : hashes) expected += fields.size();
  for (const auto& [key, members] : sets) expected += members.size();
  for (const auto& [key, members] : zsets) expected += 2 * members.size();  // by member, by score
  for (const auto& [key, list] : lists) expected += list.size();
  EXPECT_EQ(elements, expected) << "storage holds the live collections' elements and no others";
  const std::string digest = keyspace->digest();
  keyspace = std::make_unique<Keyspace>(engine, GetParam());
  check_all();
  EXPECT_EQ(keyspace->digest(), digest);
}

INSTANTIATE_TEST_SUITE_P(CacheSizes, CollectionsAgainstAModel,
                         ::testing::Values(uint64_t{0}, uint64_t{300}, uint64_t{1} << 20));

// Deleting a collection is bounded work whatever its size (Redis's lazy-free concern): the DEL's
// checkpoint erases the collection's elements with one range erase, not one erase per element —
// and expiry drops a collection the same way.
TEST(Collections, DeletingALargeCollectionIsOneRangeErase) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 1 << 20);
  std::vector<std::string> sadd = {"sadd", "big"};
  for (int i = 0; i < 5000; ++i) sadd.push_back("member" + std::to_string(i));
  EXPECT_EQ(run(keyspace, sadd), Reply::number(5000));
  EXPECT_EQ(run(keyspace, {"hset", "brief", "f", "v"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"pexpireat", "brief", "1500"}), Reply::number(1));
  WriteBatch batch;
  keyspace.checkpoint(batch);
  ASSERT_TRUE(engine.write(batch).is_ok());
  batch.clear();

  EXPECT_EQ(run(keyspace, {"del", "big"}), Reply::number(1));
  EXPECT_EQ(keyspace.expire_due(2000, 10), 1u);
  keyspace.checkpoint(batch);
  uint64_t element_operations = 0;
  for (const auto& operation : batch.operations())
    element_operations += operation.column == Column::elements ? 1 : 0;
  EXPECT_EQ(element_operations, 2u) << "one range erase per collection";
  ASSERT_TRUE(engine.write(batch).is_ok());
  bool any = false;
  engine.scan(Column::elements, {}, [&](std::string_view, std::string_view) {
    any = true;
    return false;
  });
  EXPECT_FALSE(any);
  EXPECT_EQ(run(keyspace, {"dbsize"}), Reply::number(0));

  // A collection made and deleted between two checkpoints never reached storage: its delete
  // writes nothing to the elements column (no range erase to pile up in a queue that empties).
  batch.clear();
  EXPECT_EQ(run(keyspace, {"rpush", "queue", "job"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"lpop", "queue"}), Reply::bulk("job"));
  keyspace.checkpoint(batch);
  for (const auto& operation : batch.operations()) EXPECT_NE(operation.column, Column::elements);

  // Members repeated in one command count once, on a new key too (a count of two for one
  // member once made SPOP stop every replica).
  EXPECT_EQ(run(keyspace, {"sadd", "s", "a", "a"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"spop", "s"}), Reply::bulk("a"));
  EXPECT_EQ(run(keyspace, {"spop", "s"}), Reply::nil());
  EXPECT_EQ(run(keyspace, {"hset", "h", "f", "1", "f", "2"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"hlen", "h"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"zadd", "z", "1", "a", "2", "a"}), Reply::number(1));
  EXPECT_EQ(run(keyspace, {"zrange", "z", "0", "-1", "withscores"}),
            Reply::array({Reply::bulk("a"), Reply::bulk("2")}));
}

// Random draws (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) cost what they draw, not the
// collection's size, draw existing members — distinct ones for a positive count — and SPOP, a
// write, draws the same on every replica whatever reads each one served before.
TEST(Collections, RandomDrawsAreBoundedDistinctAndSPopIsTheSameEverywhere) {
  storage::MemoryEngine engine_a, engine_b;
  Keyspace a(engine_a, 1 << 20), b(engine_b, 1 << 20);
  std::vector<std::string> sadd = {"sadd", "s"};
  std::set<std::string> all;
  for (int i = 0; i < 200; ++i) {
    sadd.push_back("m" + std::to_string(i));
    all.insert(sadd.back());
  }
  EXPECT_EQ(run(a, sadd), Reply::number(200));
  EXPECT_EQ(run(b, sadd), Reply::number(200));
  const Reply some = run(a, {"srandmember", "s", "10"});
  std::set<std::string> distinct;
  for (const Reply& member : some.elements) {
    EXPECT_TRUE(all.contains(member.text)) << member.text;
    distinct.insert(member.text);
  }
  EXPECT_EQ(distinct.size(), 10u);
  const Reply repeats = run(a, {"srandmember", "s", "-300"});
  ASSERT_EQ(repeats.elements.size(), 300u);
  for (const Reply& member : repeats.elements) EXPECT_TRUE(all.contains(member.text));
  EXPECT_EQ(run(a, {"srandmember", "s", "500"}).elements.size(), 200u) << "at most every member";
  // Only `a` served reads; the pops agree anyway, and pop every member exactly once.
  std::multiset<std::string> popped;
  for (int i = 0; i < 40; ++i) {
    const Reply from_a = run(a, {"spop", "s", "5"});
    EXPECT_EQ(from_a, run(b, {"spop", "s", "5"}));
    for (const Reply& member : from_a.elements) popped.insert(member.text);
  }
  EXPECT_EQ(std::set<std::string>(popped.begin(), popped.end()), all);
  EXPECT_EQ(popped.size(), all.size());
  EXPECT_EQ(run(a, {"exists", "s"}), Reply::number(0));
  EXPECT_EQ(a.digest(), b.digest());
}

}  // namespace
}  // namespace replikv::core
