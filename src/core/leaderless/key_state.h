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
// A collection (docs/leaderless.md, "Collections") keeps, beside the key's own registers, one
// state per element — a hash's field, a set's member, a sorted set's member — with a context of
// its own: a copy is the product of the key's state and its elements' (any part of it a valid
// copy to join), so elements merge one by one. See ElementState.
//
// Pure and deterministic (ordered maps).
#pragma once

#include <bit>
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

namespace replikv::proto {
class LlKeyState;
}

namespace replikv::core::leaderless {

// What a GET sees of a key: its highest live register's value and deadline.
struct Rendered {
  std::string value;
  TimeMs deadline_ms = 0;  // 0: none
};

// One coordinator's running total of its increments to an element (HINCRBY, ZINCRBY): through
// the dot counter of its last increment, in the run that began at dot counter `first`. A node
// increments an element only holding its own earlier increments of it (as with every write of
// the key), so of two totals of one actor the one with the higher counter includes the other.
struct Count {
  uint64_t counter = 0;
  uint64_t first = 0;
  int64_t total = 0;
  double float_total = 0;

  // Bit for bit (a float total is compared as the bits every replica holds).
  bool operator==(const Count& other) const {
    return counter == other.counter && first == other.first && total == other.total &&
           std::bit_cast<uint64_t>(float_total) == std::bit_cast<uint64_t>(other.float_total);
  }
};

// The highest dot counter a copy may carry: a node's counter grows by one per write and never
// comes near it, so a larger one is no state any replica made (and a node that skipped past it
// would run out of counters).
inline constexpr uint64_t counter_max = uint64_t{1} << 62;

// An element's state: its registers — a field's value, a member's presence (""), a score's bits —
// and tombstones of its removals, under the dots of the commands that wrote them, with their
// context; and its increments, per coordinator a running total (Count), with what the removals
// and value writes had seen of each total (`resets`).
//
//   write(dot, r)  supersedes every register and increment this state holds: r (a value, or a
//                  tombstone for a removal) is the only register, the context takes the dot, and
//                  every total seen becomes a reset. What it had not seen — an add or increment
//                  made concurrently elsewhere — survives the join: an add concurrent with a
//                  removal wins (an observed-remove set), an increment is never lost.
//   increment      adds to the coordinator's own total (a new run when it holds none, or when
//                  its whole total was reset).
//   join           registers as the key's; per actor the total and the reset with the higher
//                  counter (a total supersedes every earlier one of its actor).
//
// What it shows: present while a value register or an increment no reset took remains; a field's
// value is the highest value register plus the increments (the register read as an integer);
// a score is the highest score register plus the float increments, per actor its total less its
// reset, actors in order — the same bits on every replica. A removal's state (tombstones, totals
// all reset) is kept until every replica has it and it is collected (tombstones.cc), so a late
// copy of what it removed does not bring the element back.
struct ElementState {
  std::map<Dot, Register> registers;
  CausalContext context;  // covers every register's dot and every dot they superseded
  std::map<Actor, Count> counts;
  std::map<Actor, Count> resets;

  // A value or removal (`value.tombstone`) under `dot` (fresh to this state).
  void write(const Dot& dot, Register value);
  // An increment under `dot` by its coordinator (dot.actor).
  void increment(const Dot& dot, int64_t delta, double float_delta);
  // Whether `actor`'s running total can take that increment: false when it would leave the
  // integers' range or become NaN (+inf and -inf) — a total that no later join could compare.
  bool can_increment(const Actor& actor, int64_t delta, double float_delta) const;
  // Whether an increment no reset took remains.
  bool counting() const;
  // The increments no reset took: their integer sum (saturating) and float sum.
  int64_t sum() const;
  double float_sum() const;
  // A value register or an increment remains: the element exists.
  bool present() const;
  // What the element shows as `kind` (core/encoding.h): nullopt when absent; a field's value; ""
  // for a member; a sorted-set member's score as 8 bytes (data/collections.h raw_score; NaN — two
  // infinities of opposite signs added on two nodes — shows as 0, on every replica alike).
  std::optional<std::string> shown(char kind) const;
  bool empty() const {
    return registers.empty() && context.empty() && counts.empty() && resets.empty();
  }
  // Whether a value write or removal took the whole of `count` (`actor`'s total).
  bool fully_reset(const Actor& actor, const Count& count) const;
  // The total `actor`'s next increment adds to, or nullptr when it begins a run of its own.
  const Count* continued(const Actor& actor) const;

  static ElementState join(const ElementState& a, const ElementState& b);
  // One element's state on its own (as a node stores it: the name is the record's key).
  std::string encode() const;
  static std::optional<ElementState> decode(std::string_view bytes);
  bool operator==(const ElementState&) const = default;
};

// An element's kind (core/encoding.h: element_field, element_member, element_scored) and name.
using ElementName = std::pair<char, std::string>;
using Elements = std::map<ElementName, ElementState>;

struct KeyState {
  std::map<Dot, Register> registers;
  CausalContext context;  // covers every register's dot and every dot they superseded
  // The highest timestamp of any write this copy has seen, superseded or discarded ones too: a
  // write is stamped above it, so that under lww what supersedes a register is also ordered after
  // it — on every copy, whatever registers each still holds — and joins stay order-free.
  HlcTimestamp seen_hlc;
  // A collection's elements (none for a string key).
  Elements elements;

  bool empty() const { return registers.empty() && context.empty() && elements.empty(); }
  // Registers that are tombstones only and no element present: a deleted key (nothing to GET,
  // something to remember).
  bool deleted() const;
  // The kind of collection the key shows — of its present elements, the first kind in type
  // order (hash, set, sorted set), when writes of two types met — or 0: none (a string, or
  // nothing).
  char shown_kind() const;
  // How many elements of `kind` are present.
  uint64_t present_count(char kind) const;

  // Whether `dot` may be written here: no dot this copy has seen (a node whose counter a forged
  // context ran ahead of skips past it: it issues a dot above counter_in(context, its actor)).
  bool fresh(const Dot& dot) const { return !covers(context, dot); }
  // A write under `dot` (fresh) that had seen `replaces`.
  void write(const CausalContext& replaces, const Dot& dot, Register value);
  // The highest timestamp of any register (zero when none).
  HlcTimestamp highest_hlc() const;
  // lww: keeps the highest register; returns the dots of the others.
  std::vector<Dot> resolve_lww();

  // The causal join of two replicas' copies (see above), elements one by one (one a copy lacks is
  // one it has not seen, or has collected). A dot both hold with different registers — one copy
  // saw the value expire and made it a tombstone — keeps the tombstone.
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
  // The same through the message (a node's stored form adds fields of its own to it).
  void to_proto(proto::LlKeyState& message) const;
  static std::optional<KeyState> from_proto(const proto::LlKeyState& message);

  bool operator==(const KeyState&) const = default;
};

}  // namespace replikv::core::leaderless
