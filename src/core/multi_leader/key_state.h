// KeyState: one key's state under the multi-leader strategy — its concurrent registers and its
// counter's increments — and the operations every node applies to it in the same way.
//
// A register is a value or a tombstone (DEL) under the dot of the write that made it
// (core/causality/dot_set.h). A write supersedes exactly the registers its context covers and
// keeps the concurrent ones: the key's registers are the causal frontier of its writes. Under
// `lww` the frontier is cut to its highest register — (HLC, node, incarnation, counter), the same
// on every node — and the others are discarded (counted by the replica); under `siblings` it is
// kept, GET shows the highest live register and VGET every one.
//
// The causal context is the node's, not the key's: nodes deliver every actor's writes in order
// and a write only after the writes its origin had applied (causal delivery, docs/multi-leader.md),
// so the node's applied version vector says exactly which writes the key has seen — a register
// the node does not hold although its vector covers the dot was superseded there (or expired, or
// deleted and collected). That is what join() relies on, and what lets a tombstone be collected
// once every member has applied it: a key's state then needs no context of its own.
//
// Counters: INCRBY adds an increment under its dot; the value a GET sees is the highest live
// register read as an integer (0 when there is none) plus every increment (a register that is not
// an integer shows as it is, increments aside). A SET or DEL resets the increments its context
// covers — causal delivery applies every increment before a reset that had seen it — and
// increments concurrent with it survive, so DEL then INCR never brings an old count back (Baquero
// et al., "The problem with embedded CRDT counters", 2016). Sums saturate at the int64 bounds when
// increments from several nodes meet; a node refuses an INCRBY that overflows what it sees, as
// Redis does.
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

namespace replikv::core::multi_leader {

// An increment, with the deadline its key had where it was made (INCR keeps a key's time to
// live, as in Redis: the count expires with the value it was added to).
struct Increment {
  int64_t delta = 0;
  TimeMs deadline_ms = 0;    // 0: none
  std::string request_id{};  // the client's id for it (INCR … ID x), if it gave one
  double float_delta = 0;    // a sorted-set score's increment (ZINCRBY); 0 for an integer one

  bool live(TimeMs now_ms) const { return deadline_ms == 0 || now_ms <= deadline_ms; }
  bool operator==(const Increment&) const = default;
};

// What a GET sees of a key.
struct Rendered {
  std::string value;
  // When nothing of it is live any more (0: never): the record's expiry. Until then a sibling or
  // an increment may outlive another.
  TimeMs deadline_ms = 0;
};

// int64 addition that stops at the bounds instead of wrapping.
int64_t saturating_add(int64_t a, int64_t b);

// An actor's increments every member had applied, summed (KeyState::fold).
struct Fold {
  uint64_t upto = 0;  // every increment of the actor up to this counter not reset is in `sum`
  int64_t sum = 0;
  // The float increments' sum, added in counter order from 0: exactly what a node that holds
  // them one by one adds up (float_total), so a fold never changes a score's last bit.
  double float_sum = 0;
  bool operator==(const Fold&) const = default;
};

struct KeyState {
  std::map<Dot, Register> registers;
  std::map<Dot, Increment> increments;  // the increments no SET or DEL has reset, by dot
  std::map<Actor, Fold> folds;          // older increments, summed per actor
  // A collection's key (docs/multi-leader.md, "Collections"): per element kind, how many
  // elements this node holds a state of — the elements' own states are records of their own.
  // This node's bookkeeping, not replicated state: no join, digest or comparison looks at it.
  std::map<char, uint64_t> element_counts;

  // Nothing left: no register, no increment, no element.
  bool empty() const {
    return registers.empty() && increments.empty() && folds.empty() && element_counts.empty();
  }
  // Registers that are tombstones only (and no increment): a deleted key.
  bool deleted() const;

  // A register write under `dot` that had seen `replaces`: removes the registers and resets the
  // increments it covers, then adds `value`.
  void write(const CausalContext& replaces, const Dot& dot, Register value);
  // Removes the registers and resets the increments `replaces` covers, adding nothing: a
  // collection element's removal (observed-remove: what it had not seen stays).
  void remove(const CausalContext& replaces);
  // The highest timestamp among the registers `replaces` covers (zero when none): a write must be
  // stamped above it, so that what supersedes a register is also ordered after it and `lww`
  // resolves alike whatever order a node applied the writes in — even when a clock refused a
  // peer's timestamp and runs behind it.
  HlcTimestamp superseded_hlc(const CausalContext& replaces) const;
  // An increment under `dot`.
  void increment(const Dot& dot, Increment increment);
  // `lww`: keeps the highest register, returns the dots of the others (discarded).
  std::vector<Dot> resolve_lww();
  // Turns the registers whose deadline passed by `now_ms` into tombstones (same dot, same
  // timestamp: they still order against concurrent writes) and removes such increments; returns
  // how many.
  size_t expire(TimeMs now_ms);
  // Sums, per actor, the increments every member has applied (`stable` covers them; the node has
  // applied everything any member reported), so a hot counter's state stays small: every write
  // still to come covers them all, so no later reset splits a fold. An increment with a deadline
  // (and those after it) stays apart.
  void fold(const CausalContext& stable);
  // Drops the tombstone registers every member has applied (`stable` covers them): nothing any
  // node can still deliver is superseded by them, and GET prefers a live register anyway.
  // Returns how many.
  size_t collect(const CausalContext& stable);

  // The highest live register, or nullptr.
  const std::pair<const Dot, Register>* winner(TimeMs now_ms) const;
  // Live registers (the siblings VGET shows), highest first.
  std::vector<const std::pair<const Dot, Register>*> live(TimeMs now_ms) const;
  // Whether a live increment carries the client's id `request_id` (a retry it already counted).
  bool has_increment(std::string_view request_id, TimeMs now_ms) const;
  // The sum of the live increments (saturating).
  int64_t increments_total(TimeMs now_ms) const;
  // The sum of the live float increments: per actor in counter order from its fold's, then the
  // actors' sums in actor order — the same bits on every node that holds the same increments,
  // folded or not.
  double float_total(TimeMs now_ms) const;
  // What a GET sees, or nullopt when the key is absent.
  std::optional<Rendered> render(TimeMs now_ms) const;

  // The causal join of two nodes' states of the key, each with the version vector of the node
  // it comes from: a register both hold stays, one only one holds stays unless the other's
  // vector covers it (the other superseded it). Of two folds of an actor the higher stays; a fold
  // only one side holds goes when the other has applied all it sums and holds none of it (it
  // reset them). Commutative, associative, idempotent.
  static KeyState join(const KeyState& a, const CausalContext& seen_a, const KeyState& b,
                       const CausalContext& seen_b);

  std::string encode() const;
  static std::optional<KeyState> decode(std::string_view bytes);

  // What two nodes that applied the same writes agree on whatever they folded: the registers,
  // and per actor the sum of its increments (with their deadlines and ids where not folded).
  std::string canonical() const;

  bool operator==(const KeyState& other) const {
    return registers == other.registers && increments == other.increments && folds == other.folds;
  }
};

}  // namespace replikv::core::multi_leader
