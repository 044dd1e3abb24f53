#include "core/standalone.h"

#include <algorithm>
#include <utility>

#include "core/assert.h"

namespace replikv::core {

Standalone::Standalone(const StorageView& view, Rng rng, StandaloneOptions options)
    : options_(options), rng_(rng), keyspace_(view, options.cache_bytes_max) {}

void Standalone::client_request(ClientRequest request) {
  const bool answered = answer_strategy_request(
      request.request,
      Overloaded{[&](const WaitRequest&) {
                   // A single node has no replicas to wait for.
                   pending_.replies.push_back({request.connection, request.sequence,
                                               Reply::number(0), std::nullopt, std::nullopt});
                 },
                 [&](const StrategyCommand& command) {
                   // It adds none: the runtime refuses another strategy's commands by name.
                   pending_.replies.push_back(
                       {request.connection, request.sequence,
                        Reply::error("ERR unknown command '" + command.name + "'"), std::nullopt,
                        std::nullopt});
                 }});
  if (answered) return;
  std::vector<std::string> written;
  const bool note = is_write(request.request) && !blocked_pops_.empty();
  const auto* command = std::get_if<CommandRequest>(&request.request);
  auto pop = command != nullptr ? blocking_pop_of(command->argv) : std::nullopt;
  Reply reply = execute(request.request, note || pop ? &written : nullptr);
  if (pop && (reply.kind == Reply::Kind::null || reply.kind == Reply::Kind::null_array)) {
    // Nothing to pop: the client waits for a write that leaves one of its lists with elements.
    const std::optional<TimeMs> deadline =
        pop->timeout_ms > 0 ? std::optional<TimeMs>(now_ms_ + pop->timeout_ms) : std::nullopt;
    blocked_pops_.block(std::move(request), std::move(pop->keys), deadline);
    pending_.tick_at_ms = deadline ? std::min(pending_.tick_at_ms.value_or(*deadline), *deadline)
                                   : pending_.tick_at_ms;
    return;
  }
  answer(request, std::move(reply));
  if (!written.empty() && !blocked_pops_.empty()) serve_blocked_pops(std::move(written));
}

Reply Standalone::execute(const Request& request, std::vector<std::string>* written) {
  const bool write = is_write(request);
  if (written != nullptr) keyspace_.observe_writes(written);
  Reply reply = keyspace_.execute(request, now_ms_);
  if (written != nullptr) keyspace_.observe_writes(nullptr);
  if (write) {
    ++writes_;
    if (keyspace_.dirty()) pending_.sync = Sync::per_policy;  // it changed a record (or flushed)
  } else {
    ++reads_;
  }
  return reply;
}

void Standalone::answer(const ClientRequest& request, Reply reply) {
  pending_.replies.push_back(
      {request.connection, request.sequence, std::move(reply), std::nullopt, std::nullopt});
}

void Standalone::serve_blocked_pops(std::vector<std::string> written) {
  // A worklist: a try's own writes (BLMOVE pushes onto its destination) may serve others.
  while (!written.empty() && !blocked_pops_.empty()) {
    const std::string key = std::move(written.back());
    written.pop_back();
    for (const uint64_t id : blocked_pops_.wake(key, keyspace_.list_length(key, now_ms_))) {
      const ClientRequest request = blocked_pops_.request(id);
      Reply reply = execute(request.request, &written);
      if (reply.kind == Reply::Kind::null || reply.kind == Reply::Kind::null_array) {
        if (blocked_pops_.wait_again(id, now_ms_)) continue;
      } else {
        blocked_pops_.finish(id);
      }
      answer(request, std::move(reply));
    }
  }
}

void Standalone::peer_message(const Message&) {
  // A single node has no peers; a message can only come from a misconfigured cluster. Count it.
  ++dropped_peer_messages_;
}

void Standalone::tick(TimeMs wall_ms, TimeMs /*monotonic_ms*/) {
  now_ms_ = std::max(now_ms_, wall_ms);  // expiry and blocking pops' timeouts are all it times
  for (auto& request : blocked_pops_.expired(now_ms_)) {
    const auto pop = blocking_pop_of(std::get<CommandRequest>(request.request).argv);
    answer(request, pop ? pop->timeout_reply : Reply::null_array());
  }
  if (now_ms_ < next_sweep_at_ms_) return;
  next_sweep_at_ms_ = now_ms_ + options_.expiry_sweep_interval_ms;
  const uint64_t deleted = keyspace_.expire_due(now_ms_, options_.expiry_sweep_keys_max);
  expired_ += deleted;
  if (deleted > 0) pending_.sync = Sync::per_policy;
  // Come back sooner when the sweep hit its bound: more keys are probably due.
  pending_.tick_at_ms = deleted == options_.expiry_sweep_keys_max ? now_ms_ : next_sweep_at_ms_;
}

void Standalone::persisted(ReadyId ready_id) {
  REPLIKV_ASSERT(ready_id <= last_taken_, "persisted() names a Ready that was never taken");
  REPLIKV_ASSERT(ready_id >= durable_, "the durable position never moves back");
  durable_ = ready_id;
}

bool Standalone::take_ready(Ready& out) {
  keyspace_.checkpoint(pending_.batch);  // no log to replay: what it answered is in storage
  return hand_over(pending_, last_taken_, out);
}

ReplicaStatus Standalone::status() const {
  ReplicaStatus status;
  status.role = "master";
  status.state = "leader";  // the one node takes every write
  status.node_id = options_.node_id;
  status.leader = options_.node_id;
  keyspace_.describe(status);
  status.checkpoint_index = keyspace_.checkpoint_index();
  status.applied_index = keyspace_.applied_index();
  status.durable_ready_id = durable_;
  status.writes_applied_total = writes_;
  status.reads_total = reads_;
  status.expired_keys_total = expired_;
  status.blocked_clients = blocked_pops_.size();
  status.blocked_timeouts_total = blocked_pops_.timeouts();
  status.replication_offset = status.applied_index;
  return status;
}

}  // namespace replikv::core
