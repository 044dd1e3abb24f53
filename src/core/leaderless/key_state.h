// KeyState: one key's state on one replica under the leaderless strategy — a dotted version
// vector set (Preguiça, Baquero et al.; Riak's dvvset): the registers of the writes that no write
// this replica has seen supersedes (the key's siblings, values or tombstones), and the causal
// context of every write of the key it has seen.
//
// Unlike multi-leader, where causal delivery lets a node's applied vector stand for every key's
// context, replicas here see a key's writes in any order and only some of them, so each key
// carries its own context. A write takes a dot (actor, counter) from the replica that coordinates
// it — the actor is that node in one incarnation, the counter is the node's own, persisted before
// use — and supersedes exactly the registers its context covers. That a counter n of actor A in a
// key's context covers every earlier dot of A for the key holds because A issues its dots for a
// key only as one of its replicas, after every earlier write of A to the key is in its own copy
// (a replica keeps its own writes; a node that lost them comes back as a new incarnation), and
// a copy travels whole: whoever holds A's later dot has A's earlier ones or what superseded them.
//
//   write(C, dot, r)  removes the registers C covers, adds r under `dot`; the context takes C and
//                     the dot.
//   join(a, b)        keeps a register both hold, or one that the other side's context does not
//                     cover (the other side never saw it); contexts join. Commutative, associative,
//                     idempotent (tests/unit/leaderless_key_state_test.cc).
//
// Under `lww` a state is cut to its highest register after every write and join (the others are
// discarded, counted by the replica); under `siblings` every concurrent register is kept.
//
// Pure and deterministic (ordered maps).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/causality/dot_set.h"
#include "core/causality/hlc.h"
#include "core/causality/register.h"
#include "core/types.h"

namespace replikv::core::leaderless {

// What a GET sees of a key: its highest live register's value and deadline.
struct Rendered {
  std::string value;
  TimeMs deadline_ms = 0;  // 0: none
};

struct KeyState {
  std::map<Dot, Register> registers;
  CausalContext context;  // covers every register's dot and every dot they superseded
  // The highest timestamp of any write this copy has seen, superseded or discarded ones too: a
  // write is stamped above it, so that under lww what supersedes a register is also ordered after
  // it — on every copy, whatever registers each still holds — and joins stay order-free.
  HlcTimestamp seen_hlc;

  bool empty() const { return registers.empty() && context.empty(); }
  // Registers that are tombstones only: a deleted key (nothing to GET, something to remember).
  bool deleted() const;

  // Whether `dot` may be written here: no dot this copy has seen (a node whose counter a forged
  // context ran ahead of skips past it: it issues a dot above counter_in(context, its actor)).
  bool fresh(const Dot& dot) const { return !covers(context, dot); }
  // A write under `dot` (fresh) that had seen `replaces`.
  void write(const CausalContext& replaces, const Dot& dot, Register value);
  // The highest timestamp of any register (zero when none).
  HlcTimestamp highest_hlc() const;
  // lww: keeps the highest register; returns the dots of the others.
  std::vector<Dot> resolve_lww();

  // The causal join of two replicas' copies (see above). A dot both hold with different registers
  // — one copy saw the value expire and made it a tombstone — keeps the tombstone.
  static KeyState join(const KeyState& a, const KeyState& b);
  // The join of the linearizable mode, where a copy holds one register, the highest tag seen:
  // the highest register of both sides (timestamp, then dot), contexts aside — a tag order and a
  // context need not agree there (a write stamped above a tag it read may carry a lower counter
  // of its node than another write it never saw).
  static KeyState join_highest(const KeyState& a, const KeyState& b);
  // Whether this copy has seen everything `other` holds: join(*this, other) == *this.
  bool includes(const KeyState& other) const;

  // The highest live register, or nullptr.
  const std::pair<const Dot, Register>* winner(TimeMs now_ms) const;
  // Live registers (the siblings VGET shows), highest first.
  std::vector<const std::pair<const Dot, Register>*> live(TimeMs now_ms) const;
  // What a GET sees, or nullopt when the key is absent.
  std::optional<Rendered> render(TimeMs now_ms) const;
  // Turns the registers whose deadline passed by `now_ms` into tombstones (same dot, same
  // timestamp); returns how many.
  size_t expire(TimeMs now_ms);

  std::string encode() const;
  static std::optional<KeyState> decode(std::string_view bytes);

  bool operator==(const KeyState&) const = default;
};

}  // namespace replikv::core::leaderless
