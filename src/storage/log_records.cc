#include "storage/log_records.h"

#include "core/encoding.h"

namespace replikv::storage {
namespace {

using Kind = core::WriteBatch::Operation::Kind;

void append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool read_varint(std::string_view bytes, size_t& at, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && at < bytes.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool read_bytes(std::string_view bytes, size_t& at, std::string_view& out) {
  uint64_t length = 0;
  if (!read_varint(bytes, at, length) || length > bytes.size() - at) return false;
  out = bytes.substr(at, length);
  at += length;
  return true;
}

bool has_value(Kind kind) { return kind == Kind::put || kind == Kind::erase_range; }

constexpr char run_code = 5;

bool is_log_entry(const core::WriteBatch::Operation& op) {
  return op.kind == Kind::put && op.column == core::Column::log && op.key.size() == 8;
}

// How many operations from `first` on put consecutive log entries (0 if `first` is no entry).
size_t run_length(const std::vector<core::WriteBatch::Operation>& operations, size_t first) {
  if (!is_log_entry(operations[first])) return 0;
  const uint64_t index = core::read_u64_be(operations[first].key);
  size_t end = first + 1;
  while (end < operations.size() && is_log_entry(operations[end]) &&
         core::read_u64_be(operations[end].key) == index + (end - first)) {
    ++end;
  }
  return end - first;
}

// Whether every value of the run begins with the same run_prefix_bytes.
bool shares_prefix(const std::vector<core::WriteBatch::Operation>& operations, size_t first,
                   size_t count) {
  const std::string_view prefix = operations[first].value;
  if (prefix.size() < run_prefix_bytes) return false;
  for (size_t i = first + 1; i < first + count; ++i) {
    const std::string_view value = operations[i].value;
    if (value.size() < run_prefix_bytes ||
        value.compare(0, run_prefix_bytes, prefix.substr(0, run_prefix_bytes)) != 0) {
      return false;
    }
  }
  return true;
}

uint8_t kind_code(Kind kind) {
  switch (kind) {
    case Kind::put:
      return 1;
    case Kind::erase:
      return 2;
    case Kind::erase_range:
      return 3;
    case Kind::erase_to_end:
      return 4;
  }
  return 0;
}

// An operation's value: its length, then its bytes, where `op` records them.
bool read_value(std::string_view payload, size_t& at, DecodedOperation& op) {
  uint64_t length = 0;
  if (!read_varint(payload, at, length) || length > payload.size() - at) return false;
  op.value_offset = at;
  op.value = payload.substr(at, length);
  at += length;
  return true;
}

// A run's entries, each handed on as a put of its own (`at` is past the run's code).
bool decode_run(std::string_view payload, size_t& at,
                const std::function<void(const DecodedOperation&)>& operation) {
  uint64_t first = 0, count = 0;
  if (!read_varint(payload, at, first) || !read_varint(payload, at, count)) return false;
  // Each entry takes a byte at least: a count past the payload is damage, not a run.
  if (count < 2 || count > payload.size() - at || first > UINT64_MAX - count) return false;
  if (at >= payload.size()) return false;
  const auto elided = static_cast<unsigned char>(payload[at++]);
  if ((elided != 0 && elided != run_prefix_bytes) || elided > payload.size() - at) return false;
  DecodedOperation op{};
  op.kind = Kind::put;
  op.column = core::Column::log;
  op.prefix = payload.substr(at, elided);
  at += elided;
  char key[8];
  op.key = std::string_view(key, sizeof key);
  for (uint64_t i = 0; i < count; ++i) {
    core::store_u64_be(key, first + i);
    if (!read_value(payload, at, op)) return false;
    operation(op);
  }
  return true;
}

}  // namespace

void encode_batch(
    const core::WriteBatch& batch, std::string& out,
    const std::function<void(size_t operation, size_t offset, size_t elided)>& value_at) {
  const size_t payload_start = out.size();
  out.reserve(out.size() + 1 + batch.bytes() + batch.size() * 8);
  out.push_back(static_cast<char>(FrameKind::batch));
  const auto& operations = batch.operations();
  for (size_t i = 0; i < operations.size(); ++i) {
    if (const size_t count = run_length(operations, i); count >= 2) {
      out.push_back(run_code);
      append_varint(out, core::read_u64_be(operations[i].key));
      append_varint(out, count);
      const size_t elided = shares_prefix(operations, i, count) ? run_prefix_bytes : 0;
      out.push_back(static_cast<char>(elided));
      out.append(operations[i].value, 0, elided);
      for (size_t entry = i; entry < i + count; ++entry) {
        const std::string_view value = std::string_view(operations[entry].value).substr(elided);
        append_varint(out, value.size());
        value_at(entry, out.size() - payload_start, elided);
        out.append(value);
      }
      i += count - 1;
      continue;
    }
    const auto& op = operations[i];
    out.push_back(static_cast<char>(kind_code(op.kind)));
    out.push_back(static_cast<char>(op.column));
    append_varint(out, op.key.size());
    out.append(op.key);
    if (has_value(op.kind)) {
      append_varint(out, op.value.size());
      if (op.kind == Kind::put) value_at(i, out.size() - payload_start, 0);
      out.append(op.value);
    }
  }
}

void encode_closed(std::string& out) { out.push_back(static_cast<char>(FrameKind::closed)); }

bool is_closed(std::string_view payload) {
  return payload.size() == 1 && payload[0] == static_cast<char>(FrameKind::closed);
}

void encode_opening(uint64_t first_index, uint64_t last_index, const MetaRecords& meta,
                    std::string& out) {
  out.push_back(static_cast<char>(FrameKind::opening));
  core::append_u64_be(out, first_index);
  core::append_u64_be(out, last_index);
  for (const auto& [key, value] : meta) {
    append_varint(out, key.size());
    out.append(key);
    append_varint(out, value.size());
    out.append(value);
  }
}

bool decode_batch(std::string_view payload,
                  const std::function<void(const DecodedOperation&)>& operation) {
  if (payload.empty() || payload[0] != static_cast<char>(FrameKind::batch)) return false;
  size_t at = 1;
  while (at < payload.size()) {
    if (payload[at] == run_code) {
      ++at;
      if (!decode_run(payload, at, operation)) return false;
      continue;
    }
    if (payload.size() - at < 2) return false;
    DecodedOperation op{};
    switch (payload[at]) {
      case 1:
        op.kind = Kind::put;
        break;
      case 2:
        op.kind = Kind::erase;
        break;
      case 3:
        op.kind = Kind::erase_range;
        break;
      case 4:
        op.kind = Kind::erase_to_end;
        break;
      default:
        return false;
    }
    const auto column = static_cast<unsigned char>(payload[at + 1]);
    if (column >= core::column_count) return false;
    op.column = static_cast<core::Column>(column);
    at += 2;
    if (!read_bytes(payload, at, op.key)) return false;
    if (has_value(op.kind) && !read_value(payload, at, op)) return false;
    operation(op);
  }
  return true;
}

bool decode_opening(std::string_view payload, uint64_t& first_index, uint64_t& last_index,
                    MetaRecords& meta) {
  if (payload.size() < 17 || payload[0] != static_cast<char>(FrameKind::opening)) return false;
  first_index = core::read_u64_be(payload.substr(1));
  last_index = core::read_u64_be(payload.substr(9));
  meta.clear();
  size_t at = 17;
  while (at < payload.size()) {
    std::string_view key, value;
    if (!read_bytes(payload, at, key) || !read_bytes(payload, at, value)) return false;
    meta.emplace(std::string(key), std::string(value));
  }
  return true;
}

}  // namespace replikv::storage
