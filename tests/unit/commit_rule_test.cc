// The commit rule's arithmetic (core/leader/commit_rule.h), case by case: which index each ack
// policy's set holds, and the election quorum that meets every such set.
#include <gtest/gtest.h>

#include "core/leader/commit_rule.h"

namespace replikv::core {
namespace {

std::optional<uint64_t> held(AckPolicy ack, uint32_t k, size_t majority, uint64_t leader,
                             std::vector<uint64_t> followers) {
  const auto index = acknowledged_index(ack, k, majority, LogIndex(leader), followers);
  return index ? std::optional<uint64_t>(index->value()) : std::nullopt;
}

TEST(CommitRule, AMajorityCountsTheLeaderOnlyForWhatItSynced) {
  // Five voters: the third highest of {leader 7, 9, 8, 3, 2} is 7.
  EXPECT_EQ(held(AckPolicy::majority, 0, 3, 7, {9, 8, 3, 2}), 7u);
  // The leader has synced nothing yet: the followers' 9 and 8 and its 0 give 0 as the third.
  EXPECT_EQ(held(AckPolicy::majority, 0, 3, 0, {9, 8, 3, 2}), 3u);
  EXPECT_EQ(held(AckPolicy::majority, 0, 2, 5, {4, 6}), 5u);
  // Fewer voters than a majority take part (non-voters are left out by the caller).
  EXPECT_EQ(held(AckPolicy::majority, 0, 3, 5, {4}), std::nullopt);
}

TEST(CommitRule, AsyncIsTheLeadersOwnDurableIndex) {
  EXPECT_EQ(held(AckPolicy::async, 0, 2, 12, {0, 0}), 12u);
  EXPECT_EQ(held(AckPolicy::async, 0, 1, 3, {}), 3u);
}

TEST(CommitRule, KOfNIsTheLowerOfTheLeaderAndTheKthFollower) {
  EXPECT_EQ(held(AckPolicy::count, 1, 3, 10, {4, 9, 2, 7}), 9u);
  EXPECT_EQ(held(AckPolicy::count, 2, 3, 10, {4, 9, 2, 7}), 7u);
  EXPECT_EQ(held(AckPolicy::count, 2, 3, 5, {4, 9, 2, 7}), 5u) << "the leader's own sync bounds it";
  EXPECT_EQ(held(AckPolicy::count, 3, 3, 10, {4, 9}), std::nullopt);
}

TEST(CommitRule, SyncNeedsEveryVotingFollower) {
  EXPECT_EQ(held(AckPolicy::sync, 0, 2, 10, {8, 9}), 8u);
  EXPECT_EQ(held(AckPolicy::sync, 0, 2, 6, {8, 9}), 6u);
  EXPECT_EQ(held(AckPolicy::sync, 0, 1, 6, {}), 6u) << "alone, the leader is every voter";
}

// Every election quorum meets every set that can acknowledge a write: votes + acknowledgers > n.
TEST(CommitRule, ElectionQuorumsMeetEveryAcknowledgingSet) {
  for (size_t n = 1; n <= 9; ++n) {
    EXPECT_EQ(election_quorum(AckPolicy::majority, 0, n), n / 2 + 1);
    for (uint32_t k = 1; k + 1 <= n; ++k) {
      const size_t votes = election_quorum(AckPolicy::count, k, n);
      EXPECT_GT(votes + (k + 1), n) << "n " << n << ", k " << k;
      EXPECT_GE(votes, n / 2 + 1) << "never below a majority";
    }
  }
  EXPECT_EQ(election_quorum(AckPolicy::count, 1, 5), 4u);
}

TEST(CommitRule, AckPoliciesParse) {
  EXPECT_EQ(parse_ack("majority", 3), (std::pair{AckPolicy::majority, 0u}));
  EXPECT_EQ(parse_ack("2", 3), (std::pair{AckPolicy::count, 2u}));
  EXPECT_EQ(parse_ack("3", 3), std::nullopt) << "at most n − 1 followers";
  EXPECT_EQ(parse_ack("0", 3), std::nullopt);
  EXPECT_EQ(parse_ack("", 3), std::nullopt);
  EXPECT_EQ(parse_ack("all", 3), std::nullopt);
}

}  // namespace
}  // namespace replikv::core
