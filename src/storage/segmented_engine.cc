#include "storage/segmented_engine.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "storage/files.h"
#include "storage/log_records.h"
#include "storage/rocksdb_engine.h"

namespace replikv::storage {
namespace {

using core::Column;
using Kind = core::WriteBatch::Operation::Kind;

// RocksDB's meta column, which this engine's core never reads, holds two records of its own.
constexpr std::string_view kLayoutKey = SegmentedEngine::layout_key;  // the log is in segments
constexpr std::string_view kAppliedKey = "segments_applied";  // the last frame RocksDB holds
// A migration writes the old log in frames of about this many bytes.
constexpr size_t migration_frame_bytes_max = 4 << 20;

bool in_log(Column column) { return column == Column::log || column == Column::meta; }

// Where a log entry's bytes lie. Segment 0 (no such segment): not known yet, during a replay
// that began after the segments holding it were dropped (a later frame compacts it away).
struct Location {
  uint32_t tagged_segment = 0;  // the segment's number; the top bit: the prefix is its run's
  uint32_t offset = 0;
  uint32_t length = 0;  // the bytes in the segment

  static constexpr uint32_t prefix_elided = 1u << 31;
  uint32_t segment() const { return tagged_segment & ~prefix_elided; }
  bool elided() const { return (tagged_segment & prefix_elided) != 0; }
  size_t value_size() const { return length + (elided() ? run_prefix_bytes : 0); }
};

Location locate(const FramePosition& position, size_t value_offset, size_t length, bool elided) {
  REPLIKV_ASSERT(position.offset + value_offset + length <= UINT32_MAX,
                 "a log entry lies within the first 4 GiB of its segment");
  REPLIKV_ASSERT(position.segment < Location::prefix_elided,
                 "segment numbers stay below 2^31 (128 PiB of 64 MiB segments)");
  return {static_cast<uint32_t>(position.segment) | (elided ? Location::prefix_elided : 0),
          static_cast<uint32_t>(position.offset + value_offset), static_cast<uint32_t>(length)};
}

uint64_t parse_index(std::string_view key) {
  REPLIKV_ASSERT(key.size() == 8, "a log key is an 8-byte index");
  return core::read_u64_be(key);
}

// The first index whose key is at or after `key`.
uint64_t index_at_or_after(std::string_view key) {
  if (key.empty()) return 0;
  char bytes[8] = {};
  std::memcpy(bytes, key.data(), std::min<size_t>(key.size(), 8));
  const uint64_t index = core::load_u64_be(bytes);
  return key.size() > 8 ? index + 1 : index;
}

// The log and meta columns, as the frames describe them.
struct LogState {
  uint64_t first = 1;  // entries [first, last]; empty when last < first
  uint64_t last = 0;
  std::deque<Location> entries;  // entries[i] is index first + i
  MetaRecords meta;
  // The prefixes of runs (storage/log_records.h): an elided entry's is the one of the greatest
  // index at or below its own. A key is added only where the prefix changes (a new term).
  std::map<uint64_t, std::string> prefixes;

  bool empty() const { return last < first; }

  std::optional<Location> find(uint64_t index) const {
    if (empty() || index < first || index > last) return std::nullopt;
    return entries[index - first];
  }

  std::string_view prefix_of(uint64_t index) const {
    auto it = prefixes.upper_bound(index);
    REPLIKV_ASSERT(it != prefixes.begin(), "an elided entry has its run's prefix");
    return (--it)->second;
  }

  void apply(Kind kind, Column column, std::string_view key, std::string_view value,
             const Location& at, std::string_view prefix = {}) {
    if (column == Column::meta) {
      apply_meta(kind, key, value);
      return;
    }
    switch (kind) {
      case Kind::put: {
        const uint64_t index = parse_index(key);
        if (empty()) {
          // An empty log starts where its first entry says: after a compaction, at the next
          // index; after a snapshot installed, past the snapshot — which may lie below the old
          // first index (a rollback re-seeded from an earlier snapshot).
          first = index;
          entries.clear();
          prefixes.clear();
        } else {
          REPLIKV_ASSERT(index == last + 1, "log entries are appended in order");
        }
        last = index;
        entries.push_back(at);
        if (at.elided() && (prefixes.empty() || prefixes.rbegin()->second != prefix)) {
          prefixes.emplace_hint(prefixes.end(), index, std::string(prefix));
        }
        break;
      }
      case Kind::erase:
        REPLIKV_ASSERT(false, "the log is cut by erase_to_end and compacted by erase_range");
        break;
      case Kind::erase_to_end: {
        const uint64_t from = key.empty() ? first : std::max(first, parse_index(key));
        while (!empty() && last >= from) {
          entries.pop_back();
          --last;
        }
        prefixes.erase(prefixes.lower_bound(from), prefixes.end());
        break;
      }
      case Kind::erase_range: {
        const uint64_t end = parse_index(value);
        while (!empty() && first < end) {
          entries.pop_front();
          ++first;
        }
        if (first < end) {
          first = end;
          last = end - 1;
        }
        forget_prefixes_below(first);
        break;
      }
    }
  }

  // Keeps the prefix that entries from `index` on may still need, and those after it.
  void forget_prefixes_below(uint64_t index) {
    auto keep = prefixes.upper_bound(index);
    if (keep != prefixes.begin()) --keep;
    prefixes.erase(prefixes.begin(), keep);
  }

  void apply_meta(Kind kind, std::string_view key, std::string_view value) {
    switch (kind) {
      case Kind::put:
        meta.insert_or_assign(std::string(key), std::string(value));
        break;
      case Kind::erase:
        if (const auto it = meta.find(key); it != meta.end()) meta.erase(it);
        break;
      case Kind::erase_range:
        meta.erase(meta.lower_bound(key), meta.lower_bound(value));
        break;
      case Kind::erase_to_end:
        meta.erase(meta.lower_bound(key), meta.end());
        break;
    }
  }

  // An opening frame: the bounds and meta records as a segment began. Entries whose place is
  // known (replayed from earlier segments) keep it.
  void open_segment(uint64_t opening_first, uint64_t opening_last, MetaRecords opening_meta) {
    meta = std::move(opening_meta);
    if (opening_first == first && opening_last == last) return;
    std::deque<Location> rebuilt;
    for (uint64_t index = opening_first; index <= opening_last && opening_last >= opening_first;
         ++index) {
      rebuilt.push_back(find(index).value_or(Location{}));
    }
    first = opening_first;
    last = opening_last;
    entries = std::move(rebuilt);
    forget_prefixes_below(first);
  }
};

// Finds a segment by number: the live log's, or a frozen view's copy of the list.
using SegmentLookup = std::function<const Segment*(uint64_t number)>;

Status read_entry(const LogState& state, const SegmentLookup& segments, uint64_t index,
                  std::string& out) {
  const Location& at = state.entries[index - state.first];
  const Segment* segment = segments(at.segment());
  if (segment == nullptr) return Status::error("a log entry's segment is gone");
  Status status = segment->read(at.offset, at.length, out);
  if (!status.is_ok()) return status;
  if (out.size() != at.length) return Status::error("a log entry is cut short");
  if (at.elided()) out.insert(0, state.prefix_of(index));
  return status;
}

std::optional<std::string> get_from(const LogState& state, const SegmentLookup& segments,
                                    Column column, std::string_view key) {
  if (column == Column::meta) {
    const auto it = state.meta.find(key);
    return it == state.meta.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  if (key.size() != 8) return std::nullopt;
  const uint64_t index = parse_index(key);
  if (!state.find(index)) return std::nullopt;
  std::string value;
  const Status status = read_entry(state, segments, index, value);
  // A read error means the disk or the files are damaged; serving on would answer wrongly.
  REPLIKV_ASSERT(status.is_ok(), "reading a log entry from its segment failed (storage damaged?)");
  return value;
}

void scan_from(const LogState& state, const SegmentLookup& segments, Column column,
               std::string_view start, const core::StorageView::Visitor& visit) {
  if (column == Column::meta) {
    for (auto it = state.meta.lower_bound(start); it != state.meta.end(); ++it) {
      if (!visit(it->first, it->second)) return;
    }
    return;
  }
  if (state.empty()) return;
  std::string value;
  for (uint64_t index = std::max(state.first, index_at_or_after(start)); index <= state.last;
       ++index) {
    const Status status = read_entry(state, segments, index, value);
    REPLIKV_ASSERT(status.is_ok(),
                   "reading a log entry from its segment failed (storage damaged?)");
    const std::string key = core::u64_be(index);
    if (!visit(key, value)) return;
  }
}

// The log's sizes come from the index (each entry's length), without reading the segments.
void scan_sizes_from(const LogState& state, std::string_view start,
                     const core::StorageView::SizeVisitor& visit) {
  if (state.empty()) return;
  for (uint64_t index = std::max(state.first, index_at_or_after(start)); index <= state.last;
       ++index) {
    if (!visit(core::u64_be(index), state.entries[index - state.first].value_size())) return;
  }
}

// Frozen: a copy of the log's state and of the segment list (a segment dropped later stays
// readable while the view holds it), beside a RocksDB snapshot.
class FrozenView final : public core::StorageView {
 public:
  FrozenView(LogState state, std::map<uint64_t, std::shared_ptr<Segment>> segments,
             std::shared_ptr<const core::StorageView> rocks)
      : state_(std::make_shared<const LogState>(std::move(state))),
        segments_(std::make_shared<const std::map<uint64_t, std::shared_ptr<Segment>>>(
            std::move(segments))),
        rocks_(std::move(rocks)) {}
  FrozenView(const FrozenView&) = default;

  std::optional<std::string> get(Column column, std::string_view key) const override {
    return in_log(column) ? get_from(*state_, lookup(), column, key) : rocks_->get(column, key);
  }
  void scan(Column column, std::string_view start, const Visitor& visit) const override {
    if (in_log(column)) {
      scan_from(*state_, lookup(), column, start, visit);
    } else {
      rocks_->scan(column, start, visit);
    }
  }
  void scan_reverse(Column column, std::string_view before, const Visitor& visit) const override {
    if (in_log(column)) {
      StorageView::scan_reverse(column, before, visit);  // (the log is never read backwards)
    } else {
      rocks_->scan_reverse(column, before, visit);
    }
  }
  std::unique_ptr<core::StorageView> snapshot() const override {
    return std::make_unique<FrozenView>(*this);
  }

 private:
  SegmentLookup lookup() const {
    return [this](uint64_t number) -> const Segment* {
      const auto it = segments_->find(number);
      return it == segments_->end() ? nullptr : it->second.get();
    };
  }
  std::shared_ptr<const LogState> state_;
  std::shared_ptr<const std::map<uint64_t, std::shared_ptr<Segment>>> segments_;
  std::shared_ptr<const core::StorageView> rocks_;
};

void copy_operation(Kind kind, Column column, std::string_view key, std::string_view value,
                    core::WriteBatch& out) {
  switch (kind) {
    case Kind::put:
      out.put(column, std::string(key), std::string(value));
      break;
    case Kind::erase:
      out.erase(column, std::string(key));
      break;
    case Kind::erase_range:
      out.erase_range(column, std::string(key), std::string(value));
      break;
    case Kind::erase_to_end:
      out.erase_to_end(column, std::string(key));
      break;
  }
}

// Where encode_batch put the value of one put.
struct ValueAt {
  size_t operation = 0;
  size_t offset = 0;
  size_t elided = 0;
};

}  // namespace

struct SegmentedEngine::Impl {
  std::unique_ptr<RocksDbEngine> rocks;
  std::unique_ptr<SegmentLog> log;
  LogState state;
  // Per segment, the highest log index a frame of it put (segments without entries: absent).
  std::map<uint64_t, uint64_t> segment_last_index;
  // Segments holding frames whose RocksDB part may not be flushed yet.
  std::set<uint64_t> segments_with_state;
  // Whether RocksDB holds batches not yet flushed; the flag and the flush that clears it go
  // together under the lock (the loop's segment drops and the checkpoint thread both flush).
  std::mutex flush_mutex;
  bool rocks_unflushed = false;

  Status flush_rocks_if_needed() {
    std::lock_guard lock(flush_mutex);
    if (!rocks_unflushed) return Status::ok();
    Status status = rocks->flush();
    if (status.is_ok()) rocks_unflushed = false;
    return status;
  }
  void note_rocks_written() {
    std::lock_guard lock(flush_mutex);
    rocks_unflushed = true;
  }
  // The log's first index once a sync covered the frame that moved it there; segments are
  // dropped against this one.
  uint64_t durable_first = 1;
  std::optional<std::pair<uint64_t, uint64_t>> first_pending;  // (first, its frame's sequence)

  bool close_cleanly = true;  // SegmentedEngineOptions::flush_at_close
  std::string frame;          // reused
  std::vector<ValueAt> value_offsets;
  core::WriteBatch rocks_batch;  // reused
  EngineStats stats;

  SegmentLookup lookup() const {
    return [this](uint64_t number) { return log->segment_pointer(number); };
  }

  void note_first(uint64_t before) {
    if (state.first > before) {
      first_pending = {state.first, log->last_sequence()};
    } else if (state.first < before) {
      // The log starts lower than before (a snapshot installed below it): a drop computed
      // against the old first index could take segments with the new entries.
      first_pending.reset();
    }
  }

  // Appends a frame of what `encode` writes, outside any batch, and syncs it.
  Status append_synced(const std::function<void(std::string& frame)>& encode) {
    frame.assign(SegmentLog::frame_header_bytes, '\0');
    encode(frame);
    FramePosition position;
    if (Status status = log->append(frame, position); !status.is_ok()) return status;
    return log->sync();
  }

  Status drop_segments() {
    if (!first_pending || log->synced_through() < first_pending->second) return Status::ok();
    durable_first = first_pending->first;
    first_pending.reset();
    const uint64_t current = log->current_segment();
    uint64_t drop_below = 0;
    for (const auto& [segment, last_index] : segment_last_index) {
      if (segment >= current || last_index >= durable_first) break;
      drop_below = segment + 1;
    }
    if (drop_below == 0) return Status::ok();
    const bool carries_state =
        !segments_with_state.empty() && *segments_with_state.begin() < drop_below;
    if (carries_state) {
      if (Status status = flush_rocks_if_needed(); !status.is_ok()) return status;
    }
    segments_with_state.erase(segments_with_state.begin(),
                              segments_with_state.lower_bound(drop_below));
    segment_last_index.erase(segment_last_index.begin(),
                             segment_last_index.lower_bound(drop_below));
    return log->drop_segments_before(drop_below);
  }
};

SegmentedEngine::SegmentedEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SegmentedEngine::~SegmentedEngine() {
  Impl& s = *impl_;
  // A log that failed a write or a sync has frames no sync may cover: a closing frame would vouch
  // for them.
  if (!s.close_cleanly || s.log->failed()) return;
  // Everything before the closing frame is synced first, so the frame's "synced through" covers
  // it; a failure here only leaves the next start unable to tell this stop from a crash.
  if (s.log->sync().is_ok()) s.append_synced(encode_closed);
}

namespace {

std::unique_ptr<Directory> open_log_directory(const SegmentedEngineOptions& options,
                                              Status& error) {
  if (options.log_directory) return options.log_directory(error);
  return open_posix_directory(options.path + "/log", error);
}

// Moves a data directory's log and meta columns from RocksDB into segments (see the header).
Status migrate(RocksDbEngine& rocks, const SegmentedEngineOptions& options,
               SegmentedEngineRecovery& recovery) {
  Status error = Status::ok();
  auto directory = open_log_directory(options, error);
  if (!directory) return error;
  // What an unfinished migration left goes.
  std::vector<std::string> names;
  if (error = directory->list(names); !error.is_ok()) return error;
  for (const auto& name : names) {
    if (error = directory->remove(name); !error.is_ok()) return error;
  }
  SegmentLogOptions log_options;
  log_options.segment_bytes = options.segment_bytes;
  log_options.zero_fill = options.zero_fill_segments;
  log_options.prepare_in_background = false;
  SegmentLogRecovery ignored;
  auto log = SegmentLog::open(
      std::move(directory), log_options, [](uint64_t, std::string_view, const FramePosition&) {},
      ignored, error);
  if (!log) return error;
  // As in use, every segment after the first opens with the state so far (the log's bounds and
  // every meta record), so that the first can be dropped once the log is compacted past it.
  LogState state;
  log->set_opening(
      [&](std::string& frame) { encode_opening(state.first, state.last, state.meta, frame); });
  core::WriteBatch batch;
  auto append = [&]() -> Status {
    if (batch.empty()) return Status::ok();
    std::string frame(SegmentLog::frame_header_bytes, '\0');
    encode_batch(batch, frame, [](size_t, size_t, size_t) {});
    FramePosition position;
    Status status = log->append(frame, position);
    for (const auto& op : batch.operations()) state.apply(op.kind, op.column, op.key, op.value, {});
    batch.clear();
    return status;
  };
  // The meta records first (frames of their own), then the entries in order.
  auto move_column = [&](Column column, uint64_t& moved) {
    rocks.scan(column, "", [&](std::string_view key, std::string_view value) {
      batch.put(column, std::string(key), std::string(value));
      ++moved;
      if (batch.bytes() >= migration_frame_bytes_max) error = append();
      return error.is_ok();
    });
    if (error.is_ok()) error = append();
  };
  move_column(Column::meta, recovery.migrated_records);
  if (error.is_ok()) move_column(Column::log, recovery.migrated_entries);
  if (error.is_ok()) error = log->sync();
  if (!error.is_ok()) return error;
  log.reset();
  core::WriteBatch done;
  done.erase_to_end(Column::log, "");
  done.erase_to_end(Column::meta, "");
  done.put(Column::meta, std::string(kLayoutKey), "1");
  if (error = rocks.write(done); !error.is_ok()) return error;
  return rocks.flush();
}

}  // namespace

std::unique_ptr<SegmentedEngine> SegmentedEngine::open(const SegmentedEngineOptions& options,
                                                       SegmentedEngineRecovery& recovery,
                                                       Status& error) {
  const auto started = std::chrono::steady_clock::now();
  recovery = {};
  auto impl = std::make_unique<Impl>();
  impl->close_cleanly = options.flush_at_close;
  RocksDbOptions rocks_options;
  rocks_options.path = options.path;
  rocks_options.block_cache_bytes = options.block_cache_bytes;
  rocks_options.write_ahead_log = false;
  rocks_options.flush_at_close = options.flush_at_close;
  impl->rocks = RocksDbEngine::open(rocks_options, error);
  if (!impl->rocks) return nullptr;
  if (!impl->rocks->get(Column::meta, kLayoutKey)) {
    if (error = migrate(*impl->rocks, options, recovery); !error.is_ok()) {
      error = Status::error("moving the log into segments: " + error.message());
      return nullptr;
    }
  }
  uint64_t applied = 0;
  if (const auto value = impl->rocks->get(Column::meta, kAppliedKey))
    applied = core::read_u64_be(*value);

  auto directory = open_log_directory(options, error);
  if (!directory) return nullptr;
  const std::string log_where = directory->path("");
  SegmentLogOptions log_options;
  log_options.segment_bytes = options.segment_bytes;
  log_options.zero_fill = options.zero_fill_segments;
  Impl& s = *impl;
  bool malformed = false;
  Status rewrite_error = Status::ok();
  auto replay = [&](uint64_t sequence, std::string_view payload, const FramePosition& position) {
    if (malformed || !rewrite_error.is_ok()) return;
    recovery.clean_stop = is_closed(payload);
    if (recovery.clean_stop) return;
    if (!payload.empty() && payload[0] == static_cast<char>(FrameKind::opening)) {
      uint64_t first = 0, last = 0;
      MetaRecords meta;
      malformed = !decode_opening(payload, first, last, meta);
      if (!malformed) s.state.open_segment(first, last, std::move(meta));
      return;
    }
    s.rocks_batch.clear();
    malformed = !decode_batch(payload, [&](const DecodedOperation& op) {
      if (in_log(op.column)) {
        Location at;
        if (op.kind == Kind::put && op.column == Column::log) {
          at = locate(position, op.value_offset, op.value.size(), !op.prefix.empty());
          auto& last = s.segment_last_index[position.segment];
          last = std::max(last, parse_index(op.key));
        }
        s.state.apply(op.kind, op.column, op.key, op.value, at, op.prefix);
      } else if (sequence > applied) {
        copy_operation(op.kind, op.column, op.key, op.value, s.rocks_batch);
      }
    });
    if (!malformed && !s.rocks_batch.empty()) {
      s.rocks_batch.put(Column::meta, std::string(kAppliedKey), core::u64_be(sequence));
      rewrite_error = s.rocks->write(s.rocks_batch);
      s.segments_with_state.insert(position.segment);
      s.note_rocks_written();
      ++recovery.batches_rewritten;
    }
  };
  s.log = SegmentLog::open(std::move(directory), log_options, replay, recovery.log, error);
  if (!s.log) return nullptr;
  if (!rewrite_error.is_ok()) {
    error =
        Status::error("writing the log's batches again into RocksDB: " + rewrite_error.message());
    return nullptr;
  }
  if (malformed) {
    error = Status::error(fmt::format(
        "{}: a frame passed its checksum but does not parse (written by another version?): the "
        "node will not serve from it",
        log_where));
    return nullptr;
  }
  for (uint64_t index = s.state.first; !s.state.empty() && index <= s.state.last; ++index) {
    REPLIKV_ASSERT(s.state.entries[index - s.state.first].segment() != 0,
                   "every log entry the replay ends with lies in a segment kept");
  }
  s.durable_first = s.state.first;
  s.log->set_opening([&s](std::string& frame) {
    encode_opening(s.state.first, s.state.last, s.state.meta, frame);
  });
  if (error = s.log->open_current_segment(); !error.is_ok()) return nullptr;
  recovery.clean_stop = recovery.clean_stop && recovery.log.torn_bytes_cut == 0;
  if (recovery.clean_stop) {
    // The closing frame stops being the last one now, durably: if this run ends in a crash, even
    // before it writes anything, the next start must not take it for a clean stop.
    error = s.append_synced([](std::string& frame) {
      encode_batch(core::WriteBatch(), frame, [](size_t, size_t, size_t) {});
    });
    if (!error.is_ok()) return nullptr;
  }

  recovery.entries = s.state.empty() ? 0 : s.state.last - s.state.first + 1;
  recovery.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  error = Status::ok();
  return std::unique_ptr<SegmentedEngine>(new SegmentedEngine(std::move(impl)));
}

std::optional<std::string> SegmentedEngine::get(Column column, std::string_view key) const {
  if (!in_log(column)) return impl_->rocks->get(column, key);
  return get_from(impl_->state, impl_->lookup(), column, key);
}

void SegmentedEngine::scan(Column column, std::string_view start, const Visitor& visit) const {
  if (!in_log(column)) {
    impl_->rocks->scan(column, start, visit);
    return;
  }
  scan_from(impl_->state, impl_->lookup(), column, start, visit);
}

void SegmentedEngine::scan_reverse(Column column, std::string_view before,
                                   const Visitor& visit) const {
  if (!in_log(column)) {
    impl_->rocks->scan_reverse(column, before, visit);
    return;
  }
  StorageView::scan_reverse(column, before, visit);  // (the log is never read backwards)
}

void SegmentedEngine::scan_sizes(Column column, std::string_view start,
                                 const SizeVisitor& visit) const {
  if (column == Column::log) {
    scan_sizes_from(impl_->state, start, visit);
    return;
  }
  core::StorageView::scan_sizes(column, start, visit);
}

std::unique_ptr<core::StorageView> SegmentedEngine::snapshot() const {
  return std::make_unique<FrozenView>(
      impl_->state, impl_->log->segments(),
      std::shared_ptr<const core::StorageView>(impl_->rocks->snapshot()));
}

Status SegmentedEngine::write(const core::WriteBatch& batch) {
  Impl& s = *impl_;
  s.frame.assign(SegmentLog::frame_header_bytes, '\0');
  s.value_offsets.clear();
  encode_batch(batch, s.frame, [&](size_t operation, size_t offset, size_t elided) {
    s.value_offsets.push_back({operation, offset, elided});
  });
  FramePosition position;
  if (Status status = s.log->append(s.frame, position); !status.is_ok()) return status;
  const uint64_t first_before = s.state.first;
  const auto& operations = batch.operations();
  bool has_state = false;
  uint64_t last_index_put = 0;  // the highest log index this batch put (one map update per batch)
  size_t next_value = 0;
  for (size_t i = 0; i < operations.size(); ++i) {
    const auto& op = operations[i];
    ValueAt value_at;
    if (next_value < s.value_offsets.size() && s.value_offsets[next_value].operation == i) {
      value_at = s.value_offsets[next_value++];
    }
    if (!in_log(op.column)) {
      has_state = true;
      continue;
    }
    Location at;
    std::string_view prefix;
    if (op.kind == Kind::put && op.column == Column::log) {
      at = locate(position, value_at.offset, op.value.size() - value_at.elided,
                  value_at.elided != 0);
      prefix = std::string_view(op.value).substr(0, value_at.elided);
      last_index_put = std::max(last_index_put, parse_index(op.key));
    }
    s.state.apply(op.kind, op.column, op.key, op.value, at, prefix);
  }
  if (last_index_put > 0) {
    auto& last = s.segment_last_index[position.segment];
    last = std::max(last, last_index_put);
  }
  s.note_first(first_before);
  if (has_state) {
    // The log first: RocksDB must never hold a batch the log could lose (see the header).
    if (Status status = s.log->sync(); !status.is_ok()) return status;
    s.rocks_batch.clear();
    for (const auto& op : operations) {
      if (!in_log(op.column)) copy_operation(op.kind, op.column, op.key, op.value, s.rocks_batch);
    }
    s.rocks_batch.put(Column::meta, std::string(kAppliedKey), core::u64_be(s.log->last_sequence()));
    if (Status status = s.rocks->write(s.rocks_batch); !status.is_ok()) return status;
    s.segments_with_state.insert(position.segment);
    s.note_rocks_written();
  }
  ++s.stats.batches_written_total;
  s.stats.bytes_written_total += batch.bytes();
  return s.drop_segments();
}

Status SegmentedEngine::sync() { return impl_->log->sync(); }

Status SegmentedEngine::write_checkpoint(const core::WriteBatch& batch) {
  Impl& s = *impl_;
  // The entries the checkpoint reflects are durable before it is (with fsync "never" they may
  // be written and not synced) ...
  if (Status status = s.log->sync(); !status.is_ok()) return status;
  // ... and no batch the log would write again after a crash is older than it.
  if (Status status = s.flush_rocks_if_needed(); !status.is_ok()) return status;
  return s.rocks->write_checkpoint(batch);
}

EngineStats SegmentedEngine::stats() const {
  EngineStats stats = impl_->stats;
  const EngineStats rocks = impl_->rocks->stats();
  const SegmentLogStats log = impl_->log->stats();
  stats.syncs_total = log.syncs;
  stats.wal_syncs_total = log.syncs;
  stats.checkpoints_written_total = rocks.checkpoints_written_total;
  stats.checkpoint_bytes_total = rocks.checkpoint_bytes_total;
  stats.log_frames_total = log.frames_appended;
  stats.log_frame_bytes_total = log.bytes_appended;
  stats.log_segments_created_total = log.segments_created;
  stats.log_segments_removed_total = log.segments_removed;
  stats.log_rollover_waits_total = log.rollover_waits;
  return stats;
}

SegmentLogStats SegmentedEngine::log_stats() const { return impl_->log->stats(); }

}  // namespace replikv::storage
