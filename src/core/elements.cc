#include "core/elements.h"

#include <cstdint>

#include "core/assert.h"
#include "core/encoding.h"

namespace replikv::core {
namespace {

// An element as the cache keeps it (only the value: elements have no expiry or metadata).
CachedRecord clean(std::string value) {
  CachedRecord record;
  record.value = std::move(value);
  return record;
}

}  // namespace

std::optional<std::string> ElementStore::get(std::string_view key, bool storage_hidden) const {
  if (const auto it = dirty_.find(key); it != dirty_.end()) return it->second;
  // An id given out since the last checkpoint began is in neither the frozen map nor storage (a
  // new collection's members are looked up at every add: no storage read for them).
  if (key.size() >= 8 && read_u64_be(key) >= stored_below_) return std::nullopt;
  if (const auto it = frozen_.find(key); it != frozen_.end()) return it->second;
  if (storage_hidden) return std::nullopt;
  if (const auto* cached = cache_.find(key)) {
    return *cached ? std::optional<std::string>((*cached)->value) : std::nullopt;
  }
  auto stored = view_.get(Column::elements, key);
  if (cache_.keeps(key.size() + (stored ? stored->size() : 0))) {
    cache_.put(key, stored ? std::optional<CachedRecord>(clean(*stored)) : std::nullopt);
  }
  return stored;
}

void ElementStore::end_checkpoint() {
  // Storage has them now: they are clean, and likely read again soon.
  for (auto& [key, value] : frozen_) {
    if (!cache_.keeps(key.size() + (value ? value->size() : 0))) {
      cache_.forget(key);
      continue;
    }
    cache_.put(key, value ? std::optional<CachedRecord>(clean(std::move(*value))) : std::nullopt);
  }
  frozen_.clear();
}

void ElementStore::set(std::string key, std::optional<std::string> value) {
  const auto [it, inserted] = dirty_.try_emplace(std::move(key));
  if (!inserted) dirty_bytes_ -= cost(it->first, it->second);
  it->second = std::move(value);
  dirty_bytes_ += cost(it->first, it->second);
}

void ElementStore::put(std::string key, std::string value) {
  set(std::move(key), std::move(value));
}

void ElementStore::erase(std::string key) { set(std::move(key), std::nullopt); }

void ElementStore::scan(std::string_view begin, std::string_view end, bool storage_hidden,
                        const Visitor& visit) const {
  // The dirty map over the frozen one over storage: at each step the smallest key of the three,
  // the newest of them deciding a key they share.
  auto dirty = dirty_.lower_bound(begin);
  auto frozen = frozen_.lower_bound(begin);
  const auto in_range = [&](const Map::const_iterator& it, const Map& map) {
    return it != map.end() && it->first < end;
  };
  // Emits the in-memory elements before `limit` (all in range when nullopt); false when `visit`
  // stopped.
  const auto emit_memory_before = [&](std::optional<std::string_view> limit) {
    while (true) {
      const bool has_dirty = in_range(dirty, dirty_) && (!limit || dirty->first < *limit);
      const bool has_frozen = in_range(frozen, frozen_) && (!limit || frozen->first < *limit);
      if (!has_dirty && !has_frozen) return true;
      Map::const_iterator next;
      if (has_dirty && (!has_frozen || dirty->first <= frozen->first)) {
        if (has_frozen && frozen->first == dirty->first) ++frozen;
        next = dirty++;
      } else {
        next = frozen++;
      }
      if (next->second && !visit(next->first, *next->second)) return false;
    }
  };
  // Whether memory holds `key` (then it, not storage, decides).
  const auto in_memory = [&](std::string_view key) {
    return (dirty != dirty_.end() && dirty->first == key) ||
           (frozen != frozen_.end() && frozen->first == key);
  };
  if (storage_hidden) {
    emit_memory_before(std::nullopt);
    return;
  }
  bool stopped = false;
  view_.scan(Column::elements, begin, [&](std::string_view key, std::string_view value) {
    if (key >= end) return false;
    if (!emit_memory_before(key)) {
      stopped = true;
      return false;
    }
    if (in_memory(key)) return true;  // emitted (or skipped as erased) by the memory side next
    if (!visit(key, value)) {
      stopped = true;
      return false;
    }
    return true;
  });
  if (!stopped) emit_memory_before(std::nullopt);
}

void ElementStore::scan_reverse(std::string_view begin, std::string_view end, bool storage_hidden,
                                const Visitor& visit) const {
  // scan()'s merge from the other end: each cursor is one past the next element to emit.
  auto dirty = dirty_.lower_bound(end);
  auto frozen = frozen_.lower_bound(end);
  const auto has_next = [&](const Map::const_iterator& it, const Map& map) {
    return it != map.begin() && std::prev(it)->first >= begin;
  };
  // Emits the in-memory elements after `limit` (all in range when nullopt), largest first.
  const auto emit_memory_after = [&](std::optional<std::string_view> limit) {
    while (true) {
      const bool has_dirty =
          has_next(dirty, dirty_) && (!limit || std::prev(dirty)->first > *limit);
      const bool has_frozen =
          has_next(frozen, frozen_) && (!limit || std::prev(frozen)->first > *limit);
      if (!has_dirty && !has_frozen) return true;
      Map::const_iterator next;
      if (has_dirty && (!has_frozen || std::prev(dirty)->first >= std::prev(frozen)->first)) {
        if (has_frozen && std::prev(frozen)->first == std::prev(dirty)->first) --frozen;
        next = --dirty;
      } else {
        next = --frozen;
      }
      if (next->second && !visit(next->first, *next->second)) return false;
    }
  };
  const auto in_memory = [&](std::string_view key) {
    return (dirty != dirty_.begin() && std::prev(dirty)->first == key) ||
           (frozen != frozen_.begin() && std::prev(frozen)->first == key);
  };
  if (storage_hidden) {
    emit_memory_after(std::nullopt);
    return;
  }
  bool stopped = false;
  view_.scan_reverse(Column::elements, end, [&](std::string_view key, std::string_view value) {
    if (key < begin) return false;
    if (!emit_memory_after(key)) {
      stopped = true;
      return false;
    }
    if (in_memory(key)) return true;
    if (!visit(key, value)) {
      stopped = true;
      return false;
    }
    return true;
  });
  if (!stopped) emit_memory_after(std::nullopt);
}

void ElementStore::drop(uint64_t id) {
  const std::string begin = u64_be(id);
  const std::string end = u64_be(id + 1);
  const auto first = dirty_.lower_bound(begin);
  const auto last = dirty_.lower_bound(end);
  for (auto it = first; it != last; ++it) dirty_bytes_ -= cost(it->first, it->second);
  dirty_.erase(first, last);
  if (id < stored_below_) dropped_.push_back(id);
}

void ElementStore::begin_checkpoint(WriteBatch& batch, uint64_t next_id) {
  stored_below_ = next_id;
  REPLIKV_ASSERT(frozen_.empty(), "the last checkpoint's elements are in storage");
  // Ranges first (the storage engines' rule for a checkpoint's batch, storage/engine.h); ids are
  // never reused, so no element after them is in a dropped range.
  for (const uint64_t id : dropped_)
    batch.erase_range(Column::elements, u64_be(id), u64_be(id + 1));
  dropped_.clear();
  for (const auto& [key, value] : dirty_) {
    if (value) {
      batch.put(Column::elements, key, *value);
    } else {
      batch.erase(Column::elements, key);
    }
  }
  frozen_.swap(dirty_);
  dirty_bytes_ = 0;
}

void ElementStore::clear() {
  dirty_.clear();
  frozen_.clear();
  cache_.clear();
  dropped_.clear();
  dirty_bytes_ = 0;
}

}  // namespace replikv::core
