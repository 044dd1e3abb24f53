// HybridClock: a hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks",
// 2014), the timestamp the multi-leader strategy stamps every write with.
//
// A timestamp is (wall_ms, logical). The clock is never behind the local physical clock it is
// given, and every timestamp it issues is greater than every one it issued or accepted before —
// so a write stamped after this node saw another is ordered after it, whatever the wall clocks
// say. The logical part counts events within one millisecond of the clock's wall time.
//
// One exception, as CockroachDB makes it: a remote timestamp more than `max_offset_ms` ahead of
// the local physical clock is refused (and counted by the caller) instead of taken, so one node
// with a clock in the year 2100 cannot drag every clock of the cluster there. Accepted
// timestamps are therefore never more than `max_offset_ms` ahead of the physical clock that
// accepted them, and neither is this clock.
//
// Pure and deterministic: the physical time is an argument, never read here.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "core/types.h"

namespace replikv::core {

struct HlcTimestamp {
  TimeMs wall_ms = 0;
  uint32_t logical = 0;

  auto operator<=>(const HlcTimestamp&) const = default;
  std::string text() const;  // "1733472000123.4"
};

// The least timestamp above `t` (the next millisecond once the counter is at its limit).
inline HlcTimestamp successor(const HlcTimestamp& t) {
  return t.logical == UINT32_MAX ? HlcTimestamp{t.wall_ms + 1, 0}
                                 : HlcTimestamp{t.wall_ms, t.logical + 1};
}

class HybridClock {
 public:
  explicit HybridClock(TimeMs max_offset_ms) : max_offset_ms_(max_offset_ms) {}

  // A timestamp for a local event (a write) at physical time `physical_ms`.
  HlcTimestamp now(TimeMs physical_ms);
  // Takes a timestamp received from a peer at physical time `physical_ms`: the clock moves past
  // it and returns the timestamp of the receipt. nullopt — and the clock unchanged — when
  // `remote` is more than max_offset_ms ahead of `physical_ms`.
  std::optional<HlcTimestamp> observe(const HlcTimestamp& remote, TimeMs physical_ms);

  // The last timestamp issued (or the one restored).
  HlcTimestamp last() const { return last_; }
  // After a restart: the clock continues above what it had issued before (persisted by the
  // caller), so no timestamp is issued twice.
  void restore(const HlcTimestamp& issued) { last_ = std::max(last_, issued); }
  TimeMs max_offset_ms() const { return max_offset_ms_; }

 private:
  HlcTimestamp advance(TimeMs wall_ms, uint64_t logical);

  TimeMs max_offset_ms_;
  HlcTimestamp last_;
};

}  // namespace replikv::core
