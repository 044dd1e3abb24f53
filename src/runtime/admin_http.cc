// The admin HTTP port: /metrics (Prometheus text format), /status (JSON), /healthz.
//
// Served on the node's own event loop so that every figure is read from the loop's state
// without locks or copies. It is a deliberately small HTTP/1.0 responder: GET only, one request
// per connection, headers at most 8 KiB, a 5-second deadline per connection.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/memory_info.h"
#include "runtime/metrics_render.h"
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
  const MemoryInfo memory = memory_info();
  metric("replikv_memory_allocated_bytes", "gauge",
         "Bytes held from the allocator (jemalloc's stats.allocated, or glibc's in-use bytes).",
         memory.allocated_bytes);
  metric("replikv_memory_resident_bytes", "gauge", "The process's resident set size.",
         memory.resident_bytes);
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
  // The replica's metrics, common and the strategy's own, and the peer transport's.
  append_prometheus(out, core::common_metrics(status));
  append_prometheus(out, status.metrics);
  if (peers) {
    append_prometheus(out, peer_transport_metrics(peers->counters()));
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
      {"role", status.state},
      {"replication_offset", status.replication_offset.value()},
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
  append_json(json, core::common_metrics(status));
  append_json(json, status.metrics);
  if (peers) append_json(json, peer_transport_metrics(peers->counters()));
  return json.dump(2) + "\n";
}

}  // namespace replikv::runtime
