// EventQueue: the simulator's virtual time. Events run in (time, insertion order) order, so two
// events at the same instant always run in the order they were scheduled — one seed, one run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/assert.h"

namespace replikv::sim {

class EventQueue {
 public:
  using Action = std::function<void()>;

  int64_t now_ns() const { return now_ns_; }

  void at(int64_t time_ns, Action action) {
    push(time_ns, ordinary_base + next_sequence_++, std::move(action));
  }
  void after(int64_t delay_ns, Action action) { at(now_ns_ + delay_ns, std::move(action)); }
  // An event that runs before every ordinary one at the same instant (the fault schedule's:
  // it can then be queued one event at a time and still run exactly as if queued all at once,
  // before anything else).
  void at_first(int64_t time_ns, Action action) {
    push(time_ns, next_first_sequence_++, std::move(action));
  }

  // Runs the next event; false when there is none.
  bool step() {
    if (heap_.empty()) return false;
    // The heap orders small records; the actions stay put in their slots.
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    const Event event = heap_.back();
    heap_.pop_back();
    REPLIKV_ASSERT(event.time_ns >= now_ns_, "virtual time never moves back");
    now_ns_ = event.time_ns;
    Action action = std::move(actions_[event.slot]);
    free_slots_.push_back(event.slot);
    action();
    return true;
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }

 private:
  static constexpr uint64_t ordinary_base = uint64_t{1} << 63;

  void push(int64_t time_ns, uint64_t sequence, Action action) {
    REPLIKV_ASSERT(time_ns >= now_ns_, "an event cannot be scheduled in the past");
    uint32_t slot;
    if (free_slots_.empty()) {
      slot = static_cast<uint32_t>(actions_.size());
      actions_.push_back(std::move(action));
    } else {
      slot = free_slots_.back();
      free_slots_.pop_back();
      actions_[slot] = std::move(action);
    }
    heap_.push_back({time_ns, sequence, slot});
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  }

  struct Event {
    int64_t time_ns;
    uint64_t sequence;
    uint32_t slot;  // in actions_
    bool operator>(const Event& other) const {
      return time_ns != other.time_ns ? time_ns > other.time_ns : sequence > other.sequence;
    }
  };
  std::vector<Event> heap_;  // a min-heap by (time, sequence)
  std::vector<Action> actions_;
  std::vector<uint32_t> free_slots_;
  int64_t now_ns_ = 0;
  uint64_t next_sequence_ = 0;
  uint64_t next_first_sequence_ = 0;
};

}  // namespace replikv::sim
