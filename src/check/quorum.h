// The leaderless strategy's promise, judged from a history: with strict quorums, every read sees
// every write acknowledged before it began — and, with blocking read repair, every version a read
// returned before it began.
#pragma once

#include <string_view>

#include "check/history.h"
#include "check/verdict.h"

namespace replikv::check {

// quorum-reads. Each answered operation on a key records where it stands (core/leaderless/
// position.h): a write its dot ("dot") and the replicas that held it when it was answered
// ("acks"); a read the causal context of every write its answer reflects ("seen"), the replicas it
// asked ("asked") and those that held what it returned when it answered ("written_back"); both the
// key's replica count ("n"). A read R must have seen every write W of its key answered before R
// began when acks(W) + asked(R) > n — the two quorums meet in a replica that held W — and every
// earlier read R' when written_back(R') + asked(R) > n. "Seen" means R's context covers W's dot
// (R returned W, or a version that superseded it, or, under lww, one that beat it) — and, by the
// "made" replica events (each write's dot and the context it superseded) and the answered
// writes' own "context" and "tombstone" fields (on real processes, the only source), R returned W
// or a version that dominates it or is concurrent with it, not only versions W superseded
// ("returned_older") — where the read's "order" is "lww", a concurrent version answers for W only
// if lww orders it after W (by timestamp, then dot: "older_by_timestamp" counts the reads this
// rule alone found). A miss after
// one of the key's replicas ("replicas") lost its disk between W's start and R's end (a "wipe"
// nemesis event: the copy W had made there may be gone) is counted apart and excused. A delete
// whose tombstone was collected ("reaped" replica event: its "reaped_key" and the tombstone's
// "context") leaves nothing to read: the versions its context covers count as seen by every read
// that ends after it (its replicas may have removed them meanwhile) — and a read that begins
// after it and returns one of them returned a zombie, a violation. Where
// the quorums need not meet (acks + asked <= n: R + W <= N, or a sloppy write held by fewer of the
// key's replicas), the misses are counted — what the choice costs — and never a violation
// ("missed_unpromised" of "unpromised"). An answer marked with `position_lost_field` (its node
// went down before the recorder asked for its position) is counted ("positions_lost"), not judged.
CheckResult check_quorum_reads(const History& history);

// The history field, and its JSON value, that marks an answer whose position was never learned.
inline constexpr std::string_view position_lost_field = "position";
inline constexpr std::string_view position_lost_json = "\"lost\"";

}  // namespace replikv::check
