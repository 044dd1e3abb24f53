// BlockedPops: the clients waiting in a blocking pop (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP)
// at the node that serves them — the single leader's leader, or a standalone node.
//
// A blocking pop is tried as a plain pop (core/data/lists.cc: the command popping nothing answers
// its timeout reply). When it finds nothing, its client waits here, by the keys it names, oldest
// first as Redis serves them. When a write leaves one of those keys a list with elements, the
// node tries the oldest waiters again — as many as the list has elements — each as a write of its
// own (under the single leader: a log entry, appended while the waiter is marked in flight, so
// its timeout cannot answer it while its pop may still take effect). A try that finds nothing
// again (another client got there first) waits again; one past its deadline answers the timeout
// reply, which is then true: nothing was popped for it.
//
// Deterministic: no clocks of its own (the caller passes its time), ordered containers only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/replica.h"
#include "core/types.h"

namespace replikv::core {

class BlockedPops {
 public:
  // A client's blocking pop waits: `keys` are the lists that may serve it, `deadline_ms` when
  // its timeout answers it (nullopt: never, a timeout of 0). Returns its id.
  uint64_t block(ClientRequest request, std::vector<std::string> keys,
                 std::optional<TimeMs> deadline_ms);
  // Up to `available` waiters on `key` that are not being tried, oldest first, now marked in
  // flight: the caller tries each again.
  std::vector<uint64_t> wake(const std::string& key, uint64_t available);
  // Marks `id` in flight (its first try, as it blocks).
  void trying(uint64_t id);
  const ClientRequest& request(uint64_t id) const { return waiters_.at(id).request; }
  const std::vector<std::string>& keys(uint64_t id) const { return waiters_.at(id).keys; }
  // Every key a waiter (not in flight) waits on.
  std::vector<std::string> waited_keys() const;
  bool contains(uint64_t id) const { return waiters_.contains(id); }
  // A try of `id` found nothing: true when it waits again (before its deadline), false when it
  // is done (the caller answers the timeout reply).
  bool wait_again(uint64_t id, TimeMs now_ms);
  // `id` is answered (its pop took an element, or the node answers it otherwise).
  void finish(uint64_t id);
  // Waiters past their deadline and not in flight: removed and returned, for the timeout reply.
  std::vector<ClientRequest> expired(TimeMs now_ms, bool mutant_answer_in_flight = false);
  // Every waiter not in flight, removed and returned: the node no longer serves them (it lost
  // leadership), so they get a definite refusal — nothing was popped for them.
  std::vector<ClientRequest> take_waiting();
  // The connection closed: its waiters go (Redis unblocks them too) — one with a try in flight
  // when the try comes back, whatever it found (wait_again then finishes it).
  void closed(ConnectionId connection);
  // Tries in flight of waiters on `key`: the elements a list must have beyond them to serve
  // another waiter.
  uint64_t in_flight_on(const std::string& key) const {
    const auto it = in_flight_by_key_.find(key);
    return it == in_flight_by_key_.end() ? 0 : it->second;
  }

  bool waiting_on(const std::string& key) const { return by_key_.contains(key); }
  bool empty() const { return waiters_.empty(); }
  uint64_t size() const { return waiters_.size(); }
  uint64_t timeouts() const { return timeouts_; }

 private:
  struct Waiter {
    ClientRequest request;
    std::vector<std::string> keys;
    std::optional<TimeMs> deadline_ms;
    bool in_flight = false;
    bool closed = false;  // its connection closed while a try was in flight
  };
  void set_in_flight(Waiter& waiter, bool in_flight);
  void unindex(uint64_t id, const Waiter& waiter);
  void index(uint64_t id, const Waiter& waiter);

  std::map<uint64_t, Waiter> waiters_;                          // by id: the oldest first
  std::unordered_map<std::string, std::set<uint64_t>> by_key_;  // waiting (not in flight) only
  std::multimap<TimeMs, uint64_t> deadlines_;
  std::unordered_map<std::string, uint64_t> in_flight_by_key_;
  uint64_t next_id_ = 1;
  uint64_t timeouts_ = 0;
};

}  // namespace replikv::core
