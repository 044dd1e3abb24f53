#include "runtime/peer_transport.h"

#include <chrono>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "proto/replikv.pb.h"
#include "runtime/as_result.h"

namespace replikv::runtime {
namespace {

constexpr uint32_t hello_version = 1;
constexpr int64_t backoff_ms_min = 50;
constexpr int64_t backoff_ms_max = 1000;
constexpr size_t read_chunk_bytes = 64 * 1024;
constexpr auto handshake_timeout = std::chrono::seconds(5);

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void append_frame(std::string& out, std::string_view payload) {
  const auto length = static_cast<uint32_t>(payload.size());
  const char header[4] = {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                          static_cast<char>(length >> 8), static_cast<char>(length)};
  out.append(header, 4);
  out.append(payload);
}

uint32_t read_length(std::string_view bytes) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(bytes[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(bytes[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(bytes[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(bytes[3]));
}

// Splits "host:port".
std::pair<std::string, std::string> host_port(const std::string& address) {
  const size_t colon = address.rfind(':');
  return {address.substr(0, colon), address.substr(colon + 1)};
}

}  // namespace

// One TCP connection: its socket, read by one coroutine, and the queue its writer sends.
struct PeerTransport::Link {
  explicit Link(asio::io_context& io) : socket(io), wake(io) {}
  asio::ip::tcp::socket socket;
  asio::steady_timer wake;  // the writer sleeps on it while the queue is empty
  std::deque<std::string> queue;
  uint64_t queued_bytes = 0;
  bool open = true;       // until either side of this node ends it
  bool writable = false;  // introduced, and written on by this node
  void close() {
    open = false;
    writable = false;
    asio::error_code ignored;
    socket.close(ignored);
    wake.cancel();
  }
};

// What this node holds for one member.
struct PeerTransport::Peer {
  Peer(uint32_t i, std::string a) : id(i), address(std::move(a)) {}
  uint32_t id;
  std::string address;
  std::shared_ptr<Link> dialed;  // the connection this node dialed (nullptr before the first)
  std::shared_ptr<Link>
      accepted;  // the one the peer dialed, when it has a lower id and reads on it
};

PeerTransport::PeerTransport(asio::io_context& io, uint32_t self, std::string cluster_id,
                             std::map<uint32_t, std::string> members, Deliver deliver)
    : io_(io),
      self_(self),
      cluster_id_(std::move(cluster_id)),
      members_(std::move(members)),
      deliver_(std::move(deliver)),
      acceptor_(io),
      rng_(std::random_device{}()) {
  for (const auto& [id, address] : members_) {
    if (id != self_) peers_[id] = std::make_shared<Peer>(id, address);
  }
}

PeerTransport::~PeerTransport() { stop(); }

std::optional<std::string> PeerTransport::listen(const std::string& bind, uint16_t port) {
  asio::error_code ec;
  const auto address = asio::ip::make_address(bind, ec);
  if (ec) return fmt::format("bind: '{}' is not an IP address", bind);
  const asio::ip::tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fmt::format("cannot listen for peers on {}:{}: {}", bind, port, ec.message());
  return std::nullopt;
}

uint16_t PeerTransport::port() const {
  asio::error_code ec;
  const auto endpoint = acceptor_.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void PeerTransport::start() {
  asio::co_spawn(io_, accept(), asio::detached);
  for (auto& [id, peer] : peers_) asio::co_spawn(io_, dial(peer), asio::detached);
}

void PeerTransport::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [id, peer] : peers_) {
    for (const auto& link : {peer->dialed, peer->accepted}) {
      if (link) link->close();
    }
  }
}

bool PeerTransport::connected(uint32_t peer) const {
  const auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  const Peer& p = *it->second;
  return (p.dialed && p.dialed->writable) || (p.accepted && p.accepted->writable);
}

std::optional<int64_t> PeerTransport::last_received_ms(uint32_t peer) const {
  const auto it = last_received_ms_.find(peer);
  if (it == last_received_ms_.end()) return std::nullopt;
  return it->second;
}

void PeerTransport::send(core::Message message) {
  const auto it = peers_.find(message.to.value());
  if (it == peers_.end()) {
    ++counters_.messages_dropped;  // not a member: the replica never names one
    return;
  }
  const LinkFaults& link = faults_[message.to.value()];
  if (link.cut_out || (link.loss_permille != 0 && rng_.chance(link.loss_permille, 1000))) {
    ++counters_.messages_dropped;
    return;
  }
  if (link.delay_ms > 0) {
    auto timer =
        std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(link.delay_ms));
    timer->async_wait([this, timer, peer = it->second,
                       payload = std::move(message.payload)](const asio::error_code& ec) mutable {
      if (!ec && !stopped_) enqueue(*peer, std::move(payload));
    });
    return;
  }
  enqueue(*it->second, std::move(message.payload));
}

// On the connection the peer dialed when it may (a lower id that reads on it), else on ours.
void PeerTransport::enqueue(Peer& peer, std::string payload) {
  Link* link = peer.accepted && peer.accepted->writable ? peer.accepted.get() : peer.dialed.get();
  if (!link || !link->writable || link->queued_bytes + payload.size() > queue_bytes_max) {
    ++counters_.messages_dropped;
    return;
  }
  link->queued_bytes += payload.size();
  link->queue.push_back(std::move(payload));
  if (link->queue.size() == 1) link->wake.cancel();  // the writer was asleep
}

// Writes whatever is queued on one connection, all of it in one write per wake-up, until the
// connection ends; then drops what is left.
asio::awaitable<void> PeerTransport::write_queued(std::shared_ptr<Link> link, bool back) {
  std::string batch;
  while (!stopped_ && link->open) {
    if (link->queue.empty()) {
      link->wake.expires_at(asio::steady_timer::time_point::max());
      co_await link->wake.async_wait(as_result);
      continue;
    }
    batch.clear();
    uint64_t messages = 0;
    while (!link->queue.empty() && batch.size() < (4u << 20)) {
      append_frame(batch, link->queue.front());
      link->queued_bytes -= link->queue.front().size();
      link->queue.pop_front();
      ++messages;
    }
    auto [write_error, written] =
        co_await asio::async_write(link->socket, asio::buffer(batch), as_result);
    if (write_error) break;
    counters_.messages_sent += messages;
    if (back) counters_.messages_sent_back += messages;
    counters_.bytes_sent += written;
  }
  counters_.messages_dropped += link->queue.size();
  link->queue.clear();
  link->queued_bytes = 0;
  link->close();
}

// One peer's outgoing connection: connect, introduce, then write what is queued and read what
// comes back, until either breaks; then wait and reconnect.
asio::awaitable<void> PeerTransport::dial(std::shared_ptr<Peer> peer) {
  int64_t backoff_ms = backoff_ms_min;
  asio::ip::tcp::resolver resolver(io_);
  std::string hello_frame;
  while (!stopped_) {
    auto link = std::make_shared<Link>(io_);
    peer->dialed = link;
    const auto [host, service] = host_port(peer->address);
    auto [resolve_error, endpoints] = co_await resolver.async_resolve(host, service, as_result);
    asio::error_code ec = resolve_error;
    if (!ec && !stopped_)
      std::tie(ec, std::ignore) = co_await asio::async_connect(link->socket, endpoints, as_result);
    if (!ec && !stopped_) {
      asio::error_code ignored;
      link->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      proto::PeerHello hello;
      hello.set_version(hello_version);
      hello.set_cluster_id(cluster_id_);
      hello.set_from(self_);
      hello.set_to(peer->id);
      hello.set_duplex(duplex_);
      hello.set_strategy(fingerprint_);
      hello_frame.clear();
      append_frame(hello_frame, hello.SerializeAsString());
      std::tie(ec, std::ignore) =
          co_await asio::async_write(link->socket, asio::buffer(hello_frame), as_result);
    }
    if (stopped_) co_return;
    if (ec) {
      link->close();
      asio::steady_timer wait(io_, std::chrono::milliseconds(backoff_ms));
      co_await wait.async_wait(as_result);
      backoff_ms = std::min(backoff_ms * 2, backoff_ms_max);
      continue;
    }
    ++counters_.connects;
    spdlog::info("connected to peer {} at {}", peer->id, peer->address);
    link->writable = true;
    backoff_ms = backoff_ms_min;
    // The peer answers on this connection when its id is higher (it reads none of ours first).
    asio::co_spawn(io_, receive(link, peer->id, nullptr), asio::detached);
    co_await write_queued(link, false);
    if (stopped_) co_return;
    ++counters_.disconnects;
    spdlog::info("lost the connection to peer {}; reconnecting", peer->id);
  }
}

asio::awaitable<void> PeerTransport::accept() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(as_result);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      continue;
    }
    auto link = std::make_shared<Link>(io_);
    link->socket = std::move(socket);
    asio::error_code ignored;
    link->socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // it may carry answers back
    asio::co_spawn(io_, serve_inbound(std::move(link)), asio::detached);
  }
}

// A hello on an accepted connection: checked, and — from a lower id that reads on it — the
// connection becomes the one this node sends to that peer on. False: refused (counted, closed).
bool PeerTransport::take_hello(std::string_view payload, const std::shared_ptr<Link>& link,
                               uint32_t& from) {
  proto::PeerHello hello;
  std::string why;
  if (!hello.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
      hello.version() != hello_version) {
    why = "the first frame is not a hello this version understands";
  } else if (hello.cluster_id() != cluster_id_) {
    why = fmt::format("node {} belongs to cluster '{}', not '{}'", hello.from(), hello.cluster_id(),
                      cluster_id_);
  } else if (!hello.strategy().empty() && !fingerprint_.empty() &&
             hello.strategy() != fingerprint_) {
    why = fmt::format(
        "node {} runs '{}', and this node runs '{}': the strategy and its "
        "cluster-wide settings must agree",
        hello.from(), hello.strategy(), fingerprint_);
  } else if (!is_member(hello.from())) {
    why = fmt::format("node {} is not a member", hello.from());
  } else if (hello.to() != self_) {
    why =
        fmt::format("node {} called node {}, but this is node {}", hello.from(), hello.to(), self_);
  }
  if (!why.empty()) {
    ++counters_.handshakes_refused;
    spdlog::warn("refused a peer connection: {}", why);
    link->close();
    return false;
  }
  from = hello.from();
  if (hello.duplex() && from < self_) {
    Peer& peer = *peers_.at(from);
    if (peer.accepted) peer.accepted->close();  // an older connection of the same peer
    peer.accepted = link;
    link->writable = true;
    asio::co_spawn(io_, write_queued(link, true), asio::detached);
  }
  return true;
}

// One peer's incoming connection: the hello, then frames. A caller that does not introduce
// itself in time is dropped.
asio::awaitable<void> PeerTransport::serve_inbound(std::shared_ptr<Link> link) {
  // (The timer holds the link, not this frame: it may fire after the coroutine is gone.)
  auto introduced = std::make_shared<bool>(false);
  auto deadline = std::make_shared<asio::steady_timer>(io_, handshake_timeout);
  deadline->async_wait([link, introduced, deadline](const asio::error_code& ec) {
    if (!ec && !*introduced) link->close();
  });
  co_await receive(link, std::nullopt, [&](std::string_view hello, uint32_t& from) {
    if (!take_hello(hello, link, from)) return false;
    *introduced = true;
    deadline->cancel();
    return true;
  });
  deadline->cancel();
  for (auto& [id, peer] : peers_) {
    if (peer->accepted == link) peer->accepted.reset();
  }
}

asio::awaitable<void> PeerTransport::receive(
    std::shared_ptr<Link> link, std::optional<uint32_t> from,
    std::function<bool(std::string_view, uint32_t&)> on_hello) {
  std::string buffer;
  size_t start = 0;
  std::string chunk(read_chunk_bytes, '\0');
  while (!stopped_ && link->open) {
    auto [ec, n] = co_await link->socket.async_read_some(asio::buffer(chunk), as_result);
    if (ec) break;
    counters_.bytes_received += n;
    buffer.append(chunk.data(), n);
    bool closed = false;
    while (buffer.size() - start >= 4) {
      const uint32_t length = read_length(std::string_view(buffer).substr(start, 4));
      if (length > frame_bytes_max) {
        ++counters_.frames_refused;
        spdlog::warn("a peer frame of {} bytes is over the limit; closing the connection", length);
        closed = true;
        break;
      }
      if (buffer.size() - start - 4 < length) break;
      const std::string_view payload = std::string_view(buffer).substr(start + 4, length);
      start += 4 + length;
      if (!from) {
        uint32_t caller = 0;
        if (!on_hello || !on_hello(payload, caller)) {
          closed = true;
          break;
        }
        from = caller;
        continue;
      }
      if (faults_[*from].cut_in) {
        ++counters_.messages_dropped;
        continue;
      }
      ++counters_.messages_received;
      last_received_ms_[*from] = steady_ms();
      deliver_(core::Message{core::NodeId(*from), core::NodeId(self_), std::string(payload)});
    }
    if (closed) break;
    if (start > 0 && start == buffer.size()) {
      buffer.clear();
      start = 0;
    } else if (start > (1u << 20)) {
      buffer.erase(0, start);
      start = 0;
    }
  }
  link->close();
}

}  // namespace replikv::runtime
