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
  const bool write = is_write(request.request);
  Reply reply = keyspace_.execute(request.request, now_ms_);
  if (write) {
    ++writes_;
    if (keyspace_.dirty()) pending_.sync = Sync::per_policy;  // it changed a record (or flushed)
  } else {
    ++reads_;
  }
  pending_.replies.push_back(
      {request.connection, request.sequence, std::move(reply), std::nullopt, std::nullopt});
}

void Standalone::peer_message(const Message&) {
  // A single node has no peers; a message can only come from a misconfigured cluster. Count it.
  ++dropped_peer_messages_;
}

void Standalone::tick(TimeMs wall_ms, TimeMs /*monotonic_ms*/) {
  now_ms_ = std::max(now_ms_, wall_ms);  // expiry is all it times
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
  status.replication_offset = status.applied_index;
  return status;
}

}  // namespace replikv::core
