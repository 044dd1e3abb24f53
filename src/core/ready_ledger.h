// ReadyLedger: the driver's side of the Ready contract (core/ready.h, steps 3 and 4), written once
// for every driver — the node process, the simulator and the test harnesses.
//
// A driver takes each Ready and writes its batch (steps 1–2); then it hands the Ready to the
// ledger, which decides everything about what may leave when:
//
//   1. admit(ready, replica, early)  the Ready's early messages go to `early` (send them now);
//                                    its replies and other messages wait; whether it needs a sync
//                                    follows `ready.sync` and the node's fsync setting.
//   2. sync_wanted() → begin_sync()  a sync starts, covering every Ready admitted so far; one runs
//      … end_sync()                  at a time (group commit: Readies admitted meanwhile wait for
//                                    the next one).
//   3. advance()                     the durable position moved: the driver calls
//                                    replica.persisted(id) with what it returns …
//   4. release(on_reply, on_message) … and then releases what is durable, in Ready order: each
//                                    Ready's replies, then its messages.
//
// The driver calls replies_released(id) at the point where a reply actually leaves for its client,
// with the Ready it came from: a reply whose Ready is not durable there is counted
// (replies_released_before_durable; the node exposes it as
// replikv_replies_released_before_durable). The ledger's own release never produces one, so the
// count stays 0 unless a driver bypasses the ledger — which is what the count is for.
//
// Which messages may leave early is the protocol's to say (Replica::may_leave_early) and the
// ledger's to check: an early message that the protocol does not allow, or one in a Ready that
// must be synced whatever the fsync setting (a term or a vote), is counted as an early violation.
// It is still sent: the driver reports the count (the simulator fails the run on it) rather than
// hide the broken replica's behaviour.
//
// Durable position: every Ready before the first one still waiting for a sync (pending, or
// covered by the running sync) is durable; with none waiting, every Ready admitted is.
//
// Thread-safety: none; the driver's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "core/ready.h"
#include "core/replica.h"
#include "core/types.h"

namespace replikv::core {

class ReadyLedger {
 public:
  // `fsync_always`: the node's fsync setting is "always" (a `per_policy` Ready needs a sync).
  explicit ReadyLedger(bool fsync_always = true) : fsync_always_(fsync_always) {}

  // Step 1. `ready` was taken from `replica` (ids one apart) and its batch written. Its early
  // messages are appended to `early`; its replies and other messages are kept until durable
  // (moved out of `ready`). Returns whether the Ready needs a sync.
  bool admit(Ready& ready, const Replica& replica, std::vector<Message>& early);

  // Step 2. A sync is wanted when some admitted Ready needs one and none is running.
  bool sync_wanted() const { return sync_needed_from_.has_value() && !syncing_from_; }
  bool sync_running() const { return syncing_from_.has_value(); }
  // The sync that starts now covers every Ready admitted so far. Returns the last one it covers.
  ReadyId begin_sync();
  void end_sync();
  // Both at once: for a driver whose sync returns before its next input.
  void sync_now() {
    begin_sync();
    end_sync();
  }

  // Every Ready up to this one is durable.
  ReadyId durable() const;
  // Step 3. When the durable position moved past what was last returned, returns it (the driver
  // calls persisted() with it); nullopt otherwise.
  std::optional<ReadyId> advance();
  // Step 4. Releases what waits for Readies up to the position advance() last returned, in Ready
  // order: on_reply(ReadyId, ClientReply&) for each reply, then on_message(Message&) for each
  // message of that Ready that did not leave early.
  template <typename OnReply, typename OnMessage>
  void release(OnReply&& on_reply, OnMessage&& on_message);

  // The driver releases a reply of Ready `id` to its client now: counted when `id` is not durable.
  void replies_released(ReadyId id, uint64_t count = 1);

  // A crash: what waits is lost, and the replica that replaces this one starts its ids at 1.
  void reset();

  // Replies admitted and not yet released.
  size_t waiting_replies() const {
    size_t count = 0;
    for (const auto& entry : waiting_) count += entry.replies.size();
    return count;
  }
  uint64_t syncs_total() const { return syncs_total_; }
  uint64_t replies_released_before_durable() const { return replies_before_durable_; }
  uint64_t early_violations() const { return early_violations_; }
  // The first early violation seen, described (empty when none).
  const std::string& first_early_violation() const { return first_early_violation_; }

 private:
  struct Waiting {
    ReadyId id;
    std::vector<ClientReply> replies;
    std::vector<Message> messages;
  };

  bool fsync_always_;
  ReadyId last_admitted_;
  ReadyId reported_;                         // what advance() last returned
  std::optional<ReadyId> sync_needed_from_;  // the first Ready admitted since the running sync
                                             // began that needs a sync
  std::optional<ReadyId> syncing_from_;      // the first Ready the running sync is needed for
  std::deque<Waiting> waiting_;
  std::vector<std::vector<Message>> spare_messages_;
  // Reply lists released, kept with their capacity to hand back to the replica (admit): a busy
  // node's Readies carry hundreds of replies, and a fresh list per Ready reallocates as it grows.
  std::vector<std::vector<ClientReply>> spare_replies_;
  uint64_t syncs_total_ = 0;
  uint64_t replies_before_durable_ = 0;
  uint64_t early_violations_ = 0;
  std::string first_early_violation_;
};

template <typename OnReply, typename OnMessage>
void ReadyLedger::release(OnReply&& on_reply, OnMessage&& on_message) {
  while (!waiting_.empty() && waiting_.front().id <= reported_) {
    Waiting& entry = waiting_.front();
    for (auto& reply : entry.replies) on_reply(entry.id, reply);
    entry.replies.clear();
    if (entry.replies.capacity() > 0 && spare_replies_.size() < 64) {
      spare_replies_.push_back(std::move(entry.replies));
    }
    for (auto& message : entry.messages) {
      if (!message.early) on_message(message);  // the early ones left at admit()
    }
    entry.messages.clear();
    if (entry.messages.capacity() > 0 && spare_messages_.size() < 64) {
      spare_messages_.push_back(std::move(entry.messages));
    }
    waiting_.pop_front();
  }
}

}  // namespace replikv::core
