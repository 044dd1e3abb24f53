// Checkers for strategies that track causality (multi-leader): what happened to every write.
//
// They read the history's "made" events — each write a node made, with its dot ("1.5f3a2b1c:7":
// node, incarnation, counter) and the context it carried (a version vector in the same form) —
// the final reads (every sibling of every key, and the vector of writes the node had applied:
// its "position", "<vector>@<hlc>"), and the run's counters. A write took effect when the final
// vector covers its dot. Of the writes to a key that took effect:
//
//   kept        its value is in the final state (as the value or a sibling);
//   superseded  another write that took effect carried a context covering its dot (it had been
//               seen — a SET that read it, a VSET that merged it);
//   discarded   neither: a write lost without anything having seen it.
//
// `superseded` (conflict policy siblings): no write may be discarded, and each key's final
// siblings must be exactly its causal frontier — the writes that took effect and that no other
// write superseded. `lww-discards` (conflict policy lww): at most one value per key, from the
// frontier, and the writes discarded must be exactly as many as the nodes counted
// (conflicts_discarded_total) — each node reports each of its own writes it discarded, and each
// report must be a write a concurrent later one beat, each write nothing saw that is gone must be
// reported — except one whose node lost it in a crash, with its disk, or in a state transfer it
// joined (which cannot tell a peer's discard from a write superseded there) after it had reached
// another node: counted apart. With fsync "always" and no disk lost there are no such. Both: an
// acknowledged write that did not take effect anywhere was lost with its node (a crash under fsync
// "never", a disk lost) — never otherwise: one whose node did not crash after making it is a
// violation.
#pragma once

#include "check/history.h"
#include "check/verdict.h"

namespace replikv::check {

CheckResult check_superseded(const History& history);
CheckResult check_lww_discards(const History& history);

// `session-vectors`: a session read is served from a state that has applied everything the
// session had seen — every write it made and every state it read, as the positions of its
// earlier replies say ("<vector>@<hlc>"): the read's own position covers their join. (What the
// read returns may then be the session's write, or what superseded it, or — under siblings — the
// other value GET prefers: `superseded` judges values, this judges the wait.) Per process, in
// invocation order.
CheckResult check_session_vectors(const History& history);

}  // namespace replikv::check
