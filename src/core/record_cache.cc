#include "core/record_cache.h"

#include "core/assert.h"

namespace replikv::core {

const std::optional<CachedRecord>* RecordCache::find(std::string_view key) {
  // A write looks its key up, then stores it: the second lookup finds it first in line.
  if (!entries_.empty() && entries_.front().key == key) {
    ++hits_;
    return &entries_.front().record;
  }
  const auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  entries_.splice(entries_.begin(), entries_, it->second);
  return &it->second->record;
}

const std::optional<CachedRecord>* RecordCache::put(std::string_view key,
                                                     std::optional<CachedRecord> record) {
  if (bytes_max_ == 0) return nullptr;
  auto replace = [&](Entry& entry) {
    bytes_ -= entry.bytes();
    entry.record = std::move(record);
    bytes_ += entry.bytes();
  };
  if (!entries_.empty() && entries_.front().key == key) {  // just found: no index lookup
    replace(entries_.front());
  } else if (const auto it = index_.find(key); it != index_.end()) {
    replace(*it->second);
    entries_.splice(entries_.begin(), entries_, it->second);
  } else {
    entries_.push_front(Entry{std::string(key), std::move(record)});
    index_.emplace(entries_.front().key, entries_.begin());
    bytes_ += entries_.front().bytes();
  }
  evict_to_fit();
  // The entry just put is the most recently used: eviction reaches it only when it alone is over
  // the budget, and then the cache is empty.
  return entries_.empty() ? nullptr : &entries_.front().record;
}

void RecordCache::evict_to_fit() {
  while (bytes_ > bytes_max_ && !entries_.empty()) {
    const Entry& last = entries_.back();
    bytes_ -= last.bytes();
    index_.erase(last.key);
    entries_.pop_back();
  }
  REPLIKV_ASSERT(entries_.size() == index_.size(), "every cached entry is indexed once");
}

void RecordCache::clear() {
  index_.clear();
  entries_.clear();
  bytes_ = 0;
}

}  // namespace replikv::core
