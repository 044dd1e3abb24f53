#include "core/record_cache.h"

#include <algorithm>
#include <functional>

#include "core/assert.h"

namespace replikv::core {
namespace {

uint64_t hash_of(std::string_view key) { return std::hash<std::string_view>{}(key); }

}  // namespace

uint32_t RecordCache::find_slot(std::string_view key, uint64_t hash) const {
  if (table_.empty()) return none;
  const uint32_t mask = static_cast<uint32_t>(table_.size() - 1);
  const auto tag = static_cast<uint32_t>(hash);
  for (uint32_t i = tag & mask;; i = (i + 1) & mask) {
    const Slot& slot = table_[i];
    if (slot.entry_plus_one == 0) return none;
    if (slot.tag == tag && slab_[slot.entry_plus_one - 1].key == key) return i;
  }
}

void RecordCache::prefetch_slot(std::string_view key) const {
  if (table_.empty()) return;
  const auto home = static_cast<uint32_t>(hash_of(key)) & static_cast<uint32_t>(table_.size() - 1);
  __builtin_prefetch(&table_[home]);
}

void RecordCache::prefetch_entry(std::string_view key) const {
  if (table_.empty()) return;
  const auto tag = static_cast<uint32_t>(hash_of(key));
  const Slot& slot = table_[tag & static_cast<uint32_t>(table_.size() - 1)];
  if (slot.entry_plus_one == 0 || slot.tag != tag) return;  // absent, or not at its home
  const Entry& entry = slab_[slot.entry_plus_one - 1];
  __builtin_prefetch(&entry);
  __builtin_prefetch(reinterpret_cast<const char*>(&entry) + 64);  // the record's line
}

const std::optional<CachedRecord>* RecordCache::find(std::string_view key) {
  // A write looks its key up, then stores it: the second lookup finds it without hashing.
  if (last_ != none && slab_[last_].key == key) {
    ++hits_;
    slab_[last_].referenced = true;
    return &slab_[last_].record;
  }
  const uint32_t slot = find_slot(key, hash_of(key));
  if (slot == none) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  last_ = table_[slot].entry_plus_one - 1;
  Entry& entry = slab_[last_];
  entry.referenced = true;
  return &entry.record;
}

void RecordCache::replace(Entry& entry, std::optional<CachedRecord> record) {
  bytes_ -= entry.bytes();
  entry.record = std::move(record);
  bytes_ += entry.bytes();
}

const std::optional<CachedRecord>* RecordCache::put(std::string_view key,
                                                    std::optional<CachedRecord> record, bool pin) {
  if (!keeps(key.size() + (record ? record->bytes() : 0))) {
    forget(key);  // and nothing else: an oversized record must not empty the cache
    return nullptr;
  }
  uint32_t index = none;
  if (last_ != none && slab_[last_].key == key) {
    index = last_;
  } else {
    const uint64_t hash = hash_of(key);
    const uint32_t slot = find_slot(key, hash);
    index = slot != none ? table_[slot].entry_plus_one - 1 : insert_entry(key, hash);
  }
  Entry& entry = slab_[index];
  if ((entry.pins & pin_current) != 0) pinned_bytes_ -= entry.bytes();
  replace(entry, std::move(record));
  entry.referenced = true;
  if (pin && (entry.pins & pin_current) == 0) {
    if (entry.pins == 0) ++pinned_entries_;
    entry.pins |= pin_current;
    pinned_.push_back(index);
  }
  if ((entry.pins & pin_current) != 0) pinned_bytes_ += entry.bytes();
  last_ = index;
  evict_to_fit(index);
  REPLIKV_ASSERT(entry.live, "the entry just put is kept");
  return &entry.record;
}

void RecordCache::forget(std::string_view key) {
  if (bytes_max_ == 0) return;
  const uint32_t slot = find_slot(key, hash_of(key));
  if (slot != none) evict(table_[slot].entry_plus_one - 1);
}

void RecordCache::freeze_pins() {
  REPLIKV_ASSERT(frozen_.empty(), "one frozen generation at a time");
  for (const uint32_t index : pinned_) slab_[index].pins = pin_frozen;
  frozen_.swap(pinned_);
  pinned_bytes_ = 0;
}

void RecordCache::unpin_frozen() {
  for (const uint32_t index : frozen_) {
    slab_[index].pins &= static_cast<uint8_t>(~pin_frozen);
    if (slab_[index].pins == 0) --pinned_entries_;
  }
  frozen_.clear();
  evict_to_fit(none);
}

void RecordCache::unpin_all() {
  for (const uint32_t index : pinned_) slab_[index].pins = 0;
  for (const uint32_t index : frozen_) slab_[index].pins = 0;
  pinned_entries_ = 0;
  pinned_.clear();
  frozen_.clear();
  pinned_bytes_ = 0;
  evict_to_fit(none);
}

uint32_t RecordCache::insert_entry(std::string_view key, uint64_t hash) {
  if ((live_ + 1) * 2 > table_.size()) grow();
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    REPLIKV_ASSERT(slab_.size() < none, "the record cache holds fewer than 2^32 entries");
    index = static_cast<uint32_t>(slab_.size());
    slab_.emplace_back();
  }
  Entry& entry = slab_[index];
  entry.key.assign(key);
  entry.record.reset();
  entry.hash = hash;
  entry.live = true;
  entry.referenced = false;
  bytes_ += entry.bytes();
  ++live_;
  place(index, hash);
  return index;
}

void RecordCache::place(uint32_t entry, uint64_t hash) {
  const auto mask = static_cast<uint32_t>(table_.size() - 1);
  uint32_t i = static_cast<uint32_t>(hash) & mask;
  while (table_[i].entry_plus_one != 0) i = (i + 1) & mask;
  table_[i] = Slot{entry + 1, static_cast<uint32_t>(hash)};
}

void RecordCache::unindex(uint32_t entry) {
  const uint32_t mask = static_cast<uint32_t>(table_.size() - 1);
  uint32_t hole = static_cast<uint32_t>(slab_[entry].hash) & mask;
  while (table_[hole].entry_plus_one != entry + 1) {
    REPLIKV_ASSERT(table_[hole].entry_plus_one != 0, "every live entry is in the table");
    hole = (hole + 1) & mask;
  }
  // Backward shift: a later slot of the run moves into the hole unless its home lies cyclically
  // in (hole, slot] — then a lookup from its home never passes the hole. No tombstones.
  for (uint32_t next = (hole + 1) & mask; table_[next].entry_plus_one != 0;
       next = (next + 1) & mask) {
    const uint32_t home = table_[next].tag & mask;
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (stays) continue;
    table_[hole] = table_[next];
    hole = next;
  }
  table_[hole] = Slot{};
}

void RecordCache::grow() {
  static_assert(sizeof(Entry) + 2 * sizeof(Slot) <= entry_overhead_bytes,
                "entry_overhead_bytes counts an entry's slab element and two table slots");
  const size_t size = table_.empty() ? 16 : table_.size() * 2;
  REPLIKV_ASSERT(size <= (size_t{1} << 32), "the record cache's table fits 32-bit positions");
  table_.assign(size, Slot{});
  for (uint32_t index = 0; index < slab_.size(); ++index) {
    if (slab_[index].live) place(index, slab_[index].hash);
  }
}

// CLOCK: sweeps from the hand, giving each referenced entry a second chance (its bit cleared)
// and evicting the first one without. `keep` (just put) and pinned entries are passed over; when
// a sweep of the whole slab, twice, finds nothing else to evict, the rest is pinned and stays.
void RecordCache::evict_to_fit(uint32_t keep) {
  // Nothing to evict when every live entry but `keep` is pinned (a checkpoint slow to land lets
  // the pins pass the budget): no sweep, which would visit the whole slab at every put.
  const uint64_t unevictable =
      pinned_entries_ + (keep != none && slab_[keep].live && slab_[keep].pins == 0 ? 1 : 0);
  if (live_ <= unevictable) return;
  for (size_t steps = 0; bytes_ > bytes_max_ && steps <= 2 * slab_.size(); ++steps) {
    if (hand_ >= slab_.size()) hand_ = 0;
    Entry& entry = slab_[hand_];
    if (!entry.live || entry.pins != 0 || hand_ == keep) {
      ++hand_;
      continue;
    }
    if (entry.referenced) {
      entry.referenced = false;
      ++hand_;
      continue;
    }
    evict(hand_);
    ++hand_;
    steps = 0;
  }
  REPLIKV_ASSERT(live_ + free_.size() == slab_.size(), "every slab element is live or free");
  REPLIKV_ASSERT(pinned_entries_ <= live_, "pinned entries are live entries");
}

void RecordCache::evict(uint32_t index) {
  Entry& entry = slab_[index];
  REPLIKV_ASSERT(entry.live, "only a live entry is evicted");
  if ((entry.pins & pin_current) != 0) {
    pinned_.erase(std::find(pinned_.begin(), pinned_.end(), index));
    pinned_bytes_ -= entry.bytes();
  }
  if ((entry.pins & pin_frozen) != 0)
    frozen_.erase(std::find(frozen_.begin(), frozen_.end(), index));
  if (entry.pins != 0) --pinned_entries_;
  entry.pins = 0;
  unindex(index);
  bytes_ -= entry.bytes();
  entry.key.clear();  // frees the key's and the value's memory now
  entry.record.reset();
  entry.live = false;
  entry.referenced = false;
  free_.push_back(index);
  --live_;
  if (last_ == index) last_ = none;
}

void RecordCache::clear() {
  slab_.clear();
  pinned_.clear();
  frozen_.clear();
  free_.clear();
  table_.clear();
  bytes_ = 0;
  pinned_bytes_ = 0;
  pinned_entries_ = 0;
  live_ = 0;
  hand_ = 0;
  last_ = none;
}

}  // namespace replikv::core
