// Small pure pieces of the core: glob matching, the seeded Rng, the storage byte layouts.
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/glob.h"
#include "core/random.h"

namespace replikv::core {
namespace {

TEST(Glob, RedisPatterns) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("h?llo", "hello"));
  EXPECT_TRUE(glob_match("h*llo", "heeeello"));
  EXPECT_TRUE(glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[ae]llo", "hillo"));
  EXPECT_TRUE(glob_match("h[^e]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(glob_match("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(glob_match("h\\*llo", "h*llo"));
  EXPECT_FALSE(glob_match("h\\*llo", "hello"));
  EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(glob_match("a*b*c", "axxbyy"));
}

TEST(Glob, HostilePatternStaysFast) {
  const std::string text(5000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
}

TEST(Rng, SameSeedSameNumbers) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    (void)c;
  }
  EXPECT_NE(Rng(42).next_u64(), Rng(43).next_u64());
}

TEST(Rng, KnownFirstValuesPinTheAlgorithm) {
  // If these change, every recorded simulation seed replays differently. Reference values from an
  // independent implementation of splitmix64 + xoshiro256** and the bounded draw (the high half
  // of a 128-bit product, Lemire's method without rejection).
  Rng rng(1);
  for (const uint64_t expected : {702, 520, 574, 391, 697}) EXPECT_EQ(rng.below(1000), expected);
  Rng fixed(0);
  EXPECT_EQ(fixed.next_u64(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(fixed.next_u64(), 0xbf6e1f784956452aULL);
}

TEST(Rng, BoundsHold) {
  Rng rng(7);
  for (int i = 0; i < 10000; ++i) {
    EXPECT_LT(rng.below(3), 3u);
    const int64_t x = rng.between(-5, 5);
    EXPECT_GE(x, -5);
    EXPECT_LE(x, 5);
  }
  EXPECT_FALSE(rng.chance(0, 10));
  EXPECT_TRUE(rng.chance(10, 10));
}

TEST(Encoding, ValueRoundTrip) {
  const std::string plain = encode_value("abc", std::nullopt);
  const auto decoded = decode_value(plain);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->value, "abc");
  EXPECT_FALSE(decoded->expire_at_ms);
  const std::string timed = encode_value("", 1234567890123);
  EXPECT_EQ(decode_value(timed)->expire_at_ms, 1234567890123);
  EXPECT_FALSE(decode_value(""));
  EXPECT_FALSE(decode_value("\x07"));
  EXPECT_FALSE(decode_value(std::string("\x01\x00", 2)));
}

// Metadata is bit 1 of the flags with a 4-byte length; a record without any is byte for byte what
// was written before metadata existed (the single leader's data needs no upgrade).
TEST(Encoding, MetadataRoundTripsAndLeavesPlainRecordsAsTheyWere) {
  EXPECT_EQ(encode_value("abc", std::nullopt), std::string("\x00"
                                                           "abc",
                                                           4));
  EXPECT_EQ(encode_value("v", 1), std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x01v", 10));
  const std::string both = encode_value("value", 77, "ctx");
  EXPECT_EQ(both, std::string("\x03\x00\x00\x00\x00\x00\x00\x00\x4d\x00\x00\x00\x03"
                              "ctxvalue",
                              21));
  const auto decoded = decode_value(both);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->value, "value");
  EXPECT_EQ(decoded->metadata, "ctx");
  EXPECT_EQ(decoded->expire_at_ms, 77);
  const std::string untimed_bytes = encode_value("", std::nullopt, "m");  // decoded views point in
  const auto untimed = decode_value(untimed_bytes);
  ASSERT_TRUE(untimed);
  EXPECT_EQ(untimed->metadata, "m");
  EXPECT_EQ(untimed->value, "");
  EXPECT_FALSE(untimed->expire_at_ms);
  EXPECT_TRUE(decode_value(encode_value("x", std::nullopt))->metadata.empty());
  // Truncated, or a length past the end, or an empty metadata flagged: not a record.
  EXPECT_FALSE(decode_value(std::string("\x02\x00\x00", 3)));
  EXPECT_FALSE(
      decode_value(std::string("\x02\x00\x00\x00\x09"
                               "ab",
                               7)));
  EXPECT_FALSE(
      decode_value(std::string("\x02\x00\x00\x00\x00"
                               "ab",
                               7)));
  // A flag no version sets, and a type past the last.
  EXPECT_FALSE(
      decode_value(std::string("\x40"
                               "ab",
                               3)));
  EXPECT_FALSE(
      decode_value(std::string("\x28"
                               "ab",
                               3)));
  // The type travels in the flags; a string's record is as it was before types existed.
  EXPECT_EQ(encode_value("v", std::nullopt), std::string("\x00v", 2));
  for (const auto type :
       {ValueType::string, ValueType::hash, ValueType::list, ValueType::set, ValueType::zset}) {
    const std::string bytes = encode_value("hdr", TimeMs(5), "m", 7, type);
    const auto typed = decode_value(bytes);
    ASSERT_TRUE(typed.has_value());
    EXPECT_EQ(typed->type, type);
    EXPECT_EQ(typed->value, "hdr");
    EXPECT_EQ(typed->metadata, "m");
    EXPECT_EQ(typed->version, 7u);
    EXPECT_EQ(typed->expire_at_ms, TimeMs(5));
  }
}

// Scores sort as the numbers they encode (-0 as 0), and come back as they went.
TEST(Encoding, ScoreKeysSortAsNumbers) {
  const std::vector<double> scores = {
      -std::numeric_limits<double>::infinity(), -1e300, -2.5, -1, -1e-300, 0, 1e-300, 1, 2.5, 1e300,
      std::numeric_limits<double>::infinity()};
  for (size_t i = 0; i < scores.size(); ++i) {
    EXPECT_EQ(score_of_key(score_key(scores[i])), scores[i]);
    if (i > 0) {
      EXPECT_LT(score_key(scores[i - 1]), score_key(scores[i])) << scores[i];
    }
  }
  EXPECT_EQ(score_key(-0.0), score_key(0.0));
  // A header round-trips; a list's ends must agree with its count.
  const CollectionHeader list{9, 3, 10, 13};
  const auto decoded = decode_header(encode_header(list));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->id, 9u);
  EXPECT_EQ(decoded->head, 10u);
  EXPECT_FALSE(decode_header(encode_header({9, 4, 10, 13})).has_value());
  EXPECT_FALSE(decode_header("short").has_value());
}

// A record's write version (WATCH's) travels as a varint beside the expiry, and only when set: a
// record without one is written as before versions existed.
TEST(Encoding, VersionsRoundTripAndAreWrittenOnlyWhenSet) {
  for (const uint64_t version :
       {uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 40, UINT64_MAX}) {
    const std::string bytes = encode_value("v", TimeMs(5), "m", version);
    const auto decoded = decode_value(bytes);
    ASSERT_TRUE(decoded) << version;
    EXPECT_EQ(decoded->version, version);
    EXPECT_EQ(decoded->value, "v");
    EXPECT_EQ(decoded->metadata, "m");
    EXPECT_EQ(decoded->expire_at_ms, TimeMs(5));
  }
  EXPECT_EQ(encode_value("v", std::nullopt, {}, 0), encode_value("v", std::nullopt));
  EXPECT_EQ(decode_value(encode_value("v", std::nullopt))->version, 0u);
  // A version flagged but missing, running on past the end, or zero: not a record.
  EXPECT_FALSE(decode_value(std::string("\x04", 1)));
  EXPECT_FALSE(decode_value(std::string("\x04\x80", 2)));
  EXPECT_FALSE(decode_value(std::string("\x04\x00v", 3)));
  EXPECT_FALSE(decode_value(std::string("\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12)));
}

TEST(Encoding, DataKeysOrderByHash) {
  const std::string key = data_key("user:1");
  EXPECT_EQ(user_key_of(key), "user:1");
  EXPECT_EQ(read_u64_be(key), key_hash("user:1"));
  EXPECT_LE(data_key_start(key_hash("user:1")), key);
  // The hash is part of the on-disk format (data keys and SCAN cursors): pinned to values from an
  // independent implementation, so a change of it cannot pass unnoticed.
  EXPECT_EQ(key_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(key_hash("a"), 0x02c0bdbf481420f8ULL);
  EXPECT_EQ(key_hash("user:1"), 0x3290bc1a92ad86c2ULL);
}

}  // namespace
}  // namespace replikv::core
