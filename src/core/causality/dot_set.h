// CausalSet: the values of one key with their causal history — a dotted version vector set
// (Preguiça, Baquero et al.; the "causal CRDT" join of Almeida et al.), the multi-leader
// strategy's record of a key.
//
// Every write takes a dot: (actor, counter), where the actor is a node *and its incarnation* and
// the counter is that actor's own, persisted before use — never "the key's highest counter + 1",
// which reissues a dot a stale replica already covers once a tombstone is gone or a disk is
// wiped, and silently swallows the new write (Riak's KV679). A wiped node comes back as a new
// incarnation, a new actor.
//
// The set holds the concurrent values (each with its dot) and a context: per actor, the highest
// counter seen. A dot (a, n) is covered by a context C when n <= C[a]. That a counter covers every
// smaller one of its actor holds because an actor's writes to a key are chained — each sees the
// actor's earlier ones (the node applies its own writes before it issues the next dot) — and
// because peers deliver each origin's writes in order.
//
//   write(C, dot, v)  replaces exactly the values whose dots C covers, keeps the concurrent ones,
//                     adds v under its dot; the context takes C and the dot.
//   merge(a, b)       keeps a value present in both, or in one and not covered by the other's
//                     context; the context is the pointwise max. Commutative, associative,
//                     idempotent (property-tested).
//
// Pure, deterministic (ordered maps), values are opaque bytes.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace replikv::core {

// A node in one life: a wiped node comes back as a new incarnation.
struct Actor {
  uint32_t node = 0;
  uint32_t incarnation = 0;
  auto operator<=>(const Actor&) const = default;
};

struct Dot {
  Actor actor;
  uint64_t counter = 0;  // 1, 2, …: the actor's own, persisted before use
  auto operator<=>(const Dot&) const = default;
};

// Per actor, the highest counter seen (a version vector).
using CausalContext = std::map<Actor, uint64_t>;

// Whether `context` covers `dot`.
bool covers(const CausalContext& context, const Dot& dot);
// What `context` covers of `actor`'s writes: its counter there, 0 when it names none.
uint64_t counter_in(const CausalContext& context, const Actor& actor);
// The pointwise max.
CausalContext join(const CausalContext& a, const CausalContext& b);

class CausalSet {
 public:
  // The concurrent values, in dot order.
  const std::map<Dot, std::string>& versions() const { return versions_; }
  // What this set has seen: its context with every dot it holds.
  const CausalContext& context() const { return context_; }

  // A write that had seen `seen` (the context a client read, or the node's own state), under a
  // dot this set has not seen. Returns false — and changes nothing — when it has (a reissued
  // dot: the write would be swallowed).
  bool write(const CausalContext& seen, const Dot& dot, std::string value);
  // Joins `other` into this set.
  void merge(const CausalSet& other);

  bool operator==(const CausalSet&) const = default;

 private:
  std::map<Dot, std::string> versions_;
  CausalContext context_;
};

}  // namespace replikv::core
