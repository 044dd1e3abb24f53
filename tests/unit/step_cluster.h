// A three-node cluster of one strategy's replicas driven step by step for unit tests: replicas
// over memory engines, every message routed by the test (so a link can be held — a partition),
// time moved by hand. `Setup` names the replica and options types and gives each node's options
// (`defaults(options, bootstrap)`); see multi_leader_cluster.h and
// leaderless_replica_test.cc.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/command.h"
#include "core/replica.h"
#include "core/status.h"
#include "core/strategy.h"
#include "storage/memory_engine.h"

namespace replikv::core {

// A client's words as `strategy`'s node parses them (its own commands too: VGET, VSET).
inline Request words_request(std::string_view strategy_name,
                             const std::vector<std::string>& words) {
  const std::vector<std::string_view> argv(words.begin(), words.end());
  const Strategy* strategy = find_strategy(strategy_name);
  const CommandSpec* spec = find_command(argv.front());
  if (spec == nullptr) spec = strategy->find_command(argv.front());
  EXPECT_NE(spec, nullptr) << words.front();
  auto parsed = spec->handler == CommandSpec::Handler::strategy
                    ? strategy->parse_command(*spec, argv)
                    : parse_request(*spec, argv);
  EXPECT_TRUE(std::holds_alternative<Request>(parsed)) << words.front();
  return std::get<Request>(std::move(parsed));
}

// A reply as text, array elements sorted (member order is by hash, not insertion: the same on
// every node, but a test names sets as sets).
inline std::string reply_text(const Reply& reply, bool sorted = true) {
  switch (reply.kind) {
    case Reply::Kind::array: {
      std::vector<std::string> parts;
      for (const auto& element : reply.elements) parts.push_back(reply_text(element, sorted));
      if (sorted) std::sort(parts.begin(), parts.end());
      return "[" + fmt::format("{}", fmt::join(parts, " ")) + "]";
    }
    case Reply::Kind::integer:
      return std::to_string(reply.integer);
    case Reply::Kind::null:
      return "(nil)";
    default:
      return reply.text;
  }
}

template <typename Setup>
class StepCluster {
 public:
  static constexpr int members = 3;
  using Options = typename Setup::Options;
  using ReplicaType = typename Setup::Replica;

  // `configure` adjusts each node's options (a mutant, a policy) before it starts.
  explicit StepCluster(std::function<void(Options&)> configure = {})
      : configure_(std::move(configure)) {
    for (int id = 1; id <= members; ++id) start(id, /*bootstrap=*/true);
  }

  // A new empty engine for `id`, and a replica on it that did not found the cluster.
  void wipe(int id) {
    engines_[id] = std::make_unique<storage::MemoryEngine>();
    start(id, /*bootstrap=*/false);
  }

  ReplicaType& node(int id) { return *replicas_.at(id); }

  Reply request(int id, Request request) {
    const uint64_t sequence = ++sequence_;
    node(id).client_request({ConnectionId(1), sequence, std::move(request), {}, std::nullopt});
    pump(id);
    // (A reply that waits for peers — a quorum's — comes once what is not held is delivered.)
    for (int step = 0; step < 400 && !replies_.contains(sequence); ++step) {
      deliver();
      if (replies_.contains(sequence)) break;
      now_ms_ += 5;
      for (int other = 1; other <= members; ++other) {
        node(other).tick(now_ms_, now_ms_);
        pump(other);
      }
    }
    const auto it = replies_.find(sequence);
    EXPECT_NE(it, replies_.end()) << "no reply";
    return it == replies_.end() ? Reply::error("ERR no reply") : it->second;
  }

  // Moves time on by `ms` (heartbeats: statuses, relays) and delivers what is not held, until
  // nothing moves.
  void run(TimeMs ms) {
    for (TimeMs step = 0; step < ms; step += 5) {
      now_ms_ += 5;
      for (int id = 1; id <= members; ++id) {
        node(id).tick(now_ms_, now_ms_);
        pump(id);
      }
      deliver();
    }
  }

  // Messages from `from` to `to` wait (in order) until released.
  void hold(int from, int to) { held_links_.insert({from, to}); }
  void release_all() { held_links_.clear(); }
  // Takes out the messages from `from` still waiting (they arrive later, by deliver_late()).
  std::vector<Message> take_waiting(int from) {
    std::vector<Message> taken;
    std::erase_if(outbox_, [&](Message& message) {
      if (static_cast<int>(message.from.value()) != from) return false;
      taken.push_back(std::move(message));
      return true;
    });
    return taken;
  }
  void deliver_late(std::vector<Message> messages) {
    for (auto& message : messages) outbox_.push_back(std::move(message));
    deliver();
  }
  uint64_t metric(int id, std::string_view name) {
    const ReplicaStatus status = node(id).status();
    const Metric* found = status.metric(name);
    EXPECT_NE(found, nullptr) << name;
    return found == nullptr ? 0 : static_cast<uint64_t>(found->number);
  }

  // The words as a client's request at node `id`, and its reply as text (reply_text).
  std::string run(int id, const std::vector<std::string>& words) {
    return reply_text(request(id, words_request(Setup::strategy, words)));
  }
  // Node `alone` cut off from the others, both ways (release_all heals it).
  void partition_one(int alone) {
    for (int other = 1; other <= members; ++other) {
      if (other == alone) continue;
      hold(alone, other);
      hold(other, alone);
    }
  }

  std::string get(int id, const std::string& key) {
    const Reply reply = request(id, GetRequest{key});
    return reply.kind == Reply::Kind::bulk ? reply.text : "(nil)";
  }

 private:
  void start(int id, bool bootstrap) {
    if (!engines_[id]) engines_[id] = std::make_unique<storage::MemoryEngine>();
    Options options;
    options.node_id = NodeId(static_cast<uint32_t>(id));
    for (int m = 1; m <= members; ++m) options.members.push_back(NodeId(static_cast<uint32_t>(m)));
    Setup::defaults(options, bootstrap);
    if (configure_) configure_(options);
    // A new seed at every start: a wiped node draws a new incarnation, as a real one does.
    replicas_[id] = std::make_unique<ReplicaType>(*engines_[id], Rng(++starts_ * 7919), options);
    node(id).tick(now_ms_, now_ms_);
    pump(id);
  }

  void pump(int id) {
    Ready ready;
    while (node(id).take_ready(ready)) {
      ASSERT_TRUE(engines_[id]->write(ready.batch).is_ok());
      ASSERT_TRUE(engines_[id]->sync().is_ok());
      if (ready.checkpoint_id != 0) {
        ASSERT_TRUE(engines_[id]->write_checkpoint(ready.checkpoint).is_ok());
      }
      node(id).persisted(ready.id);
      if (ready.checkpoint_id != 0) node(id).checkpointed(ready.checkpoint_id);
      for (auto& reply : ready.replies) replies_[reply.sequence] = reply.reply;
      for (auto& message : ready.messages) outbox_.push_back(std::move(message));
    }
  }

  void deliver() {
    for (int round = 0; round < 1000 && !outbox_.empty(); ++round) {
      std::vector<Message> sending;
      std::vector<Message> kept;
      for (auto& message : outbox_) {
        const std::pair<int, int> link{static_cast<int>(message.from.value()),
                                       static_cast<int>(message.to.value())};
        (held_links_.contains(link) ? kept : sending).push_back(std::move(message));
      }
      outbox_ = std::move(kept);
      if (sending.empty()) return;
      for (auto& message : sending) {
        const int to = static_cast<int>(message.to.value());
        node(to).peer_message(message);
        pump(to);
      }
    }
  }

  std::function<void(Options&)> configure_;
  std::map<int, std::unique_ptr<storage::MemoryEngine>> engines_;
  std::map<int, std::unique_ptr<ReplicaType>> replicas_;
  std::vector<Message> outbox_;
  std::set<std::pair<int, int>> held_links_;
  std::map<uint64_t, Reply> replies_;
  uint64_t sequence_ = 0;
  uint64_t starts_ = 0;
  TimeMs now_ms_ = 1'700'000'000'000;
};

}  // namespace replikv::core
