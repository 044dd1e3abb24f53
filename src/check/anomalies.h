// The checkers beyond linearizability: what a weaker strategy costs, measured on a history.
//
//   lost_writes   every acknowledged insert must be visible to the final-phase reads of its key,
//                 from every node those reads came from (reported per node).
//   stale_reads   on keys whose written values are unique: a read r returning w1's value is stale
//                 when an acknowledged write w2 of the key began after w1 completed and completed
//                 before r began; staleness = r's invocation − the latest such w2's completion.
//                 Counted and distributed; a `bounded:<ms>` read staler than its bound is a
//                 violation.
//   sessions      per process, over reads at "session" or "linearizable": read-your-writes (no
//                 read returns a value older than the process's own acknowledged write) and
//                 monotonic reads (no read returns a value older than an earlier read's).
//                 "Older" is real-time order of the writes, so only certain violations count.
//   convergence   from the last heal event: the first time every node's latest digest agrees
//                 (digests_agree: equal, or for pairwise digests each pair's roots equal).
//   availability  the longest window in which no write (write, insert, cas) succeeded: from the
//                 first invocation to the last non-final completion, between acknowledgements.
//                 A measurement, never a violation.
#pragma once

#include <map>
#include <string>

#include "check/history.h"
#include "check/verdict.h"

namespace replikv::check {

CheckResult check_lost_writes(const History& history);
CheckResult check_stale_reads(const History& history);
CheckResult check_sessions(const History& history);
CheckResult check_convergence(const History& history);
// Whether the nodes' latest digests (node name -> digest text) say their replicas agree. A node
// that holds every key digests its whole state: they agree when every digest is the same. A node
// that holds only some keys (leaderless) digests, per peer, the keys both hold:
// "peers <node>:<root> <node>:<root> …" — they agree when, for every pair of nodes, each one's
// root for the other is the same (so every key's copies are equal on every replica of it).
bool digests_agree(const std::map<std::string, std::string>& latest);
CheckResult check_availability(const History& history);
// counters   per counter key (the keys "add" operations increment), every final read from the
//            nodes furthest along holds at least the sum of the acknowledged increments and at
//            most that plus the increments of unknown outcome: none lost, none counted twice. An
//            increment acknowledged by a node that crashed later (nemesis events) counts as
//            unknown: with fsync "never" the crash may have taken it.
CheckResult check_counters(const History& history);

}  // namespace replikv::check
