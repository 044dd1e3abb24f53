// The frames' payloads (storage/log_records.h): a batch's operations come back as written, runs
// of log entries included; frames written before runs existed still decode; a damaged run is
// refused, never read past its end.
#include "storage/log_records.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/encoding.h"

namespace replikv::storage {
namespace {

using core::Column;
using Kind = core::WriteBatch::Operation::Kind;

struct Decoded {
  Kind kind;
  Column column;
  std::string key;
  std::string value;  // the prefix put back
};

std::vector<Decoded> decode(std::string_view payload, bool& ok) {
  std::vector<Decoded> out;
  ok = decode_batch(payload, [&](const DecodedOperation& op) {
    out.push_back(
        {op.kind, op.column, std::string(op.key), std::string(op.prefix) + std::string(op.value)});
  });
  return out;
}

std::string encode(const core::WriteBatch& batch) {
  std::string payload;
  encode_batch(batch, payload, [](size_t, size_t, size_t) {});
  return payload;
}

TEST(LogRecords, ABatchWithRunsDecodesToItsOperations) {
  core::WriteBatch batch;
  batch.put(Column::meta, "raft_term", "7");
  for (uint64_t i = 10; i < 15; ++i) {  // a run with a shared prefix
    batch.put(Column::log, core::u64_be(i), core::u64_be(7) + "entry " + std::to_string(i));
  }
  batch.put(Column::log, core::u64_be(20), "short");  // not consecutive: a put of its own
  batch.put(Column::log, core::u64_be(30), "x");      // a run without a prefix (values too short)
  batch.put(Column::log, core::u64_be(31), "y");
  batch.erase_range(Column::log, core::u64_be(1), core::u64_be(5));
  std::vector<size_t> elided;
  std::string payload;
  encode_batch(batch, payload, [&](size_t, size_t, size_t bytes) { elided.push_back(bytes); });
  EXPECT_EQ(elided, (std::vector<size_t>{0, 8, 8, 8, 8, 8, 0, 0, 0}));
  bool ok = false;
  const auto decoded = decode(payload, ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(decoded.size(), batch.operations().size());
  for (size_t i = 0; i < decoded.size(); ++i) {
    const auto& op = batch.operations()[i];
    EXPECT_EQ(decoded[i].kind, op.kind) << i;
    EXPECT_EQ(decoded[i].column, op.column) << i;
    EXPECT_EQ(decoded[i].key, op.key) << i;
    EXPECT_EQ(decoded[i].value, op.value) << i;
  }
}

// A frame as binaries before runs wrote it: every entry a put of its own.
TEST(LogRecords, AFrameOfPutsOnlyStillDecodes) {
  std::string payload(1, '\x01');
  for (uint64_t i = 1; i <= 2; ++i) {
    payload += '\x01';  // put
    payload += static_cast<char>(Column::log);
    payload += '\x08';
    payload += core::u64_be(i);
    payload += '\x03';
    payload += "abc";
  }
  bool ok = false;
  const auto decoded = decode(payload, ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[1].key, core::u64_be(2));
  EXPECT_EQ(decoded[1].value, "abc");
}

TEST(LogRecords, ADamagedRunIsRefused) {
  core::WriteBatch batch;
  for (uint64_t i = 1; i <= 3; ++i) batch.put(Column::log, core::u64_be(i), core::u64_be(1) + "v");
  const std::string good = encode(batch);
  bool ok = false;
  decode(good, ok);
  ASSERT_TRUE(ok);
  // [0] batch, [1] run, [2] first index, [3] count, [4] prefix length, then the prefix.
  ASSERT_EQ(good[1], '\x05');
  ASSERT_EQ(good[3], '\x03');
  ASSERT_EQ(good[4], '\x08');
  auto damaged = [&](size_t at, char byte) {
    std::string payload = good;
    payload[at] = byte;
    return payload;
  };
  decode(damaged(3, '\x01'), ok);  // a run of one: never written
  EXPECT_FALSE(ok);
  decode(damaged(3, '\x7f'), ok);  // more entries than bytes
  EXPECT_FALSE(ok);
  decode(damaged(4, '\x03'), ok);  // a prefix of another length
  EXPECT_FALSE(ok);
  for (size_t cut = 2; cut < good.size(); ++cut) {
    decode(std::string_view(good).substr(0, cut), ok);
    EXPECT_FALSE(ok) << "cut at " << cut;
  }
  // A first index whose run would pass the last index there is.
  std::string overflow(1, '\x01');
  overflow += "\x05";
  overflow += std::string(9, '\xff') + '\x01';  // varint 2^64 - 1
  overflow += "\x02\x00\x01x\x01y";
  decode(overflow, ok);
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace replikv::storage
