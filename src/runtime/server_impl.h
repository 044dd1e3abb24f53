// The inside of Server, shared by the runtime's .cc files only (it pulls in Asio).
//
// The loop, in the order of core/ready.h:
//   1. A client's bytes arrive; every complete request in them is parsed. Connection and server
//      commands (PING, INFO, CLIENT, …) are answered here; data commands go to the replica.
//   2. The first input of a turn posts flush(), which runs after the other handlers already
//      queued in this turn (and waits a few more rounds while input keeps coming).
//   3. flush() takes the replica's Ready — one batch for every request of the turn — writes it,
//      and starts a sync on the sync thread unless one is running (then the next one takes it:
//      group commit). Meanwhile the loop serves on.
//   4. When the Readies up to some id are durable (their sync finished, or they needed none), the
//      loop tells the replica (persisted) and releases their replies into each connection's
//      ordered reply slots and their messages to the peers; each connection then writes all of
//      its replies with one socket write.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio.hpp>

#include "core/ready.h"
#include "core/ready_ledger.h"
#include "core/replica.h"
#include "runtime/as_result.h"
#include "runtime/config.h"
#include "runtime/input_buffer.h"
#include "runtime/peer_transport.h"
#include "runtime/resp.h"
#include "runtime/server.h"
#include "runtime/storage_worker.h"
#include "storage/engine.h"
#include "storage/segmented_engine.h"

namespace replikv::runtime {

struct Connection {
  Connection(asio::ip::tcp::socket s, core::ConnectionId i, RespLimits limits)
      : socket(std::move(s)), id(i), parser(limits), resume(socket.get_executor()) {}

  asio::ip::tcp::socket socket;
  core::ConnectionId id;
  InputBuffer input;
  RespParser parser;
  uint64_t next_sequence = 0;  // given to the next request
  uint64_t send_sequence = 0;  // the next reply to go out, in request order
  // Replies that finished before an earlier one on this connection, by sequence - send_sequence.
  std::deque<std::optional<std::string>> slots;
  std::string output;   // encoded replies not yet handed to the socket
  std::string sending;  // the bytes of the write in flight
  bool writing = false;
  bool dirty = false;    // has output and is in Impl::dirty_
  bool closing = false;  // close once the output is written (QUIT, protocol error)
  bool closed = false;
  // Reads: the consistency chosen with CONSISTENCY (cluster_default until then), and the session:
  // the latest token of its writes and session reads, and its last write's (for WAIT).
  core::ReadOptions read;
  std::optional<core::SessionPosition> session;  // opaque: the strategy merges and shows them
  std::optional<core::SessionPosition> last_write;
  // Where the strategy says the connection's last answered request stands (its write or its read),
  // unmerged: DEBUG POSITION shows it, for test tools that record what the simulator records.
  std::optional<core::SessionPosition> last_position;
  // Leaderless writes: the replica count chosen with WCONSISTENCY (the cluster's w until then).
  std::optional<uint32_t> write_replicas;
  std::string name;
  std::string address;
  int64_t created_ms = 0;
  // MULTI … EXEC: the commands queued since MULTI (their arguments), and whether one was refused
  // while queueing (EXEC then answers EXECABORT). WATCH's keys, each with what the replica saw.
  std::optional<std::vector<std::vector<std::string>>> queued;
  bool queue_refused = false;
  std::vector<core::WatchedKey> watched;
  int watches_in_flight = 0;  // WATCHes the replica has not answered: the reader waits for them
  // Replies the runtime turns into others before they go out (WATCH's, EXEC's), by sequence.
  std::map<uint64_t, std::function<core::Reply(core::Reply)>> reply_hooks;
  asio::steady_timer resume;  // the reader waits on it while too much output is pending
};

struct Counters {
  uint64_t commands_processed = 0;
  uint64_t connections_received = 0;
  uint64_t connections_rejected = 0;
  uint64_t protocol_errors = 0;
  uint64_t net_input_bytes = 0;
  uint64_t net_output_bytes = 0;
  uint64_t checkpoint_last_us = 0;  // how long the last checkpoint took to write (off the loop)
  uint64_t checkpoint_us_total = 0;
  uint64_t unknown_commands = 0;
  uint64_t error_replies = 0;
};

struct Server::Impl {
  explicit Impl(Config c);

  // Start-up and shutdown (server.cc).
  std::optional<std::string> start();
  int run();
  void shutdown();

  // The driver (server.cc).
  void drain_ready();
  void schedule_flush();
  void flush();
  void finish_turn();
  void start_sync();
  void on_synced(const storage::Status& status);
  void write_checkpoint(uint64_t id, core::WriteBatch& batch);
  bool release_durable();
  void flush_before_exit();
  void release(core::ReadyId ready_id, core::ClientReply& reply);
  void on_tick();
  void log_role_change();
  void arm_tick(int64_t at_ms);
  static int64_t now_ms();
  static int64_t steady_ms();
  // The clocks the replica sees: the wall clock with injected skew and drift, and the monotonic
  // clock with injected drift (skew is a wall clock's step; a monotonic clock has none).
  int64_t replica_now_ms() const;
  int64_t replica_monotonic_ms() const;
  int64_t drift_ms() const;  // what the injected drift has added so far
  void tick_replica();
  std::optional<std::string> start_replica();

  // Clients (connection.cc).
  asio::awaitable<void> accept_clients();
  asio::awaitable<void> serve_client(std::shared_ptr<Connection> connection);
  bool process_input(Connection& connection);  // true: stopped at a limit with input left
  bool client_over_limits(const Connection& connection) const;
  void execute(Connection& connection, const std::vector<std::string_view>& argv);
  // Hands a data command to the replica, `read` being its consistency.
  void submit(Connection& connection, uint64_t sequence, const core::CommandSpec& spec,
              std::span<const std::string_view> argv, core::ReadOptions read);
  void deliver(Connection& connection, uint64_t sequence, const core::Reply& reply);
  void start_writes();
  void write_out(const std::shared_ptr<Connection>& connection);
  void close(Connection& connection);

  // Connection and server commands (server_commands.cc).
  core::Reply server_command(Connection& connection, std::string_view name,
                             const std::vector<std::string_view>& argv);
  core::Reply client_kill(Connection& c, const std::vector<std::string_view>& argv);
  // MULTI, EXEC, DISCARD, WATCH, UNWATCH, and the queueing between MULTI and EXEC (runtime/
  // transactions.cc). True when it answered or queued the command.
  bool transaction_command(Connection& c, uint64_t sequence, const core::CommandSpec& spec,
                           const std::vector<std::string_view>& argv);
  void submit_request(Connection& c, uint64_t sequence, core::Request request,
                      core::ReadOptions read);
  std::string info(std::string_view section) const;
  std::string info_replication() const;
  std::pair<std::string, std::string> client_address_of(uint32_t node) const;
  core::Reply role_reply() const;
  core::Reply fault_command(const std::vector<std::string_view>& argv);

  // Admin HTTP (admin_http.cc).
  asio::awaitable<void> accept_admin();
  asio::awaitable<void> serve_admin(asio::ip::tcp::socket socket);
  std::string metrics_text() const;
  std::string status_json() const;

  Config config;
  asio::io_context io{1};
  asio::ip::tcp::acceptor client_acceptor{io};
  asio::ip::tcp::acceptor admin_acceptor{io};
  asio::signal_set signals{io};
  asio::steady_timer tick_timer{io};
  std::optional<int64_t> tick_armed_at_ms;
  std::string logged_state;  // the state, brief metrics and leader last logged (log_role_change)

  std::unique_ptr<storage::Engine> engine;
  storage::SegmentedEngineRecovery log_recovery;  // what opening the log found (segments only)
  std::unique_ptr<StorageWorker>
      sync_worker;  // when the engine syncs off the loop (goes before it)
  std::unique_ptr<StorageWorker> checkpoint_worker;  // when it writes checkpoints off the loop
  std::unique_ptr<core::Replica> replica;
  const core::Strategy* strategy = nullptr;  // the configured one, found once (start_replica)
  std::unique_ptr<PeerTransport> peers;      // a strategy with peers only
  std::map<uint32_t, std::string> client_addresses;  // members' client ports, for ROLE and INFO
  int64_t tick_interval_ms = 100;
  // Injected clock faults (FAULT SKEW / FAULT DRIFT, with --test-faults).
  int64_t clock_skew_ms = 0;
  int64_t clock_drift_ppm = 0;
  int64_t clock_drift_ms = 0;        // added by drift before clock_drift_since_ms
  int64_t clock_drift_since_ms = 0;  // on steady_ms(): when the current rate was set
  core::Ready ready;                 // reused between Readies

  // The Ready contract's bookkeeping: what waits for which sync, what is durable (core/ready.h).
  std::optional<core::ReadyLedger> ledger;  // made once the fsync setting is known
  std::vector<core::Message> early;         // reused: a Ready's messages that leave at once
  bool flush_scheduled = false;
  int flush_deferrals = 0;  // rounds the scheduled flush has waited for more input
  uint64_t commands_at_flush_check = 0;
  bool shutting_down = false;

  std::unordered_map<core::ConnectionId, std::shared_ptr<Connection>> connections;
  std::vector<std::shared_ptr<Connection>> dirty;
  uint64_t next_connection_id = 1;
  Counters counters;
  int64_t started_ms = 0;
  std::string run_id;  // 40 hex characters, new at every start, as Redis's run_id and replid
};

}  // namespace replikv::runtime
