// Linearizability of read/write/cas registers, one register per key.
//
// Linearizability is compositional (Herlihy and Wing, 1990: P-compositionality), so each key is
// checked on its own. Per key, the search is Wing and Gong's, with Lowe's memoization
// ("Testing for linearizability", 2017) as Porcupine implements it: walk the operations in
// real-time order, try to linearize each pending call against the register's state, backtrack
// when a completed operation cannot be placed, and never revisit a (set of linearized operations,
// state) pair.
//
// What takes part: ok writes, inserts and CASes (they happened), `info` ones (they may have
// happened, at any point after their invocation, or never), and ok reads that claimed to be
// linearizable (no "consistency" field, or "linearizable"). Failed operations did not happen and
// are left out, as Jepsen does. The register starts absent (null).
//
// Before any search, cheap pre-checks find reads of a value no write produced, or whose only
// write failed. On a violation the report names the operation that could not be ordered and the
// operations concurrent with it — the smallest window the search got stuck in.
#pragma once

#include <cstdint>

#include "check/history.h"
#include "check/verdict.h"

namespace replikv::check {

struct LinearizabilityBudget {
  int64_t time_ms_max = 60'000;
  uint64_t memory_bytes_max = 1ull << 30;  // the memo tables, all keys together
};

CheckResult check_linearizability(const History& history, const LinearizabilityBudget& budget = {});

}  // namespace replikv::check
