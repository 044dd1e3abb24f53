#include "core/causality/hlc.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "core/assert.h"

namespace replikv::core {

std::string HlcTimestamp::text() const { return fmt::format("{}.{}", wall_ms, logical); }

// Moves to (wall_ms, logical) — or, when a counter would pass its limit, to the next millisecond:
// the order holds, and the clock runs at most that much further ahead.
HlcTimestamp HybridClock::advance(TimeMs wall_ms, uint64_t logical) {
  const HlcTimestamp next = logical > std::numeric_limits<uint32_t>::max()
                                ? HlcTimestamp{wall_ms + 1, 0}
                                : HlcTimestamp{wall_ms, static_cast<uint32_t>(logical)};
  REPLIKV_ASSERT(next > last_, "a hybrid clock only moves forward");
  last_ = next;
  return next;
}

// The paper's send/local event: the wall part is the larger of the clock's and the physical
// time; within the same millisecond the counter steps.
HlcTimestamp HybridClock::now(TimeMs physical_ms) {
  const TimeMs wall_ms = std::max(last_.wall_ms, physical_ms);
  return advance(wall_ms, wall_ms == last_.wall_ms ? uint64_t{last_.logical} + 1 : 0);
}

// The paper's receive event, after the offset check: past both this clock and the remote one.
std::optional<HlcTimestamp> HybridClock::observe(const HlcTimestamp& remote, TimeMs physical_ms) {
  if (remote.wall_ms > physical_ms + max_offset_ms_) return std::nullopt;
  const TimeMs wall_ms = std::max({last_.wall_ms, remote.wall_ms, physical_ms});
  uint64_t logical = 0;
  if (wall_ms == last_.wall_ms && wall_ms == remote.wall_ms) {
    logical = uint64_t{std::max(last_.logical, remote.logical)} + 1;
  } else if (wall_ms == last_.wall_ms) {
    logical = uint64_t{last_.logical} + 1;
  } else if (wall_ms == remote.wall_ms) {
    logical = uint64_t{remote.logical} + 1;
  }
  return advance(wall_ms, logical);
}

}  // namespace replikv::core
