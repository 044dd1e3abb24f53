#include "check/checkers.h"

#include <cstdlib>
#include <memory>

#include "check/anomalies.h"
#include "check/causality.h"
#include "check/linearizability.h"
#include "check/quorum.h"

namespace replikv::check {
namespace {

std::vector<HistoryChecker> builtin() {
  return {
      {"linearizable", "every operation takes effect at one instant between its call and return",
       [](const History& history) { return check_linearizability(history); }},
      {"lost-writes", "every acknowledged insert is read by the final reads", check_lost_writes},
      {"stale-reads", "reads that missed a write acknowledged before they began, and by how much",
       check_stale_reads},
      {"sessions", "read-your-writes and monotonic reads within each session", check_sessions},
      {"convergence", "every node's digest is equal once faults heal", check_convergence},
      {"availability", "the longest time no operation succeeded", check_availability},
      {"counters", "every acknowledged increment counted once, no increment counted twice",
       check_counters},
      {"superseded",
       "every write that took effect is kept or was seen by one that superseded it; final "
       "siblings are the causal frontier",
       check_superseded},
      {"session-vectors",
       "a session read's state covers every write and read of its session before it",
       check_session_vectors},
      {"lww-discards",
       "last-writer-wins keeps one value per key and discards exactly the writes the nodes count",
       check_lww_discards},
      {"quorum-reads",
       "every read sees the writes and reads answered before it whose quorums it meets",
       check_quorum_reads},
  };
}

// Registered once, read after: a test registers before the runs that use it.
std::vector<HistoryChecker>& registry() {
  static std::vector<HistoryChecker> all = builtin();
  return all;
}

}  // namespace

const HistoryChecker* find_checker(std::string_view name) {
  for (const auto& checker : registry()) {
    if (checker.name == name) return &checker;
  }
  return nullptr;
}

std::string checker_names() {
  std::string out;
  for (const auto& checker : registry()) out += (out.empty() ? "" : ", ") + checker.name;
  return out;
}

void register_checker(HistoryChecker checker) {
  // check/ includes nothing of the others, core's assertions included.
  if (find_checker(checker.name) != nullptr) std::abort();
  registry().push_back(std::move(checker));
}

}  // namespace replikv::check
