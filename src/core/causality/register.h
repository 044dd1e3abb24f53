// Register: one value (or tombstone) of a key under the dot of the write that made it, with the
// hybrid timestamp it was stamped with — what the multi-leader and leaderless strategies keep of
// each concurrent write — and the total order last-writer-wins resolves by.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/causality/dot_set.h"
#include "core/causality/hlc.h"
#include "core/types.h"

namespace replikv::core {

// How a key's concurrent writes are resolved: the highest register wins and the others are
// discarded (lww), or every one is kept for the client to merge (siblings).
enum class ConflictPolicy : uint8_t { lww, siblings };

struct Register {
  HlcTimestamp hlc;
  bool tombstone = false;
  std::string value;
  TimeMs deadline_ms = 0;  // 0: none

  bool live(TimeMs now_ms) const {
    return !tombstone && (deadline_ms == 0 || now_ms <= deadline_ms);
  }
  bool operator==(const Register&) const = default;
};

// Whether register (a, ra) is ordered after (b, rb): by HLC, then node, incarnation, counter —
// a total order every node computes alike.
inline bool ordered_after(const Dot& a, const Register& ra, const Dot& b, const Register& rb) {
  if (ra.hlc != rb.hlc) return ra.hlc > rb.hlc;
  return a > b;  // node, incarnation, counter
}

// A key's concurrent registers, by dot.
using Registers = std::map<Dot, Register>;
using RegisterEntry = std::pair<const Dot, Register>;

// The highest live register, or nullptr.
const RegisterEntry* highest_live(const Registers& registers, TimeMs now_ms);
// The live registers (the siblings VGET shows), highest first.
std::vector<const RegisterEntry*> live_registers(const Registers& registers, TimeMs now_ms);
// lww: keeps only the highest register; returns the dots of the others (discarded).
std::vector<Dot> keep_highest(Registers& registers);
// Turns the registers whose deadline passed by `now_ms` into tombstones under their own dot and
// timestamp — an expired value still wins, under lww, against a concurrent write it beat while
// live, on a node that expired it before that write arrived as on one that got the write first.
// Returns how many.
size_t expire_registers(Registers& registers, TimeMs now_ms);

}  // namespace replikv::core
