// The admin HTTP port: /metrics (Prometheus text format), /status (JSON), /healthz.
//
// Served on the node's own event loop so that every figure is read from the loop's state
// without locks or copies. It is a deliberately small HTTP/1.0 responder: GET only, one request
// per connection, headers at most 8 KiB, a 5-second deadline per connection.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/memory_info.h"
#include "runtime/server_impl.h"

namespace replikv::runtime {

namespace {

constexpr size_t request_bytes_max = 8 * 1024;
constexpr auto admin_deadline = std::chrono::seconds(5);

std::string response(int code, std::string_view reason, std::string_view content_type,
                     std::string_view body) {
  return fmt::format(
      "HTTP/1.0 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      code, reason, content_type, body.size(), body);
}

}  // namespace

asio::awaitable<void> Server::Impl::accept_admin() {
  while (admin_acceptor.is_open()) {
    auto [ec, socket] = co_await admin_acceptor.async_accept(as_result);
    if (ec) {
      if (!admin_acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(io, serve_admin(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Server::Impl::serve_admin(asio::ip::tcp::socket socket) {
  auto deadline = std::make_shared<asio::steady_timer>(io, admin_deadline);
  deadline->async_wait([&socket](const asio::error_code& ec) {
    if (!ec) {
      asio::error_code ignored;
      socket.close(ignored);
    }
  });
  std::string request;
  char chunk[1024];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < request_bytes_max) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), as_result);
    if (ec) {
      deadline->cancel();
      co_return;
    }
    request.append(chunk, n);
  }
  std::string reply;
  const size_t line_end = request.find("\r\n");
  const std::string line = request.substr(0, line_end);
  const size_t first_space = line.find(' ');
  const size_t second_space = line.find(' ', first_space + 1);
  if (line_end == std::string::npos || first_space == std::string::npos ||
      second_space == std::string::npos) {
    reply = response(400, "Bad Request", "text/plain", "bad request\n");
  } else {
    const std::string method = line.substr(0, first_space);
    std::string path = line.substr(first_space + 1, second_space - first_space - 1);
    path = path.substr(0, path.find('?'));
    if (method != "GET" && method != "HEAD") {
      reply = response(405, "Method Not Allowed", "text/plain", "only GET\n");
    } else if (path == "/metrics") {
      reply = response(200, "OK", "text/plain; version=0.0.4", metrics_text());
    } else if (path == "/status") {
      reply = response(200, "OK", "application/json", status_json());
    } else if (path == "/healthz") {
      reply = response(200, "OK", "text/plain", "ok\n");
    } else {
      reply =
          response(404, "Not Found", "text/plain", "not found: try /metrics, /status, /healthz\n");
    }
  }
  co_await asio::async_write(socket, asio::buffer(reply), as_result);
  asio::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  deadline->cancel();
}

std::string Server::Impl::metrics_text() const {
  const auto status = replica->status();
  const auto storage_stats = engine->stats();
  std::string out;
  // Counts as integers, durations as seconds with a fraction.
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("replikv_uptime_seconds", "gauge", "Seconds since the node started.",
         static_cast<uint64_t>((now_ms() - started_ms) / 1000));
  metric("replikv_connected_clients", "gauge", "Client connections open.", connections.size());
  metric("replikv_connections_received_total", "counter", "Client connections accepted.",
         counters.connections_received);
  metric("replikv_connections_rejected_total", "counter", "Connections refused at max_clients.",
         counters.connections_rejected);
  metric("replikv_commands_processed_total", "counter", "Commands executed.",
         counters.commands_processed);
  metric("replikv_protocol_errors_total", "counter", "Connections closed for malformed RESP.",
         counters.protocol_errors);
  metric("replikv_unknown_commands_total", "counter", "Unknown commands received.",
         counters.unknown_commands);
  metric("replikv_net_input_bytes_total", "counter", "Bytes read from clients.",
         counters.net_input_bytes);
  metric("replikv_net_output_bytes_total", "counter", "Bytes written to clients.",
         counters.net_output_bytes);
  metric("replikv_keys", "gauge", "Keys stored (including expired ones not yet swept).",
         status.key_count);
  metric("replikv_keys_with_expiry", "gauge", "Keys with a time to live.", status.keys_with_expiry);
  metric("replikv_applied_index", "gauge", "Writes applied since the data directory was created.",
         status.applied_index.value());
  metric("replikv_writes_applied_total", "counter", "Write commands applied since start.",
         status.writes_applied_total);
  metric("replikv_reads_total", "counter", "Read commands served since start.", status.reads_total);
  metric("replikv_expired_keys_total", "counter", "Keys deleted by the expiry sweep.",
         status.expired_keys_total);
  metric("replikv_cache_bytes", "gauge", "Memory held by the record cache.", status.cache_bytes);
  const MemoryInfo memory = memory_info();
  metric("replikv_memory_allocated_bytes", "gauge",
         "Bytes held from the allocator (jemalloc's stats.allocated, or glibc's in-use bytes).",
         memory.allocated_bytes);
  metric("replikv_memory_resident_bytes", "gauge", "The process's resident set size.",
         memory.resident_bytes);
  metric("replikv_cache_entries", "gauge", "Records (and known-absent keys) in the cache.",
         status.cache_entries);
  metric("replikv_cache_hits_total", "counter", "Record lookups answered by the cache.",
         status.cache_hits_total);
  metric("replikv_cache_misses_total", "counter", "Record lookups that went to storage.",
         status.cache_misses_total);
  metric("replikv_checkpoint_index", "gauge",
         "The applied index storage holds (a restart applies the log's entries after it again).",
         status.checkpoint_index.value());
  metric("replikv_checkpoints_total", "counter",
         "Checkpoints: the applied state written to storage.", status.checkpoints_total);
  metric("replikv_dirty_records", "gauge",
         "Records applied and not yet in storage (held in memory).", status.dirty_records);
  metric("replikv_dirty_bytes", "gauge",
         "Memory the writes since the last checkpoint hold (key, value, per-entry overhead).",
         status.dirty_bytes);
  metric("replikv_checkpoint_in_flight", "gauge",
         "1 while a checkpoint is being written (off the event loop).",
         status.checkpoint_in_flight ? 1 : 0);
  metric("replikv_checkpoint_last_seconds", "gauge", "How long the last checkpoint took to write.",
         static_cast<double>(counters.checkpoint_last_us) / 1e6);
  metric("replikv_checkpoint_seconds_total", "counter",
         "Time spent writing checkpoints (off the event loop).",
         static_cast<double>(counters.checkpoint_us_total) / 1e6);
  metric("replikv_checkpoint_bytes_total", "counter",
         "Key and value bytes of the checkpoints written.", storage_stats.checkpoint_bytes_total);
  metric("replikv_group_commits_total", "counter",
         "Storage syncs (group commits), one in flight at a time.", ledger->syncs_total());
  metric("replikv_wal_syncs_total", "counter", "Log syncs counted by the storage engine.",
         storage_stats.wal_syncs_total);
  metric("replikv_replies_released_before_durable_total", "counter",
         "Replies released before their write was durable (must stay 0).",
         ledger->replies_released_before_durable());
  metric("replikv_storage_batches_written_total", "counter", "Batches written to storage.",
         storage_stats.batches_written_total);
  metric("replikv_storage_bytes_written_total", "counter", "Bytes written to storage.",
         storage_stats.bytes_written_total);
  if (peers) {
    const auto& peer = peers->counters();
    metric("replikv_term", "gauge", "The current term.", status.term.value());
    metric("replikv_is_leader", "gauge", "1 on the leader, 0 elsewhere.", status.is_leader ? 1 : 0);
    metric("replikv_commit_index", "gauge", "The highest log entry known committed.",
           status.commit_index.value());
    metric("replikv_last_index", "gauge", "The last entry of this node's log.",
           status.last_index.value());
    metric("replikv_writes_forwarded_total", "counter",
           "Client writes this node forwarded to the leader.", status.writes_forwarded_total);
    metric("replikv_duplicates_skipped_total", "counter",
           "Log entries skipped as already applied (at most once).",
           status.duplicates_skipped_total);
    metric("replikv_log_first_index", "gauge",
           "The first entry the log still holds (earlier ones compacted).",
           status.log_first_index.value());
    metric("replikv_log_compacted_entries_total", "counter", "Log entries erased by compaction.",
           status.log_compacted_entries_total);
    metric("replikv_snapshots_sent_total", "counter",
           "Snapshots sent whole to followers (as leader).", status.snapshots_sent_total);
    metric("replikv_snapshot_chunks_sent_total", "counter",
           "Snapshot chunks sent (resent ones too).", status.snapshot_chunks_sent_total);
    metric("replikv_snapshots_installed_total", "counter", "Snapshots this node installed.",
           status.snapshots_installed_total);
    metric("replikv_snapshot_chunks_received_total", "counter", "Snapshot chunks this node staged.",
           status.snapshot_chunks_received_total);
    metric("replikv_snapshot_installing", "gauge",
           "1 while this node receives or installs a snapshot.",
           status.installing_snapshot ? 1 : 0);
    metric("replikv_rollback_entries_total", "counter",
           "Committed entries this node discarded to roll back to a leader's snapshot (never under "
           "majority).",
           status.rollback_entries_total);
    metric("replikv_lag_ms", "gauge",
           "This node's lag behind the leader as bounded reads judge it, drift allowed for (-1: "
           "unknown).",
           status.lag_ms);
    metric("replikv_session_reads_lost_total", "counter",
           "Session reads refused because the session's write was lost in a failover.",
           status.session_reads_lost_total);
    metric("replikv_min_replicas_refused_total", "counter",
           "Writes refused (before any append) for fewer followers in reach than min_replicas.",
           status.min_replicas_refused_total);
    metric("replikv_lease_reads_total", "counter",
           "Linearizable reads the leader served under its lease.", status.lease_reads_total);
    metric("replikv_truncated_entries_total", "counter",
           "Uncommitted entries this node dropped for a leader's conflicting ones (a deposed "
           "leader's suffix).",
           status.truncated_entries_total);
    metric("replikv_voter", "gauge",
           "1 for a voter; 0 for a node that rejoined with an empty data directory (counts toward "
           "no quorum).",
           status.voter ? 1 : 0);
    metric("replikv_peer_messages_sent_total", "counter", "Messages sent to peers.",
           peer.messages_sent);
    metric("replikv_peer_messages_sent_back_total", "counter",
           "Of them, sent on the connection the peer dialed (one connection per pair, both ways).",
           peer.messages_sent_back);
    metric("replikv_peer_messages_received_total", "counter", "Messages received from peers.",
           peer.messages_received);
    metric("replikv_peer_messages_dropped_total", "counter",
           "Messages to or from peers dropped (not connected, queue full, or an injected fault).",
           peer.messages_dropped);
    metric("replikv_peer_handshakes_refused_total", "counter",
           "Peer connections refused (another cluster, an unknown node, a bad hello).",
           peer.handshakes_refused);
    metric("replikv_peer_frames_refused_total", "counter", "Peer frames over the size limit.",
           peer.frames_refused);
    metric("replikv_peer_malformed_messages_total", "counter", "Peer messages that did not decode.",
           status.malformed_messages_total);
    metric("replikv_peer_protocol_violations_total", "counter",
           "Peer messages that broke the protocol (a second leader in one term, a truncation "
           "below the commit index), dropped; must stay 0.",
           status.peer_protocol_violations_total);
    out +=
        "# HELP replikv_follower_lag_entries Log entries a follower is behind the leader (on the "
        "leader).\n"
        "# TYPE replikv_follower_lag_entries gauge\n";
    for (const auto& follower : status.followers) {
      out += fmt::format("replikv_follower_lag_entries{{node=\"{}\"}} {}\n", follower.node.value(),
                         follower.lag_entries);
    }
  }
  return out;
}

std::string Server::Impl::status_json() const {
  const auto status = replica->status();
  const auto storage_stats = engine->stats();
  nlohmann::json json = {
      {"node_id", status.node_id.value()},
      {"strategy", config.strategy},
      {"role", peers ? status.raft_role : std::string("leader")},
      {"term", status.term.value()},
      {"leader_id", status.leader ? status.leader->value() : (peers ? 0 : status.node_id.value())},
      {"applied_index", status.applied_index.value()},
      {"commit_index", peers ? status.commit_index.value() : status.applied_index.value()},
      {"last_index", peers ? status.last_index.value() : status.applied_index.value()},
      {"durable_ready_id", status.durable_ready_id.value()},
      {"keys", status.key_count},
      {"keys_with_expiry", status.keys_with_expiry},
      {"peers", nlohmann::json::array()},
      {"connected_clients", connections.size()},
      {"fsync", to_string(config.fsync)},
      {"engine", to_string(config.engine)},
      {"group_commits", ledger->syncs_total()},
      {"wal_syncs", storage_stats.wal_syncs_total},
      {"replies_released_before_durable", ledger->replies_released_before_durable()},
      {"uptime_seconds", (now_ms() - started_ms) / 1000},
  };
  for (const auto& follower : status.followers) {
    json["peers"].push_back({{"node_id", follower.node.value()},
                             {"match_index", follower.match.value()},
                             {"lag_entries", follower.lag_entries},
                             {"heard_ms_ago", follower.heard_ms_ago},
                             {"voter", follower.voter},
                             {"connected", peers && peers->connected(follower.node.value())}});
  }
  if (peers) {
    json["writes_forwarded"] = status.writes_forwarded_total;
    json["log_first_index"] = status.log_first_index.value();
    json["log_compacted_entries"] = status.log_compacted_entries_total;
    json["snapshots_sent"] = status.snapshots_sent_total;
    json["snapshots_installed"] = status.snapshots_installed_total;
    json["snapshot_installing"] = status.installing_snapshot;
    json["voter"] = status.voter;
    json["rollback_entries"] = status.rollback_entries_total;
    json["peer_protocol_violations"] = status.peer_protocol_violations_total;
    json["lag_ms"] = status.lag_ms;
    json["peer_messages_dropped"] = peers->counters().messages_dropped;
    json["peer_handshakes_refused"] = peers->counters().handshakes_refused;
  }
  return json.dump(2) + "\n";
}

}  // namespace replikv::runtime
