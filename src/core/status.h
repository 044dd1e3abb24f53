// ReplicaStatus: what a replica reports of itself, for INFO, ROLE, /status, /metrics and the
// simulator. A common part every strategy fills (the keyspace, the applied position, peer input
// that broke the rules), and the strategy's own numbers as a list of named metrics — the one
// list INFO replication, /metrics and /status are generated from (runtime/metrics_render.h), so a
// strategy adds a metric in one place and no driver names it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"

namespace replikv::core {

// One named value. `name` is lower_snake_case without a prefix or unit suffix for counters:
// "term", "writes_forwarded". Rendered as `replikv_<name>:<value>` in INFO, `replikv_<name>`
// (counters `replikv_<name>_total`) in /metrics, `"<name>": value` in /status.
struct Metric {
  enum class Kind : uint8_t {
    counter,  // only grows while the process runs
    gauge,    // a number that goes up and down (-1 may stand for "unknown")
    flag,     // 0 or 1; JSON true/false
    text,     // a word or a sentence; a labelled 1 in /metrics
  };
  std::string_view name;
  Kind kind = Kind::gauge;
  std::string_view help;
  int64_t number = 0;
  std::string text;
  bool brief = false;  // also in one-line summaries (the server's log, the simulator's node lines)
};

// Builds a metric list: metrics.counter("writes_forwarded", "…", n).
class MetricList {
 public:
  MetricList& counter(std::string_view name, std::string_view help, uint64_t value,
                      bool brief = false);
  MetricList& gauge(std::string_view name, std::string_view help, int64_t value,
                    bool brief = false);
  MetricList& flag(std::string_view name, std::string_view help, bool value, bool brief = false);
  MetricList& text(std::string_view name, std::string_view help, std::string value,
                   bool brief = false);
  std::vector<Metric> take() { return std::move(metrics_); }

 private:
  std::vector<Metric> metrics_;
};

// What a node knows of one peer it ships its writes to.
struct FollowerStatus {
  NodeId node;
  LogIndex match;            // the peer holds this node's stream durably up to here
  uint64_t lag_entries = 0;  // this node's last position minus match
  TimeMs heard_ms_ago = 0;   // since the peer last answered
  bool voter = true;         // false: counts toward no quorum (an empty data directory rejoined)
};

struct ReplicaStatus {
  // Where this node stands, in Redis's words for ROLE and INFO ("master" takes writes, "slave"
  // sends them on) and in the strategy's own ("leader", "follower", "candidate", …).
  std::string role;
  std::string state;
  NodeId node_id;
  std::optional<NodeId> leader;  // where writes go, when the strategy has one and knows it
  // The period of leadership this node is in (a Raft term): of two nodes that both say "leader",
  // the one of the higher epoch leads. 0 when the strategy has no such thing.
  uint64_t epoch = 0;
  // The last position of the stream this node ships (Redis's master_repl_offset), and the peers it
  // ships to with theirs (at a leader; empty elsewhere).
  LogIndex replication_offset;
  std::vector<FollowerStatus> followers;
  // The keyspace and the applied state.
  uint64_t key_count = 0;
  uint64_t keys_with_expiry = 0;
  LogIndex applied_index;    // writes applied since the data directory was created
  ReadyId durable_ready_id;  // every Ready up to this one is durable
  uint64_t writes_applied_total = 0;
  uint64_t reads_total = 0;
  uint64_t expired_keys_total = 0;      // deleted by the expiry sweep since start
  uint64_t blocked_clients = 0;         // clients waiting in a blocking pop at this node (INFO's)
  uint64_t blocked_timeouts_total = 0;  // blocking pops answered by their timeout
  uint64_t keyspace_hits_total = 0;
  uint64_t keyspace_misses_total = 0;
  uint64_t cache_bytes = 0;  // the record cache in front of storage
  uint64_t cache_entries = 0;
  uint64_t cache_hits_total = 0;
  uint64_t cache_misses_total = 0;
  // Checkpoints (docs/storage.md): the applied index storage holds, how many were written, and
  // what is applied but not yet in storage (a restart applies it again from the log).
  LogIndex checkpoint_index;
  uint64_t checkpoints_total = 0;
  uint64_t dirty_records = 0;
  uint64_t dirty_bytes = 0;
  bool checkpoint_in_flight = false;  // handed to the driver, not yet reported written
  // Receiving state in bulk (a snapshot, a transfer): a settling simulation waits for it.
  bool receiving_state = false;
  // Peer input: messages that did not decode, and messages that broke the protocol (a second
  // leader in one term, a truncation below the commit index), both dropped. Violations must stay
  // 0 — the simulator and chaos fail a run on any; the first one is described.
  uint64_t malformed_messages_total = 0;
  uint64_t peer_protocol_violations_total = 0;
  std::string first_protocol_violation;
  // The strategy's own (Strategy's replica fills it; the drivers render it without naming one).
  std::vector<Metric> metrics;

  // The named metric, if the strategy reports it.
  const Metric* metric(std::string_view name) const;
  // Its number; 0 when the strategy does not report it.
  int64_t number(std::string_view name) const;
  // "term 3 commit_index 120": the brief metrics, for one-line summaries.
  std::string brief() const;
};

// The common part as metrics, in the order the drivers render them (the keyspace, the applied
// state, checkpoints, then peer input); the strategy's own follow.
std::vector<Metric> common_metrics(const ReplicaStatus& status);
// Just the peer input part (INFO replication shows it beside the strategy's metrics).
std::vector<Metric> peer_input_metrics(const ReplicaStatus& status);

}  // namespace replikv::core
