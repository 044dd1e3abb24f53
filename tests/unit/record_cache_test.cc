// The record cache: CLOCK eviction within a byte budget, absence cached too.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/random.h"

#include "core/record_cache.h"

namespace replikv::core {
namespace {

constexpr uint64_t overhead = RecordCache::entry_overhead_bytes;

CachedRecord record(std::string value) { return {std::move(value), std::nullopt, {}}; }

TEST(RecordCache, FindsWhatWasPutIncludingAbsence) {
  RecordCache cache(10'000);
  EXPECT_EQ(cache.find("k"), nullptr);
  cache.put("k", record("v"));
  cache.put("gone", std::nullopt);
  ASSERT_NE(cache.find("k"), nullptr);
  EXPECT_EQ((*cache.find("k"))->value, "v");
  ASSERT_NE(cache.find("gone"), nullptr);
  EXPECT_FALSE(cache.find("gone")->has_value());
  EXPECT_EQ(cache.hits(), 4u);
  EXPECT_EQ(cache.misses(), 1u);
}

TEST(RecordCache, CountsBytesAndUpdatesInPlace) {
  RecordCache cache(10'000);
  cache.put("ab", record("1234"));
  EXPECT_EQ(cache.bytes(), 2 + 4 + overhead);
  cache.put("ab", record("1"));
  EXPECT_EQ(cache.bytes(), 2 + 1 + overhead);
  EXPECT_EQ(cache.entries(), 1u);
  cache.put("ab", std::nullopt);
  EXPECT_EQ(cache.bytes(), 2 + overhead);
}

TEST(RecordCache, EvictsWhatWasNotUsedSinceTheHandPassed) {
  RecordCache cache(3 * (1 + 1 + overhead));  // room for three one-byte keys with one-byte values
  cache.put("a", record("1"));
  cache.put("b", record("2"));
  cache.put("c", record("3"));
  cache.put("d", record("4"));  // the hand clears a, b and c, then evicts a: d is never the one
  EXPECT_EQ(cache.find("a"), nullptr);
  ASSERT_NE(cache.find("c"), nullptr);  // c used again since the hand passed it
  cache.put("e", record("5"));          // b was not: evicted, c kept
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_NE(cache.find("c"), nullptr);
  EXPECT_NE(cache.find("d"), nullptr);
  EXPECT_NE(cache.find("e"), nullptr);
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_EQ(cache.bytes(), 3 * (2 + overhead));
}

// A model check: whatever the cache forgets, what it answers is what was put last, its byte count
// is its entries' sum, it stays within its budget, and the entry just put is always kept. Many
// keys over a small budget make eviction, slot reuse and the table's backward shifts frequent.
TEST(RecordCache, AnswersOnlyWhatWasPutLastAndStaysWithinItsBudget) {
  for (const uint64_t budget :
       {uint64_t{0}, 5 * (8 + overhead), 200 * (20 + overhead), uint64_t{1} << 30}) {
    RecordCache cache(budget);
    std::map<std::string, std::optional<std::string>> model;
    Rng random(budget + 7);
    for (int step = 0; step < 20'000; ++step) {
      const std::string key = "k" + std::to_string(random.below(500));
      if (random.below(3) == 0) {
        const auto* found = cache.find(key);
        if (found == nullptr) continue;
        const auto it = model.find(key);
        ASSERT_NE(it, model.end()) << "an entry never put: " << key;
        ASSERT_EQ(found->has_value(), it->second.has_value()) << key;
        if (*found) {
          ASSERT_EQ((*found)->value, *it->second) << key;
        }
        continue;
      }
      std::optional<std::string> value;
      if (random.below(4) != 0)
        value = std::string(random.below(13), static_cast<char>('a' + step % 26));
      model[key] = value;
      const auto* kept =
          cache.put(key, value ? std::optional<CachedRecord>(record(*value)) : std::nullopt);
      const uint64_t size = key.size() + (value ? value->size() : 0);
      ASSERT_EQ(kept != nullptr, cache.keeps(size)) << key;
      if (kept) {
        ASSERT_EQ(cache.find(key), kept);
      }
      ASSERT_LE(cache.bytes(), budget);
    }
    if (budget == (uint64_t{1} << 30)) {
      EXPECT_EQ(cache.entries(), model.size());  // room for all: nothing was evicted
    }
    uint64_t bytes = 0;
    uint64_t entries = 0;
    for (const auto& [key, value] : model) {
      const auto* found = cache.find(key);
      if (found == nullptr) continue;
      ++entries;
      bytes += key.size() + (*found ? (*found)->value.size() : 0) + overhead;
    }
    EXPECT_EQ(entries, cache.entries());
    EXPECT_EQ(bytes, cache.bytes());
  }
}

TEST(RecordCache, AnEntryLargerThanTheBudgetIsNotKept) {
  RecordCache cache(overhead + 10);
  cache.put("k", record(std::string(100, 'x')));
  EXPECT_EQ(cache.find("k"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(RecordCache, APinnedEntryStaysUntilUnpinnedEvenOverTheBudget) {
  RecordCache cache(2 * (1 + 1 + overhead));  // room for two
  cache.put("a", record("1"), /*pin=*/true);
  cache.put("b", record("2"), /*pin=*/true);
  cache.put("c", record("3"), /*pin=*/true);  // over the budget: nothing evictable
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_EQ(cache.pinned_count(), 3u);
  EXPECT_NE(cache.find("a"), nullptr);
  cache.put("d", record("4"));  // unpinned: kept (just put), the pinned ones too
  EXPECT_EQ(cache.entries(), 4u);
  cache.unpin_all();
  EXPECT_EQ(cache.pinned_count(), 0u);
  EXPECT_LE(cache.bytes(), 2 * (2 + overhead));
  EXPECT_EQ(cache.entries(), 2u);
}

// What a checkpoint policy reads: each pinned entry counted once, at its current size, whatever
// number of writes put it there; a frozen generation no longer counts, an entry written again
// since counts anew.
TEST(RecordCache, PinnedBytesCountEachEntryOnceAtItsCurrentSize) {
  RecordCache cache(10'000);
  cache.put("ab", record("1234"), /*pin=*/true);
  cache.put("ab", record("12"), /*pin=*/true);
  cache.put("ab", record("123"), /*pin=*/true);
  EXPECT_EQ(cache.pinned_bytes(), 2 + 3 + overhead);
  cache.put("c", std::nullopt, /*pin=*/true);
  cache.put("unpinned", record("x"));
  EXPECT_EQ(cache.pinned_bytes(), (2 + 3 + overhead) + (1 + overhead));
  EXPECT_EQ(cache.pinned_entries(), 2u);
  cache.put("ab", record("1"));  // a put without a pin keeps the pin, at the new size
  EXPECT_EQ(cache.pinned_bytes(), (2 + 1 + overhead) + (1 + overhead));
  cache.forget("c");
  EXPECT_EQ(cache.pinned_bytes(), 2 + 1 + overhead);
  cache.freeze_pins();
  EXPECT_EQ(cache.pinned_bytes(), 0u);
  EXPECT_EQ(cache.pinned_entries(), 1u) << "\"ab\", frozen";
  cache.put("ab", record("12345"), /*pin=*/true);
  cache.put("d", record("4"), /*pin=*/true);
  EXPECT_EQ(cache.pinned_bytes(), (2 + 5 + overhead) + (1 + 1 + overhead));
  EXPECT_EQ(cache.pinned_entries(), 2u) << "\"ab\" in both generations counts once";
  cache.unpin_frozen();
  EXPECT_EQ(cache.pinned_bytes(), (2 + 5 + overhead) + (1 + 1 + overhead))
      << "pinned again since: still counted";
  EXPECT_EQ(cache.pinned_entries(), 2u);
  cache.forget("d");
  EXPECT_EQ(cache.pinned_entries(), 1u);
  cache.unpin_all();
  EXPECT_EQ(cache.pinned_bytes(), 0u);
  EXPECT_EQ(cache.pinned_entries(), 0u);
}

// Over its budget with every entry pinned (a checkpoint slow to land), a put of an unpinned
// entry is still kept and the pinned ones stay; the next unpinned put evicts the one before.
TEST(RecordCache, OverTheBudgetWithEverythingPinnedPutsStillWork) {
  RecordCache cache(2 * (1 + 1 + overhead));
  for (const char* key : {"a", "b", "c", "d"}) cache.put(key, record("1"), /*pin=*/true);
  EXPECT_EQ(cache.pinned_entries(), 4u);
  cache.put("x", record("1"));
  EXPECT_EQ(cache.entries(), 5u);
  cache.put("y", record("1"));
  EXPECT_EQ(cache.entries(), 5u) << "x went, y stays";
  EXPECT_EQ(cache.find("x"), nullptr);
  EXPECT_NE(cache.find("y"), nullptr);
  cache.freeze_pins();
  cache.unpin_frozen();
  EXPECT_EQ(cache.pinned_entries(), 0u);
  EXPECT_LE(cache.bytes(), 2 * (1 + 1 + overhead));
}

TEST(RecordCache, ARecordTooLargeToKeepOnlyDropsItsKey) {
  RecordCache cache(3 * (1 + 1 + overhead));
  cache.put("a", record("1"));
  cache.put("b", record("2"), /*pin=*/true);
  EXPECT_EQ(cache.put("b", record(std::string(1000, 'x'))), nullptr);
  EXPECT_EQ(cache.find("b"), nullptr);  // its old record is gone, not left stale
  EXPECT_EQ(cache.pinned_count(), 0u);
  EXPECT_NE(cache.find("a"), nullptr);  // and nothing else was evicted for it
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(RecordCache, ZeroBudgetDisables) {
  RecordCache cache(0);
  cache.put("k", record("v"));
  EXPECT_EQ(cache.find("k"), nullptr);
  EXPECT_EQ(cache.entries(), 0u);
}

}  // namespace
}  // namespace replikv::core
