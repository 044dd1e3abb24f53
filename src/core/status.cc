#include "core/status.h"

#include <algorithm>

#include <fmt/format.h>

namespace replikv::core {

namespace {

MetricList& add(std::vector<Metric>& metrics, MetricList& list, Metric metric) {
  metrics.push_back(std::move(metric));
  return list;
}

}  // namespace

MetricList& MetricList::counter(std::string_view name, std::string_view help, uint64_t value,
                                bool brief) {
  return add(metrics_, *this,
             {name, Metric::Kind::counter, help, static_cast<int64_t>(value), {}, brief});
}

MetricList& MetricList::gauge(std::string_view name, std::string_view help, int64_t value,
                              bool brief) {
  return add(metrics_, *this, {name, Metric::Kind::gauge, help, value, {}, brief});
}

MetricList& MetricList::flag(std::string_view name, std::string_view help, bool value, bool brief) {
  return add(metrics_, *this, {name, Metric::Kind::flag, help, value ? 1 : 0, {}, brief});
}

MetricList& MetricList::text(std::string_view name, std::string_view help, std::string value,
                             bool brief) {
  return add(metrics_, *this, {name, Metric::Kind::text, help, 0, std::move(value), brief});
}

const Metric* ReplicaStatus::metric(std::string_view name) const {
  const auto it = std::find_if(metrics.begin(), metrics.end(),
                               [&](const Metric& metric) { return metric.name == name; });
  return it == metrics.end() ? nullptr : &*it;
}

int64_t ReplicaStatus::number(std::string_view name) const {
  const Metric* found = metric(name);
  return found != nullptr ? found->number : 0;
}

std::string ReplicaStatus::brief() const {
  std::string out;
  for (const Metric& metric : metrics) {
    if (!metric.brief) continue;
    if (!out.empty()) out += ' ';
    if (metric.kind == Metric::Kind::text) {
      out += fmt::format("{} {}", metric.name, metric.text);
    } else {
      out += fmt::format("{} {}", metric.name, metric.number);
    }
  }
  return out;
}

std::vector<Metric> common_metrics(const ReplicaStatus& status) {
  MetricList list;
  list.text("state", "This node's part in its strategy's words (leader, follower, candidate, …).",
            status.state)
      .gauge("epoch", "The period of leadership this node is in (a Raft term; 0: none).",
             static_cast<int64_t>(status.epoch))
      .gauge("leader_id", "The leader this node knows (0: none).",
             status.leader ? static_cast<int64_t>(status.leader->value()) : 0)
      .gauge("keys", "Keys stored (including expired ones not yet swept).",
             static_cast<int64_t>(status.key_count))
      .gauge("keys_with_expiry", "Keys with a time to live.",
             static_cast<int64_t>(status.keys_with_expiry))
      .gauge("applied_index", "Writes applied since the data directory was created.",
             static_cast<int64_t>(status.applied_index.value()))
      .gauge("durable_ready_id", "Every Ready of the replica up to this one is durable.",
             static_cast<int64_t>(status.durable_ready_id.value()))
      .counter("writes_applied", "Write commands applied since start.", status.writes_applied_total)
      .counter("reads", "Read commands served since start.", status.reads_total)
      .counter("expired_keys", "Keys deleted by the expiry sweep.", status.expired_keys_total)
      .gauge("blocked_clients", "Clients waiting in a blocking pop (BLPOP …) at this node.",
             static_cast<int64_t>(status.blocked_clients))
      .counter("blocked_timeouts", "Blocking pops answered by their timeout.",
               status.blocked_timeouts_total)
      .counter("keyspace_hits", "Reads that found their key.", status.keyspace_hits_total)
      .counter("keyspace_misses", "Reads that did not find their key.",
               status.keyspace_misses_total)
      .gauge("cache_bytes", "Memory held by the record cache.",
             static_cast<int64_t>(status.cache_bytes))
      .gauge("cache_entries", "Records (and known-absent keys) in the cache.",
             static_cast<int64_t>(status.cache_entries))
      .counter("cache_hits", "Record lookups answered by the cache.", status.cache_hits_total)
      .counter("cache_misses", "Record lookups that went to storage.", status.cache_misses_total)
      .gauge(
          "checkpoint_index",
          "The applied index storage holds (a restart applies the log's entries after it again).",
          static_cast<int64_t>(status.checkpoint_index.value()))
      .counter("checkpoints", "Checkpoints: the applied state written to storage.",
               status.checkpoints_total)
      .gauge("dirty_records", "Records applied and not yet in storage (held in memory).",
             static_cast<int64_t>(status.dirty_records))
      .gauge("dirty_bytes",
             "Memory the writes since the last checkpoint hold (key, value, per-entry overhead).",
             static_cast<int64_t>(status.dirty_bytes))
      .flag("checkpoint_in_flight", "1 while a checkpoint is being written (off the event loop).",
            status.checkpoint_in_flight)
      .flag("receiving_state", "1 while this node receives state in bulk (a snapshot).",
            status.receiving_state);
  auto metrics = list.take();
  auto peer_input = peer_input_metrics(status);
  metrics.insert(metrics.end(), std::make_move_iterator(peer_input.begin()),
                 std::make_move_iterator(peer_input.end()));
  return metrics;
}

std::vector<Metric> peer_input_metrics(const ReplicaStatus& status) {
  MetricList list;
  list.counter("peer_malformed_messages", "Peer messages that did not decode, dropped.",
               status.malformed_messages_total)
      .counter("peer_protocol_violations",
               "Peer messages that broke the protocol (a second leader in one term, a truncation "
               "below the commit index), dropped; must stay 0.",
               status.peer_protocol_violations_total);
  if (!status.first_protocol_violation.empty()) {
    list.text("first_protocol_violation", "The first peer message that broke the protocol.",
              status.first_protocol_violation);
  }
  return list.take();
}

}  // namespace replikv::core
