// Replica: the interface every replication strategy implements, and the only way a driver talks
// to one. It is a deterministic state machine: the same inputs in the same order, from the same
// storage contents and the same Rng seed, give the same Readies. See core/ready.h for the steps a
// driver must follow after each input.
//
// Thread-safety: none. A replica belongs to one thread (the event loop, or the simulator).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/command.h"
#include "core/consistency.h"
#include "core/ready.h"
#include "core/status.h"
#include "core/types.h"

namespace replikv::core {

struct ClientRequest {
  ConnectionId connection;
  uint64_t sequence = 0;
  Request request;
  ReadOptions read;  // a read's consistency (the cluster's default unless the client chose)
  // The connection's session (core/session.h): for a session read, the latest position it was
  // given; for WAIT, its last write's. None when it has had none.
  std::optional<SessionPosition> session;
  // Leaderless: how many replicas a write waits for (core/consistency.h's counts), when the
  // connection chose (WCONSISTENCY); the cluster's W otherwise.
  std::optional<uint32_t> write_replicas = std::nullopt;
};

// One callable of several lambdas: Overloaded{[](const A&) {…}, [](const B&) {…}}.
template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// For a strategy's client_request: calls `answer` with the typed request when it is one the
// strategy answers itself (WAIT, FAILOVER: command.h, StrategyRequestTypes) and returns true;
// returns false for a request the keyspace serves. `answer` must take every one of those types —
// a strategy that leaves one out does not compile. (`answer` may move the ClientRequest the typed
// request belongs to; it must not use the typed request after that.)
template <typename Answer>
bool answer_strategy_request(const Request& request, Answer&& answer) {
  return std::visit(
      [&](const auto& typed) -> bool {
        using T = std::decay_t<decltype(typed)>;
        if constexpr (strategy_answers_v<T>) {
          static_assert(std::is_invocable_v<Answer, const T&>,
                        "a strategy answers every request of StrategyRequestTypes");
          answer(typed);
          return true;
        } else {
          return false;
        }
      },
      request);
}

// Members of a history event a strategy adds: name → JSON text (core cannot include check/).
using HistoryFields = std::vector<std::pair<std::string, std::string>>;

class Replica {
 public:
  virtual ~Replica() = default;

  // Inputs.
  virtual void client_request(ClientRequest request) = 0;
  // The client's connection closed: what waits for it (a blocking pop) stops waiting.
  virtual void client_closed(ConnectionId /*connection*/) {}
  virtual void peer_message(const Message& message) = 0;
  // Two clocks: the wall clock (expiry times; it may be stepped, either way) and a monotonic
  // one (timers, leases, lag: it only moves forward, at a rate within the configured drift of
  // real time, and may start anywhere). The one-argument form gives both the same (tests).
  virtual void tick(TimeMs wall_ms, TimeMs monotonic_ms) = 0;
  void tick(TimeMs now_ms) { tick(now_ms, now_ms); }
  virtual void persisted(ReadyId ready_id) = 0;
  // The checkpoint of that Ready is written and durable (core/ready.h, step 6).
  virtual void checkpointed(uint64_t /*checkpoint_id*/) {}

  // Moves what the last inputs produced into `out` (cleared first) and returns true, or returns
  // false when there is nothing to do. Ids increase by one per Ready returned.
  virtual bool take_ready(Ready& out) = 0;

  virtual ReplicaStatus status() const = 0;
  // The term this replica leads in, if it leads now and its strategy has terms: one cheap
  // question, for the simulator's one-leader-per-term check that runs after every step.
  virtual std::optional<Term> leader_term() const { return std::nullopt; }
  // Whether `message`, as this protocol's wire carries it, is one that may leave before its Ready
  // is durable (`Message::early`; core/ready.h, step 4). Drivers that check the contract (the
  // simulator) ask it of every early message: anything else leaving early — an acknowledgement,
  // a vote — would promise what a crash can take back.
  virtual bool may_leave_early(const Message&) const { return false; }
  // Where this replica stands for a session read at `position` (core/session.h): serve it, wait
  // for more to be applied, or refuse it — the write it names was lost. A replica without
  // sessions serves every read as it comes.
  virtual SessionCheck check_session(const SessionPosition&) const {
    return SessionCheck::satisfied;
  }
  // A digest of the replica's state machine as it serves it (storage with what it has not yet
  // checkpointed over it): equal states give equal digests on every node. DEBUG DIGEST answers
  // it; the simulator's convergence check compares it. Empty for replicas without a keyspace.
  virtual std::string state_digest() const { return {}; }
  // The value `key` holds in this node's state now, read without a client or any round (the
  // simulator's invariant checks: a transaction's keys, at every step); nullopt when absent or
  // when the replica does not say.
  virtual std::optional<std::string> local_value(const std::string& /*key*/) {
    return std::nullopt;
  }
  // The number of elements of the collection at `key` in this node's state now, counted element
  // by element (Keyspace::collection_size); nullopt when absent or when the replica does not say.
  virtual std::optional<uint64_t> local_collection_size(const std::string& /*key*/) {
    return std::nullopt;
  }
  // The elements of the list at `key` in this node's state now, head first (the simulator's queue
  // check); nullopt when the replica does not say.
  virtual std::optional<std::vector<std::string>> local_list(const std::string& /*key*/) {
    return std::nullopt;
  }
  // What the last client_request made of a write, for the simulator's history ("made" events,
  // check/history.h): the dot it took and the context it carried, say — recorded whether or not
  // the client hears back, so a checker knows every write that may have taken effect. Empty when
  // it made none, or for a strategy that records nothing.
  virtual HistoryFields last_write_fields() const { return {}; }
  // What the replica reports for the simulator's history since the last call, each event a set of
  // members (lww's discarded writes, each once, when the discard is durable). A replica keeps
  // them only once this has been called: a node process, which never calls it, keeps none.
  virtual std::vector<HistoryFields> take_history_events() { return {}; }
};

// A replica that hands every input and question to another: the base of wrappers that change one
// thing about the replica they wrap (the simulator's deliberately broken ones, a test's forger).
// Every virtual of Replica is forwarded here, so a wrapper cannot forget one.
class ForwardingReplica : public Replica {
 public:
  explicit ForwardingReplica(std::unique_ptr<Replica> inner) : inner_(std::move(inner)) {}
  void client_request(ClientRequest request) override {
    inner_->client_request(std::move(request));
  }
  void peer_message(const Message& message) override { inner_->peer_message(message); }
  using Replica::tick;
  void tick(TimeMs wall_ms, TimeMs monotonic_ms) override { inner_->tick(wall_ms, monotonic_ms); }
  void persisted(ReadyId ready_id) override { inner_->persisted(ready_id); }
  void client_closed(ConnectionId connection) override { inner_->client_closed(connection); }
  void checkpointed(uint64_t checkpoint_id) override { inner_->checkpointed(checkpoint_id); }
  bool take_ready(Ready& out) override { return inner_->take_ready(out); }
  ReplicaStatus status() const override { return inner_->status(); }
  std::optional<Term> leader_term() const override { return inner_->leader_term(); }
  bool may_leave_early(const Message& message) const override {
    return inner_->may_leave_early(message);
  }
  SessionCheck check_session(const SessionPosition& position) const override {
    return inner_->check_session(position);
  }
  std::string state_digest() const override { return inner_->state_digest(); }
  std::optional<std::string> local_value(const std::string& key) override {
    return inner_->local_value(key);
  }
  std::optional<uint64_t> local_collection_size(const std::string& key) override {
    return inner_->local_collection_size(key);
  }
  std::optional<std::vector<std::string>> local_list(const std::string& key) override {
    return inner_->local_list(key);
  }
  HistoryFields last_write_fields() const override { return inner_->last_write_fields(); }
  std::vector<HistoryFields> take_history_events() override {
    return inner_->take_history_events();
  }

 protected:
  std::unique_ptr<Replica> inner_;
};

}  // namespace replikv::core
