// SegmentLog: an append-only stream of checksummed frames in fixed-size segment files.
//
// The node's replication log and the records written with it live here (storage/log_store.h
// gives the frames their meaning); this file only keeps bytes safe. It follows etcd's WAL and
// TiKV's raft-engine: data that is only appended, read back in order and dropped from the front
// needs no ordered index on disk — one write per batch and one fdatasync per group commit.
//
// On disk
// - `<dir>/<number, 20 digits>.seg`: segment files, each `segment_bytes` long, zero-filled (or
//   allocated: SegmentLogOptions::zero_fill) and synced *before* use (prepared ahead, by a thread
//   of their own), so a sync during use never writes the file's size. A segment is made under a
//   temporary name, synced, renamed, and the directory synced: a segment either exists whole or
//   not at all.
// - A segment opens with a 64-byte header: magic, its number, and the log's salt (random, chosen
//   when the log was created), under a CRC.
// - Then frames, each starting at a multiple of 8:
//
//     magic u32 | header crc u32 | sequence u64 | synced through u64 | length u32 | payload crc u32
//     payload (length bytes), zero padding to a multiple of 8
//
//   All little-endian. The header's CRC-32C covers the salt and the header's last 24 bytes; the
//   payload's covers the payload. Sequence numbers count frames from 1 without a gap. "Synced
//   through" is the highest sequence number a completed sync had made durable when the frame was
//   written. A frame that does not fit the rest of a segment goes to the next one (a frame larger
//   than a segment gets a segment of its own size).
//
// Recovery (open)
// A scan reads the frames in order and hands each whole one to `replay`. It stops at the end of
// the written frames (zeros) or at the first frame that is not whole — bad magic, bad CRC, a
// sequence number out of turn. What follows decides what that means:
// - Some later frame, whole, says it was written after a sync that covered the failed one
//   (its "synced through" reaches the failed sequence number): the failed frame had been
//   synced, so the disk lost or changed durable data. That is corruption: open fails and says
//   where, and the node does not serve from the log.
// - Otherwise the failure lies among frames written since the last sync: a power loss can leave
//   any of their pages written, lost or torn, in any order (etcd#5230, #11488). That is a torn
//   tail: everything from the failure on is cut (zeroed and synced; later segments removed) and
//   counted. None of it was acknowledged as durable, since nothing had synced it.
// The salt keeps bytes of a user's value from ever passing for a frame: without it they cannot
// carry a valid header CRC.
//
// Thread-safety: one thread (the owner) appends, reads and drops segments; sync() may run on any
// other thread at the same time, and two sync() calls may overlap (they are serialized). The
// thread that prepares segments is internal.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "storage/engine.h"
#include "storage/files.h"

namespace replikv::storage {

struct SegmentLogOptions {
  uint64_t segment_bytes = 64ull << 20;
  // How a segment's blocks are made before use. Zero-filled (written with zeros and synced): a
  // sync during use writes data only — what a node syncing every batch (fsync "always") wants,
  // at the price of writing every byte twice. Otherwise allocated (fallocate): nothing written
  // twice, but the first sync after a write into a block also commits the file system's journal
  // (the block turns from unwritten to written) — cheap for a node that syncs once a second or
  // never. Both read as zeros where nothing was written, so recovery is the same.
  bool zero_fill = true;
  // Prepare the next segment on a thread of its own (the runtime); false prepares it on the
  // appending thread when it is needed (tests, the simulator: deterministic, single-threaded).
  bool prepare_in_background = true;
};

// One segment file, readable while anyone holds it — after it was dropped from the log too.
class Segment {
 public:
  Segment(uint64_t number, uint64_t bytes, std::unique_ptr<File> file)
      : number_(number), bytes_(bytes), file_(std::move(file)) {}
  uint64_t number() const { return number_; }
  uint64_t bytes() const { return bytes_; }
  Status read(uint64_t offset, size_t length, std::string& out) const {
    return file_->read_at(offset, length, out);
  }
  File& file() { return *file_; }

 private:
  uint64_t number_;
  uint64_t bytes_;
  std::unique_ptr<File> file_;
};

// Where a frame's payload lies.
struct FramePosition {
  uint64_t segment = 0;
  uint64_t offset = 0;  // of the payload's first byte
};

struct SegmentLogRecovery {
  uint64_t frames = 0;            // whole frames replayed
  uint64_t last_sequence = 0;     // the last of them (0: none)
  uint64_t segments = 0;          // segment files kept
  uint64_t torn_bytes_cut = 0;    // bytes from a torn tail, zeroed (0: the tail was whole)
  uint64_t segments_removed = 0;  // later segments holding only unsynced frames, removed
  std::string torn_at;            // where the torn tail began, for the log ("" when none)
};

struct SegmentLogStats {
  uint64_t frames_appended = 0;
  uint64_t bytes_appended = 0;  // frames, headers and padding included
  uint64_t syncs = 0;
  uint64_t segments_created = 0;
  uint64_t segments_removed = 0;
  uint64_t rollover_waits = 0;  // appends that waited for the next segment to be prepared
};

class SegmentLog {
 public:
  static constexpr size_t frame_header_bytes = 32;
  static constexpr size_t segment_header_bytes = 64;

  // Called with each whole frame at open, in order.
  using Replay =
      std::function<void(uint64_t sequence, std::string_view payload, const FramePosition&)>;
  // Called when a frame is about to start a new segment: may fill `frame` (after its first
  // frame_header_bytes) with a payload to open the segment with, written first. The log store
  // writes its state there, so that older segments can be dropped.
  using Opening = std::function<void(std::string& frame)>;

  // Opens the log in `directory` (creating it when empty), replaying every whole frame. On
  // corruption, or a failing file system, returns nullptr with `error` saying where.
  static std::unique_ptr<SegmentLog> open(std::unique_ptr<Directory> directory,
                                          const SegmentLogOptions& options, const Replay& replay,
                                          SegmentLogRecovery& recovery, Status& error);
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  void set_opening(Opening opening) { opening_ = std::move(opening); }
  // When the current segment holds no frame yet (a segment prepared before a restart and found
  // empty), writes the opening frame into it and syncs it: every segment that may come to be
  // the first one kept then begins with one. Called once, after set_opening().
  Status open_current_segment();

  // Appends one frame: `frame` holds frame_header_bytes of room, then the payload. The header
  // and padding are written into it. The frame is written at once (visible to reads, in the page
  // cache), durable after the next sync(). `position` says where its payload went.
  Status append(std::string& frame, FramePosition& position);
  // Makes every frame appended before the call durable. Once one failed, every later one fails
  // (pages the kernel could not write may be dropped and marked clean), and so does every append.
  Status sync();
  // A write or a sync failed: the log takes nothing more.
  bool failed() const;
  // The highest sequence number a completed sync made durable.
  uint64_t synced_through() const;
  uint64_t last_sequence() const { return sequence_; }

  // The segment `number`, or nullptr. Holding it keeps it readable after it is dropped.
  std::shared_ptr<Segment> segment(uint64_t number) const;
  // The same, without taking a share of it: valid until the segment is dropped (the owner's
  // reads).
  const Segment* segment_pointer(uint64_t number) const;
  // Every segment, by number (a frozen view keeps them readable).
  std::map<uint64_t, std::shared_ptr<Segment>> segments() const;
  // The segment frames are appended to now.
  uint64_t current_segment() const;
  // Removes every segment numbered below `number` (never the current one).
  Status drop_segments_before(uint64_t number);

  SegmentLogStats stats() const;

 private:
  struct Impl;
  explicit SegmentLog(std::unique_ptr<Impl> impl);
  Status append_frame(std::string& frame, FramePosition& position);
  std::unique_ptr<Impl> impl_;
  Opening opening_;
  uint64_t sequence_ = 0;
};

}  // namespace replikv::storage
