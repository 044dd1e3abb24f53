#include "storage/segment_log.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/assert.h"
#include "storage/crc32c.h"

namespace replikv::storage {
namespace {

constexpr char kSegmentMagic[8] = {'R', 'K', 'V', 'L', 'O', 'G', '0', '1'};
constexpr uint32_t kFrameMagic = 0x4c564b52;  // "RKVL" read as little-endian
constexpr uint64_t kZeroChunkBytes = 1 << 20;

uint64_t align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

void store_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void store_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t load_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t load_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string segment_name(uint64_t number) { return fmt::format("{:020}.seg", number); }

std::optional<uint64_t> parse_segment_name(const std::string& name) {
  if (name.size() != 24 || !name.ends_with(".seg")) return std::nullopt;
  uint64_t number = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    number = number * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return number;
}

std::string segment_header(uint64_t number, uint64_t salt) {
  std::string header(SegmentLog::segment_header_bytes, '\0');
  std::memcpy(header.data(), kSegmentMagic, 8);
  store_u64(header.data() + 8, number);
  store_u64(header.data() + 16, salt);
  store_u32(header.data() + 60, crc32c(std::string_view(header.data(), 60)));
  return header;
}

// The CRC of a frame's header: the log's salt, then the header's bytes 8 to 32.
uint32_t header_crc(uint64_t salt, const char* header) {
  char salt_bytes[8];
  store_u64(salt_bytes, salt);
  return crc32c_extend(crc32c(std::string_view(salt_bytes, 8)), std::string_view(header + 8, 24));
}

struct FrameHeader {
  uint64_t sequence;
  uint64_t synced_through;
  uint32_t length;
  uint32_t payload_crc;
};

// The frame at `at` in `bytes`, if it is whole (header, payload, both CRCs).
std::optional<FrameHeader> whole_frame(std::string_view bytes, uint64_t at, uint64_t salt) {
  if (at + SegmentLog::frame_header_bytes > bytes.size()) return std::nullopt;
  const char* p = bytes.data() + at;
  if (load_u32(p) != kFrameMagic || load_u32(p + 4) != header_crc(salt, p)) return std::nullopt;
  FrameHeader header{load_u64(p + 8), load_u64(p + 16), load_u32(p + 24), load_u32(p + 28)};
  if (at + SegmentLog::frame_header_bytes + header.length > bytes.size()) return std::nullopt;
  const std::string_view payload(p + SegmentLog::frame_header_bytes, header.length);
  if (crc32c(payload) != header.payload_crc) return std::nullopt;
  return header;
}

}  // namespace

struct SegmentLog::Impl {
  std::unique_ptr<Directory> directory;
  SegmentLogOptions options;
  uint64_t salt = 0;

  // The owner's: segments by number, the one appended to, and where its next frame goes.
  std::map<uint64_t, std::shared_ptr<Segment>> segments;
  std::shared_ptr<Segment> current;
  uint64_t offset = 0;
  std::string zeros;  // padding

  // Shared with sync(): the segments written since their last sync and the last sequence
  // number written. `sync_call` serializes sync() calls, so that one that finds nothing new to
  // sync returns only after the one before it finished.
  std::mutex mutex;
  std::vector<std::shared_ptr<Segment>> unsynced;
  uint64_t written_sequence = 0;
  std::mutex sync_call;
  // A sync that failed fails every later one: the kernel may have dropped the pages it could not
  // write and marked them clean, so a later fsync that succeeds proves nothing about them
  // (PostgreSQL's "fsyncgate"). Under sync_call.
  Status sync_failure = Status::ok();
  std::atomic<bool> failed{false};  // a write or a sync failed
  std::atomic<uint64_t> synced_through{0};
  std::atomic<uint64_t> syncs{0};

  // The preparer: makes segment `wanted` (0: none wanted) into `prepared`.
  std::mutex prepare_mutex;
  std::condition_variable prepare_cv;
  uint64_t wanted = 0;
  std::shared_ptr<Segment> prepared;
  std::optional<Status> prepare_error;
  bool stopping = false;
  std::thread preparer;

  SegmentLogStats stats;
  std::atomic<uint64_t> segments_created{0};

  ~Impl() {
    {
      std::lock_guard lock(prepare_mutex);
      stopping = true;
    }
    prepare_cv.notify_all();
    if (preparer.joinable()) preparer.join();
  }

  // Makes segment `number` of `bytes`: under a temporary name, zero-filled or allocated,
  // synced, renamed, and the directory synced — it then exists whole, and a sync while it is
  // used never writes its size.
  std::shared_ptr<Segment> make_segment(uint64_t number, uint64_t bytes, Status& error) {
    const std::string name = segment_name(number);
    const std::string temporary = name + ".tmp";
    auto file = directory->create(temporary, error);
    if (!file) return nullptr;
    const std::string header = segment_header(number, salt);
    error = options.zero_fill ? Status::ok() : file->allocate(bytes);
    if (error.is_ok()) error = file->write_at(0, header);
    std::string chunk;
    if (options.zero_fill) chunk.assign(std::min<uint64_t>(kZeroChunkBytes, bytes), '\0');
    for (uint64_t at = header.size(); options.zero_fill && error.is_ok() && at < bytes;
         at += chunk.size()) {
      const uint64_t n = std::min<uint64_t>(chunk.size(), bytes - at);
      error = file->write_at(at, std::string_view(chunk.data(), n));
    }
    if (error.is_ok()) error = file->sync();
    if (error.is_ok()) error = directory->rename(temporary, name);
    if (error.is_ok()) error = directory->sync();
    if (!error.is_ok()) return nullptr;
    segments_created.fetch_add(1, std::memory_order_relaxed);
    return std::make_shared<Segment>(number, bytes, std::move(file));
  }

  void prepare_loop() {
    std::unique_lock lock(prepare_mutex);
    while (true) {
      prepare_cv.wait(lock,
                      [&] { return stopping || (wanted != 0 && !prepared && !prepare_error); });
      if (stopping) return;
      const uint64_t number = wanted;
      lock.unlock();
      Status error = Status::ok();
      auto segment = make_segment(number, options.segment_bytes, error);
      lock.lock();
      if (segment) {
        prepared = std::move(segment);
      } else {
        prepare_error = error;
      }
      wanted = 0;
      prepare_cv.notify_all();
    }
  }

  void want(uint64_t number) {
    if (!options.prepare_in_background) return;
    {
      std::lock_guard lock(prepare_mutex);
      wanted = number;
    }
    prepare_cv.notify_all();
  }

  // The segment after the current one, of the usual size.
  std::shared_ptr<Segment> next_segment(Status& error) {
    const uint64_t number = current->number() + 1;
    if (!options.prepare_in_background) return make_segment(number, options.segment_bytes, error);
    std::unique_lock lock(prepare_mutex);
    if (!prepared && !prepare_error) ++stats.rollover_waits;
    prepare_cv.wait(lock, [&] { return prepared || prepare_error; });
    if (prepare_error) {
      error = *prepare_error;
      return nullptr;
    }
    REPLIKV_ASSERT(prepared->number() == number, "the prepared segment follows the current one");
    error = Status::ok();
    return std::exchange(prepared, nullptr);
  }

  void note_written(uint64_t sequence) {
    std::lock_guard lock(mutex);
    if (unsynced.empty() || unsynced.back() != current) unsynced.push_back(current);
    written_sequence = sequence;
  }
};

SegmentLog::SegmentLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SegmentLog::~SegmentLog() = default;

std::unique_ptr<SegmentLog> SegmentLog::open(std::unique_ptr<Directory> directory,
                                             const SegmentLogOptions& options, const Replay& replay,
                                             SegmentLogRecovery& recovery, Status& error) {
  REPLIKV_ASSERT(options.segment_bytes >= 4096 && options.segment_bytes % 8 == 0,
                 "a segment holds at least 4 KiB, in whole words");
  recovery = {};
  auto impl = std::make_unique<Impl>();
  impl->directory = std::move(directory);
  impl->options = options;
  Directory& dir = *impl->directory;

  std::vector<std::string> names;
  if (error = dir.list(names); !error.is_ok()) return nullptr;
  // A segment still under its temporary name was never finished (a crash while it was made).
  bool removed = false;
  std::vector<uint64_t> numbers;
  for (const auto& name : names) {
    if (name.ends_with(".seg.tmp")) {
      if (error = dir.remove(name); !error.is_ok()) return nullptr;
      removed = true;
    } else if (const auto number = parse_segment_name(name)) {
      numbers.push_back(*number);
    }
  }
  if (removed) {
    if (error = dir.sync(); !error.is_ok()) return nullptr;
  }
  std::sort(numbers.begin(), numbers.end());

  auto log = std::unique_ptr<SegmentLog>(new SegmentLog(std::move(impl)));
  Impl& s = *log->impl_;
  if (numbers.empty()) {
    std::random_device entropy;
    s.salt = (uint64_t{entropy()} << 32) ^ entropy();
    s.current = s.make_segment(1, options.segment_bytes, error);
    if (!s.current) return nullptr;
    s.segments.emplace(1, s.current);
    s.offset = segment_header_bytes;
    recovery.segments = 1;
  } else {
    // Each segment: its header, then its frames in order.
    std::optional<uint64_t> expected;         // the next sequence number (unknown before the first)
    uint64_t tail_segment = numbers.front();  // where the last whole frame ends
    uint64_t tail_offset = segment_header_bytes;
    std::optional<std::string> failure;        // what was wrong, where
    std::optional<std::string> empty_segment;  // a segment with no frame, not the last one
    std::string bytes;
    for (const uint64_t number : numbers) {
      auto file = dir.open(segment_name(number), error);
      if (!file) return nullptr;
      const uint64_t size = file->size();
      if (error = file->read_at(0, size, bytes); !error.is_ok()) return nullptr;
      const std::string where = dir.path(segment_name(number));
      if (bytes.size() < segment_header_bytes || std::memcmp(bytes.data(), kSegmentMagic, 8) != 0 ||
          load_u64(bytes.data() + 8) != number ||
          load_u32(bytes.data() + 60) != crc32c(std::string_view(bytes.data(), 60))) {
        error = Status::error(fmt::format(
            "{}: the segment's header is damaged (segments are synced whole before use): the log "
            "is corrupt; the node will not serve from it",
            where));
        return nullptr;
      }
      const uint64_t salt = load_u64(bytes.data() + 16);
      if (s.segments.empty()) {
        s.salt = salt;
      } else if (salt != s.salt) {
        error = Status::error(fmt::format(
            "{}: the segment belongs to another log (its salt differs from {}'s): the log is "
            "corrupt; the node will not serve from it",
            where, dir.path(segment_name(numbers.front()))));
        return nullptr;
      }
      auto segment = std::make_shared<Segment>(number, size, std::move(file));
      s.segments.emplace(number, segment);
      if (failure) continue;  // kept for the search below; not replayed
      // Past the last byte that is not zero, the segment was never written: its frames end
      // there. Zeros before it are no end: a frame whose first page was lost, with pages after
      // it that were not.
      uint64_t written_end = bytes.size();
      while (written_end > segment_header_bytes && bytes[written_end - 1] == '\0') --written_end;
      uint64_t at = segment_header_bytes;
      if (written_end == segment_header_bytes) {
        // No frame. Fine at the end (segments prepared and not used yet); but a segment is begun
        // by the frame that did not fit the one before, so one with frames after it lost them.
        if (!empty_segment)
          empty_segment = fmt::format("{} (no frame, and later segments have some)", where);
        continue;
      }
      if (empty_segment) {
        failure = *empty_segment;
        continue;
      }
      while (at < written_end) {
        const auto frame = whole_frame(bytes, at, s.salt);
        if (!frame || (expected && frame->sequence != *expected)) {
          failure = fmt::format("{} at offset {}", where, at);
          break;
        }
        replay(frame->sequence,
               std::string_view(bytes.data() + at + frame_header_bytes, frame->length),
               FramePosition{number, at + frame_header_bytes});
        ++recovery.frames;
        recovery.last_sequence = frame->sequence;
        expected = frame->sequence + 1;
        at += frame_header_bytes + align8(frame->length);
        tail_segment = number;
        tail_offset = at;
      }
    }
    // Frames must follow on across segments too: a later segment whose first frame skips a
    // number is caught above (sequence out of turn) and lands here as a failure.
    if (failure) {
      // Torn or corrupt? Corrupt if any whole frame after the failure was written after a sync
      // that covered the frame that failed.
      const uint64_t failed = expected.value_or(1);
      for (auto it = s.segments.find(tail_segment); it != s.segments.end(); ++it) {
        if (error = it->second->read(0, it->second->bytes(), bytes); !error.is_ok()) return nullptr;
        const uint64_t from = it->first == tail_segment ? tail_offset : segment_header_bytes;
        for (uint64_t at = from; at + frame_header_bytes <= bytes.size(); at += 8) {
          if (load_u32(bytes.data() + at) != kFrameMagic) continue;
          const auto frame = whole_frame(bytes, at, s.salt);
          if (frame && frame->synced_through >= failed) {
            error = Status::error(fmt::format(
                "{}: the log is corrupt: frame {} is damaged or missing, but frame {} ({} at "
                "offset {}), written after a sync had made frame {} durable, is whole. The disk "
                "lost or changed data it had confirmed; the node will not serve from it. Keep the "
                "directory for inspection, and give the node a new, empty one: it rejoins as a "
                "non-voter and is re-seeded by a snapshot",
                *failure, failed, frame->sequence, dir.path(segment_name(it->first)), at,
                frame->synced_through));
            return nullptr;
          }
        }
      }
      // A torn tail: cut it. The rest of the tail segment is zeroed; later segments hold only
      // frames no sync covered, and go.
      auto& tail = *s.segments.at(tail_segment);
      if (error = tail.read(0, tail.bytes(), bytes); !error.is_ok()) return nullptr;
      uint64_t last_nonzero = tail_offset;
      for (uint64_t at = tail_offset; at < bytes.size(); ++at) {
        if (bytes[at] != '\0') last_nonzero = at + 1;
      }
      recovery.torn_bytes_cut = last_nonzero - tail_offset;
      recovery.torn_at = *failure;
      for (uint64_t at = tail_offset; at < last_nonzero; at += kZeroChunkBytes) {
        const uint64_t n = std::min<uint64_t>(kZeroChunkBytes, last_nonzero - at);
        if (error = tail.file().write_at(at, std::string(n, '\0')); !error.is_ok()) return nullptr;
      }
      if (error = tail.file().sync(); !error.is_ok()) return nullptr;
      while (s.segments.rbegin()->first > tail_segment) {
        const uint64_t number = s.segments.rbegin()->first;
        if (error = dir.remove(segment_name(number)); !error.is_ok()) return nullptr;
        s.segments.erase(number);
        ++recovery.segments_removed;
      }
      if (recovery.segments_removed > 0) {
        if (error = dir.sync(); !error.is_ok()) return nullptr;
      }
      s.current = s.segments.at(tail_segment);
      s.offset = tail_offset;
    } else {
      // Appends go on after the last frame. Segments after it hold none (prepared and never
      // used): they go, so that no empty segment is ever left between two with frames.
      while (s.segments.rbegin()->first > tail_segment) {
        const uint64_t number = s.segments.rbegin()->first;
        if (error = dir.remove(segment_name(number)); !error.is_ok()) return nullptr;
        s.segments.erase(number);
        removed = true;
      }
      if (removed) {
        if (error = dir.sync(); !error.is_ok()) return nullptr;
      }
      s.current = s.segments.at(tail_segment);
      s.offset = tail_offset;
    }
    // What the scan read may have been in the page cache only (a process killed, not a power
    // loss): synced now, it is durable, and frames written from here on may say so.
    for (auto& [number, segment] : s.segments) {
      if (error = segment->file().sync(); !error.is_ok()) return nullptr;
    }
    recovery.segments = s.segments.size();
  }
  log->sequence_ = recovery.last_sequence;
  s.written_sequence = recovery.last_sequence;
  s.synced_through.store(recovery.last_sequence);
  s.zeros.assign(8, '\0');
  if (options.prepare_in_background) {
    s.preparer = std::thread([&s] { s.prepare_loop(); });
    s.want(s.current->number() + 1);
  }
  error = Status::ok();
  return log;
}

Status SegmentLog::append(std::string& frame, FramePosition& position) {
  // A write that failed may have left part of a frame: nothing goes after it.
  if (failed()) return Status::error("the log failed a write or a sync before: it takes no more");
  Status status = append_frame(frame, position);
  if (!status.is_ok()) impl_->failed.store(true, std::memory_order_relaxed);
  return status;
}

bool SegmentLog::failed() const { return impl_->failed.load(std::memory_order_relaxed); }

Status SegmentLog::append_frame(std::string& frame, FramePosition& position) {
  REPLIKV_ASSERT(frame.size() >= frame_header_bytes, "a frame has room for its header");
  Impl& s = *impl_;
  const uint64_t length = frame.size() - frame_header_bytes;
  REPLIKV_ASSERT(length <= UINT32_MAX, "a frame's payload fits its 32-bit length");
  frame.resize(frame_header_bytes + align8(length), '\0');
  if (s.offset + frame.size() > s.current->bytes()) {
    // A new segment, opened by the owner's frame (its state), then this one.
    std::string opening(frame_header_bytes, '\0');
    if (opening_) opening_(opening);
    const bool has_opening = opening.size() > frame_header_bytes;
    const uint64_t opening_bytes =
        has_opening ? frame_header_bytes + align8(opening.size() - frame_header_bytes) : 0;
    const uint64_t needed = segment_header_bytes + opening_bytes + frame.size();
    Status error = Status::ok();
    std::shared_ptr<Segment> next = s.next_segment(error);
    if (!next) return error;
    if (needed > next->bytes()) {
      // Larger than a segment: one of its own size, in place of the one prepared.
      const uint64_t number = next->number();
      next.reset();
      if (error = s.directory->remove(segment_name(number)); !error.is_ok()) return error;
      next = s.make_segment(number, needed, error);
      if (!next) return error;
    }
    s.segments.emplace(next->number(), next);
    s.current = next;
    s.offset = segment_header_bytes;
    s.want(next->number() + 1);
    if (has_opening) {
      FramePosition ignored;
      if (error = append(opening, ignored); !error.is_ok()) return error;
    }
  }
  const uint64_t sequence = ++sequence_;
  char* header = frame.data();
  store_u32(header, kFrameMagic);
  store_u64(header + 8, sequence);
  store_u64(header + 16, s.synced_through.load(std::memory_order_acquire));
  store_u32(header + 24, static_cast<uint32_t>(length));
  store_u32(header + 28, crc32c(std::string_view(header + frame_header_bytes, length)));
  store_u32(header + 4, header_crc(s.salt, header));
  if (Status error = s.current->file().write_at(s.offset, frame); !error.is_ok()) return error;
  position = {s.current->number(), s.offset + frame_header_bytes};
  s.offset += frame.size();
  s.note_written(sequence);
  ++s.stats.frames_appended;
  s.stats.bytes_appended += frame.size();
  return Status::ok();
}

Status SegmentLog::open_current_segment() {
  Impl& s = *impl_;
  if (s.offset != segment_header_bytes || !opening_) return Status::ok();
  std::string frame(frame_header_bytes, '\0');
  opening_(frame);
  FramePosition ignored;
  if (Status status = append(frame, ignored); !status.is_ok()) return status;
  return sync();
}

Status SegmentLog::sync() {
  Impl& s = *impl_;
  std::lock_guard call(s.sync_call);
  if (!s.sync_failure.is_ok()) return s.sync_failure;
  std::vector<std::shared_ptr<Segment>> segments;
  uint64_t sequence = 0;
  {
    std::lock_guard lock(s.mutex);
    segments.swap(s.unsynced);
    sequence = s.written_sequence;
  }
  for (auto& segment : segments) {
    if (Status error = segment->file().sync(); !error.is_ok()) {
      s.sync_failure = error;
      s.failed.store(true, std::memory_order_relaxed);
      return error;
    }
  }
  if (sequence > s.synced_through.load(std::memory_order_relaxed)) {
    s.synced_through.store(sequence, std::memory_order_release);
  }
  s.syncs.fetch_add(1, std::memory_order_relaxed);
  return Status::ok();
}

uint64_t SegmentLog::synced_through() const {
  return impl_->synced_through.load(std::memory_order_acquire);
}

std::shared_ptr<Segment> SegmentLog::segment(uint64_t number) const {
  const auto it = impl_->segments.find(number);
  return it == impl_->segments.end() ? nullptr : it->second;
}

const Segment* SegmentLog::segment_pointer(uint64_t number) const {
  const auto it = impl_->segments.find(number);
  return it == impl_->segments.end() ? nullptr : it->second.get();
}

uint64_t SegmentLog::current_segment() const { return impl_->current->number(); }

std::map<uint64_t, std::shared_ptr<Segment>> SegmentLog::segments() const {
  return impl_->segments;
}

Status SegmentLog::drop_segments_before(uint64_t number) {
  Impl& s = *impl_;
  number = std::min(number, s.current->number());
  bool removed = false;
  while (!s.segments.empty() && s.segments.begin()->first < number) {
    const uint64_t first = s.segments.begin()->first;
    if (Status error = s.directory->remove(segment_name(first)); !error.is_ok()) return error;
    s.segments.erase(s.segments.begin());
    ++s.stats.segments_removed;
    removed = true;
  }
  // Durable at once: a removal lost to a power loss would bring back a segment whose frames no
  // longer follow on from those before the next one.
  return removed ? s.directory->sync() : Status::ok();
}

SegmentLogStats SegmentLog::stats() const {
  SegmentLogStats stats = impl_->stats;
  stats.syncs = impl_->syncs.load(std::memory_order_relaxed);
  stats.segments_created = impl_->segments_created.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace replikv::storage
