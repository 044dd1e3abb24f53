// Standalone: a single replica with no peers, the first user of the Replica contract.
//
// Guarantee: a reply leaves only after the state it reflects is durable (with fsync "always"),
// because every reply rides in the Ready whose batch holds the write, and the driver releases it
// only after that Ready and every earlier one are durable (core/ready.h, step 4). Reads are
// answered from applied state; since the driver applies each batch before the next input, a read
// sees every write that came before it on any connection — a single node is linearizable.
//
// Time: the replica's clock is the largest now_ms it has been given by tick(); it never moves
// back, even if the driver's wall clock does. Expiry is judged against it.
//
// Invariants (asserted): Ready ids increase by one; persisted() never moves back and never names
// a Ready not yet taken.
#pragma once

#include <cstdint>

#include "core/blocked_pops.h"
#include "core/keyspace.h"
#include "core/random.h"
#include "core/replica.h"

namespace replikv::core {

struct StandaloneOptions {
  NodeId node_id{1};
  // How often the active expiry sweep runs, and how many keys one sweep deletes at most.
  TimeMs expiry_sweep_interval_ms = 100;
  uint64_t expiry_sweep_keys_max = 200;
  // Memory for the record cache in front of storage (core/record_cache.h); 0 disables it.
  uint64_t cache_bytes_max = 64ull << 20;
};

class Standalone final : public Replica {
 public:
  // `view` must outlive the replica. `rng` is unused by a single node but kept for the contract.
  Standalone(const StorageView& view, Rng rng, StandaloneOptions options);

  void client_request(ClientRequest request) override;
  void client_closed(ConnectionId connection) override { blocked_pops_.closed(connection); }
  void peer_message(const Message& message) override;
  using Replica::tick;
  void tick(TimeMs wall_ms, TimeMs monotonic_ms) override;
  void persisted(ReadyId ready_id) override;
  bool take_ready(Ready& out) override;
  ReplicaStatus status() const override;
  std::string state_digest() const override { return keyspace_.digest(); }
  std::optional<std::string> local_value(const std::string& key) override {
    auto record = keyspace_.live_record(key, now_ms_);
    return record ? std::optional<std::string>(std::move(record->value)) : std::nullopt;
  }
  std::optional<uint64_t> local_collection_size(const std::string& key) override {
    return keyspace_.collection_size(key, now_ms_);
  }
  std::optional<std::vector<std::string>> local_list(const std::string& key) override {
    return keyspace_.list_elements(key, now_ms_);
  }

  uint64_t dropped_peer_messages() const { return dropped_peer_messages_; }

 private:
  StandaloneOptions options_;
  Rng rng_;
  Keyspace keyspace_;
  Ready pending_;
  TimeMs now_ms_ = 0;
  TimeMs next_sweep_at_ms_ = 0;
  ReadyId last_taken_;
  ReadyId durable_;
  uint64_t writes_ = 0;
  uint64_t reads_ = 0;
  uint64_t expired_ = 0;
  uint64_t dropped_peer_messages_ = 0;
  // Blocking pops (core/blocked_pops.h): a try runs at once; one that pops nothing waits, and
  // every write that leaves a waited-on list with elements tries the oldest waiters again.
  BlockedPops blocked_pops_;
  // Executes `request`; with `written`, the keys it wrote are appended to it.
  Reply execute(const Request& request, std::vector<std::string>* written);
  void answer(const ClientRequest& request, Reply reply);
  // Tries the waiters that the writes of `written` may serve, and those their pops serve next.
  void serve_blocked_pops(std::vector<std::string> written);
};

}  // namespace replikv::core
