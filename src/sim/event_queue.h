// EventQueue: the simulator's virtual time. Events run in (time, insertion order) order, so two
// events at the same instant always run in the order they were scheduled — one seed, one run.
#pragma once

#include <cstdint>
#include <functional>
#include <algorithm>
#include <vector>

#include "core/assert.h"

namespace replikv::sim {

class EventQueue {
 public:
  using Action = std::function<void()>;

  int64_t now_ns() const { return now_ns_; }

  void at(int64_t time_ns, Action action) {
    REPLIKV_ASSERT(time_ns >= now_ns_, "an event cannot be scheduled in the past");
    events_.push_back({time_ns, next_sequence_++, std::move(action)});
    std::push_heap(events_.begin(), events_.end(), std::greater<>{});
  }
  void after(int64_t delay_ns, Action action) { at(now_ns_ + delay_ns, std::move(action)); }

  // Runs the next event; false when there is none.
  bool step() {
    if (events_.empty()) return false;
    // A binary heap on a vector, so the next event is moved out, not copied.
    std::pop_heap(events_.begin(), events_.end(), std::greater<>{});
    Event event = std::move(events_.back());
    events_.pop_back();
    REPLIKV_ASSERT(event.time_ns >= now_ns_, "virtual time never moves back");
    now_ns_ = event.time_ns;
    event.action();
    return true;
  }
  bool empty() const { return events_.empty(); }
  size_t size() const { return events_.size(); }

 private:
  struct Event {
    int64_t time_ns;
    uint64_t sequence;
    Action action;
    bool operator>(const Event& other) const {
      return time_ns != other.time_ns ? time_ns > other.time_ns : sequence > other.sequence;
    }
  };
  std::vector<Event> events_;  // a min-heap by (time, sequence)
  int64_t now_ns_ = 0;
  uint64_t next_sequence_ = 0;
};

}  // namespace replikv::sim
