// RecordCache: a bounded, least-recently-used cache of the keyspace's records, in front of the
// StorageView.
//
// Why: a point read from RocksDB walks the memtable skiplist and then the SST files; under
// redis-benchmark that walk was most of the node's time (docs/benchmarks.md). The keyspace is the
// only writer of the data it caches, so a write-through cache is coherent by construction: every
// store and erase updates the cache in the same step as the batch. It caches absence too (a key
// known not to exist), so SET on a new key skips the storage lookup as well.
//
// Deterministic (no clocks, no randomness): the same calls evict the same entries. Memory is
// bounded by `bytes_max`, counting key and value bytes plus a fixed overhead per entry; 0 disables.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/types.h"

namespace replikv::core {

struct CachedRecord {
  std::string value;
  std::optional<TimeMs> expire_at_ms;
};

class RecordCache {
 public:
  explicit RecordCache(uint64_t bytes_max) : bytes_max_(bytes_max) {}

  // nullptr: not cached. Otherwise the cached state: a record, or nullopt for "known absent".
  const std::optional<CachedRecord>* find(std::string_view key);
  // Returns where the entry is kept, or nullptr when it is not (see keeps()).
  const std::optional<CachedRecord>* put(std::string_view key, std::optional<CachedRecord> record);
  // Whether an entry of `key_and_value_bytes` would be kept: the cache is on and it fits.
  bool keeps(uint64_t key_and_value_bytes) const {
    return bytes_max_ > 0 && key_and_value_bytes + entry_overhead_bytes <= bytes_max_;
  }
  void clear();

  uint64_t bytes() const { return bytes_; }
  uint64_t entries() const { return index_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

  // Bytes an entry costs beyond its key and value: list node, index slot, string headers.
  static constexpr uint64_t entry_overhead_bytes = 96;

 private:
  struct Entry {
    std::string key;
    std::optional<CachedRecord> record;
    uint64_t bytes() const {
      return key.size() + (record ? record->value.size() : 0) + entry_overhead_bytes;
    }
  };
  void evict_to_fit();

  uint64_t bytes_max_;
  uint64_t bytes_ = 0;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into entries_
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace replikv::core
