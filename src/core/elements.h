// ElementStore: the elements column as the keyspace sees it — the writes since the last
// checkpoint over storage — for hashes, sets, sorted sets and lists (one record per element;
// layouts in core/encoding.h).
//
// It is the keyspace's dirty/frozen scheme for an ordered column: elements written since the last
// checkpoint began are dirty, in an ordered map that reads and range walks merge over storage;
// `begin_checkpoint` appends them to the checkpoint's batch and freezes them (still read until
// `end_checkpoint` says storage has them). Deleting a whole collection is bounded work: its id is
// never used again, so nothing reads its elements after `drop` — its dirty elements are forgotten
// and the next checkpoint erases the id's range in one range erase, however large it was.
//
// Point reads of elements storage holds go through a cache of clean elements (core/record_cache.h,
// unpinned: storage has them): a checkpoint's elements enter it when it lands, and a read that
// went to storage leaves its answer there (absence too). Without it, every SADD or HSET of an
// element written since a few loop turns searched the memtables one by one — half a node's time
// under pipelined load (docs/benchmarks.md, "The data families"). Only speed depends on it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record_cache.h"
#include "core/storage.h"

namespace replikv::core {

class ElementStore {
 public:
  // Up to `cache_bytes_max` of clean elements are cached; 0 disables.
  ElementStore(const StorageView& view, uint64_t cache_bytes_max)
      : view_(view), cache_(cache_bytes_max) {}

  // `key`'s element, or nullopt. With `storage_hidden` (a FLUSHALL not yet checkpointed) only
  // what was written since counts.
  std::optional<std::string> get(std::string_view key, bool storage_hidden) const;
  const RecordCache& cache() const { return cache_; }
  void put(std::string key, std::string value);
  void erase(std::string key);
  // Visits the elements with keys in [begin, end) in key order until `visit` returns false.
  using Visitor = std::function<bool(std::string_view key, std::string_view value)>;
  void scan(std::string_view begin, std::string_view end, bool storage_hidden,
            const Visitor& visit) const;
  // The same walk from the top down: keys in [begin, end) in descending order.
  void scan_reverse(std::string_view begin, std::string_view end, bool storage_hidden,
                    const Visitor& visit) const;
  // The collection `id` is gone: what it wrote since the last checkpoint is forgotten, and the
  // next checkpoint erases its range.
  // (An id at or above stored_below() — given out since the last checkpoint began — was never in
  // storage: forgetting its dirty elements is all there is to do, with no range erase.)
  void drop(uint64_t id);

  // Appends the dirty state to `batch` — the dropped ids' ranges first, then each dirty element
  // (a put or an erase) — and freezes it until end_checkpoint().
  // `next_id` is the keyspace's next collection id: every id below it may be in storage once
  // this checkpoint lands.
  void begin_checkpoint(WriteBatch& batch, uint64_t next_id);
  // Ids below `next_id` may have elements in storage (what storage's counters say at open).
  void set_stored_below(uint64_t next_id) { stored_below_ = next_id; }
  uint64_t stored_below() const { return stored_below_; }
  void end_checkpoint();
  // Forgets everything in memory (FLUSHALL: every id is gone, and the checkpoint erases the
  // column; a snapshot install: storage was replaced).
  void clear();

  bool dirty() const { return !dirty_.empty() || !dropped_.empty(); }
  uint64_t dirty_records() const { return dirty_.size(); }
  uint64_t dirty_bytes() const { return dirty_bytes_; }

 private:
  using Map = std::map<std::string, std::optional<std::string>, std::less<>>;
  static uint64_t cost(std::string_view key, const std::optional<std::string>& value) {
    return key.size() + (value ? value->size() : 0) + 64;  // ~ a map node's own bytes
  }
  void set(std::string key, std::optional<std::string> value);

  const StorageView& view_;
  Map dirty_;                  // since the last checkpoint began; nullopt: erased
  Map frozen_;                 // the checkpoint in flight's, until storage has it
  mutable RecordCache cache_;  // clean elements: what storage holds
  std::vector<uint64_t> dropped_;
  uint64_t dirty_bytes_ = 0;
  uint64_t stored_below_ = UINT64_MAX;  // until told: any id may be in storage
};

}  // namespace replikv::core
