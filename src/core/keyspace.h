// Keyspace: the key-value state machine that every strategy applies its writes to.
//
// It executes typed requests against the stored data at a given time and describes the
// resulting writes in a WriteBatch; it never writes storage itself. Writes accumulate in one batch
// across many requests — a whole loop turn — and the records that batch writes are kept where
// every later request sees them before the driver has applied the batch (reads, counts, SCAN all
// merge them over the StorageView): pinned in the record cache, which does not evict them while
// the batch is open, or — when the cache does not keep a record (off, or the record is larger
// than it) — in an overlay map. `finish_batch` closes the batch: it adds the counters record
// once, unpins and forgets the overlay, after which the driver must apply the batch before the
// next request (core/ready.h, step 2). Pinning spares each write an overlay entry (a node, a copy
// of its key and one of its value) on every replica (docs/benchmarks.md, "Per-write CPU").
//
// Expiry follows Redis: a key whose expiry time has passed is absent to every read and write
// (lazy expiry), and `expire_due` deletes such keys in expiry order (active expiry). Counters —
// keys, keys with a time to live, writes applied — are kept in memory and written to the meta
// column in the same batch as the change that moved them, so they survive restarts exactly.
//
// Invariants (asserted): counters never go negative; the applied index never moves back.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/command.h"
#include "core/record_cache.h"
#include "core/replica.h"
#include "core/reply.h"
#include "core/storage.h"
#include "core/types.h"

namespace replikv::core {

class Keyspace {
 public:
  // Reads the counters from the meta column of `view`, which must outlive the keyspace. Up to
  // `cache_bytes_max` of records are cached in memory (core/record_cache.h); 0 disables.
  Keyspace(const StorageView& view, uint64_t cache_bytes_max);

  // Executes `request` as of `now_ms`. Reads see every batch applied so far; writes are appended
  // to `batch`. Returns the client's reply.
  Reply execute(const Request& request, TimeMs now_ms, WriteBatch& batch);

  // Deletes up to `keys_max` keys whose expiry time is before `now_ms`. Returns how many. The
  // index is read from storage alone, so keys given a TTL in the open batch wait for a later
  // sweep.
  uint64_t expire_due(TimeMs now_ms, uint64_t keys_max, WriteBatch& batch);
  // The two halves of expire_due, for strategies where one node decides and every replica
  // applies: the keys whose expiry is before `now_ms` (at most `keys_max`), and the deletion of
  // those among `keys` that are still expired as of `now_ms` (a key rewritten since the decision
  // is kept). Returns how many were deleted.
  std::vector<std::string> due_keys(TimeMs now_ms, uint64_t keys_max);
  uint64_t expire_keys(const std::vector<std::string>& keys, TimeMs now_ms, WriteBatch& batch);

  // Ends the current batch: writes the counters record if they moved, unpins the cache's records
  // of the batch, forgets the overlay.
  void finish_batch(WriteBatch& batch);
  // Forgets the open batch (its writes are not to be written) and the cache, and reads the
  // counters again: for a replica whose state storage replaced underneath (a snapshot install).
  void reset_to_storage();
  // True while a batch is open (writes since the last finish_batch).
  bool batch_open() const { return !overlay_.empty() || cache_.pinned_count() > 0 || counters_dirty_; }

  uint64_t key_count() const { return key_count_; }
  uint64_t expiry_count() const { return expiry_count_; }
  LogIndex applied_index() const { return applied_index_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  const RecordCache& cache() const { return cache_; }
  // Fills the keyspace's part of a replica's status: keys, expiry, hits, the cache.
  void describe(ReplicaStatus& status) const;

 private:
  using Record = CachedRecord;

  // The record of `key` as the open batch and storage say, or nullptr when absent (expired or
  // not). The pointer is valid until the keyspace next changes or loads another key; load()
  // copies.
  const Record* peek(const std::string& key);
  const Record* peek_live(const std::string& key, TimeMs now_ms);  // nullptr when expired too
  std::optional<Record> load(const std::string& key);
  std::optional<Record> load_live(const std::string& key, TimeMs now_ms);
  void store(const std::string& key, std::string value, std::optional<TimeMs> expire_at_ms,
             WriteBatch& batch);
  bool erase(const std::string& key, WriteBatch& batch);  // true when a record existed
  void note_written(const std::string& key, std::optional<Record> record);
  void write_counters(WriteBatch& batch);
  void read_counters();
  // Visits stored records with data key >= `start` in data-key order, the open batch's writes
  // merged over storage, until `visit` returns false. Deleted keys are skipped.
  using RecordVisitor = std::function<bool(std::string_view data_key, std::string_view user_key,
                                           std::string_view value, std::optional<TimeMs> expiry)>;
  void visit_data(std::string_view start, const RecordVisitor& visit) const;

  Reply get(const GetRequest& request, TimeMs now_ms);
  Reply set(const SetRequest& request, TimeMs now_ms, WriteBatch& batch);
  Reply del(const DelRequest& request, TimeMs now_ms, WriteBatch& batch);
  Reply exists(const ExistsRequest& request, TimeMs now_ms);
  Reply mget(const MGetRequest& request, TimeMs now_ms);
  Reply mset(const MSetRequest& request, WriteBatch& batch);
  Reply incr_by(const IncrByRequest& request, TimeMs now_ms, WriteBatch& batch);
  Reply scan(const ScanRequest& request, TimeMs now_ms) const;
  Reply keys(const KeysRequest& request, TimeMs now_ms) const;
  Reply ttl(const TtlRequest& request, TimeMs now_ms);
  Reply cas(const CasRequest& request, TimeMs now_ms, WriteBatch& batch);
  Reply expire(const ExpireRequest& request, TimeMs now_ms, WriteBatch& batch);

  const StorageView& view_;
  // Writes of the open batch that the cache does not keep, by user key; nullopt marks a deletion.
  // A key is here or pinned in cache_, never both.
  std::unordered_map<std::string, std::optional<Record>> overlay_;
  bool counters_dirty_ = false;
  RecordCache cache_;
  std::optional<Record> peeked_;  // where peek() keeps a record read with the cache off
  uint64_t key_count_ = 0;
  uint64_t expiry_count_ = 0;
  LogIndex applied_index_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

// Redis's expiry rule: a key is gone once the clock has passed its expiry time.
inline bool is_expired(std::optional<TimeMs> expire_at_ms, TimeMs now_ms) {
  return expire_at_ms && now_ms > *expire_at_ms;
}

}  // namespace replikv::core
