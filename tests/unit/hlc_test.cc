// The hybrid logical clock (core/causality/hlc.h): its bounds as properties over arbitrary
// sequences of local events and receipts, with physical clocks that jump either way.
#include <algorithm>
#include <limits>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "core/causality/hlc.h"

namespace replikv::core {
namespace {

constexpr TimeMs max_offset_ms = 500;

// One step: a local event at `physical_ms`, or (`receive`) a peer's timestamp arriving then.
struct Step {
  bool receive = false;
  TimeMs physical_ms = 0;
  HlcTimestamp remote;
};

rc::Gen<Step> steps() {
  return rc::gen::apply(
      [](bool receive, int physical, int remote_wall, int remote_logical) {
        return Step{receive, physical, {remote_wall, static_cast<uint32_t>(remote_logical)}};
      },
      // Narrow ranges, so that steps share milliseconds with the clock and with each other, and
      // remote clocks fall on both sides of the offset bound.
      rc::gen::arbitrary<bool>(), rc::gen::inRange(0, 20), rc::gen::inRange(0, 30),
      rc::gen::inRange(0, 6));
}

RC_GTEST_PROP(HybridClock, NeverBehindPhysicalTimeAndAlwaysForward, ()) {
  const auto run = *rc::gen::container<std::vector<Step>>(steps());
  constexpr TimeMs max_offset_ms = 5;
  HybridClock clock(max_offset_ms);
  std::optional<HlcTimestamp> previous;
  TimeMs highest_seen = 0;  // physical times and accepted remote wall times
  for (const Step& step : run) {
    std::optional<HlcTimestamp> issued;
    if (step.receive) {
      issued = clock.observe(step.remote, step.physical_ms);
      const bool too_far = step.remote.wall_ms > step.physical_ms + max_offset_ms;
      RC_ASSERT(issued.has_value() == !too_far);
      if (!issued) {
        RC_ASSERT(!previous || clock.last() == *previous);  // a refusal changes nothing
        continue;
      }
      RC_ASSERT(*issued > step.remote);  // ahead of every timestamp taken
      highest_seen = std::max(highest_seen, step.remote.wall_ms);
    } else {
      issued = clock.now(step.physical_ms);
    }
    highest_seen = std::max(highest_seen, step.physical_ms);
    RC_ASSERT(issued->wall_ms >= step.physical_ms);  // never behind the physical clock
    RC_ASSERT(!previous || *issued > *previous);     // every timestamp above the last
    // No further ahead than anything it was shown: at most max_offset_ms past a physical clock.
    RC_ASSERT(issued->wall_ms <= highest_seen);
    RC_ASSERT(clock.last() == *issued);
    previous = issued;
  }
}

TEST(HybridClock, AClockInTheFutureIsRefusedAndCannotDragOthersThere) {
  HybridClock clock(max_offset_ms);
  const HlcTimestamp local = clock.now(1000);
  const HlcTimestamp year_2100{4'102'444'800'000, 0};
  EXPECT_EQ(clock.observe(year_2100, 1001), std::nullopt);
  EXPECT_EQ(clock.last(), local);
  EXPECT_EQ(clock.now(1002).wall_ms, 1002);
  // Just inside the bound it is taken, and the clock runs that far ahead until time catches up.
  const auto taken = clock.observe({1502, 7}, 1002);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(*taken, (HlcTimestamp{1502, 8}));
  EXPECT_EQ(clock.now(1100), (HlcTimestamp{1502, 9}));
  EXPECT_EQ(clock.now(1600), (HlcTimestamp{1600, 0}));
}

TEST(HybridClock, WithinOneMillisecondTheCounterOrdersEventsAndOverflowMovesTheWallOn) {
  HybridClock clock(max_offset_ms);
  EXPECT_EQ(clock.now(10), (HlcTimestamp{10, 0}));
  EXPECT_EQ(clock.now(10), (HlcTimestamp{10, 1}));
  EXPECT_EQ(clock.now(9), (HlcTimestamp{10, 2})) << "a physical clock stepped back changes nothing";
  const uint32_t top = std::numeric_limits<uint32_t>::max();
  EXPECT_EQ(clock.observe({10, top}, 10), (HlcTimestamp{11, 0}));
  clock.restore({20, 3});
  EXPECT_EQ(clock.now(15), (HlcTimestamp{20, 4})) << "after a restart it continues above";
  EXPECT_EQ((HlcTimestamp{20, 4}).text(), "20.4");
}

}  // namespace
}  // namespace replikv::core
