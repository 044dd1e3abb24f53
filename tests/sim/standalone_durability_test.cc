// Durability of the standalone replica under crashes, over many seeds.
//
// Each run sends a random mix of SET, INCR and DEL on a few keys, with group commits and crashes
// at random points. A model applies every write in order and is copied at each sync. The checks:
//   - no reply is released while a write that changed the data, sent before it or it itself, is
//     not yet synced (a read of durable state may go at once, and so may a write that changed
//     nothing — an INCR refused, a DEL of an absent key; anything after an unsynced change waits
//     for the sync);
//   - every released reply is the one the model predicts (reads and INCR values);
//   - after each crash the stored state equals the model at the last sync: nothing acknowledged
//     is lost, and nothing unsynced survives.
// A failure prints the seed; rerun one with REPLIKV_SEED=<seed>.
#include <cstdlib>
#include <map>
#include <optional>

#include <gtest/gtest.h>

#include "core/random.h"
#include "support/driver.h"

namespace replikv::core {
namespace {

using Model = std::map<std::string, std::string>;

struct Sent {
  uint64_t sequence;
  std::optional<Reply> expected;  // nullopt: not checked
};

void run_seed(uint64_t seed, int steps) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun: REPLIKV_SEED=" + std::to_string(seed) +
               ")");
  Rng rng(seed);
  // The record cache: off, tiny (constant eviction), or large enough for every key.
  const uint64_t cache_sizes[] = {0, 300, 1 << 20};
  testing::TestDriver driver(seed, cache_sizes[(seed / 2) % 3]);
  // Odd seeds take a Ready after every input; even ones let requests share a batch until sync.
  driver.take_after_each_input(seed % 2 == 1);
  Model model, durable_model;
  std::map<uint64_t, Reply> expected;  // by sequence, for requests since the last sync
  const char* keys[] = {"a", "b", "c", "d"};
  int crashes = 0;
  std::optional<uint64_t> first_unsynced;  // the first write since the last sync
  // Checks every reply released so far against the model and the durability rule.
  auto check_released = [&] {
    for (const auto& reply : driver.take_released()) {
      ASSERT_TRUE(!first_unsynced || reply.sequence < *first_unsynced)
          << "reply " << reply.sequence << " left before write " << *first_unsynced
          << " was synced";
      ASSERT_EQ(reply.reply, expected.at(reply.sequence)) << "sequence " << reply.sequence;
      expected.erase(reply.sequence);
    }
  };
  auto sent_write = [&](uint64_t sequence) {
    if (!first_unsynced) first_unsynced = sequence;
  };
  for (int step = 0; step < steps; ++step) {
    const uint64_t action = rng.below(100);
    const std::string key = keys[rng.below(4)];
    if (action < 35) {
      const std::string value = std::to_string(rng.below(1000));
      const uint64_t sequence = driver.send(SetRequest{key, value, {}, {}, false});
      sent_write(sequence);
      expected[sequence] = Reply::ok();
      model[key] = value;
    } else if (action < 55) {
      const auto it = model.find(key);
      const int64_t next = (it == model.end() ? 0 : std::stoll(it->second)) + 1;
      const bool numeric =
          it == model.end() || it->second.find_first_not_of("0123456789") == std::string::npos;
      const uint64_t sequence = driver.send(IncrByRequest{key, 1});
      if (numeric) {
        sent_write(sequence);
        expected[sequence] = Reply::number(next);
        model[key] = std::to_string(next);
      } else {
        expected[sequence] = Reply::error("ERR value is not an integer or out of range");
      }
    } else if (action < 65) {
      const uint64_t sequence = driver.send(DelRequest{{key}});
      const bool deleted = model.erase(key) > 0;
      if (deleted) sent_write(sequence);
      expected[sequence] = Reply::number(deleted ? 1 : 0);
    } else if (action < 80) {
      const auto it = model.find(key);
      expected[driver.send(GetRequest{key})] =
          it == model.end() ? Reply::nil() : Reply::bulk(it->second);
    } else if (action < 95) {
      check_released();
      driver.sync();
      durable_model = model;
      first_unsynced.reset();
      check_released();
      ASSERT_TRUE(expected.empty()) << "a sync released every waiting reply";
    } else {
      check_released();
      driver.crash();
      first_unsynced.reset();
      ++crashes;
      model = durable_model;
      expected.clear();  // the replies still waiting are gone with the crash: outcome unknown
      for (const char* k : keys) {
        const uint64_t sequence = driver.send(GetRequest{k});
        driver.sync();
        const auto released = driver.take_released();
        ASSERT_EQ(released.size(), 1u);
        ASSERT_EQ(released[0].sequence, sequence);
        const auto it = model.find(k);
        ASSERT_EQ(released[0].reply, it == model.end() ? Reply::nil() : Reply::bulk(it->second))
            << "key " << k << " after crash " << crashes;
      }
      ASSERT_EQ(driver.replica().status().key_count, model.size());
    }
    check_released();
  }
}

TEST(StandaloneDurability, ManySeedsWithCrashes) {
  if (const char* seed = std::getenv("REPLIKV_SEED")) {
    run_seed(std::strtoull(seed, nullptr, 10), 2000);
    return;
  }
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    run_seed(seed, 400);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace replikv::core
