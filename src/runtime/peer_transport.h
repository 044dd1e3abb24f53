// PeerTransport: messages between the nodes of a cluster, over TCP.
//
// One connection carries both directions between two nodes: the one the member with the lower
// id dials. Each node dials every other member (a connection starts with a PeerHello frame:
// cluster id, from, to, duplex); the acceptor refuses — closes and counts — a hello of another
// cluster, from a node that is not a member, or meant for another node. After it, every frame is
// a 4-byte big-endian length and that many bytes of one replica message, in either direction. A
// node sends to a member with a lower id on the connection that member dialed, while it is up
// and its hello said duplex; otherwise on the one it dialed itself. So a request and its answer
// travel on one connection, and TCP carries the answer's acknowledgement with it: on loopback a
// connection written one way only costs the receiver a bare ACK packet per message. A frame
// longer than `frame_bytes_max`, or a connection that breaks mid-frame, is dropped with its
// connection; the node stays up and the dialer reconnects (with backoff, 50 ms doubling to 1 s).
//
// Delivery is best effort, as the replication protocols expect: messages queued for a peer that
// is not connected, or beyond `queue_bytes_max`, are dropped and counted. Order is kept per
// connection.
//
// Fault injection (the FAULT command, only with --test-faults): per peer, cut the link one way or
// both, delay outgoing messages, or lose a share of them. All of it happens here, in user space,
// so it needs no privileges and works on any kernel.
//
// Threading: everything runs on the one io_context thread, like the rest of the node. Its
// coroutines refer to the transport until they end, which stop() starts: destroy it only once the
// io_context no longer runs (the server destroys it after its loop returned).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "core/random.h"
#include "core/ready.h"

namespace replikv::runtime {

struct LinkFaults {
  bool cut_out = false;        // drop every message to the peer
  bool cut_in = false;         // drop every message from the peer
  int64_t delay_ms = 0;        // hold each outgoing message this long
  uint32_t loss_permille = 0;  // drop this share of outgoing messages
  bool any() const { return cut_out || cut_in || delay_ms != 0 || loss_permille != 0; }
};

struct PeerCounters {
  uint64_t messages_sent = 0;
  uint64_t messages_sent_back = 0;  // of them, on the connection the peer dialed
  uint64_t messages_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_dropped = 0;    // not connected, queue full, or a fault
  uint64_t handshakes_refused = 0;  // another cluster, an unknown node, a bad hello
  uint64_t frames_refused = 0;      // over the size limit
  uint64_t connects = 0;
  uint64_t disconnects = 0;
};

class PeerTransport {
 public:
  using Deliver = std::function<void(core::Message message)>;

  PeerTransport(asio::io_context& io, uint32_t self, std::string cluster_id,
                std::map<uint32_t, std::string> members, Deliver deliver);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Binds the peer port. Returns the error text on failure.
  std::optional<std::string> listen(const std::string& bind, uint16_t port);
  void start();
  void stop();

  void send(core::Message message);
  // For tests: dial without asking for answers on the connection (a node before duplex links).
  void set_duplex(bool on) { duplex_ = on; }
  // The strategy and its cluster-wide settings (core::fingerprint), sent in every hello; a peer
  // whose hello carries another is refused (an empty one, from an older node, is accepted).
  void set_fingerprint(std::string fingerprint) { fingerprint_ = std::move(fingerprint); }

  LinkFaults& faults(uint32_t peer) { return faults_[peer]; }
  const std::map<uint32_t, LinkFaults>& all_faults() const { return faults_; }
  bool is_member(uint32_t node) const { return members_.contains(node) && node != self_; }
  // Every member but this node.
  std::vector<uint32_t> peer_ids() const {
    std::vector<uint32_t> ids;
    for (const auto& [id, peer] : peers_) ids.push_back(id);
    return ids;
  }
  bool connected(uint32_t peer) const;
  // Milliseconds (steady clock) when a message from the peer last arrived; nullopt: never.
  std::optional<int64_t> last_received_ms(uint32_t peer) const;
  const PeerCounters& counters() const { return counters_; }
  uint16_t port() const;

  static constexpr uint64_t frame_bytes_max = 1ull << 30;
  static constexpr uint64_t queue_bytes_max = 64ull << 20;

 private:
  struct Link;
  struct Peer;
  asio::awaitable<void> accept();
  asio::awaitable<void> serve_inbound(std::shared_ptr<Link> link);
  asio::awaitable<void> dial(std::shared_ptr<Peer> peer);
  asio::awaitable<void> write_queued(std::shared_ptr<Link> link, bool back);
  // Reads frames until the connection ends; `from` is unknown (nullopt) until a hello names it.
  asio::awaitable<void> receive(
      std::shared_ptr<Link> link, std::optional<uint32_t> from,
      std::function<bool(std::string_view hello, uint32_t& from)> on_hello);
  bool take_hello(std::string_view payload, const std::shared_ptr<Link>& link, uint32_t& from);
  void enqueue(Peer& peer, std::string payload);

  asio::io_context& io_;
  uint32_t self_;
  std::string cluster_id_;
  std::map<uint32_t, std::string> members_;
  Deliver deliver_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<uint32_t, std::shared_ptr<Peer>> peers_;
  std::map<uint32_t, LinkFaults> faults_;
  std::map<uint32_t, int64_t> last_received_ms_;
  PeerCounters counters_;
  core::Rng rng_;
  bool stopped_ = false;
  std::string fingerprint_;
  bool duplex_ = true;
};

}  // namespace replikv::runtime
