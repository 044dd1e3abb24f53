// TestDriver: the Ready contract of core/ready.h carried out over a MemoryEngine, for tests and
// the durability simulation, with fsync "always". Its bookkeeping — which Ready is durable, which
// replies wait — is the real driver's, core::ReadyLedger; it can crash the engine between any two
// steps.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "core/assert.h"
#include "core/ready.h"
#include "core/ready_ledger.h"
#include "core/replica.h"
#include "core/standalone.h"
#include "storage/memory_engine.h"

namespace replikv::testing {

class TestDriver {
 public:
  explicit TestDriver(uint64_t seed = 1, uint64_t cache_bytes_max = 1 << 20)
      : seed_(seed), cache_bytes_max_(cache_bytes_max) {
    restart();
  }

  // When false, Readies are taken only at sync() — many requests share one batch, as in the
  // real runtime's loop turn. When true, after every input.
  void take_after_each_input(bool eager) { eager_ = eager; }

  // Recreates the replica from what the engine holds (after a crash, only what was synced).
  void restart() {
    core::StandaloneOptions options;
    options.cache_bytes_max = cache_bytes_max_;
    replica_ = std::make_unique<core::Standalone>(engine_, core::Rng(seed_), options);
    ledger_.reset();  // the replies that waited are lost with the process
    replica_->tick(now_ms_);
    drain();
  }

  // Sends a request; returns its sequence number. The reply is released only after a sync.
  uint64_t send(core::Request request, uint64_t connection = 1) {
    const uint64_t sequence = next_sequence_++;
    replica_->client_request(
        {core::ConnectionId(connection), sequence, std::move(request), {}, std::nullopt});
    if (eager_) drain();
    return sequence;
  }

  // Syncs (group commit) and releases every waiting reply.
  void sync() {
    drain();
    REPLIKV_ASSERT(engine_.sync().is_ok(), "memory sync");
    ledger_.sync_now();
    drain();
  }

  // Sends, syncs, and returns the reply: the common case of a test.
  core::Reply run(core::Request request) {
    const uint64_t sequence = send(std::move(request));
    sync();
    for (auto& reply : released_) {
      if (reply.sequence == sequence) return reply.reply;
    }
    REPLIKV_ASSERT(false, "reply not released after sync");
    return {};
  }

  void tick(core::TimeMs now_ms) {
    now_ms_ = now_ms;
    replica_->tick(now_ms);
    drain();
  }

  void crash() {
    engine_.crash();
    restart();
  }

  std::vector<core::ClientReply> take_released() { return std::exchange(released_, {}); }
  size_t waiting_replies() const { return ledger_.waiting_replies(); }
  const core::ReadyLedger& ledger() const { return ledger_; }
  storage::MemoryEngine& engine() { return engine_; }
  core::Replica& replica() { return *replica_; }

 private:
  void drain() {
    core::Ready ready;
    std::vector<core::Message> early;
    for (;;) {
      if (replica_->take_ready(ready)) {
        REPLIKV_ASSERT(ready.checkpoint_id == 0, "standalone checkpoints in its batch");
        if (!ready.batch.empty()) {
          REPLIKV_ASSERT(engine_.write(ready.batch).is_ok(), "memory write");
        }
        ledger_.admit(ready, *replica_, early);
        REPLIKV_ASSERT(early.empty(), "a single node sends no messages");
      }
      const auto durable = ledger_.advance();
      if (!durable) return;
      replica_->persisted(*durable);
      ledger_.release(
          [this](core::ReadyId id, core::ClientReply& reply) {
            ledger_.replies_released(id);
            released_.push_back(std::move(reply));
          },
          [](core::Message&) {});
    }
  }

  uint64_t seed_;
  uint64_t cache_bytes_max_;
  bool eager_ = true;
  storage::MemoryEngine engine_;
  std::unique_ptr<core::Standalone> replica_;
  core::ReadyLedger ledger_{/*fsync_always=*/true};
  std::vector<core::ClientReply> released_;
  uint64_t next_sequence_ = 0;
  core::TimeMs now_ms_ = 1000;
};

}  // namespace replikv::testing
