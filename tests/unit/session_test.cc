// Session positions (core/session.h) are opaque to drivers: the strategy encodes them, shows them
// as text, and merges two. For the single leader: a log position, the later of two by index.
#include <gtest/gtest.h>

#include "core/consistency.h"
#include "core/strategy.h"

namespace replikv::core {
namespace {

TEST(SessionPosition, ALogPositionRoundTrips) {
  for (const SessionToken token :
       {SessionToken{Term(1), LogIndex(1)}, SessionToken{Term(300), LogIndex(1ull << 40)},
        SessionToken{Term(UINT64_MAX), LogIndex(UINT64_MAX)}}) {
    EXPECT_EQ(token_of(position_of(token)), token);
  }
  EXPECT_FALSE(token_of(SessionPosition{""}).has_value());
  EXPECT_FALSE(token_of(SessionPosition{"\x80"}).has_value()) << "a varint cut short";
  EXPECT_FALSE(token_of(SessionPosition{std::string("\x01\x02\x03", 3)}).has_value())
      << "bytes left over";
}

TEST(SessionPosition, TheLeaderShowsParsesAndMergesItsPositions) {
  const Strategy& leader = *find_strategy("leader");
  const auto early = leader.parse_session("3:10");
  const auto late = leader.parse_session("2:12");
  ASSERT_TRUE(early && late);
  EXPECT_EQ(leader.session_text(*early), "3:10");
  EXPECT_EQ(leader.merge_sessions(*early, *late), *late) << "the later position by index";
  EXPECT_EQ(leader.merge_sessions(*late, *early), *late);
  EXPECT_FALSE(leader.parse_session("3-10").has_value());
  // A single node makes no positions and takes none.
  EXPECT_FALSE(find_strategy("standalone")->parse_session("3:10").has_value());
}

}  // namespace
}  // namespace replikv::core
