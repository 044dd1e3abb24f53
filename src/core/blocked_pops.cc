#include "core/blocked_pops.h"

#include <algorithm>

#include "core/assert.h"

namespace replikv::core {

uint64_t BlockedPops::block(ClientRequest request, std::vector<std::string> keys,
                            std::optional<TimeMs> deadline_ms) {
  const uint64_t id = next_id_++;
  Waiter& waiter = waiters_[id];
  waiter.request = std::move(request);
  // Each key once (BLPOP a a 0): a try in flight counts once on each of its keys.
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  waiter.keys = std::move(keys);
  waiter.deadline_ms = deadline_ms;
  index(id, waiter);
  if (deadline_ms) deadlines_.emplace(*deadline_ms, id);
  return id;
}

void BlockedPops::set_in_flight(Waiter& waiter, bool in_flight) {
  if (waiter.in_flight == in_flight) return;
  waiter.in_flight = in_flight;
  for (const auto& key : waiter.keys) {
    if (in_flight) {
      ++in_flight_by_key_[key];
      continue;
    }
    const auto it = in_flight_by_key_.find(key);
    REPLIKV_ASSERT(it != in_flight_by_key_.end() && it->second > 0, "a try in flight was counted");
    if (--it->second == 0) in_flight_by_key_.erase(it);
  }
}

std::vector<std::string> BlockedPops::waited_keys() const {
  std::vector<std::string> out;
  out.reserve(by_key_.size());
  for (const auto& [key, ids] : by_key_) out.push_back(key);
  std::sort(out.begin(), out.end());  // (deterministic order)
  return out;
}

void BlockedPops::index(uint64_t id, const Waiter& waiter) {
  for (const auto& key : waiter.keys) by_key_[key].insert(id);
}

void BlockedPops::unindex(uint64_t id, const Waiter& waiter) {
  for (const auto& key : waiter.keys) {
    const auto it = by_key_.find(key);
    if (it == by_key_.end()) continue;
    it->second.erase(id);
    if (it->second.empty()) by_key_.erase(it);
  }
}

std::vector<uint64_t> BlockedPops::wake(const std::string& key, uint64_t available) {
  std::vector<uint64_t> woken;
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return woken;
  for (const uint64_t id : it->second) {
    if (woken.size() >= available) break;
    woken.push_back(id);
  }
  for (const uint64_t id : woken) {
    Waiter& waiter = waiters_.at(id);
    unindex(id, waiter);  // (invalidates `it`)
    set_in_flight(waiter, true);
  }
  return woken;
}

void BlockedPops::trying(uint64_t id) {
  Waiter& waiter = waiters_.at(id);
  if (waiter.in_flight) return;
  unindex(id, waiter);
  set_in_flight(waiter, true);
}

bool BlockedPops::wait_again(uint64_t id, TimeMs now_ms) {
  Waiter& waiter = waiters_.at(id);
  REPLIKV_ASSERT(waiter.in_flight, "only a try in flight comes back");
  if (waiter.closed) {
    finish(id);
    return false;
  }
  if (waiter.deadline_ms && *waiter.deadline_ms <= now_ms) {
    ++timeouts_;
    finish(id);
    return false;
  }
  set_in_flight(waiter, false);
  index(id, waiter);
  return true;
}

void BlockedPops::finish(uint64_t id) {
  const auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  if (!it->second.in_flight) unindex(id, it->second);
  set_in_flight(it->second, false);
  if (it->second.deadline_ms) {
    for (auto [at, end] = deadlines_.equal_range(*it->second.deadline_ms); at != end; ++at) {
      if (at->second == id) {
        deadlines_.erase(at);
        break;
      }
    }
  }
  waiters_.erase(it);
}

std::vector<ClientRequest> BlockedPops::expired(TimeMs now_ms, bool mutant_answer_in_flight) {
  std::vector<ClientRequest> out;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now_ms;) {
    const uint64_t id = it->second;
    Waiter& waiter = waiters_.at(id);
    if (waiter.in_flight && !mutant_answer_in_flight) {
      ++it;  // its try answers it (wait_again sees the deadline)
      continue;
    }
    it = deadlines_.erase(it);
    unindex(id, waiter);
    out.push_back(std::move(waiter.request));
    waiters_.erase(id);
    ++timeouts_;
  }
  return out;
}

std::vector<ClientRequest> BlockedPops::take_waiting() {
  std::vector<ClientRequest> out;
  std::vector<uint64_t> ids;
  for (const auto& [id, waiter] : waiters_) {
    if (!waiter.in_flight) ids.push_back(id);
  }
  for (const uint64_t id : ids) {
    out.push_back(waiters_.at(id).request);
    finish(id);
  }
  return out;
}

void BlockedPops::closed(ConnectionId connection) {
  std::vector<uint64_t> ids;
  for (auto& [id, waiter] : waiters_) {
    if (waiter.request.connection != connection) continue;
    if (waiter.in_flight) {
      waiter.closed = true;  // its try comes back to nobody: finished then
    } else {
      ids.push_back(id);
    }
  }
  for (const uint64_t id : ids) finish(id);
}

}  // namespace replikv::core
