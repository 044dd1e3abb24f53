// RecordCache: a bounded cache of the keyspace's records, in front of the StorageView.
//
// Why: a point read from RocksDB walks the memtable skiplist and then the SST files; under
// redis-benchmark that walk was most of the node's time (docs/benchmarks.md). The keyspace is the
// only writer of the data it caches, so a write-through cache is coherent by construction: every
// store and erase updates the cache in the same step as the batch. It caches absence too (a key
// known not to exist), so SET on a new key skips the storage lookup as well.
//
// Layout: entries live in a slab whose elements never move (fixed chunks, slots of evicted entries
// reused), found through an open-addressing table of (entry, hash tag) slots with linear probing.
// A lookup costs the table slot and the entry, where a hash map of list nodes cost a bucket, a
// node, a list node and two neighbours moved at every hit (docs/benchmarks.md, "Per-write CPU").
// Eviction is CLOCK (second chance): a hit only sets the entry's reference bit; the hand sweeps
// the slab, clearing bits, and evicts the first entry whose bit is clear. It keeps what was used
// since the hand last passed, as LRU keeps what was used lately, without touching a list on
// every hit. Pinned entries (the keyspace's dirty records, which storage does not have yet) are
// passed over. Pins come in two generations: those since the last checkpoint began, and those of
// the checkpoint in flight (frozen), released when the driver reports it written; a key written
// again meanwhile is pinned in the newer generation and stays pinned.
//
// Deterministic (no clocks, no randomness, a fixed hash): the same calls evict the same entries.
// Memory is bounded by `bytes_max`, counting key and value bytes plus a fixed overhead per entry;
// 0 disables.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding.h"
#include "core/types.h"

namespace replikv::core {

// Bytes a strategy keeps beside a value (a causal context, a timestamp; core/encoding.h): out of
// line, so a record without any — every record of the single leader — costs one null pointer.
class RecordMetadata {
 public:
  RecordMetadata() = default;
  explicit RecordMetadata(std::string_view bytes)
      : bytes_(bytes.empty() ? nullptr : std::make_unique<std::string>(bytes)) {}
  RecordMetadata(const RecordMetadata& other) : RecordMetadata(other.view()) {}
  RecordMetadata& operator=(const RecordMetadata& other) {
    if (this != &other) *this = RecordMetadata(other.view());
    return *this;
  }
  RecordMetadata(RecordMetadata&&) noexcept = default;
  RecordMetadata& operator=(RecordMetadata&&) noexcept = default;
  std::string_view view() const { return bytes_ ? std::string_view(*bytes_) : std::string_view(); }
  size_t size() const { return bytes_ ? bytes_->size() : 0; }

 private:
  std::unique_ptr<std::string> bytes_;
};

struct CachedRecord {
  std::string value;
  std::optional<TimeMs> expire_at_ms;
  RecordMetadata metadata;
  uint64_t version = 0;  // the keyspace's write version of its last write (0: not kept)
  ValueType type = ValueType::string;  // a collection's value is its header (core/encoding.h)
  // What the record's bytes cost the cache's budget.
  uint64_t bytes() const { return value.size() + metadata.size(); }
};

class RecordCache {
 public:
  explicit RecordCache(uint64_t bytes_max) : bytes_max_(bytes_max) {}

  // nullptr: not cached. Otherwise the cached state: a record, or nullopt for "known absent".
  // Valid until the next put() or clear().
  const std::optional<CachedRecord>* find(std::string_view key);
  // Returns where the entry is kept, or nullptr when it is not (see keeps(); an entry it does not
  // keep replaces nothing: the key's old entry goes, pinned or not). Never evicts the entry it
  // puts. With `pin`, the entry is pinned in the current generation: not evicted until it is
  // unpinned, even when the pinned entries alone are over the budget.
  const std::optional<CachedRecord>* put(std::string_view key, std::optional<CachedRecord> record,
                                         bool pin = false);
  // Hints for a run of lookups (a replica applying many entries at once): the first brings
  // `key`'s table slot toward the CPU; the second, issued a few lookups later when the slot has
  // arrived, the entry that slot names. Neither changes anything — a lookup finds what it would
  // have, minus the wait on memory that was most of its time.
  void prefetch_slot(std::string_view key) const;
  void prefetch_entry(std::string_view key) const;
  // Whether an entry of `key_and_value_bytes` would be kept: the cache is on and it fits.
  bool keeps(uint64_t key_and_value_bytes) const {
    return bytes_max_ > 0 && key_and_value_bytes + entry_overhead_bytes <= bytes_max_;
  }
  // Drops the entry of `key`, if any.
  void forget(std::string_view key);
  // Moves the current generation's pins to the frozen one (which must be empty): a checkpoint
  // began with them.
  void freeze_pins();
  // Unpins the frozen generation, but for entries pinned again since (then evicts down to the
  // budget): the checkpoint is in storage.
  void unpin_frozen();
  // Unpins both generations.
  void unpin_all();
  // Visits the entries pinned in the current generation, each once, in no particular order.
  template <typename Visit>
  void for_each_pinned(Visit&& visit) const {
    for (const uint32_t index : pinned_) visit(slab_[index].key.view(), slab_[index].record);
  }
  // Visits the entries pinned in the frozen generation only (not pinned again since).
  template <typename Visit>
  void for_each_frozen_only(Visit&& visit) const {
    for (const uint32_t index : frozen_) {
      if ((slab_[index].pins & pin_current) == 0)
        visit(slab_[index].key.view(), slab_[index].record);
    }
  }
  size_t pinned_count() const { return pinned_.size(); }
  // What the entries pinned in the current generation cost the budget (key, value, overhead),
  // each counted once however often it was written since.
  uint64_t pinned_bytes() const { return pinned_bytes_; }
  // Entries pinned in either generation, each once.
  uint64_t pinned_entries() const { return pinned_entries_; }
  void clear();

  uint64_t bytes() const { return bytes_; }
  uint64_t entries() const { return live_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

  // Bytes an entry costs beyond its key and value: its slab element (key and value string
  // headers, hash, bits) and its share of the table (at most half full, so two slots).
  static constexpr uint64_t entry_overhead_bytes = 144;

 private:
  // A key's bytes, inline when short: a lookup compares them in the entry's first cache line
  // rather than following a pointer to the heap (std::string keeps 15 bytes inline, one fewer
  // than redis-benchmark's keys; that pointer was a third of a lookup's time).
  class EntryKey {
   public:
    EntryKey() = default;
    EntryKey(const EntryKey&) = delete;
    EntryKey& operator=(const EntryKey&) = delete;
    ~EntryKey() { clear(); }
    void assign(std::string_view key) {
      clear();
      char* to = inline_;
      if (key.size() > inline_capacity) {
        heap_ = new char[key.size()];
        to = heap_;
      }
      size_ = static_cast<uint32_t>(key.size());
      if (size_ != 0) std::memcpy(to, key.data(), size_);
    }
    void clear() {
      if (size_ > inline_capacity) delete[] heap_;
      size_ = 0;
    }
    std::string_view view() const { return {size_ > inline_capacity ? heap_ : inline_, size_}; }
    bool operator==(std::string_view key) const { return view() == key; }
    size_t size() const { return size_; }

   private:
    static constexpr size_t inline_capacity = 24;
    uint32_t size_ = 0;
    union {
      char inline_[inline_capacity];
      char* heap_;
    };
  };
  // One entry per 128 bytes, aligned: the hash, the key and the bits a lookup reads share the
  // first cache line; the record the second.
  struct alignas(64) Entry {
    uint64_t hash = 0;
    EntryKey key;
    bool live = false;        // false: on the free list
    bool referenced = false;  // CLOCK's bit: used since the hand last passed
    uint8_t pins = 0;  // pin_current (listed in pinned_), pin_frozen (in frozen_): not evicted
    std::optional<CachedRecord> record;
    uint64_t bytes() const {
      return key.size() + (record ? record->bytes() : 0) + entry_overhead_bytes;
    }
  };
  struct Slot {
    uint32_t entry_plus_one = 0;  // 0: empty
    uint32_t tag = 0;  // the hash's low half: gives the home slot, compared before the key
  };
  static constexpr uint32_t none = UINT32_MAX;
  static constexpr uint8_t pin_current = 1;
  static constexpr uint8_t pin_frozen = 2;

  // The table slot holding `key`'s entry, or none.
  uint32_t find_slot(std::string_view key, uint64_t hash) const;
  uint32_t insert_entry(std::string_view key, uint64_t hash);  // a new entry, indexed
  void place(uint32_t entry, uint64_t hash);  // into the first empty slot from its home
  void unindex(uint32_t entry);  // removes the entry's slot, shifting the run after it back
  void grow();
  void evict_to_fit(uint32_t keep);
  void evict(uint32_t index);
  void replace(Entry& entry, std::optional<CachedRecord> record);

  uint64_t bytes_max_;
  uint64_t bytes_ = 0;
  uint64_t pinned_bytes_ = 0;
  uint64_t pinned_entries_ = 0;  // with pins != 0
  uint64_t live_ = 0;
  // The entries, in chunks that never move (find() and put() hand out pointers): an index finds
  // its entry through a chunk table small enough to stay in the CPU's cache, where std::deque's
  // map of 512-byte blocks was one more miss per lookup.
  class Slab {
   public:
    Entry& operator[](uint32_t index) { return chunks_[index >> chunk_shift][index & chunk_mask]; }
    const Entry& operator[](uint32_t index) const {
      return chunks_[index >> chunk_shift][index & chunk_mask];
    }
    size_t size() const { return size_; }
    void emplace_back() {
      if (size_ == chunks_.size() << chunk_shift)
        chunks_.push_back(std::make_unique<Entry[]>(size_t{1} << chunk_shift));
      ++size_;
    }
    void clear() {
      chunks_.clear();
      size_ = 0;
    }

   private:
    static constexpr uint32_t chunk_shift = 8;  // 256 entries, 32 KiB
    static constexpr uint32_t chunk_mask = (1u << chunk_shift) - 1;
    std::vector<std::unique_ptr<Entry[]>> chunks_;
    size_t size_ = 0;
  };

  Slab slab_;
  std::vector<uint32_t> free_;    // slab elements not live, reused first
  std::vector<Slot> table_;       // size a power of two (or empty), at most half full
  std::vector<uint32_t> pinned_;  // the entries pinned in the current generation, each once
  std::vector<uint32_t> frozen_;  // the entries pinned in the frozen generation, each once
  uint32_t hand_ = 0;             // CLOCK's position in the slab
  uint32_t last_ = none;          // the entry last found or put: a write's second lookup of a key
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace replikv::core
