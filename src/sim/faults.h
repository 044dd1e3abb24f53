// Faults: what the simulator's nemesis does, as a value.
//
// A schedule is a list of timed fault events. It is either drawn from the run's seed (the kinds
// enabled with `FaultKinds`) or written out as text, one event a line — so a failing run can be
// replayed exactly, and shrunk by deleting lines:
//
//   <at_ms> kill <node>          crash: the node loses every write it had not synced
//   <at_ms> wipe <node>          disk loss: a crash that loses everything; restarted, the node
//                                has an empty data directory (replicated strategies only)
//   <at_ms> restart <node>       start it again from what it had synced
//   <at_ms> pause <node>         stop processing (inputs queue up), as SIGSTOP
//   <at_ms> resume <node>
//   <at_ms> partition <a>-<b>    cut the link from a to b (one way); endpoints are node ids, or
//                                c<i> for client i
//   <at_ms> heal                 restore every link, clear drop, duplication and skew
//   <at_ms> drop <permille>      drop that share of messages on every link
//   <at_ms> dup <permille>       duplicate that share of peer messages (never client traffic,
//                                which rides on TCP)
//   <at_ms> skew <node> <ms>     offset the node's clock (may be negative)
//   <at_ms> handover <node>      an operator's FAILOVER TO <node>, sent to the node leading then
//   <at_ms> force <node> [accept-data-loss]
//                                an operator's FAILOVER TO <node> FORCE [ACCEPT-DATA-LOSS], sent
//                                to that node
//   <at_ms> strand <ms>          cut the links from the node leading then to every other node,
//                                kill it <ms> later, restart it 500 ms after that: what it
//                                acknowledged alone meanwhile is what async can lose
//   <at_ms> isolate <ms>         cut the leader's links to every other node, both ways, for <ms>
//                                (clients still reach it)
//   <at_ms> drift <node> <ppm>   set the node's clock rate off by <ppm> (node 0: the leader then)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/random.h"

namespace replikv::sim {

struct FaultKinds {
  bool kill = false;
  bool pause = false;
  bool partition = false;
  bool drop = false;
  bool dup = false;
  bool skew = false;
  bool disk = false;  // at most one disk loss a run, for replicated strategies of 3 nodes or more
  bool failover = false;  // operator handovers and forced promotions (raft), from their own stream
  bool any() const { return kill || pause || partition || drop || dup || skew || disk || failover; }
};

// Parses "kill,pause,partition,drop,dup,skew,disk,failover" (or "none", or "all"). nullopt on an
// unknown word.
std::optional<FaultKinds> parse_fault_kinds(const std::string& text);

struct FaultEvent {
  enum class Kind : uint8_t {
    kill,
    restart,
    pause,
    resume,
    partition,
    heal,
    drop,
    dup,
    skew,
    wipe,
    handover,
    force,
    strand,
    isolate,
    drift
  };
  int64_t at_ms = 0;
  Kind kind = Kind::heal;
  int node = 0;          // kill, restart, pause, resume, skew, wipe, handover, force
  int from = 0, to = 0;  // partition; clients are negative: client i is -(i + 1)
  int64_t amount = 0;    // drop/dup permille, skew ms, strand and isolate ms, drift ppm
};

using FaultSchedule = std::vector<FaultEvent>;

// Draws a schedule for `duration_ms` of a run with `nodes` nodes and `clients` clients. Every
// fault is undone before the end (nodes restarted and resumed, a final heal). A disk loss comes
// from its own stream (`disk_rng`), so enabling it leaves every other fault of a seed as it was.
// Operator failovers likewise come from `failover_rng`.
FaultSchedule random_schedule(core::Rng& rng, core::Rng& disk_rng, core::Rng& failover_rng,
                              const FaultKinds& kinds, int nodes, int clients, int64_t duration_ms);

std::string to_text(const FaultSchedule& schedule);
// Parses the text form. On error returns nullopt and sets `error` (with the line).
std::optional<FaultSchedule> parse_schedule(const std::string& text, std::string& error);

}  // namespace replikv::sim
