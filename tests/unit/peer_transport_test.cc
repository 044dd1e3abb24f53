// The peer transport (runtime/peer_transport.h) between two nodes on loopback, in one loop: every
// message arrives, and a node with the higher id answers on the connection the lower one dialed —
// unless that node does not read on it (a hello without duplex), when it sends on its own.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "runtime/peer_transport.h"

namespace replikv::runtime {
namespace {

// A free loopback port: bound, read, released (the transport binds it again at once).
uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io,
                                asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return probe.local_endpoint().port();
}

// Node 1 sends "ping N", node 2 answers each with "pong N", `rounds` times, one at a time.
struct PingPong {
  explicit PingPong(bool first_duplex, std::string fingerprint_one = {},
                    std::string fingerprint_two = {}) {
    const uint16_t port1 = free_port();
    const uint16_t port2 = free_port();
    const std::map<uint32_t, std::string> members{{1, fmt::format("127.0.0.1:{}", port1)},
                                                  {2, fmt::format("127.0.0.1:{}", port2)}};
    one = std::make_unique<PeerTransport>(io, 1, "test", members, [this](core::Message message) {
      EXPECT_EQ(message.from, core::NodeId(2));
      EXPECT_EQ(message.payload, fmt::format("pong {}", pongs));
      ++pongs;
      if (pongs == rounds) {
        io.stop();
        return;
      }
      one->send({core::NodeId(1), core::NodeId(2), fmt::format("ping {}", pongs)});
    });
    two = std::make_unique<PeerTransport>(io, 2, "test", members, [this](core::Message message) {
      EXPECT_EQ(message.from, core::NodeId(1));
      two->send({core::NodeId(2), core::NodeId(1), "pong" + message.payload.substr(4)});
    });
    one->set_duplex(first_duplex);
    one->set_fingerprint(std::move(fingerprint_one));
    two->set_fingerprint(std::move(fingerprint_two));
    EXPECT_FALSE(one->listen("127.0.0.1", port1).has_value());
    EXPECT_FALSE(two->listen("127.0.0.1", port2).has_value());
    one->start();
    two->start();
  }

  // Waits (bounded) until each node can send to the other, then plays the rounds.
  void play() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!(one->connected(2) && two->connected(1)) &&
           std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(one->connected(2) && two->connected(1)) << "the two nodes connect";
    io.restart();
    one->send({core::NodeId(1), core::NodeId(2), "ping 0"});
    io.run_for(std::chrono::seconds(20));
  }

  static constexpr int rounds = 200;
  asio::io_context io;
  std::unique_ptr<PeerTransport> one;
  std::unique_ptr<PeerTransport> two;
  int pongs = 0;
};

TEST(PeerTransport, TheHigherIdAnswersOnTheConnectionTheLowerDialed) {
  PingPong test(true);
  test.play();
  EXPECT_EQ(test.pongs, PingPong::rounds);
  EXPECT_EQ(test.two->counters().messages_sent, static_cast<uint64_t>(PingPong::rounds));
  EXPECT_EQ(test.two->counters().messages_sent_back, static_cast<uint64_t>(PingPong::rounds));
  EXPECT_EQ(test.one->counters().messages_sent_back, 0u)
      << "the lower id sends on its own connection";
  EXPECT_EQ(test.one->counters().messages_dropped + test.two->counters().messages_dropped, 0u);
}

TEST(PeerTransport, ACallerThatDoesNotReadGetsAnswersOnTheOtherConnection) {
  PingPong test(false);
  test.play();
  EXPECT_EQ(test.pongs, PingPong::rounds);
  EXPECT_EQ(test.two->counters().messages_sent, static_cast<uint64_t>(PingPong::rounds));
  EXPECT_EQ(test.two->counters().messages_sent_back, 0u);
}

// Nodes whose strategies or cluster-wide settings differ (core::fingerprint) never talk: each
// refuses the other's hello, counted. The same fingerprint, or none from an older node, connects.
TEST(PeerTransport, APeerWithAnotherStrategyFingerprintIsRefused) {
  PingPong refused(true, "leader ack=majority failover=auto", "leader ack=async failover=auto");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < deadline) {
    refused.one->send({core::NodeId(1), core::NodeId(2), "ping 0"});
    refused.io.run_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(refused.two->counters().messages_received, 0u) << "nothing gets through";
  EXPECT_EQ(refused.pongs, 0);
  EXPECT_GT(refused.one->counters().handshakes_refused + refused.two->counters().handshakes_refused,
            0u);
  PingPong same(true, "leader ack=sync failover=auto", "leader ack=sync failover=auto");
  same.play();
  EXPECT_EQ(same.pongs, PingPong::rounds);
  PingPong older(true, "leader ack=sync failover=auto", "");
  older.play();
  EXPECT_EQ(older.pongs, PingPong::rounds);
}

// A peer that goes away and comes back on the same port: the connection it dialed breaks, the
// other node falls back to its own until the peer dials again, and messages flow again.
TEST(PeerTransport, AnswersFlowAgainAfterTheLowerIdReconnects) {
  PingPong test(true);
  test.play();
  ASSERT_EQ(test.pongs, PingPong::rounds);
  const uint64_t back_before = test.two->counters().messages_sent_back;
  const std::string address = "127.0.0.1";
  // Node 1 stops and a new node 1 takes its place (same members, same port).
  const uint16_t port1 = test.one->port();
  test.one->stop();
  // Kept until the loop stops running: its coroutines finish on it (peer_transport.h, Threading).
  std::unique_ptr<PeerTransport> stopped = std::move(test.one);
  test.io.restart();
  test.io.run_for(std::chrono::milliseconds(100));  // node 2 notices
  const std::map<uint32_t, std::string> members{
      {1, fmt::format("{}:{}", address, port1)},
      {2, fmt::format("{}:{}", address, test.two->port())}};
  test.pongs = 0;
  test.one =
      std::make_unique<PeerTransport>(test.io, 1, "test", members, [&test](core::Message message) {
        ++test.pongs;
        if (test.pongs == PingPong::rounds) {
          test.io.stop();
          return;
        }
        test.one->send({core::NodeId(1), core::NodeId(2), fmt::format("ping {}", test.pongs)});
        (void)message;
      });
  ASSERT_FALSE(test.one->listen(address, port1).has_value());
  test.one->start();
  test.play();
  EXPECT_EQ(test.pongs, PingPong::rounds);
  EXPECT_EQ(test.two->counters().messages_sent_back, back_before + PingPong::rounds);
}

}  // namespace
}  // namespace replikv::runtime
