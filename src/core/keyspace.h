// Keyspace: the key-value state machine that every strategy applies its writes to.
//
// It executes typed requests against the stored data at a given time and keeps what they change
// in memory until a checkpoint writes it out; it never writes storage itself. Every record written
// since the last checkpoint (a "dirty" record) is kept where every later request sees it before
// storage has it — reads, counts, SCAN all merge them over the StorageView: pinned in the record
// cache, which does not evict them until the checkpoint, or — when the cache does not keep a
// record (off, or the record is larger than it) — in an overlay map. `begin_checkpoint` describes
// the whole dirty state in one WriteBatch: the last record of each key once (ten SETs of one key
// write it once), the expiry index's changes in order, and the counters with the applied index.
// The driver may write that batch later, off the event loop (core/ready.h): until
// `end_checkpoint` says storage has it, its records stay pinned (a frozen generation) and visible,
// while the writes after it are dirty for the next checkpoint. One checkpoint is in flight at a
// time. `checkpoint` is both steps at once, for a driver that applies the batch before the next
// request.
//
// A strategy chooses how often to checkpoint. One without a log to replay (standalone) does it at
// every batch: what it acknowledged is in storage. Raft checkpoints every so many writes or so
// much time, because its log holds every applied write: after a crash the node applies the log
// again from the checkpoint's applied index (docs/storage.md, "Checkpoints"). Holding the applied
// state back coalesces rewrites and spares each write its data put on every replica.
//
// Expiry follows Redis: a key whose expiry time has passed is absent to every read and write
// (lazy expiry), and `expire_due` deletes such keys in expiry order (active expiry). Counters —
// keys, keys with a time to live, writes applied — are kept in memory and written with every
// checkpoint, so a checkpoint's counters match its records exactly.
//
// Invariants (asserted): counters never go negative; the applied index never moves back; a
// checkpoint leaves nothing dirty.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/command.h"
#include "core/elements.h"
#include "core/encoding.h"
#include "core/random.h"
#include "core/record_cache.h"
#include "core/replica.h"
#include "core/reply.h"
#include "core/storage.h"
#include "core/types.h"

namespace replikv::core {

class Keyspace {
 public:
  // Reads the counters from the state column of `view`, which must outlive the keyspace. Up to
  // `cache_bytes_max` of records are cached in memory (core/record_cache.h), and a quarter as
  // much again of the collections' clean elements (core/elements.h); 0 disables both.
  Keyspace(const StorageView& view, uint64_t cache_bytes_max);

  // Executes `request` as of `now_ms`: reads see storage with the dirty records over it; writes
  // are kept dirty until the next checkpoint. Returns the client's reply.
  Reply execute(const Request& request, TimeMs now_ms);
  // The same for a request the caller is done with: a SET's value is moved into the record
  // rather than copied (a replica applying its log builds each request only to execute it).
  Reply execute(Request&& request, TimeMs now_ms);
  // The same, and every record the request writes carries `metadata`: what a strategy keeps
  // beside a value (a causal context, a timestamp; core/encoding.h). A request without metadata
  // keeps what the record had; records that never had any (every one of the single leader's) are
  // stored as they were before metadata existed. Only a delete drops it.
  Reply execute(const Request& request, TimeMs now_ms, std::string_view metadata);
  // The metadata of `key`'s live record ("" when it has none), or nullopt when there is none.
  std::optional<std::string> metadata(const std::string& key, TimeMs now_ms);
  // The metadata of `key`'s record, live or expired (a strategy that keeps more than the value a
  // GET sees: what expired is not all the record held), or nullopt when there is none.
  std::optional<std::string> stored_metadata(const std::string& key);

  // Lookup hints for a run of writes applied at once (RecordCache::prefetch_slot/_entry).
  void prefetch_slot(std::string_view key) const { cache_.prefetch_slot(key); }
  void prefetch_record(std::string_view key) const { cache_.prefetch_entry(key); }
  // The type of `key`'s live record, or nullopt when there is none (no copy of the record).
  std::optional<ValueType> live_type(const std::string& key, TimeMs now_ms) {
    const Record* record = peek_live(key, now_ms);
    return record != nullptr ? std::optional<ValueType>(record->type) : std::nullopt;
  }
  // `key`'s live record (value, expiry, metadata), or nullopt.
  std::optional<CachedRecord> live_record(const std::string& key, TimeMs now_ms) {
    return load_live(key, now_ms);
  }
  // For a strategy that computes records itself (multi-leader: the value its registers show):
  // writes `key`'s record as given, metadata exactly as given, or deletes it (true when it
  // existed).
  void put(const std::string& key, std::string value, std::optional<TimeMs> expire_at_ms,
           std::string_view metadata);
  bool remove(const std::string& key);
  // Writes `key`'s record as a request does: the metadata of the request executing (core/data's
  // commands run inside execute()), or the record's own when it carries none.
  void write(const std::string& key, std::string value, std::optional<TimeMs> expire_at_ms) {
    store(key, std::move(value), expire_at_ms);
  }
  // Collections (hashes, sets, sorted sets, lists: core/data/): a key's collection of `type` as
  // of `now_ms` — absent (`exists` false, no id yet), or WRONGTYPE's reply when the key holds
  // another type. Its elements live in the elements column under its id (core/encoding.h); a
  // command reads and writes them with the calls below and ends with save().
  struct Collection {
    std::string key;
    ValueType type = ValueType::string;
    CollectionHeader header;  // id 0: none allocated yet (absent, nothing written)
    std::optional<TimeMs> expire_at_ms;
    bool exists = false;
  };
  std::variant<Collection, Reply> collection(const std::string& key, ValueType type, TimeMs now_ms);
  // Gives an absent collection its id (the next of a counter every replica keeps alike, as it
  // applies the same writes), before its first element is written.
  void allocate(Collection& collection);
  std::optional<std::string> element(std::string_view element_key) const {
    return elements_.get(element_key, storage_hidden());
  }
  void put_element(std::string element_key, std::string value) {
    if (observed_elements_ != nullptr) observed_elements_->push_back(element_key);
    elements_.put(std::move(element_key), std::move(value));
  }
  void erase_element(std::string element_key) {
    if (observed_elements_ != nullptr) observed_elements_->push_back(element_key);
    elements_.erase(std::move(element_key));
  }
  // Visits the elements with keys in [begin, end), in key order, until `visit` returns false.
  void scan_elements(std::string_view begin, std::string_view end,
                     const ElementStore::Visitor& visit) const {
    elements_.scan(begin, end, storage_hidden(), visit);
  }
  void scan_elements_reverse(std::string_view begin, std::string_view end,
                             const ElementStore::Visitor& visit) const {
    elements_.scan_reverse(begin, end, storage_hidden(), visit);
  }
  // Writes the collection's record (its header: the count, a list's ends) — or deletes the key
  // when it is left empty, as Redis does. Every command that changed it calls this once, which
  // also gives the key its new write version (WATCH).
  void save(Collection& collection);
  // The number of elements of the collection at `key` as of `now_ms`, counted in the elements
  // column kind by kind (nullopt: absent, or a string). When a kind's count disagrees with the
  // header's (a sorted set's two orders with each other), UINT64_MAX: the simulator's evidence.
  std::optional<uint64_t> collection_size(const std::string& key, TimeMs now_ms);
  // The length of the list at `key` (0: absent, or not a list), from its header.
  uint64_t list_length(const std::string& key, TimeMs now_ms);
  // The elements of the list at `key`, head first (none: absent, or not a list).
  std::vector<std::string> list_elements(const std::string& key, TimeMs now_ms);
  // RENAME: `from`'s record — a collection with its elements, which do not move — becomes `to`'s,
  // replacing what `to` held. `from` must be live.
  void rename(const std::string& from, const std::string& to, TimeMs now_ms);
  // COPY: `to` gets a copy of `from`'s live value (a collection's elements copied under a new
  // id), replacing what it held.
  void copy(const std::string& from, const std::string& to, TimeMs now_ms);

  // FLUSHALL: every key goes, in work bounded by the cache rather than the data. The dirty state
  // and the cache are dropped and storage is hidden from every read until the next checkpoint,
  // which begins with range erases of the data and expiry columns, has landed.
  void flush();
  // A live key drawn at random (RANDOMKEY), or nullopt when there is none: the first live key
  // from a random point of the hash order, wrapping around. Deterministic: the keyspace's own
  // generator, seeded the same on every node.
  std::optional<std::string> random_key(TimeMs now_ms);
  // A number below `bound` (> 0) for a read that draws at random (HRANDFIELD, SRANDMEMBER):
  // the keyspace's own generator, which each node advances with its own reads.
  uint64_t random_below(uint64_t bound) { return random_.below(bound); }
  uint64_t random_u64() { return random_.next_u64(); }
  // Seeds that generator (a keyspace made for one read draws from a seed of its own).
  void seed_random(uint64_t seed) { random_ = Rng(seed); }
  // A generator for a write that draws at random (SPOP): seeded from the write version, so every
  // replica applying the same write draws the same.
  Rng write_random() const { return Rng(write_version() * 0x9e3779b97f4a7c15ULL); }
  // While set, every key a request writes is appended to `keys` (in the order written; a key may
  // come twice): how a strategy learns what a command changed, with Redis's rules applied here.
  void observe_writes(std::vector<std::string>* keys) { observed_writes_ = keys; }
  // Likewise for the element keys a command puts or erases (a key may come twice).
  void observe_elements(std::vector<std::string>* element_keys) {
    observed_elements_ = element_keys;
  }
  // For a strategy that computes collections itself (multi-leader: the elements its states
  // show): a new collection id, and `key`'s record as a collection of `type` with `header`
  // (elements already written under its id) and `metadata` exactly as given. A header with
  // another id than the record's drops the old id's elements, as a command's write does.
  uint64_t new_collection_id();
  void put_collection(const std::string& key, ValueType type, const CollectionHeader& header,
                      std::string_view metadata);
  // Visits every record — the dirty ones over storage, expired ones too — in data-key order until
  // `visit` returns false.
  using RecordVisitor = std::function<bool(std::string_view data_key, std::string_view user_key,
                                           std::string_view value, std::optional<TimeMs> expiry,
                                           std::string_view metadata, ValueType type)>;
  void visit(const RecordVisitor& visit) const { visit_data({}, visit); }

  // Deletes up to `keys_max` keys whose expiry time is before `now_ms`. Returns how many. The
  // index is read from storage alone, so keys given a TTL since the last checkpoint wait for a
  // sweep after the next one.
  uint64_t expire_due(TimeMs now_ms, uint64_t keys_max);
  // The two halves of expire_due, for strategies where one node decides and every replica
  // applies: the keys whose expiry is before `now_ms` (at most `keys_max`), and the deletion of
  // those among `keys` that are still expired as of `now_ms` (a key rewritten since the decision
  // is kept). Returns how many were deleted.
  std::vector<std::string> due_keys(TimeMs now_ms, uint64_t keys_max);
  uint64_t expire_keys(const std::vector<std::string>& keys, TimeMs now_ms);

  // Appends the dirty state to `batch` — each dirty key's last record (a put, or an erase), the
  // expiry index's changes, the counters — and freezes it: its records stay where reads find
  // them until end_checkpoint(), and what is written from now on is dirty for the next one. No
  // other checkpoint may be in flight.
  void begin_checkpoint(WriteBatch& batch);
  // The checkpoint in flight is in storage: its records are released (those written again since
  // stay dirty), and checkpoint_index() moves to its applied index.
  void end_checkpoint();
  // Both at once: the driver applies `batch` before the next request.
  void checkpoint(WriteBatch& batch) {
    begin_checkpoint(batch);
    end_checkpoint();
  }
  bool checkpoint_in_flight() const { return in_flight_; }
  // Forgets the dirty state (it is not to be written) and the cache, and reads the counters
  // again: for a replica whose state storage replaced underneath (a snapshot install). No
  // checkpoint may be in flight (it would land on the new state).
  void reset_to_storage();
  // True while something is dirty: written since the last checkpoint began.
  bool dirty() const {
    return dirty_records() > 0 || counters_dirty_ || !expiry_changes_.empty() || flush_pending_ ||
           !erase_versions_dirty_.empty() || elements_.dirty();
  }
  // Dirty keys, and the memory the writes since the last checkpoint hold: each dirty record once
  // — key, value and the cache's per-entry overhead, however often it was written since — and
  // the expiry index's changes. What a strategy's checkpoint policy looks at: with the overhead
  // counted, a policy that keeps this under a quarter of the cache keeps the pinned records there
  // too, however small they are; and ten SETs of one key hold what one does, so a small hot
  // keyspace is not checkpointed as if it were a large one.
  uint64_t dirty_records() const {
    return overlay_.size() + cache_.pinned_count() + elements_.dirty_records();
  }
  uint64_t dirty_bytes() const {
    return cache_.pinned_bytes() + overlay_bytes_ + expiry_changes_.bytes() +
           elements_.dirty_bytes();
  }
  // The applied index that storage holds: the last checkpoint's (or what storage held at start).
  LogIndex checkpoint_index() const { return checkpoint_index_; }
  uint64_t checkpoints() const { return checkpoints_; }
  // A digest of the data as this keyspace sees it — storage with the dirty records over it — as
  // 16 hex digits: every key's record and its expiry time, and the counters. Equal states give
  // equal digests on every node whatever each one has checkpointed (DEBUG DIGEST, and the
  // simulator's convergence check).
  std::string digest() const;

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
  // Writes a record carrying write_metadata_. What the key held goes — a collection's elements
  // too, unless the record written is that collection's.
  void store(const std::string& key, std::string value, std::optional<TimeMs> expire_at_ms,
             ValueType type = ValueType::string);
  // True when a record existed. A collection's elements go with it unless `keep_elements` (a
  // RENAME moves them with the record).
  bool erase(const std::string& key, bool keep_elements = false);
  // Drops the elements of `record` when it is a collection.
  void drop_elements(const Record& record);
  void note_written(const std::string& key, std::optional<Record> record);
  static uint64_t overlay_cost(std::string_view key, const std::optional<Record>& record);
  void write_counters(WriteBatch& batch);
  void read_counters();
  // Visits stored records with data key >= `start` in data-key order, the open batch's writes
  // merged over storage, until `visit` returns false. Deleted keys are skipped.
  void visit_data(std::string_view start, const RecordVisitor& visit) const;
  // Visits every key dirty since the last checkpoint began once, with its record (nullopt:
  // deleted), in no particular order.
  template <typename Visit>
  void for_each_dirty(Visit&& visit) const;
  // The same, and then the keys of the checkpoint in flight not written since (a key may come
  // twice: the first visit has its latest record).
  template <typename Visit>
  void for_each_unwritten(Visit&& visit) const;
  void forget_scan_index();

  Reply get(const GetRequest& request, TimeMs now_ms);
  // `set_value`, when given, is the SET's value, which the caller gives up.
  Reply execute_request(const Request& request, TimeMs now_ms, std::string* set_value);
  // `value` is request.value, or a string the caller gives up holding the same bytes.
  Reply set(const SetRequest& request, TimeMs now_ms, std::string* value = nullptr);
  Reply del(const DelRequest& request, TimeMs now_ms);
  Reply exists(const ExistsRequest& request, TimeMs now_ms);
  Reply mget(const MGetRequest& request, TimeMs now_ms);
  Reply mset(const MSetRequest& request);
  Reply incr_by(const IncrByRequest& request, TimeMs now_ms);
  Reply scan(const ScanRequest& request, TimeMs now_ms) const;
  Reply keys(const KeysRequest& request, TimeMs now_ms) const;
  Reply ttl(const TtlRequest& request, TimeMs now_ms);
  Reply cas(const CasRequest& request, TimeMs now_ms);
  Reply expire(const ExpireRequest& request, TimeMs now_ms);
  Reply watch(const WatchRequest& request, TimeMs now_ms);
  bool watch_changed(const WatchedKey& watched, TimeMs now_ms);
  Reply transaction(const TransactionRequest& request, TimeMs now_ms);

  const StorageView& view_;
  // Dirty records that the cache does not keep, by user key; nullopt marks a deletion. A dirty key
  // is here or pinned in cache_, never both.
  std::unordered_map<std::string, std::optional<Record>> overlay_;
  // The overlay of the checkpoint in flight, until storage has it. Reads look here after the
  // cache: a key written since is in overlay_ or the cache. (Node addresses survive the move from
  // overlay_, so the scan index's pointers do too.)
  std::unordered_map<std::string, std::optional<Record>> frozen_overlay_;
  bool in_flight_ = false;
  LogIndex in_flight_index_;  // the applied index of the checkpoint in flight
  // The expiry index's changes since the last checkpoint, in the order they were made (an entry
  // put and erased again must stay erased).
  WriteBatch expiry_changes_;
  // The dirty keys in data-key order, each with where its record is kept (the cache's slab and
  // the overlay's nodes do not move), for SCAN and KEYS to merge over storage without sorting
  // every dirty key at every call. Built by the first of them after a checkpoint; from then on
  // every write keeps it up to date, until the checkpoint: writes pay for it only while someone
  // scans.
  mutable std::map<std::string, const std::optional<Record>*, std::less<>> scan_index_;
  mutable bool scan_index_active_ = false;
  bool counters_dirty_ = false;
  // A flush since the last checkpoint began (its batch is to erase the columns first), and a
  // flush in the checkpoint in flight. While either holds, storage holds what was flushed: no
  // read looks at it.
  bool flush_pending_ = false;
  bool flush_in_flight_ = false;
  bool storage_hidden() const { return flush_pending_ || flush_in_flight_; }
  Rng random_{0x72616e646f6d6b65ULL};  // RANDOMKEY's
  ElementStore elements_;
  uint64_t next_collection_id_ = 1;  // replicated: in the counters
  uint64_t overlay_bytes_ = 0;       // overlay_'s records as dirty_bytes() counts them
  LogIndex checkpoint_index_;
  uint64_t checkpoints_ = 0;
  RecordCache cache_;
  std::optional<Record> peeked_;     // where peek() keeps a record read with the cache off
  std::string_view write_metadata_;  // what the records of the request executing now carry
  std::vector<std::string>* observed_writes_ = nullptr;
  std::vector<std::string>* observed_elements_ = nullptr;
  uint64_t key_count_ = 0;
  uint64_t expiry_count_ = 0;
  // Write versions (WATCH's): a write request's stores and erases take the applied index it will
  // have (applied_index_ + 1), what no request does (the leader's expiry decisions) takes the
  // applied index, and a record keeps the version of its last write. The applied index is
  // replicated state — every replica applies the same writes in the same order, and it travels
  // with the counters and snapshots — so a version means the same on every node, data written
  // before versions existed included, and WATCH's "changed since" (watch_changed) decides alike
  // everywhere. `flush_version_` is the last FLUSHALL's.
  uint64_t write_version() const { return applied_index_.value() + (executing_write_ ? 1 : 0); }
  bool executing_write_ = false;
  uint64_t flush_version_ = 0;
  // The version of the last erase of a key, per bucket of key hashes (erase_version_buckets),
  // and the buckets changed since the last checkpoint began: an absent watched key changed since
  // WATCH when its bucket's erase is newer — another key of the bucket erased since is the one
  // conservative case left (1 in 4,096).
  std::vector<uint64_t> erase_versions_ = std::vector<uint64_t>(erase_version_buckets, 0);
  std::vector<uint16_t> erase_versions_dirty_;
  std::vector<bool> erase_version_dirty_ = std::vector<bool>(erase_version_buckets, false);
  void note_erased(const std::string& key);
  void read_erase_versions();
  LogIndex applied_index_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

// Redis's answer to a command given a key of another type.
Reply wrong_type();

// Redis's expiry rule: a key is gone once the clock has passed its expiry time.
inline bool is_expired(std::optional<TimeMs> expire_at_ms, TimeMs now_ms) {
  return expire_at_ms && now_ms > *expire_at_ms;
}

}  // namespace replikv::core
