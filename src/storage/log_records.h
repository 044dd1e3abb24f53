// What the segmented log's frames say (the byte layout, written once, here).
//
// A frame's payload (storage/segment_log.h keeps the bytes safe) is one of:
//
//   batch:    0x01, then each operation of one WriteBatch, in order:
//               kind u8 (put 1, erase 2, erase_range 3, erase_to_end 4), column u8,
//               key length varint, key, and for put and erase_range: value length varint, value
//             or, for two or more consecutive puts of log entries (8-byte big-endian keys, each
//             one past the one before), one run:
//               5, first index varint, count varint, prefix length u8 (0 or 8), the prefix,
//               then per entry: length varint, the value without the prefix
//             The prefix is the first 8 bytes every value of the run begins with, when they all
//             do (a replicated log's records begin with their term: once per run, not per entry).
//   opening:  0x02, first log index u64 (big-endian), last log index u64, then every meta record:
//               key length varint, key, value length varint, value
//   closed:   0x03 alone: the engine was closed cleanly after this log's last sync. Written after
//             that sync, so it says the frames before it were durable: damage to them found at the
//             next start is corruption, not a torn tail (storage/segment_log.h).
//
// A batch frame holds every operation of the batch, whatever its column: the frame is the
// batch's record in the node's one write-ahead log, so a batch that writes the log and the
// replicated state is all there or not at all (storage/segmented_engine.h). An opening frame
// begins every segment with the log's bounds and meta records as they were, so segments before it
// can be dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/storage.h"

namespace replikv::storage {

enum class FrameKind : uint8_t { batch = 1, opening = 2, closed = 3 };

// A run's values share a prefix of this many bytes, or none.
inline constexpr size_t run_prefix_bytes = 8;

// Appends the batch frame of `batch` to `out` (after whatever `out` holds: the frame header's
// room). `value_at(i, offset, elided)` is told where in the payload the value of put i lies, so a
// log entry's bytes can later be read in place: its first `elided` bytes (0, or
// run_prefix_bytes in a run with a prefix) are not there, the rest begins at `offset`.
void encode_batch(
    const core::WriteBatch& batch, std::string& out,
    const std::function<void(size_t operation, size_t offset, size_t elided)>& value_at);

// Appends a closing frame's payload to `out`.
void encode_closed(std::string& out);
bool is_closed(std::string_view payload);

using MetaRecords = std::map<std::string, std::string, std::less<>>;
void encode_opening(uint64_t first_index, uint64_t last_index, const MetaRecords& meta,
                    std::string& out);

struct DecodedOperation {
  core::WriteBatch::Operation::Kind kind;
  core::Column column;
  std::string_view key;
  std::string_view value;   // without `prefix`, in a run whose values share one
  size_t value_offset = 0;  // in the payload
  std::string_view prefix;  // the value's first bytes, stored once for its run
};

// Decodes a payload, each entry of a run as a put of its own; false if it is malformed (it passed
// its CRC, so this is a bug or a frame of a version this one does not know: the caller refuses to
// start).
bool decode_batch(std::string_view payload,
                  const std::function<void(const DecodedOperation&)>& operation);
bool decode_opening(std::string_view payload, uint64_t& first_index, uint64_t& last_index,
                    MetaRecords& meta);

}  // namespace replikv::storage
