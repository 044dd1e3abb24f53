// The commit rule's arithmetic, apart from the replica (as etcd keeps its `quorum` package): from
// what each node holds durably, the highest log index the ack policy's set holds. Pure: no
// state, no I/O; the replica applies the rest of the rule (the index must be of its own term,
// §5.4.2, and the commit index never moves back).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.h"

namespace replikv::core {

// When a write is acknowledged — committed — in the single-leader strategy (docs/replication.md):
// the highest entry of the leader's term that meets the policy, and everything before it.
enum class AckPolicy : uint8_t {
  majority,  // a majority holds it durably (Raft)
  async,     // the leader holds it durably
  count,     // the leader and `ack_followers` followers hold it durably (semi-sync, `ANY k`)
  sync,      // the leader and every (voting) follower hold it durably
};

// Parses "majority", "async", "sync" or a follower count k (1 .. members − 1); nullopt otherwise.
std::optional<std::pair<AckPolicy, uint32_t>> parse_ack(std::string_view text, size_t members);

// The highest index the policy's set holds durably, given the leader's own durable index and the
// match index of every voting follower (non-voters count toward nothing; `voter_matches` is
// reordered). With n the voters, leader included:
//   majority  the majority-th highest of them all (the leader counting only what it synced);
//   async     the leader's durable index;
//   count k   the lower of the leader's and the k-th highest follower's;
//   sync      the lower of the leader's and every follower's.
// nullopt when fewer voters take part than the policy needs (majority: `majority` in all;
// count k: k followers).
std::optional<LogIndex> acknowledged_index(AckPolicy ack, uint32_t ack_followers, size_t majority,
                                           LogIndex leader_durable,
                                           std::vector<uint64_t>& voter_matches);

// Votes an election needs: a majority, or more where commits need fewer than a majority —
// max(majority, n − k) with k followers' acks — so that every election quorum meets every set of
// nodes that acknowledged a write (flexible quorums; Howard et al. 2016).
size_t election_quorum(AckPolicy ack, uint32_t ack_followers, size_t nodes);

}  // namespace replikv::core
