// Where a leaderless request stands, as its reply carries it to the client's node and the
// simulator's history records it (Strategy::history_fields; the quorum-reads checker reads it):
// a write's dot and timestamp with the replicas it waited for, a read's context — every write its
// answer reflects — with the replicas it asked and wrote back to. Leaderless has no sessions: no
// client sends these back.
//
// Bytes: "w|<dot>|<hlc>|<w>|<n>|<replicas>|<superseded>|<tombstone 0 or 1>" or
// "r|<context>|<r>|<written back>|<n>|<replicas>|<registers>|<order>|<shown>", the dot and the
// context in
// core/causality/context_text.h's form, the key's replicas as node ids joined by '.', the
// registers' dots in the same form as a context, one item each (an actor may come twice), the
// order "lww", "siblings" or "tags" (linearizable) — how the copies it joined were resolved — and
// what the reply showed of the copy: "one" value (GET), "all" (VGET) or "none" (EXISTS, TTL).
//
// A write's position says what it superseded (the context it carried) and whether it deleted: a
// checker judges a read's values by them — on real processes too, where no node reports the
// simulator's "made" events.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/causality/dot_set.h"
#include "core/causality/hlc.h"
#include "core/replica.h"
#include "core/session.h"

namespace replikv::core::leaderless {

enum class ReadOrder : uint8_t { lww, siblings, tags };
enum class ReadShown : uint8_t { one, all, none };

struct WritePosition {
  Dot dot;
  HlcTimestamp hlc;
  uint32_t replicas = 0;  // W: the replicas that held it when it was answered
  uint32_t n = 0;
  std::vector<NodeId> nodes;  // the key's replicas
  CausalContext superseded;   // the context it carried: what it replaced
  bool tombstone = false;     // a delete
};

struct ReadPosition {
  CausalContext seen;
  uint32_t replicas = 0;      // R: the replicas whose copies it joined
  uint32_t written_back = 0;  // the replicas that held what it returned when it was answered
                              // (blocking read repair: W; 0 otherwise)
  uint32_t n = 0;
  std::vector<NodeId> nodes;   // the key's replicas
  std::vector<Dot> registers;  // the dots of the registers of the copy it returned from
  // How concurrent versions were resolved: under lww a version concurrent with an earlier write
  // answers for it only if it is ordered after it (ReadOrder::lww), else every one is kept.
  ReadOrder order = ReadOrder::siblings;
  ReadShown shown = ReadShown::one;  // what the reply showed of the copy
};

SessionPosition encode_write_position(const WritePosition& position);
SessionPosition encode_read_position(const ReadPosition& position);
// The history's fields of a position: "dot", "hlc", "acks", "n", "replicas", "context",
// "tombstone" for a write; "seen",
// "asked", "written_back", "n", "replicas", "registers", "order", "shown" for a read. Empty for
// bytes that are no position.
HistoryFields position_fields(const SessionPosition& position);

}  // namespace replikv::core::leaderless
