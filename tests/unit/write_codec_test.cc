// Writes on their way into the log: every kind round-trips, and relative expiry is fixed on entry.
#include <gtest/gtest.h>

#include "core/write_codec.h"

namespace replikv::core {
namespace {

Request round_trip(const Request& request, TimeMs now_ms = 1'000) {
  const auto write = to_log_write(request, now_ms);
  EXPECT_TRUE(write.has_value());
  proto::Write decoded;
  EXPECT_TRUE(decoded.ParseFromString(write->SerializeAsString()));
  return from_log_write(decoded);
}

TEST(WriteCodec, SetKeepsItsOptions) {
  const auto request = round_trip(
      SetRequest{"k", std::string("v\0w", 3), {}, SetRequest::Condition::if_absent, true});
  const auto& set = std::get<SetRequest>(request);
  EXPECT_EQ(set.key, "k");
  EXPECT_EQ(set.value, std::string("v\0w", 3));
  EXPECT_EQ(set.condition, SetRequest::Condition::if_absent);
  EXPECT_TRUE(set.return_old);
  EXPECT_EQ(set.expiry.kind, Expiry::Kind::none);
}

TEST(WriteCodec, RelativeExpiryBecomesAbsoluteOnEntry) {
  const auto request =
      round_trip(SetRequest{"k", "v", {Expiry::Kind::relative_ms, 500}, {}, false}, 10'000);
  const auto& set = std::get<SetRequest>(request);
  EXPECT_EQ(set.expiry.kind, Expiry::Kind::absolute_ms);
  EXPECT_EQ(set.expiry.ms, 10'500);
  const auto keep = round_trip(SetRequest{"k", "v", {Expiry::Kind::keep, 0}, {}, false});
  EXPECT_EQ(std::get<SetRequest>(keep).expiry.kind, Expiry::Kind::keep);
}

TEST(WriteCodec, OtherWrites) {
  EXPECT_EQ(std::get<DelRequest>(round_trip(DelRequest{{"a", "b"}})).keys,
            (std::vector<std::string>{"a", "b"}));
  const auto mset = std::get<MSetRequest>(round_trip(MSetRequest{{{"a", "1"}, {"b", "2"}}}));
  EXPECT_EQ(mset.pairs.size(), 2u);
  EXPECT_EQ(mset.pairs[1].second, "2");
  const auto incr = std::get<IncrByRequest>(round_trip(IncrByRequest{"n", -9223372036854775807LL}));
  EXPECT_EQ(incr.delta, -9223372036854775807LL);
  const auto cas = std::get<CasRequest>(round_trip(CasRequest{"k", "", "v"}));
  EXPECT_EQ(cas.expected, std::optional<std::string>(""));  // empty is not absent
  EXPECT_FALSE(
      std::get<CasRequest>(round_trip(CasRequest{"k", std::nullopt, "v"})).expected.has_value());
}

TEST(WriteCodec, AForwardedRelativeExpiryIsResolvedByTheLeader) {
  SetRequest set{"k", "v", {Expiry::Kind::relative_ms, 1500}, {}, false};
  auto write = to_log_write(set, std::nullopt);
  ASSERT_TRUE(write.has_value());
  EXPECT_EQ(write->set().expire_at_ms(), 0);
  EXPECT_EQ(write->set().expire_in_ms(), 1500);
  resolve_expiry(*write, 10'000);
  EXPECT_EQ(write->set().expire_at_ms(), 11'500);
  EXPECT_EQ(write->set().expire_in_ms(), 0);
  const auto applied = std::get<SetRequest>(from_log_write(*write));
  EXPECT_EQ(applied.expiry.kind, Expiry::Kind::absolute_ms);
  EXPECT_EQ(applied.expiry.ms, 11'500);
}

TEST(WriteCodec, ExpireAndPersist) {
  auto forwarded = to_log_write(
      ExpireRequest{"k", {Expiry::Kind::relative_ms, 2000}, ExpireRequest::Condition::if_less},
      std::nullopt);
  ASSERT_TRUE(forwarded.has_value());
  resolve_expiry(*forwarded, 10'000);
  const auto expire = std::get<ExpireRequest>(from_log_write(*forwarded));
  EXPECT_EQ(expire.expiry.kind, Expiry::Kind::absolute_ms);
  EXPECT_EQ(expire.expiry.ms, 12'000);
  EXPECT_EQ(expire.condition, ExpireRequest::Condition::if_less);
  const auto persist =
      std::get<ExpireRequest>(round_trip(ExpireRequest{"k", {}, ExpireRequest::Condition::always}));
  EXPECT_EQ(persist.expiry.kind, Expiry::Kind::none);
}

TEST(WriteCodec, ReadsHaveNoLogForm) {
  EXPECT_FALSE(to_log_write(GetRequest{"k"}, 0).has_value());
  EXPECT_FALSE(to_log_write(ScanRequest{}, 0).has_value());
}

}  // namespace
}  // namespace replikv::core
