// Client connections: accept, read and parse, dispatch, and write replies in request order.
#include <cctype>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/command.h"
#include "runtime/server_impl.h"

namespace replikv::runtime {

namespace {

// Bytes asked of the socket per read, at least.
constexpr size_t read_bytes_min = 16 * 1024;
// An idle connection's input buffer is freed when it grew past this.
constexpr size_t idle_input_bytes_max = 1 << 20;
// Requests of one connection parsed but not yet answered, at most. Bounds the memory a deep
// pipeline of large replies can take before back-pressure sees it (redis-benchmark -P 16 stays
// far below; redis-cli --pipe is simply served in steps).
constexpr uint64_t client_inflight_requests_max = 1024;

std::string unknown_command_error(const std::vector<std::string_view>& argv) {
  // Redis 7's words: ERR unknown command 'x', with args beginning with: 'a' 'b'
  std::string text =
      fmt::format("ERR unknown command '{}', with args beginning with: ", argv[0].substr(0, 128));
  for (size_t i = 1; i < argv.size() && text.size() < 512; ++i) {
    text += fmt::format("'{}' ", argv[i].substr(0, 128));
  }
  return text;
}

}  // namespace

asio::awaitable<void> Server::Impl::accept_clients() {
  while (client_acceptor.is_open()) {
    auto [ec, socket] = co_await client_acceptor.async_accept(as_result);
    if (ec) {
      if (ec == asio::error::operation_aborted || !client_acceptor.is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    ++counters.connections_received;
    if (connections.size() >= config.max_clients) {
      ++counters.connections_rejected;
      static const std::string refusal = "-ERR max number of clients reached\r\n";
      asio::error_code ignored;
      asio::write(socket, asio::buffer(refusal), ignored);
      socket.close(ignored);
      continue;
    }
    asio::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    const core::ConnectionId id(next_connection_id++);
    RespLimits limits;
    limits.bulk_bytes_max = config.max_bulk_bytes;
    limits.array_length_max = config.max_array_length;
    auto connection = std::make_shared<Connection>(std::move(socket), id, limits);
    const auto remote = connection->socket.remote_endpoint(ignored);
    connection->address = fmt::format("{}:{}", remote.address().to_string(), remote.port());
    connection->created_ms = now_ms();
    connections.emplace(id, connection);
    asio::co_spawn(io, serve_client(connection), asio::detached);
  }
}

asio::awaitable<void> Server::Impl::serve_client(std::shared_ptr<Connection> connection) {
  Connection& c = *connection;
  while (!c.closing && !c.closed) {
    // Parse what is buffered before reading more; process_input stops early at the in-flight
    // bound, and the rest is parsed once the client has taken its replies.
    const bool stopped_early = process_input(c);
    if (c.closing || c.closed) break;
    if (c.input.size() > config.max_query_buffer_bytes) {
      spdlog::warn("closing client {}: unparsed input over max_query_buffer_bytes", c.address);
      deliver(c, c.next_sequence++,
              core::Reply::error("ERR Protocol error: query buffer limit reached"));
      c.closing = true;
      start_writes();
      break;
    }
    // Back-pressure: a client that does not take its replies is not read either. Checked before
    // every wait, so a wake-up that came early is never missed (one thread; nothing runs between
    // the check and the wait).
    while (!c.closed && client_over_limits(c)) {
      c.resume.expires_after(std::chrono::hours(1));
      co_await c.resume.async_wait(as_result);
    }
    if (c.closed) break;
    if (stopped_early) continue;
    c.input.shrink_if_idle(idle_input_bytes_max);
    const size_t want = std::max(read_bytes_min, c.parser.bytes_needed() > c.input.size()
                                                     ? c.parser.bytes_needed() - c.input.size()
                                                     : 0);
    char* into = c.input.prepare(want);
    auto [ec, n] = co_await c.socket.async_read_some(asio::buffer(into, want), as_result);
    if (ec || c.closed) break;
    c.input.commit(n);
    counters.net_input_bytes += n;
  }
  if (!c.closing) close(c);
}

bool Server::Impl::client_over_limits(const Connection& c) const {
  return c.output.size() + c.sending.size() > config.client_output_pause_bytes ||
         c.next_sequence - c.send_sequence >= client_inflight_requests_max ||
         c.watches_in_flight > 0;
}

bool Server::Impl::process_input(Connection& c) {
  tick_replica();
  bool stopped_early = false;
  while (!c.closing) {
    if (client_over_limits(c)) {
      stopped_early = true;
      break;
    }
    const ParseStatus status = c.parser.parse(c.input.unread());
    if (status == ParseStatus::need_more) break;
    if (status == ParseStatus::error) {
      ++counters.protocol_errors;
      spdlog::debug("client {}: {}", c.address, c.parser.error());
      deliver(c, c.next_sequence++, core::Reply::error("ERR " + c.parser.error()));
      c.closing = true;
      break;
    }
    const auto& argv = c.parser.argv();
    if (!argv.empty()) execute(c, argv);
    c.input.consume(c.parser.consumed());
  }
  start_writes();
  return stopped_early;
}

void Server::Impl::execute(Connection& c, const std::vector<std::string_view>& argv) {
  ++counters.commands_processed;
  const uint64_t sequence = c.next_sequence++;
  const core::Strategy& strategy = *this->strategy;
  const core::CommandSpec* spec = core::find_command(argv[0]);
  if (spec == nullptr) spec = strategy.find_command(argv[0]);  // one the strategy adds
  if (spec == nullptr) {
    ++counters.unknown_commands;
    if (c.queued) c.queue_refused = true;  // EXEC will answer EXECABORT
    const core::Strategy* other = core::strategy_with_command(argv[0]);
    std::string name = other != nullptr ? std::string(other->find_command(argv[0])->name) : "";
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    deliver(c, sequence,
            core::Reply::error(
                other != nullptr
                    ? fmt::format("ERR {} is a command of strategy \"{}\"; this node's strategy "
                                  "is \"{}\"",
                                  name, other->name(), strategy.name())
                    : unknown_command_error(argv)));
    return;
  }
  if (auto error = core::check_arity(*spec, argv.size())) {
    if (c.queued) c.queue_refused = true;
    deliver(c, sequence, *error);
    return;
  }
  if (transaction_command(c, sequence, *spec, argv)) return;
  if (spec->name == "read") {
    // READ <consistency> <read command> [arguments…]: one read at a chosen consistency.
    const auto read = core::parse_read_options(argv[1]);
    if (!read) {
      deliver(c, sequence,
              core::Reply::error(fmt::format("ERR unknown consistency '{}': expected {}",
                                             argv[1].substr(0, 64), core::read_options_expected)));
      return;
    }
    if (auto refused = strategy.refuse_read(*read, config.strategy_settings)) {
      deliver(c, sequence, core::Reply::error("ERR " + *refused));
      return;
    }
    const std::span<const std::string_view> inner(argv.data() + 2, argv.size() - 2);
    const core::CommandSpec* inner_spec = core::find_command(inner[0]);
    if (inner_spec == nullptr || inner_spec->write ||
        inner_spec->handler != core::CommandSpec::Handler::core || inner_spec->name == "wait") {
      deliver(c, sequence,
              core::Reply::error(fmt::format("ERR READ takes a read command (GET, MGET, EXISTS, "
                                             "SCAN, KEYS, TTL, …), got '{}'",
                                             inner[0].substr(0, 64))));
      return;
    }
    if (auto error = core::check_arity(*inner_spec, inner.size())) {
      deliver(c, sequence, *error);
      return;
    }
    submit(c, sequence, *inner_spec, inner, *read);
    return;
  }
  if (spec->handler == core::CommandSpec::Handler::server) {
    deliver(c, sequence, server_command(c, spec->name, argv));
    return;
  }
  submit(c, sequence, *spec, argv, c.read);
}

void Server::Impl::submit(Connection& c, uint64_t sequence, const core::CommandSpec& spec,
                          std::span<const std::string_view> argv, core::ReadOptions read) {
  auto parsed = spec.handler == core::CommandSpec::Handler::strategy
                    ? strategy->parse_command(spec, argv)
                    : core::parse_request(spec, argv);
  if (auto* error = std::get_if<core::Reply>(&parsed)) {
    deliver(c, sequence, *error);
    return;
  }
  submit_request(c, sequence, std::move(std::get<core::Request>(parsed)), read);
}

void Server::Impl::submit_request(Connection& c, uint64_t sequence, core::Request request,
                                  core::ReadOptions read) {
  const bool wait = std::holds_alternative<core::WaitRequest>(request);
  replica->client_request({c.id, sequence, std::move(request), read,
                           wait ? c.last_write : c.session, c.write_replicas});
  schedule_flush();
}

void Server::Impl::deliver(Connection& c, uint64_t sequence, const core::Reply& given) {
  std::optional<core::Reply> rewritten;  // by the request's hook (WATCH's, EXEC's)
  if (!c.reply_hooks.empty()) {
    if (const auto hook = c.reply_hooks.find(sequence); hook != c.reply_hooks.end()) {
      rewritten = hook->second(given);
      c.reply_hooks.erase(hook);
    }
  }
  const core::Reply& reply = rewritten ? *rewritten : given;
  if (reply.is_error()) ++counters.error_replies;
  if (c.closed) return;
  if (sequence == c.send_sequence && c.slots.empty()) {
    encode_reply(reply, c.output);
    ++c.send_sequence;
  } else {
    // An earlier request on this connection is still waiting (for a sync, say): hold this reply.
    const size_t index = sequence - c.send_sequence;
    if (c.slots.size() <= index) c.slots.resize(index + 1);
    c.slots[index].emplace();
    encode_reply(reply, *c.slots[index]);
    while (!c.slots.empty() && c.slots.front()) {
      c.output += *c.slots.front();
      c.slots.pop_front();
      ++c.send_sequence;
    }
  }
  if (!c.dirty && !c.output.empty()) {
    c.dirty = true;
    dirty.push_back(connections.at(c.id));
  }
}

void Server::Impl::start_writes() {
  for (auto& connection : dirty) {
    connection->dirty = false;
    if (!connection->writing) write_out(connection);
  }
  dirty.clear();
}

void Server::Impl::write_out(const std::shared_ptr<Connection>& connection) {
  Connection& c = *connection;
  if (c.closed) return;
  if (c.output.empty()) {
    c.resume.cancel();
    if (c.closing && c.slots.empty()) close(c);
    return;
  }
  c.writing = true;
  std::swap(c.sending, c.output);
  c.output.clear();
  asio::async_write(c.socket, asio::buffer(c.sending),
                    [this, connection](const asio::error_code& ec, size_t n) {
                      Connection& conn = *connection;
                      conn.writing = false;
                      counters.net_output_bytes += n;
                      conn.sending.clear();
                      if (ec) {
                        close(conn);
                        return;
                      }
                      write_out(connection);
                    });
}

void Server::Impl::close(Connection& c) {
  if (c.closed) return;
  c.closed = true;
  asio::error_code ignored;
  c.socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  c.socket.close(ignored);
  c.resume.cancel();
  replica->client_closed(c.id);  // a blocking pop it waits in stops waiting
  connections.erase(c.id);       // may destroy `c` once the last coroutine or handler lets go
}

}  // namespace replikv::runtime
