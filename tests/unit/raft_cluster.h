// The Raft unit tests' cluster: replicas over memory engines, driven by hand — every message
// is delivered (or dropped) by the test, time moves only when the test ticks, and the Ready
// contract is carried out as the runtime does.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/leader/raft.h"
#include "core/ready_ledger.h"
#include "storage/memory_engine.h"

namespace replikv::core::testing {

class Cluster {
 public:
  using Customize = std::function<void(int node, RaftOptions&)>;

  explicit Cluster(int size, Customize customize = {}) : customize_(std::move(customize)) {
    for (int n = 1; n <= size; ++n) {
      engines_.push_back(std::make_unique<storage::MemoryEngine>());
      replicas_.emplace_back();
    }
    for (int n = 1; n <= size; ++n) start(n);
  }

  // (Re)creates node n's replica from what its engine synced. An empty engine founds the
  // cluster, unless the node lost its disk (wipe()).
  void start(int n, std::optional<bool> bootstrap = std::nullopt) {
    RaftOptions options;
    options.bootstrap = bootstrap.value_or(wiped_.count(n) == 0);
    // A seed per node — and another for a new disk, as a real driver seeds each run afresh
    // (a data directory's incarnation comes from it).
    const uint64_t seed = static_cast<uint64_t>(n) + (wiped_.count(n) != 0 ? 1000 : 0);
    for (int m = 1; m <= static_cast<int>(engines_.size()); ++m) {
      options.nodes.push_back(NodeId(static_cast<uint32_t>(m)));
    }
    options.node_id = NodeId(static_cast<uint32_t>(n));
    if (customize_) customize_(n, options);
    replicas_[static_cast<size_t>(n - 1)] =
        std::make_unique<Raft>(*engines_[static_cast<size_t>(n - 1)], Rng(seed), options);
    ledgers_[n].reset();
    down_.erase(n);
  }

  // Disk loss: the node stops and its storage is replaced by an empty one.
  void wipe(int n) {
    crash(n);
    // The old replica, down, may still be asked its role: its engine stays alive beside.
    lost_disks_.push_back(std::move(engines_[static_cast<size_t>(n - 1)]));
    engines_[static_cast<size_t>(n - 1)] = std::make_unique<storage::MemoryEngine>();
    wiped_.insert(n);
  }

  // Crash: the node stops; messages to and from it are lost; it keeps what it synced.
  void crash(int n) {
    engines_[static_cast<size_t>(n - 1)]->crash();
    held_checkpoints_.erase(n);
    down_.insert(n);
  }

  void tick(int n, TimeMs now_ms) { tick(n, now_ms, now_ms); }
  // The wall clock and the monotonic one apart (a wall clock stepped, or drifting differently).
  void tick(int n, TimeMs wall_ms, TimeMs monotonic_ms) {
    if (down_.count(n) != 0) return;
    node(n).tick(wall_ms, monotonic_ms);
    drain(n);
  }

  // Delivers the queued messages `allow` accepts, dropping the others; repeats for the messages
  // those cause.
  // Bounded: a storm of messages that never settles (10,000 deliveries) fails the test rather
  // than stopping silently with messages still queued.
  void deliver_if(const std::function<bool(int from, int to, const proto::RaftMessage&)>& allow) {
    int round = 0;
    for (; round < 10000 && !network_.empty(); ++round) {
      Message message = std::move(network_.front());
      network_.pop_front();
      const int from = static_cast<int>(message.from.value()),
                to = static_cast<int>(message.to.value());
      proto::RaftMessage raft;
      raft.ParseFromString(message.payload);
      if (down_.count(from) != 0 || down_.count(to) != 0 || !allow(from, to, raft)) continue;
      if (slow_.count(to) != 0) {
        later_.push_back(std::move(message));  // delivered at the next step of run()
        continue;
      }
      if (duplicate_forwards_ && raft.type() == proto::RaftMessage::FORWARD) {
        ++forwards_duplicated_;
        node(to).peer_message(message);
        drain(to);
      }
      node(to).peer_message(std::move(message));
      drain(to);
    }
    if (!network_.empty()) {
      ADD_FAILURE() << "a message storm: " << network_.size() << " messages still queued after "
                    << round << " deliveries";
    }
  }

  Raft& node(int n) { return *replicas_[static_cast<size_t>(n - 1)]; }

  // Options for a log that compacts every few entries (8, keeping 2) and, when given, snapshots
  // in chunks and moving steps of these sizes.
  static Customize small_log(uint64_t chunk_bytes = 0, uint64_t move_bytes = 0) {
    return [chunk_bytes, move_bytes](int, RaftOptions& options) {
      options.log_compact_entries = 8;
      options.log_keep_entries = 2;
      options.hold_log_for_followers = false;  // a follower behind is caught up by snapshot
      options.checkpoint_entries = 1;  // the log is compacted below the checkpoint: one per entry
      if (chunk_bytes != 0) options.snapshot_chunk_bytes = chunk_bytes;
      if (move_bytes != 0) options.snapshot_move_bytes = move_bytes;
    };
  }

  // Writes keys k<sequence> = "v" at node n, `count` of them, each delivered before the next
  // (or left in the network, `deliver` false). Sequences count across calls.
  void write_keys(int n, int count, bool deliver = true) {
    for (int i = 0; i < count; ++i) {
      ++key_sequence_;
      request(n, key_sequence_,
              SetRequest{"k" + std::to_string(key_sequence_), "v", {}, {}, false});
      if (deliver) deliver_all();
    }
  }
  storage::MemoryEngine& engine(int n) { return *engines_[static_cast<size_t>(n - 1)]; }

  // Carries out each node's Readies through its ledger (core/ready_ledger.h): write, sync at once
  // (whatever the Ready asks: this cluster's disks are fast), persisted, then the early messages,
  // the replies and the other messages go out.
  void drain(int n) {
    Ready ready;
    auto& ledger = ledgers_[n];
    while (node(n).take_ready(ready)) {
      auto& engine = *engines_[static_cast<size_t>(n - 1)];
      if (!ready.batch.empty()) {
        ASSERT_TRUE(engine.write(ready.batch).is_ok());
      }
      Ready again;
      ASSERT_FALSE(node(n).take_ready(again)) << "one take_ready() hands over everything so far";
      for (const auto& message : ready.messages) {
        proto::RaftMessage raft;
        raft.ParseFromString(message.payload);
        sent_.push_back({n, raft.type(), message.early, ready.sync == Sync::always});
      }
      std::vector<Message> early;
      ledger.admit(ready, node(n), early);
      for (auto& message : early) network_.push_back(std::move(message));
      ASSERT_TRUE(engine.sync().is_ok());
      ledger.sync_now();
      const auto durable = ledger.advance();
      ASSERT_TRUE(durable.has_value()) << "a sync makes every Ready before it durable";
      node(n).persisted(*durable);
      if (ready.checkpoint_id != 0) {
        // Written at once, or held back until written_checkpoints() (core/ready.h, step 6).
        held_checkpoints_[n].push_back({ready.checkpoint_id, std::move(ready.checkpoint)});
        if (!hold_checkpoints_.contains(n)) write_checkpoints(n);
      }
      ledger.release(
          [&](ReadyId id, ClientReply& reply) {
            ledger.replies_released(id);
            replies_.push_back(std::move(reply));
          },
          [&](Message& message) { network_.push_back(std::move(message)); });
    }
  }
  // Node n's driver bookkeeping.
  const ReadyLedger& ledger(int n) { return ledgers_[n]; }

  // Every message any node sent: from, type, whether it could leave before its Ready's sync, and
  // whether that Ready wrote a term or vote (Sync::always).
  struct Sent {
    int from;
    proto::RaftMessage::Type type;
    bool early;
    bool term_or_vote_written;
  };
  const std::vector<Sent>& sent() const { return sent_; }

  // Node n's checkpoints wait until write_checkpoints(n) (or a crash, which loses them); with
  // `hold` false, they are written at once again, those held first.
  void hold_checkpoints(int n, bool hold = true) {
    if (hold) {
      hold_checkpoints_.insert(n);
      return;
    }
    hold_checkpoints_.erase(n);
    write_checkpoints(n);
  }
  size_t held_checkpoints(int n) { return held_checkpoints_[n].size(); }
  void write_checkpoints(int n) {
    auto held = std::exchange(held_checkpoints_[n], {});
    for (auto& [id, batch] : held) {
      ASSERT_TRUE(engine(n).sync().is_ok());  // the log the checkpoint reflects first
      ASSERT_TRUE(engine(n).write(batch).is_ok());
      ASSERT_TRUE(engine(n).sync().is_ok());
      node(n).checkpointed(id);
    }
    drain(n);
  }

  void tick_all(TimeMs now_ms) {
    for (int n = 1; n <= size(); ++n) tick(n, now_ms);
  }

  // Delivers queued messages (and the ones they cause) except to or from isolated nodes.
  void deliver_all() {
    deliver_if([this](int from, int to, const proto::RaftMessage&) {
      return isolated_.count(from) == 0 && isolated_.count(to) == 0;
    });
  }

  // Runs time forward in 10 ms steps, delivering everything at each step.
  void run(TimeMs from_ms, TimeMs to_ms) {
    for (TimeMs t = from_ms; t <= to_ms; t += 10) {
      std::vector<Message> due;
      due.swap(later_);
      for (auto& message : due) {
        const int to = static_cast<int>(message.to.value());
        if (down_.count(to) != 0 || isolated_.count(to) != 0) continue;
        node(to).peer_message(std::move(message));
        drain(to);
      }
      tick_all(t);
      deliver_all();
    }
  }

  std::vector<int> leaders() {
    std::vector<int> out;
    for (int n = 1; n <= size(); ++n) {
      if (node(n).role() == Raft::Role::leader) out.push_back(n);
    }
    return out;
  }

  void request(int n, uint64_t sequence, Request request, ReadOptions read = {},
               std::optional<SessionToken> session = std::nullopt, uint64_t connection = 1) {
    node(n).client_request(
        {ConnectionId(connection), sequence, std::move(request), read,
         session ? std::optional<SessionPosition>(position_of(*session)) : std::nullopt});
    drain(n);
  }

  std::optional<Reply> reply_for(uint64_t sequence) {
    const auto reply = client_reply_for(sequence);
    return reply ? std::optional<Reply>(reply->reply) : std::nullopt;
  }
  // A reply with the log positions its session positions name (core/session.h).
  struct TestReply {
    Reply reply;
    std::optional<SessionToken> written;
    std::optional<SessionToken> read_at;
  };
  std::optional<TestReply> client_reply_for(uint64_t sequence) {
    for (const auto& reply : replies_) {
      if (reply.sequence != sequence) continue;
      TestReply out{reply.reply, std::nullopt, std::nullopt};
      if (reply.written) out.written = token_of(*reply.written);
      if (reply.read_at) out.read_at = token_of(*reply.read_at);
      return out;
    }
    return std::nullopt;
  }

  // The indexes node n's log holds (in storage).
  std::vector<uint64_t> log_indexes(int n) {
    std::vector<uint64_t> out;
    engines_[static_cast<size_t>(n - 1)]->scan(Column::log, {},
                                               [&](std::string_view key, std::string_view) {
                                                 out.push_back(read_u64_be(key));
                                                 return true;
                                               });
    return out;
  }
  // The term of the entry node n's log holds at `index` (in storage), if it holds one.
  std::optional<uint64_t> log_term(int n, uint64_t index) {
    std::string key;
    append_u64_be(key, index);
    const auto record = engines_[static_cast<size_t>(n - 1)]->get(Column::log, key);
    if (!record || record->size() < 8) return std::nullopt;
    return read_u64_be(*record);
  }
  // Node n's state machine in storage: every data and expiry record.
  std::vector<std::pair<std::string, std::string>> state(int n) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Column column : {Column::data, Column::expiry}) {
      engines_[static_cast<size_t>(n - 1)]->scan(
          column, {}, [&](std::string_view key, std::string_view value) {
            out.emplace_back(std::string(1, static_cast<char>(column)) + std::string(key),
                             std::string(value));
            return true;
          });
    }
    return out;
  }
  std::optional<std::string> meta(int n, std::string_view key) {
    return engines_[static_cast<size_t>(n - 1)]->get(Column::meta, key);
  }
  // How many meta records of node n start with `prefix`.
  size_t meta_count(int n, std::string_view prefix) { return count(n, Column::meta, prefix); }
  size_t staged_count(int n) { return count(n, Column::staging, ""); }
  size_t count(int n, Column column, std::string_view prefix) {
    size_t count = 0;
    engines_[static_cast<size_t>(n - 1)]->scan(column, prefix,
                                               [&](std::string_view key, std::string_view) {
                                                 if (!key.starts_with(prefix)) return false;
                                                 ++count;
                                                 return true;
                                               });
    return count;
  }
  void isolate(int n) { isolated_.insert(n); }
  // Messages to n take one step of run() (10 ms) to arrive.
  void slow(int n) { slow_.insert(n); }
  void duplicate_forwards(bool on) { duplicate_forwards_ = on; }
  uint64_t forwards_duplicated() const { return forwards_duplicated_; }
  void heal() { isolated_.clear(); }
  int size() const { return static_cast<int>(replicas_.size()); }

 private:
  Customize customize_;
  std::vector<std::unique_ptr<storage::MemoryEngine>> engines_;
  std::vector<std::unique_ptr<Raft>> replicas_;
  std::set<int> down_;
  std::set<int> wiped_;
  uint64_t key_sequence_ = 0;  // write_keys()'s
  std::set<int> slow_;
  std::vector<Message> later_;
  std::vector<std::unique_ptr<storage::MemoryEngine>> lost_disks_;
  std::deque<Message> network_;
  std::vector<Sent> sent_;
  std::vector<ClientReply> replies_;
  std::set<int> isolated_;
  std::set<int> hold_checkpoints_;
  std::map<int, std::vector<std::pair<uint64_t, WriteBatch>>> held_checkpoints_;
  std::map<int, ReadyLedger> ledgers_;  // fsync "always"
  bool duplicate_forwards_ = false;
  uint64_t forwards_duplicated_ = 0;
};

}  // namespace replikv::core::testing
