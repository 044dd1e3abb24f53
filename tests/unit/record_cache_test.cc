// The record cache: least-recently-used eviction within a byte budget, absence cached too.
#include <gtest/gtest.h>

#include "core/record_cache.h"

namespace replikv::core {
namespace {

constexpr uint64_t overhead = RecordCache::entry_overhead_bytes;

CachedRecord record(std::string value) { return {std::move(value), std::nullopt}; }

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

TEST(RecordCache, EvictsLeastRecentlyUsedFirst) {
  RecordCache cache(3 * (1 + 1 + overhead));  // room for three one-byte keys with one-byte values
  cache.put("a", record("1"));
  cache.put("b", record("2"));
  cache.put("c", record("3"));
  ASSERT_NE(cache.find("a"), nullptr);  // a is now the most recent
  cache.put("d", record("4"));          // evicts b
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_NE(cache.find("a"), nullptr);
  EXPECT_NE(cache.find("c"), nullptr);
  EXPECT_NE(cache.find("d"), nullptr);
  EXPECT_LE(cache.bytes(), 3 * (2 + overhead));
}

TEST(RecordCache, AnEntryLargerThanTheBudgetIsNotKept) {
  RecordCache cache(overhead + 10);
  cache.put("k", record(std::string(100, 'x')));
  EXPECT_EQ(cache.find("k"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(RecordCache, ZeroBudgetDisables) {
  RecordCache cache(0);
  cache.put("k", record("v"));
  EXPECT_EQ(cache.find("k"), nullptr);
  EXPECT_EQ(cache.entries(), 0u);
}

}  // namespace
}  // namespace replikv::core
