#include "runtime/server.h"

#include <chrono>
#include <csignal>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/assert.h"
#include "core/random.h"
#include "core/strategy.h"
#include "core/upgrade.h"
#include "runtime/server_impl.h"
#include "storage/memory_engine.h"
#include "storage/rocksdb_engine.h"
#include "storage/segmented_engine.h"

namespace replikv::runtime {

namespace {

// How many times a group commit may wait for more input before it syncs.
constexpr int flush_deferrals_max = 8;

[[noreturn]] void stop_on_storage_failure(const char* what, const storage::Status& status) {
  // A write or sync the engine could not do cannot be retried safely (the page cache may have
  // dropped the data): stopping is the only honest answer. Nothing unsynced was acknowledged.
  spdlog::critical("storage {} failed, stopping the node: {}", what, status.message());
  spdlog::default_logger()->flush();
  std::abort();
}

std::string random_hex(size_t length) {
  std::random_device device;
  std::string out;
  while (out.size() < length) out += fmt::format("{:08x}", device());
  out.resize(length);
  return out;
}

}  // namespace

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Server::~Server() = default;
std::optional<std::string> Server::start() { return impl_->start(); }
int Server::run() { return impl_->run(); }
uint16_t Server::port() const { return impl_->client_acceptor.local_endpoint().port(); }
uint16_t Server::admin_port() const {
  return impl_->admin_acceptor.is_open() ? impl_->admin_acceptor.local_endpoint().port() : 0;
}

Server::Impl::Impl(Config c) : config(std::move(c)) {}

int64_t Server::Impl::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<std::string> Server::Impl::start() {
  started_ms = now_ms();
  run_id = random_hex(40);
  if (config.engine == EngineKind::rocksdb &&
      strategy_of(config).traits(config.strategy_settings).log_apart_from_state &&
      config.log_store == LogStore::segments) {
    // The log and meta in segment files, the replicated state in RocksDB (docs/storage.md).
    storage::Status error = storage::Status::ok();
    storage::SegmentedEngineOptions options;
    options.path = config.data_dir;
    options.segment_bytes = config.log_segment_bytes & ~uint64_t{4095};  // whole pages
    // Zeros written ahead keep each batch's sync to the data; a node that does not sync every
    // batch gains nothing from them and would write every log byte twice (docs/storage.md).
    options.zero_fill_segments = config.fsync == FsyncPolicy::always;
    auto segmented = storage::SegmentedEngine::open(options, log_recovery, error);
    if (!segmented) return error.message();
    const auto& r = log_recovery;
    if (r.migrated_entries > 0 || r.migrated_records > 0) {
      spdlog::info(
          "storage layout upgraded: {} log entries and {} meta records moved from RocksDB "
          "into segment files",
          r.migrated_entries, r.migrated_records);
    }
    if (r.log.torn_bytes_cut > 0) {
      spdlog::warn("log: a torn tail of {} bytes cut at {} (written, never synced: a power loss)",
                   r.log.torn_bytes_cut, r.log.torn_at);
    }
    spdlog::info(
        "log: {} entries in {} segments replayed in {:.3f} s ({} batches written again "
        "into RocksDB; {})",
        r.entries, r.log.segments, r.seconds, r.batches_rewritten,
        r.log.frames == 0 ? "a new log"
        : r.clean_stop    ? "the node had stopped cleanly"
                          : "no clean stop before: a crash or a kill");
    engine = std::move(segmented);
  } else if (config.engine == EngineKind::rocksdb) {
    storage::Status error = storage::Status::ok();
    engine = storage::RocksDbEngine::open({config.data_dir}, error);
    if (!engine) return error.message();
    if (engine->get(core::Column::meta, storage::SegmentedEngine::layout_key)) {
      // Its log and meta records are in <data_dir>/log: read without them, the node would start
      // with an empty log beside its applied state.
      return fmt::format(
          "{} keeps its log in segment files (log_store = \"segments\", the default for the leader "
          "strategy); it cannot be opened with log_store = \"rocksdb\" or another strategy",
          config.data_dir);
    }
  } else {
    engine = std::make_unique<storage::MemoryEngine>();
  }
  if (const core::WriteBatch upgrade = core::upgrade_layout(*engine); !upgrade.empty()) {
    // A data directory from an earlier layout: brought up to this one, durably, before the
    // replica reads it.
    storage::Status status = engine->write(upgrade);
    if (status.is_ok()) status = engine->sync();
    if (!status.is_ok()) return fmt::format("upgrading the storage layout: {}", status.message());
    spdlog::info("storage layout upgraded: {} records moved to their columns", upgrade.size() / 2);
  }
  ledger.emplace(config.fsync == FsyncPolicy::always);
  if (engine->sync_off_thread()) sync_worker = std::make_unique<StorageWorker>(io);
  if (engine->checkpoint_off_thread()) checkpoint_worker = std::make_unique<StorageWorker>(io);
  if (auto error = start_replica()) return error;

  asio::error_code ec;
  const auto address = asio::ip::make_address(config.bind, ec);
  if (ec) return fmt::format("bind: '{}' is not an IP address", config.bind);
  auto open_listener = [&](asio::ip::tcp::acceptor& acceptor, uint16_t port,
                           const char* what) -> std::optional<std::string> {
    const asio::ip::tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return fmt::format("cannot listen for {} on {}:{}: {}", what, config.bind, port,
                         ec.message());
    return std::nullopt;
  };
  if (auto error = open_listener(client_acceptor, config.port, "clients")) return error;
  if (config.admin_port != 0) {
    if (auto error = open_listener(admin_acceptor, config.admin_port, "admin HTTP")) return error;
  }
  if (peers) {
    if (auto error = peers->listen(config.bind, config.peer_port)) return error;
  }
  return std::nullopt;
}

// The replica of the configured strategy (core/strategy.h), and the peer transport when the
// strategy has peers.
std::optional<std::string> Server::Impl::start_replica() {
  this->strategy = &strategy_of(config);
  const core::Strategy& strategy = *this->strategy;
  core::NodeContext node;
  if (auto error = node_context(config, node)) return error;
  client_addresses = node.client_addresses;
  replica = strategy.make_replica(*engine, core::Rng(std::random_device{}()), node,
                                  config.strategy_settings);
  if (auto warning = strategy.start_warning(*replica)) spdlog::warn("{}", *warning);
  const core::StrategyTraits traits = strategy.traits(config.strategy_settings);
  tick_interval_ms = traits.tick_interval_ms;
  if (traits.single_node) return std::nullopt;
  std::map<uint32_t, std::string> members;
  if (auto error = parse_members(config.peers, members)) return fmt::format("peers: {}", *error);
  peers = std::make_unique<PeerTransport>(io, config.node_id, config.cluster_id, members,
                                          [this](core::Message message) {
                                            if (shutting_down) return;
                                            replica->peer_message(std::move(message));
                                            schedule_flush();
                                          });
  // The node's fsync too: it decides whether a replica may roll back committed entries (with
  // fsync "never" a crash can take them from a majority), so nodes must agree on it.
  peers->set_fingerprint(core::fingerprint(strategy, config.strategy_settings) +
                         " fsync=" + to_string(config.fsync));
  return std::nullopt;
}

int64_t Server::Impl::steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t Server::Impl::drift_ms() const {
  return clock_drift_ms + (steady_ms() - clock_drift_since_ms) * clock_drift_ppm / 1'000'000;
}

int64_t Server::Impl::replica_now_ms() const { return now_ms() + clock_skew_ms + drift_ms(); }

int64_t Server::Impl::replica_monotonic_ms() const { return steady_ms() + drift_ms(); }

void Server::Impl::tick_replica() { replica->tick(replica_now_ms(), replica_monotonic_ms()); }

int Server::Impl::run() {
  signals.add(SIGINT);
  signals.add(SIGTERM);
  signals.async_wait([this](const asio::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {} received, shutting down", signal);
    shutdown();
  });
  std::signal(SIGPIPE, SIG_IGN);
  asio::co_spawn(io, accept_clients(), asio::detached);
  if (admin_acceptor.is_open()) asio::co_spawn(io, accept_admin(), asio::detached);
  if (peers) peers->start();
  on_tick();
  const auto status = replica->status();
  spdlog::info(
      "replikv ready: node_id={} strategy={} port={} admin_port={} peer_port={} data_dir={} "
      "engine={} fsync={} "
      "keys={} applied_index={}{}",
      config.node_id, config.strategy, client_acceptor.local_endpoint().port(),
      admin_acceptor.is_open() ? admin_acceptor.local_endpoint().port() : 0,
      peers ? peers->port() : 0, config.data_dir, engine->name(), to_string(config.fsync),
      status.key_count, status.applied_index.value(),
      status.metrics.empty() ? std::string() : " " + status.brief());
  spdlog::default_logger()->flush();
  io.run();
  flush_before_exit();
  connections.clear();
  peers.reset();
  replica.reset();
  sync_worker.reset();
  checkpoint_worker.reset();
  engine.reset();
  spdlog::info("replikv stopped");
  return 0;
}

void Server::Impl::shutdown() {
  if (shutting_down) return;
  shutting_down = true;
  asio::error_code ignored;
  client_acceptor.close(ignored);
  admin_acceptor.close(ignored);
  tick_timer.cancel();
  flush();
  if (peers) peers->stop();
  for (auto& [id, connection] : connections) {
    connection->socket.shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
  }
  // Give replies already released a moment to reach their clients, then stop.
  auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(200));
  timer->async_wait([this, timer](const asio::error_code&) { io.stop(); });
}

// Takes every Ready the replica has and writes its batch (core/ready.h, steps 1–2); the ledger
// keeps its replies and messages until the Ready is durable (steps 3–4).
void Server::Impl::drain_ready() {
  while (replica->take_ready(ready)) {
    if (!ready.batch.empty()) {
      if (auto status = engine->write(ready.batch); !status.is_ok()) {
        stop_on_storage_failure("write", status);
      }
    }
    if (ready.checkpoint_id != 0) write_checkpoint(ready.checkpoint_id, ready.checkpoint);
    if (ready.tick_at_ms) arm_tick(*ready.tick_at_ms);
    ledger->admit(ready, *replica, early);
    // A leader's log shipments leave now, before this Ready's sync: followers write and sync
    // while the leader does (core/ready.h, step 4).
    for (auto& message : early) {
      if (peers) peers->send(std::move(message));
    }
    early.clear();
  }
}

// Called after every input: the replica's Ready is taken once per loop turn, in flush().
void Server::Impl::schedule_flush() {
  if (flush_scheduled) return;
  flush_scheduled = true;
  flush_deferrals = 0;
  commands_at_flush_check = counters.commands_processed;
  asio::post(io, [this] { flush(); });
}

// The end of a loop turn: one batch for the turn's inputs, its sync started, every reply that
// is durable released.
//
// Like Redis's beforeSleep, it waits until the loop has run out of input: while requests keep
// arriving the flush goes to the back of the queue again (each round lets the reactor poll the
// sockets once), at most flush_deferrals_max rounds, so one batch covers every client that is
// ready now instead of those that happened to be read first. It waits only when no sync is
// running: otherwise the input gathers behind the running sync anyway.
void Server::Impl::flush() {
  const bool sync_worth_waiting_for =
      config.fsync == FsyncPolicy::always && !ledger->sync_running();
  if (flush_scheduled && !shutting_down && sync_worth_waiting_for &&
      flush_deferrals < flush_deferrals_max &&
      counters.commands_processed != commands_at_flush_check) {
    ++flush_deferrals;
    commands_at_flush_check = counters.commands_processed;
    asio::post(io, [this] { flush(); });
    return;
  }
  flush_scheduled = false;
  finish_turn();
}

// Takes what the replica produced, starts the sync it needs when none is running, and releases
// whatever became durable — again while persisted() produces more (a protocol's next messages).
void Server::Impl::finish_turn() {
  do {
    drain_ready();
    if (ledger->sync_wanted()) start_sync();
  } while (release_durable());
  start_writes();
}

// Every Ready written so far is covered by the sync that starts now.
void Server::Impl::start_sync() {
  ledger->begin_sync();
  if (!sync_worker) {
    on_synced(engine->sync());
    return;
  }
  sync_worker->start([this] { return engine->sync(); },
                     [this](const storage::Status& status) {
                       on_synced(status);
                       finish_turn();
                     });
}

// A replica's checkpoint (core/ready.h, step 6): on the checkpoint thread when the engine allows
// it — the loop goes on serving, and the replica keeps the records in memory until checkpointed()
// — or here, at once. The replica hands over one at a time, so the thread is free.
void Server::Impl::write_checkpoint(uint64_t id, core::WriteBatch& batch) {
  const auto started = std::chrono::steady_clock::now();
  auto finished = [this, id, started](const storage::Status& status) {
    if (!status.is_ok()) stop_on_storage_failure("checkpoint", status);
    counters.checkpoint_last_us =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count());
    counters.checkpoint_us_total += counters.checkpoint_last_us;
    replica->checkpointed(id);
  };
  if (!checkpoint_worker) {
    finished(engine->write_checkpoint(batch));
    return;
  }
  auto held = std::make_shared<core::WriteBatch>();
  held->swap(batch);
  checkpoint_worker->start([this, held] { return engine->write_checkpoint(*held); },
                           [this, finished](const storage::Status& status) {
                             finished(status);
                             finish_turn();  // what checkpointed() produced (a compaction)
                           });
}

void Server::Impl::on_synced(const storage::Status& status) {
  if (!status.is_ok()) stop_on_storage_failure("sync", status);
  ledger->end_sync();
}

// Tells the replica how far its Readies are durable and releases their replies and messages.
// Returns whether the durable position moved.
bool Server::Impl::release_durable() {
  const auto durable = ledger->advance();
  if (!durable) return false;
  replica->persisted(*durable);
  ledger->release([this](core::ReadyId id, core::ClientReply& reply) { release(id, reply); },
                  [this](core::Message& message) {
                    if (peers) peers->send(std::move(message));
                  });
  return true;
}

// After the loop stopped: everything the replica produced is made durable before closing (a sync
// still running on the sync thread finishes first; its completion never runs).
void Server::Impl::flush_before_exit() {
  if (sync_worker) sync_worker->wait_idle();
  // A checkpoint being written finishes (its completion never runs: the next start applies the
  // log after the one before it again, as after a crash).
  if (checkpoint_worker) checkpoint_worker->wait_idle();
  drain_ready();
  if (ledger->sync_running()) on_synced(engine->sync());  // its completion never ran
  if (ledger->sync_wanted()) {
    ledger->begin_sync();
    on_synced(engine->sync());  // covers every later Ready too
  }
  release_durable();
}

// The point where a reply leaves the driver for its client: the ledger counts it if its Ready is
// not durable yet (it never is, unless this driver broke the contract).
void Server::Impl::release(core::ReadyId ready_id, core::ClientReply& reply) {
  ledger->replies_released(ready_id);
  const auto it = connections.find(reply.connection);
  if (it == connections.end()) return;  // the client left; the write itself stands
  Connection& c = *it->second;
  // The connection's session moves on to the later position (the strategy merges); a position
  // equal to the one it holds — every read between two writes — changes nothing.
  const auto move_session = [&](const core::SessionPosition& position) {
    if (!c.session) {
      c.session = position;
    } else if (c.session->bytes != position.bytes) {
      c.session = strategy->merge_sessions(*c.session, position);
    }
  };
  c.last_position.reset();
  if (reply.written) {
    c.last_write = reply.written;
    c.last_position = reply.written;
    move_session(*reply.written);
  }
  if (reply.read_at) {
    c.last_position = reply.read_at;
    move_session(*reply.read_at);
  }
  deliver(c, reply.sequence, reply.reply);
}

void Server::Impl::arm_tick(int64_t at_ms) {
  if (shutting_down) return;
  if (tick_armed_at_ms && *tick_armed_at_ms <= at_ms) return;
  tick_armed_at_ms = at_ms;
  const int64_t delay_ms =
      std::max<int64_t>(0, at_ms - replica_now_ms());  // at_ms is on the replica's clock
  tick_timer.expires_after(std::chrono::milliseconds(delay_ms));
  tick_timer.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    tick_armed_at_ms.reset();
    on_tick();
  });
}

void Server::Impl::on_tick() {
  tick_replica();
  schedule_flush();
  log_role_change();
  arm_tick(replica_now_ms() + tick_interval_ms);
}

// Each change of this node's state (its role in the strategy's words, the leader it knows, the
// strategy's brief metrics — a Raft term), once, at the tick after it: who led when is in the log.
void Server::Impl::log_role_change() {
  const core::ReplicaStatus status = replica->status();
  const uint32_t leader = status.leader ? status.leader->value() : 0;
  const std::string brief = status.brief();
  std::string line = fmt::format(
      "{}{}, {}", status.state, brief.empty() ? "" : " (" + brief + ")",
      leader != 0 ? fmt::format("leader node {}", leader) : std::string("no leader known"));
  if (line == logged_state) return;
  spdlog::info("{}: {}", config.strategy, line);
  logged_state = std::move(line);
}

}  // namespace replikv::runtime
