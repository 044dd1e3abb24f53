// Ready: everything a replica asks its driver to do after an input.
//
// The driver (the real runtime, or the simulator) follows these steps, in this order:
//
//   1. Call take_ready() after any number of inputs — after each one, or once per loop turn to
//      let many requests share one batch — and at least once per loop turn. (A replica keeps
//      the writes of its open batch visible to its own later inputs until the Ready is taken.)
//      One call hands over everything the inputs before it produced: called again with no input
//      in between, take_ready() returns false.
//   2. Apply the Ready's `batch` to the storage engine atomically, before the next input: from
//      then on the replica reads those writes back through its StorageView.
//   3. Make the batch durable as `sync` demands. `per_policy` follows the node's fsync setting
//      (`always`: sync before step 4; `never`: the write alone counts as durable); `always` syncs
//      whatever the setting says (Raft's term and vote). One sync may cover every Ready of one
//      loop turn (group commit).
//   4. Once this Ready and every earlier one are durable: call persisted(id) and release the
//      `replies`, then send the `messages`. A reply — a read's too — never leaves before the state
//      it reflects is durable ("durable before visible", DESIGN.md). The one exception: messages
//      marked `early` (a Raft leader's log shipments, in a Ready that writes no term or vote) may
//      be sent as soon as the batch is written (step 2), before its sync — the leader counts
//      itself toward a quorum only after persisted(), so followers sync in parallel with it.
//   5. Call tick() no later than `tick_at_ms` (on the wall clock), when set.
//   6. When `checkpoint_id` is set: apply `checkpoint` atomically — with `batch`, or later, apart
//      from the loop — make it durable, then call checkpointed(checkpoint_id). Until then the
//      replica keeps the records in memory (core/keyspace.h); it hands over no other checkpoint
//      meanwhile, and it alone writes the columns a checkpoint writes, so inputs may go on while it
//      is written. Durable means: it survives a crash, and so does every batch written before it
//      (a checkpoint must not outlive the log entries it reflects — sync those first). A crash
//      before checkpointed() may lose it; the replica then starts from the one before.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/consistency.h"
#include "core/reply.h"
#include "core/storage.h"
#include "core/types.h"

namespace replikv::core {

enum class Sync : uint8_t {
  none,        // nothing written, or nothing that must survive a crash
  per_policy,  // durable as the node's fsync setting says
  always,      // durable before anything that depends on it, whatever the setting
};

struct ClientReply {
  ConnectionId connection;
  uint64_t sequence = 0;  // the request's position on its connection
  Reply reply;
  // Where the request's effect lies in the replicated log, for the connection's session (SESSION,
  // WAIT): a write's entry, or the position a session read was served at. None otherwise.
  std::optional<SessionPosition> written;
  std::optional<SessionPosition> read_at;
};

// A message to a peer. `payload` is the serialized message of the strategy's protocol (for the
// single leader, proto::RaftMessage in proto/replikv.proto); the driver carries it as bytes.
struct Message {
  NodeId from;
  NodeId to;
  std::string payload;
  bool early = false;  // may leave before its Ready is durable (step 4)
};

struct Ready {
  ReadyId id;
  WriteBatch batch;
  Sync sync = Sync::none;
  std::vector<ClientReply> replies;
  std::vector<Message> messages;
  std::optional<TimeMs> tick_at_ms;
  // Step 6: a checkpoint of the applied state (0: none), written apart from `batch`.
  uint64_t checkpoint_id = 0;
  WriteBatch checkpoint;

  bool empty() const {
    return batch.empty() && replies.empty() && messages.empty() && !tick_at_ms &&
           checkpoint_id == 0;
  }
  void clear() {
    batch.clear();
    checkpoint_id = 0;
    checkpoint.clear();
    sync = Sync::none;
    replies.clear();
    messages.clear();
    tick_at_ms.reset();
  }
};

// For replicas: moves the Ready being built into `out` under the next id (`last_taken` advances)
// and returns true, or returns false when it holds nothing to do. `out` is cleared either way.
inline bool hand_over(Ready& building, ReadyId& last_taken, Ready& out) {
  out.clear();
  if (building.empty()) return false;
  // Member by member: each side keeps the other's buffers, so neither allocates again.
  out.batch.swap(building.batch);
  std::swap(out.sync, building.sync);
  out.replies.swap(building.replies);
  out.messages.swap(building.messages);
  std::swap(out.tick_at_ms, building.tick_at_ms);
  std::swap(out.checkpoint_id, building.checkpoint_id);
  out.checkpoint.swap(building.checkpoint);
  last_taken = last_taken.next();
  out.id = last_taken;
  return true;
}

}  // namespace replikv::core
