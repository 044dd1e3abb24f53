#include "core/keyspace.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/glob.h"

namespace replikv::core {
namespace {

// How many keys SCAN visits per unit of COUNT at most, so a MATCH that filters everything still
// returns within a bounded amount of work (the client continues from the cursor).
constexpr uint64_t scan_visits_per_count_max = 10;

}  // namespace

Keyspace::Keyspace(const StorageView& view, uint64_t cache_bytes_max)
    : view_(view), elements_(view, cache_bytes_max / 4), cache_(cache_bytes_max) {
  read_counters();
}

void Keyspace::reset_to_storage() {
  REPLIKV_ASSERT(!in_flight_, "no checkpoint is in flight when storage replaces the state");
  overlay_.clear();
  frozen_overlay_.clear();
  forget_scan_index();
  expiry_changes_.clear();
  counters_dirty_ = false;
  overlay_bytes_ = 0;
  flush_pending_ = flush_in_flight_ = false;
  cache_.clear();
  elements_.clear();
  next_collection_id_ = 1;
  key_count_ = expiry_count_ = 0;
  flush_version_ = 0;
  std::fill(erase_versions_.begin(), erase_versions_.end(), 0);
  std::fill(erase_version_dirty_.begin(), erase_version_dirty_.end(), false);
  erase_versions_dirty_.clear();
  applied_index_ = LogIndex();
  read_counters();
}

void Keyspace::read_counters() {
  const auto counters = view_.get(Column::state, state_counters);
  checkpoint_index_ = applied_index_;               // stays 0 when storage has no counters yet
  elements_.set_stored_below(next_collection_id_);  // (no counters: no collection stored)
  if (!counters) return;
  REPLIKV_ASSERT(counters->size() == 24 || counters->size() == 32 || counters->size() == 40,
                 "the counters record is 40 bytes (24 before FLUSHALL's version, 32 before "
                 "collections)");
  key_count_ = read_u64_be(*counters);
  expiry_count_ = read_u64_be(std::string_view(*counters).substr(8));
  applied_index_ = LogIndex(read_u64_be(std::string_view(*counters).substr(16)));
  if (counters->size() >= 32) flush_version_ = read_u64_be(std::string_view(*counters).substr(24));
  if (counters->size() >= 40)
    next_collection_id_ = read_u64_be(std::string_view(*counters).substr(32));
  read_erase_versions();
  checkpoint_index_ = applied_index_;
  elements_.set_stored_below(next_collection_id_);
}

Reply Keyspace::execute(const Request& request, TimeMs now_ms, std::string_view metadata) {
  write_metadata_ = metadata;
  Reply reply = execute(request, now_ms);
  write_metadata_ = {};
  return reply;
}

std::optional<std::string> Keyspace::metadata(const std::string& key, TimeMs now_ms) {
  const Record* record = peek_live(key, now_ms);
  return record ? std::optional<std::string>(record->metadata.view()) : std::nullopt;
}

std::optional<std::string> Keyspace::stored_metadata(const std::string& key) {
  const Record* record = peek(key);
  return record ? std::optional<std::string>(record->metadata.view()) : std::nullopt;
}

void Keyspace::put(const std::string& key, std::string value, std::optional<TimeMs> expire_at_ms,
                   std::string_view metadata) {
  write_metadata_ = metadata;
  store(key, std::move(value), expire_at_ms);
  write_metadata_ = {};
}

bool Keyspace::remove(const std::string& key) { return erase(key); }

Reply Keyspace::execute(Request&& request, TimeMs now_ms) {
  auto* set_request = std::get_if<SetRequest>(&request);
  return execute_request(request, now_ms, set_request ? &set_request->value : nullptr);
}

Reply Keyspace::execute(const Request& request, TimeMs now_ms) {
  return execute_request(request, now_ms, nullptr);
}

Reply Keyspace::execute_request(const Request& request, TimeMs now_ms, std::string* set_value) {
  REPLIKV_ASSERT(!answered_by_strategy(request),
                 "the strategy answers WAIT and the commands it adds itself");
  // (Its commands count as writes one by one.)
  if (const auto* t = std::get_if<TransactionRequest>(&request)) return transaction(*t, now_ms);
  executing_write_ = is_write(request);
  Reply reply = std::visit(
      [&](const auto& r) -> Reply {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, GetRequest>) {
          return get(r, now_ms);
        } else if constexpr (std::is_same_v<T, SetRequest>) {
          return set(r, now_ms, set_value);
        } else if constexpr (std::is_same_v<T, DelRequest>) {
          return del(r, now_ms);
        } else if constexpr (std::is_same_v<T, ExistsRequest>) {
          return exists(r, now_ms);
        } else if constexpr (std::is_same_v<T, MGetRequest>) {
          return mget(r, now_ms);
        } else if constexpr (std::is_same_v<T, MSetRequest>) {
          return mset(r);
        } else if constexpr (std::is_same_v<T, IncrByRequest>) {
          return incr_by(r, now_ms);
        } else if constexpr (std::is_same_v<T, DbSizeRequest>) {
          return Reply::number(static_cast<int64_t>(key_count_));
        } else if constexpr (std::is_same_v<T, ScanRequest>) {
          return scan(r, now_ms);
        } else if constexpr (std::is_same_v<T, KeysRequest>) {
          return keys(r, now_ms);
        } else if constexpr (std::is_same_v<T, TtlRequest>) {
          return ttl(r, now_ms);
        } else if constexpr (std::is_same_v<T, CasRequest>) {
          return cas(r, now_ms);
        } else if constexpr (std::is_same_v<T, ExpireRequest>) {
          return expire(r, now_ms);
        } else if constexpr (std::is_same_v<T, WatchRequest>) {
          return watch(r, now_ms);
        } else if constexpr (std::is_same_v<T, TransactionRequest>) {
          return transaction(r, now_ms);
        } else if constexpr (std::is_same_v<T, CommandRequest>) {
          std::vector<std::string_view> argv(r.argv.begin(), r.argv.end());
          return r.command->run(*this, argv, now_ms);
        } else {
          // The strategy answers the rest itself (command.h, StrategyRequestTypes); a request
          // type the keyspace is to serve but does not is a compile error here.
          static_assert(strategy_answers_v<T>, "the keyspace serves every KeyspaceRequestTypes");
          return Reply::error("ERR not a keyspace request");
        }
      },
      request);
  executing_write_ = false;
  if (is_write(request)) {
    const LogIndex previous = applied_index_;
    applied_index_ = applied_index_.next();
    REPLIKV_ASSERT(applied_index_ > previous, "the applied index never moves back");
    counters_dirty_ = true;
  }
  return reply;
}

void Keyspace::describe(ReplicaStatus& status) const {
  status.key_count = key_count_;
  status.keys_with_expiry = expiry_count_;
  status.keyspace_hits_total = hits_;
  status.keyspace_misses_total = misses_;
  status.cache_bytes = cache_.bytes();
  status.cache_entries = cache_.entries();
  status.cache_hits_total = cache_.hits();
  status.cache_misses_total = cache_.misses();
  status.checkpoints_total = checkpoints_;
  status.dirty_records = dirty_records();
  status.dirty_bytes = dirty_bytes();
  status.checkpoint_in_flight = in_flight_;
}

void Keyspace::forget_scan_index() {
  if (!scan_index_active_) return;
  scan_index_.clear();
  scan_index_active_ = false;
}

template <typename Visit>
void Keyspace::for_each_dirty(Visit&& visit) const {
  for (const auto& [key, record] : overlay_) visit(std::string_view(key), record);
  cache_.for_each_pinned(visit);
}

template <typename Visit>
void Keyspace::for_each_unwritten(Visit&& visit) const {
  for_each_dirty(visit);
  cache_.for_each_frozen_only(visit);
  for (const auto& [key, record] : frozen_overlay_) visit(std::string_view(key), record);
}

void Keyspace::begin_checkpoint(WriteBatch& batch) {
  REPLIKV_ASSERT(!in_flight_, "one checkpoint in flight at a time");
  if (!dirty()) return;
  if (flush_pending_) {
    // FLUSHALL since the last checkpoint: the columns go first, then what was written after it.
    batch.erase_to_end(Column::data, {});
    batch.erase_to_end(Column::expiry, {});
    batch.erase_to_end(Column::elements, {});
    flush_pending_ = false;
    flush_in_flight_ = true;
  }
  for_each_dirty([&](std::string_view key, const std::optional<Record>& record) {
    if (record) {
      batch.put(Column::data, data_key(key),
                encode_value(record->value, record->expire_at_ms, record->metadata.view(),
                             record->version, record->type));
    } else {
      batch.erase(Column::data, data_key(key));
    }
  });
  batch.append(expiry_changes_);
  elements_.begin_checkpoint(batch, next_collection_id_);
  for (const uint16_t bucket : erase_versions_dirty_) {
    std::string key(state_erase_versions_prefix);
    key.push_back(static_cast<char>(bucket >> 8));
    key.push_back(static_cast<char>(bucket & 0xff));
    batch.put(Column::state, std::move(key), u64_be(erase_versions_[bucket]));
    erase_version_dirty_[bucket] = false;
  }
  erase_versions_dirty_.clear();
  if (counters_dirty_) write_counters(batch);
  counters_dirty_ = false;
  // Frozen until end_checkpoint(): still where reads find them, no longer dirty.
  REPLIKV_ASSERT(frozen_overlay_.empty(), "the last checkpoint's overlay is gone");
  if (!overlay_.empty()) frozen_overlay_.swap(overlay_);
  cache_.freeze_pins();
  overlay_bytes_ = 0;
  REPLIKV_ASSERT(applied_index_ >= checkpoint_index_, "a checkpoint never moves back");
  in_flight_index_ = applied_index_;
  in_flight_ = true;
  REPLIKV_ASSERT(!dirty(), "a checkpoint leaves nothing dirty");
}

void Keyspace::end_checkpoint() {
  if (!in_flight_) return;  // begin_checkpoint found nothing dirty
  if (!frozen_overlay_.empty())
    frozen_overlay_.clear();  // clear() touches every bucket, even when empty
  cache_.unpin_frozen();
  elements_.end_checkpoint();
  flush_in_flight_ = false;  // storage now holds the flush and what followed
  // The index points at frozen records, and at cache entries that may now be evicted.
  forget_scan_index();
  REPLIKV_ASSERT(in_flight_index_ >= checkpoint_index_, "a checkpoint never moves back");
  checkpoint_index_ = in_flight_index_;
  in_flight_ = false;
  ++checkpoints_;
}

std::string Keyspace::digest() const {
  Fnv64 hash;
  visit_data({},
             [&](std::string_view key, std::string_view, std::string_view value,
                 std::optional<TimeMs> expire_at_ms, std::string_view metadata, ValueType type) {
               hash.add(key);
               if (type == ValueType::string) {
                 hash.add(encode_value(value, expire_at_ms, metadata));
                 return true;
               }
               // A collection: its type, expiry and elements — not its id, which is the node's own.
               const auto header = decode_header(value);
               REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
               hash.add(encode_value({}, expire_at_ms, metadata, 0, type));
               const std::string begin = u64_be(header->id);
               elements_.scan(begin, u64_be(header->id + 1), storage_hidden(),
                              [&](std::string_view element, std::string_view element_value) {
                                hash.add(element.substr(8));
                                hash.add(element_value);
                                return true;
                              });
               return true;
             });
  std::string counters;
  append_u64_be(counters, key_count_);
  append_u64_be(counters, expiry_count_);
  hash.add(counters);
  return hash.hex();
}

void Keyspace::visit_data(std::string_view start, const RecordVisitor& visit) const {
  if (!scan_index_active_) {
    // The first SCAN or KEYS since the checkpoint: the dirty keys in data-key order, kept up to
    // date by note_written until the next checkpoint.
    for_each_unwritten([&](std::string_view user_key, const std::optional<Record>& record) {
      scan_index_.try_emplace(data_key(user_key), &record);  // the first visit is the latest
    });
    scan_index_active_ = true;
  }
  auto next = scan_index_.lower_bound(start);
  // Emits dirty records before `limit` (all when limit is empty); false when visit stopped.
  auto emit_dirty_before = [&](std::optional<std::string_view> limit) {
    for (; next != scan_index_.end() && (!limit || next->first < *limit); ++next) {
      const auto& record = *next->second;
      if (record && !visit(next->first, user_key_of(next->first), record->value,
                           record->expire_at_ms, record->metadata.view(), record->type)) {
        ++next;
        return false;
      }
    }
    return true;
  };
  bool stopped = false;
  if (storage_hidden()) {
    emit_dirty_before(std::nullopt);
    return;
  }
  view_.scan(Column::data, start, [&](std::string_view key, std::string_view value) {
    if (!emit_dirty_before(key)) {
      stopped = true;
      return false;
    }
    if (next != scan_index_.end() && next->first == key) return true;  // the dirty record decides
    const auto stored = decode_value(value);
    REPLIKV_ASSERT(stored.has_value(), "a data record this version cannot decode");
    if (!visit(key, user_key_of(key), stored->value, stored->expire_at_ms, stored->metadata,
               stored->type)) {
      stopped = true;
      return false;
    }
    return true;
  });
  if (!stopped) emit_dirty_before(std::nullopt);
}

const Keyspace::Record* Keyspace::peek(const std::string& key) {
  if (const auto it = overlay_.find(key); it != overlay_.end()) {
    return it->second ? &*it->second : nullptr;
  }
  if (const auto* cached = cache_.find(key)) return *cached ? &**cached : nullptr;
  if (!frozen_overlay_.empty()) {
    if (const auto it = frozen_overlay_.find(key); it != frozen_overlay_.end()) {
      return it->second ? &*it->second : nullptr;
    }
  }
  const auto bytes = storage_hidden() ? std::nullopt : view_.get(Column::data, data_key(key));
  std::optional<Record> record;
  if (bytes) {
    const auto stored = decode_value(*bytes);
    REPLIKV_ASSERT(stored.has_value(), "a data record this version cannot decode");
    record = Record{std::string(stored->value), stored->expire_at_ms,
                    RecordMetadata(stored->metadata), stored->version, stored->type};
  }
  if (cache_.keeps(key.size() + (record ? record->bytes() : 0))) {
    const auto* cached = cache_.put(key, std::move(record));
    REPLIKV_ASSERT(cached != nullptr, "the cache keeps what keeps() said it would");
    return *cached ? &**cached : nullptr;
  }
  peeked_ = std::move(record);  // the cache is off, or the record is larger than all of it
  return peeked_ ? &*peeked_ : nullptr;
}

std::optional<Keyspace::Record> Keyspace::load(const std::string& key) {
  const Record* record = peek(key);
  return record ? std::optional<Record>(*record) : std::nullopt;
}

const Keyspace::Record* Keyspace::peek_live(const std::string& key, TimeMs now_ms) {
  const Record* record = peek(key);
  return record && !is_expired(record->expire_at_ms, now_ms) ? record : nullptr;
}

std::optional<Keyspace::Record> Keyspace::load_live(const std::string& key, TimeMs now_ms) {
  const Record* record = peek_live(key, now_ms);
  return record ? std::optional<Record>(*record) : std::nullopt;
}

void Keyspace::store(const std::string& key, std::string value, std::optional<TimeMs> expire_at_ms,
                     ValueType type) {
  const Record* old = peek(key);
  if (!old) ++key_count_;
  if (old && old->type != ValueType::string) {
    // A collection's record rewritten as itself (its header) keeps its elements; anything else
    // written over it drops them.
    const auto old_header = decode_header(old->value);
    const auto new_header = type == old->type ? decode_header(value) : std::nullopt;
    if (!new_header || !old_header || new_header->id != old_header->id) {
      drop_elements(*old);  // (the record itself stays where `old` points)
    }
  }
  counters_dirty_ = true;  // (put() writes without execute(): the counts move here)
  if (old && old->expire_at_ms) {
    expiry_changes_.erase(Column::expiry, expiry_key(*old->expire_at_ms, key));
    REPLIKV_ASSERT(expiry_count_ > 0, "expiry count never goes negative");
    --expiry_count_;
  }
  if (expire_at_ms) {
    expiry_changes_.put(Column::expiry, expiry_key(*expire_at_ms, key), {});
    ++expiry_count_;
  }
  // A request without metadata keeps the record's (EXPIRE, PERSIST, INCRBY through a strategy
  // that attaches none to them).
  RecordMetadata metadata =
      write_metadata_.empty() && old != nullptr ? old->metadata : RecordMetadata(write_metadata_);
  note_written(key,
               Record{std::move(value), expire_at_ms, std::move(metadata), write_version(), type});
}

void Keyspace::drop_elements(const Record& record) {
  if (record.type == ValueType::string) return;
  const auto header = decode_header(record.value);
  REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
  if (header->id != 0) elements_.drop(header->id);
}

// What a dirty record in the overlay counts for in dirty_bytes(): as much as in the cache.
uint64_t Keyspace::overlay_cost(std::string_view key, const std::optional<Record>& record) {
  return key.size() + (record ? record->bytes() : 0) + RecordCache::entry_overhead_bytes;
}

// A dirty record of `key` goes where reads find it before storage has it: pinned in the
// cache, or in the overlay when the cache does not keep it (off, or the record is too large).
void Keyspace::note_written(const std::string& key, std::optional<Record> record) {
  if (observed_writes_ != nullptr) observed_writes_->push_back(key);
  const uint64_t bytes = key.size() + (record ? record->bytes() : 0);
  const std::optional<Record>* kept;
  if (cache_.keeps(bytes)) {
    if (!overlay_.empty()) {
      if (const auto it = overlay_.find(key); it != overlay_.end()) {
        overlay_bytes_ -= overlay_cost(key, it->second);
        overlay_.erase(it);
      }
    }
    kept = cache_.put(key, std::move(record), /*pin=*/true);
  } else {
    cache_.forget(key);
    const auto [it, inserted] = overlay_.try_emplace(key);
    if (!inserted) overlay_bytes_ -= overlay_cost(key, it->second);
    it->second = std::move(record);
    overlay_bytes_ += overlay_cost(key, it->second);
    kept = &it->second;
  }
  if (scan_index_active_) scan_index_.insert_or_assign(data_key(key), kept);
}

bool Keyspace::erase(const std::string& key, bool keep_elements) {
  const Record* old = peek(key);
  if (!old) return false;
  if (!keep_elements) drop_elements(*old);
  REPLIKV_ASSERT(key_count_ > 0, "key count never goes negative");
  --key_count_;
  counters_dirty_ = true;
  if (old->expire_at_ms) {
    expiry_changes_.erase(Column::expiry, expiry_key(*old->expire_at_ms, key));
    REPLIKV_ASSERT(expiry_count_ > 0, "expiry count never goes negative");
    --expiry_count_;
  }
  note_erased(key);
  note_written(key, std::nullopt);
  return true;
}

void Keyspace::flush() {
  overlay_.clear();
  overlay_bytes_ = 0;
  // The frozen overlay is the checkpoint in flight's, already in its batch: only reads use it,
  // and there is nothing left for them to read.
  frozen_overlay_.clear();
  forget_scan_index();
  cache_.clear();
  peeked_.reset();
  elements_.clear();  // every id is gone; the checkpoint erases the column
  expiry_changes_.clear();
  key_count_ = expiry_count_ = 0;
  flush_version_ = write_version();
  counters_dirty_ = true;
  flush_pending_ = true;
  // (No key is observed: every key went. The multi-leader strategy, which turns observed writes
  // into per-key ones, refuses FLUSHALL; the single leader observes writes only to wake blocked
  // pops, and a flush leaves no list to pop.)
}

std::optional<std::string> Keyspace::random_key(TimeMs now_ms) {
  if (key_count_ == 0) return std::nullopt;
  std::optional<std::string> found;
  const auto first_live = [&](std::string_view, std::string_view user_key, std::string_view,
                              std::optional<TimeMs> expire_at_ms, std::string_view, ValueType) {
    if (is_expired(expire_at_ms, now_ms)) return true;
    found = std::string(user_key);
    return false;
  };
  visit_data(data_key_start(random_.next_u64()), first_live);
  if (!found) visit_data({}, first_live);  // wrapped around
  return found;
}

// WATCH: the write version now and, per key, whether it is live.
Reply Keyspace::watch(const WatchRequest& request, TimeMs now_ms) {
  std::vector<Reply> out;
  out.reserve(request.keys.size() + 1);
  out.push_back(Reply::number(static_cast<int64_t>(applied_index_.value())));
  for (const auto& key : request.keys) out.push_back(Reply::number(peek_live(key, now_ms) ? 1 : 0));
  return Reply::array(std::move(out));
}

// Whether `watched` changed since WATCH saw it: written since (its record's version is newer),
// live then and not now or the reverse (deleted, expired — or a clock that read expiry
// differently), or absent with some key erased since (the one conservative case: an erased
// key leaves no record to compare, so any erase after the WATCH counts).
bool Keyspace::watch_changed(const WatchedKey& watched, TimeMs now_ms) {
  const Record* record = peek(watched.key);
  if (record != nullptr && record->version > watched.version) return true;
  const bool live = record != nullptr && !is_expired(record->expire_at_ms, now_ms);
  if (live != watched.live) return true;
  if (record != nullptr) return false;
  return flush_version_ > watched.version ||
         erase_versions_[key_hash(watched.key) % erase_version_buckets] > watched.version;
}

void Keyspace::note_erased(const std::string& key) {
  const auto bucket = static_cast<uint16_t>(key_hash(key) % erase_version_buckets);
  if (!erase_version_dirty_[bucket]) {
    erase_version_dirty_[bucket] = true;
    erase_versions_dirty_.push_back(bucket);
  }
  erase_versions_[bucket] = write_version();
}

void Keyspace::read_erase_versions() {
  view_.scan(Column::state, state_erase_versions_prefix,
             [&](std::string_view key, std::string_view value) {
               if (!key.starts_with(state_erase_versions_prefix)) return false;
               const std::string_view bucket = key.substr(state_erase_versions_prefix.size());
               REPLIKV_ASSERT(bucket.size() == 2 && value.size() == 8,
                              "an erase-versions record is a 2-byte bucket and 8 bytes");
               const auto index = static_cast<uint16_t>((static_cast<uint8_t>(bucket[0]) << 8) |
                                                        static_cast<uint8_t>(bucket[1]));
               REPLIKV_ASSERT(index < erase_version_buckets, "an erase-versions bucket in range");
               erase_versions_[index] = read_u64_be(value);
               return true;
             });
}

Reply Keyspace::transaction(const TransactionRequest& request, TimeMs now_ms) {
  for (const auto& watched : request.watched) {
    if (watch_changed(watched, now_ms)) return Reply::null_array();
  }
  std::vector<Reply> replies;
  replies.reserve(request.commands.size());
  for (const auto& words : request.commands) {
    const std::vector<std::string_view> argv(words.begin(), words.end());
    const CommandSpec* spec = argv.empty() ? nullptr : find_command(argv[0]);
    if (spec == nullptr || spec->handler != CommandSpec::Handler::core || spec->name == "wait" ||
        check_arity(*spec, argv.size())) {
      // (Checked when queued: only a peer's malformed entry gets here.)
      replies.push_back(Reply::error("ERR not a command a transaction runs"));
      continue;
    }
    auto parsed = parse_request(*spec, argv);
    if (auto* error = std::get_if<Reply>(&parsed)) {
      replies.push_back(std::move(*error));
      continue;
    }
    replies.push_back(execute_request(std::get<Request>(parsed), now_ms, nullptr));
  }
  return Reply::array(std::move(replies));
}

void Keyspace::write_counters(WriteBatch& batch) {
  std::string counters;
  counters.reserve(40);
  append_u64_be(counters, key_count_);
  append_u64_be(counters, expiry_count_);
  append_u64_be(counters, applied_index_.value());
  append_u64_be(counters, flush_version_);
  append_u64_be(counters, next_collection_id_);
  batch.put(Column::state, std::string(state_counters), std::move(counters));
}

Reply Keyspace::get(const GetRequest& request, TimeMs now_ms) {
  auto record = load_live(request.key, now_ms);
  if (!record) {
    ++misses_;
    return Reply::nil();
  }
  ++hits_;
  if (record->type != ValueType::string) return wrong_type();
  return Reply::bulk(std::move(record->value));
}

Reply Keyspace::set(const SetRequest& request, TimeMs now_ms, std::string* value) {
  // A plain SET needs only whether the key is live and its expiry: no copy of the old value
  // (peek's pointer is used before store changes anything).
  const Record* old = peek_live(request.key, now_ms);
  const bool allowed = request.condition == SetRequest::Condition::always ||
                       (request.condition == SetRequest::Condition::if_absent && old == nullptr) ||
                       (request.condition == SetRequest::Condition::if_present && old != nullptr);
  Reply old_reply = Reply::nil();
  if (request.return_old && old) {
    if (old->type != ValueType::string) return wrong_type();
    old_reply = Reply::bulk(old->value);
  }
  if (!allowed) return request.return_old ? std::move(old_reply) : Reply::nil();

  std::optional<TimeMs> expire_at_ms;
  switch (request.expiry.kind) {
    case Expiry::Kind::none:
      break;
    case Expiry::Kind::relative_ms:
      expire_at_ms = now_ms + request.expiry.ms;
      break;
    case Expiry::Kind::absolute_ms:
      expire_at_ms = request.expiry.ms;
      break;
    case Expiry::Kind::keep:
      expire_at_ms = old ? old->expire_at_ms : std::nullopt;
      break;
  }
  if (expire_at_ms && is_expired(expire_at_ms, now_ms)) {
    // An absolute expiry in the past: Redis deletes the key and answers as if it had been set.
    erase(request.key);
  } else {
    store(request.key, value ? std::move(*value) : request.value, expire_at_ms);
  }
  return request.return_old ? std::move(old_reply) : Reply::ok();
}

Reply Keyspace::del(const DelRequest& request, TimeMs now_ms) {
  int64_t deleted = 0;
  for (const auto& key : request.keys) {
    const bool live = load_live(key, now_ms).has_value();
    if (erase(key) && live) ++deleted;
  }
  return Reply::number(deleted);
}

Reply Keyspace::exists(const ExistsRequest& request, TimeMs now_ms) {
  int64_t count = 0;
  for (const auto& key : request.keys) count += load_live(key, now_ms) ? 1 : 0;
  return Reply::number(count);
}

Reply Keyspace::mget(const MGetRequest& request, TimeMs now_ms) {
  std::vector<Reply> values;
  values.reserve(request.keys.size());
  for (const auto& key : request.keys) {
    auto record = load_live(key, now_ms);
    values.push_back(record && record->type == ValueType::string
                         ? Reply::bulk(std::move(record->value))
                         : Reply::nil());
  }
  return Reply::array(std::move(values));
}

Reply Keyspace::mset(const MSetRequest& request) {
  for (const auto& [key, value] : request.pairs) store(key, value, std::nullopt);
  return Reply::ok();
}

Reply Keyspace::incr_by(const IncrByRequest& request, TimeMs now_ms) {
  const auto old = load_live(request.key, now_ms);
  int64_t value = 0;
  if (old) {
    if (old->type != ValueType::string) return wrong_type();
    const auto parsed = parse_int64(old->value);
    if (!parsed) return Reply::error("ERR value is not an integer or out of range");
    value = *parsed;
  }
  constexpr int64_t max = std::numeric_limits<int64_t>::max();
  constexpr int64_t min = std::numeric_limits<int64_t>::min();
  if ((request.delta > 0 && value > max - request.delta) ||
      (request.delta < 0 && value < min - request.delta)) {
    return Reply::error("ERR increment or decrement would overflow");
  }
  value += request.delta;
  // An expired record is absent: the new value starts without a time to live.
  store(request.key, std::to_string(value), old ? old->expire_at_ms : std::nullopt);
  return Reply::number(value);
}

Reply Keyspace::cas(const CasRequest& request, TimeMs now_ms) {
  const auto old = load_live(request.key, now_ms);
  if (old && old->type != ValueType::string) return wrong_type();
  const bool matches = request.expected ? old && old->value == *request.expected : !old;
  if (!matches) return Reply::number(0);
  // Like SET without options: the new value has no time to live.
  store(request.key, request.value, std::nullopt);
  return Reply::number(1);
}

// Redis's EXPIRE family and PERSIST: 1 when the time to live changed (or the key was deleted by
// a time already past), 0 when the key is absent or the condition did not hold. No time to live
// counts as an infinite one for GT and LT.
Reply Keyspace::expire(const ExpireRequest& request, TimeMs now_ms) {
  auto record = load_live(request.key, now_ms);
  if (!record) return Reply::number(0);
  if (request.expiry.kind == Expiry::Kind::none) {  // PERSIST
    if (!record->expire_at_ms) return Reply::number(0);
    store(request.key, std::move(record->value), std::nullopt, record->type);
    return Reply::number(1);
  }
  const TimeMs at = request.expiry.kind == Expiry::Kind::relative_ms ? now_ms + request.expiry.ms
                                                                     : request.expiry.ms;
  const auto current = record->expire_at_ms;
  using Condition = ExpireRequest::Condition;
  const bool allowed = request.condition == Condition::always ||
                       (request.condition == Condition::if_none && !current) ||
                       (request.condition == Condition::if_some && current) ||
                       (request.condition == Condition::if_greater && current && at > *current) ||
                       (request.condition == Condition::if_less && (!current || at < *current));
  if (!allowed) return Reply::number(0);
  if (at <= now_ms) {  // already due: deleted now, as Redis does (checkAlreadyExpired)
    erase(request.key);
  } else {
    store(request.key, std::move(record->value), at, record->type);
  }
  return Reply::number(1);
}

Reply Keyspace::scan(const ScanRequest& request, TimeMs now_ms) const {
  std::vector<Reply> keys;
  uint64_t visited = 0;
  const uint64_t visits_max = request.count * scan_visits_per_count_max;
  uint64_t next_cursor = 0;
  std::optional<uint64_t> last_hash;
  visit_data(data_key_start(request.cursor),
             [&](std::string_view key, std::string_view user_key, std::string_view,
                 std::optional<TimeMs> expire_at_ms, std::string_view, ValueType type) {
               const uint64_t hash = read_u64_be(key);
               // Finish a run of equal hashes before stopping, so the cursor never splits one.
               if (last_hash && hash != *last_hash &&
                   (keys.size() >= request.count || visited >= visits_max)) {
                 next_cursor = hash;
                 return false;
               }
               last_hash = hash;
               ++visited;
               if (!request.type_unknown && (!request.type || *request.type == type) &&
                   !is_expired(expire_at_ms, now_ms) &&
                   (request.pattern.empty() || glob_match(request.pattern, user_key))) {
                 keys.push_back(Reply::bulk(std::string(user_key)));
               }
               return true;
             });
  return Reply::array({Reply::bulk(std::to_string(next_cursor)), Reply::array(std::move(keys))});
}

Reply Keyspace::keys(const KeysRequest& request, TimeMs now_ms) const {
  std::vector<Reply> keys;
  const bool every = request.pattern == "*";
  visit_data({}, [&](std::string_view, std::string_view user_key, std::string_view,
                     std::optional<TimeMs> expire_at_ms, std::string_view, ValueType) {
    if (!is_expired(expire_at_ms, now_ms) && (every || glob_match(request.pattern, user_key))) {
      keys.push_back(Reply::bulk(std::string(user_key)));
    }
    return true;
  });
  return Reply::array(std::move(keys));
}

Reply Keyspace::ttl(const TtlRequest& request, TimeMs now_ms) {
  const auto record = load_live(request.key, now_ms);
  if (!record) return Reply::number(-2);
  if (!record->expire_at_ms) return Reply::number(-1);
  const int64_t remaining_ms = *record->expire_at_ms - now_ms;
  return Reply::number(request.milliseconds ? remaining_ms : (remaining_ms + 500) / 1000);
}

std::vector<std::string> Keyspace::due_keys(TimeMs now_ms, uint64_t keys_max) {
  std::vector<std::pair<TimeMs, std::string>> candidates;
  if (storage_hidden()) return {};  // (the index stored is of flushed keys)
  view_.scan(Column::expiry, {}, [&](std::string_view key, std::string_view) {
    if (candidates.size() >= keys_max) return false;
    const auto expire_at_ms = static_cast<TimeMs>(read_u64_be(key));
    if (!is_expired(expire_at_ms, now_ms)) return false;
    candidates.emplace_back(expire_at_ms, key.substr(8));
    return true;
  });
  std::vector<std::string> due;
  for (auto& [expire_at_ms, key] : candidates) {
    // The index is read from storage; a dirty record may already have rewritten or deleted the
    // key (and then it also erased this index entry). Only a record that still carries this
    // expiry time is due.
    const auto record = load(key);
    if (record && record->expire_at_ms == expire_at_ms) due.push_back(std::move(key));
  }
  return due;
}

uint64_t Keyspace::expire_keys(const std::vector<std::string>& keys, TimeMs now_ms) {
  uint64_t deleted = 0;
  for (const auto& key : keys) {
    const auto record = load(key);
    if (!record || !is_expired(record->expire_at_ms, now_ms)) continue;  // rewritten since
    erase(key);
    ++deleted;
  }
  if (deleted > 0) counters_dirty_ = true;
  return deleted;
}

uint64_t Keyspace::expire_due(TimeMs now_ms, uint64_t keys_max) {
  return expire_keys(due_keys(now_ms, keys_max), now_ms);
}

}  // namespace replikv::core
