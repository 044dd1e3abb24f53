// Replies carry their outcome as a type (core/reply.h); the one reader of error texts that come
// over a wire agrees with the factories that write them.
#include <gtest/gtest.h>

#include "core/reply.h"

namespace replikv::core {
namespace {

TEST(Reply, TheFactoriesSayTheOutcome) {
  EXPECT_EQ(Reply::ok().outcome, Outcome::ok);
  EXPECT_EQ(Reply::nil().outcome, Outcome::ok);
  EXPECT_EQ(Reply::number(0).outcome, Outcome::ok) << "a condition that did not hold is answered";
  EXPECT_EQ(Reply::error("ERR syntax error").outcome, Outcome::refused);
  EXPECT_EQ(Reply::unknown("TIMEOUT late").outcome, Outcome::unknown);
  const Reply refusal = Reply::not_leader(NodeId(3), "NOTLEADER the leader is node 3");
  EXPECT_EQ(refusal.outcome, Outcome::not_leader);
  EXPECT_EQ(refusal.leader, NodeId(3));
  EXPECT_TRUE(refusal.is_error());
}

TEST(Reply, ErrorTextFromAWireIsReadByItsCodeWord) {
  EXPECT_EQ(Reply::from_error_text("TIMEOUT the write was not confirmed within 5000 ms; it may "
                                   "still take effect")
                .outcome,
            Outcome::unknown);
  EXPECT_EQ(Reply::from_error_text("NOREPLICAS Not enough good replicas to write.").outcome,
            Outcome::refused);
  EXPECT_EQ(Reply::from_error_text("ERR TIMEOUT is not a code here").outcome, Outcome::refused);
  const Reply named = Reply::from_error_text("NOTLEADER the leader is node 2 at 127.0.0.1:7379");
  EXPECT_EQ(named.outcome, Outcome::not_leader);
  EXPECT_EQ(named.leader, NodeId(2));
  EXPECT_EQ(named,
            Reply::not_leader(NodeId(2), "NOTLEADER the leader is node 2 at 127.0.0.1:7379"));
  const Reply unnamed = Reply::from_error_text("NOTLEADER no leader is known yet; retry");
  EXPECT_EQ(unnamed.outcome, Outcome::not_leader);
  EXPECT_FALSE(unnamed.leader.has_value());
  // Garbage where the id goes names nobody rather than a wrong node.
  EXPECT_FALSE(Reply::from_error_text("NOTLEADER the leader is node x1").leader.has_value());
  EXPECT_FALSE(Reply::from_error_text("NOTLEADER the leader is node 0").leader.has_value());
}

}  // namespace
}  // namespace replikv::core
