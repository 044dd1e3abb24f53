// The keyspace (core/keyspace.h): checkpoints, dirty records across the cache and the overlay,
// SCAN and KEYS merging them over storage, and the expiry decision.
#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/keyspace.h"
#include "core/leader/raft.h"
#include "storage/memory_engine.h"

namespace replikv::core {
namespace {

// A checkpoint writes each dirty key once, with its last record, and the expiry index's changes in
// order; until then storage has none of it and every read merges it. With the cache on (records
// pinned), tiny and off (the overlay), and a keyspace opened again from what the checkpoint wrote
// answers the same.
class KeyspaceCheckpoint : public ::testing::TestWithParam<uint64_t> {};

TEST_P(KeyspaceCheckpoint, WritesEachDirtyKeyOnceWithItsLastRecord) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, GetParam());
  keyspace.execute(SetRequest{"gone", "x", {}, {}, false}, 100);
  WriteBatch batch;
  keyspace.checkpoint(batch);
  ASSERT_TRUE(engine.write(batch).is_ok());
  batch.clear();
  EXPECT_FALSE(keyspace.dirty());
  EXPECT_EQ(keyspace.checkpoint_index(), LogIndex(1));

  for (int i = 0; i < 10; ++i)
    keyspace.execute(SetRequest{"k", "v" + std::to_string(i), {}, {}, false}, 100);
  keyspace.execute(DelRequest{{"gone"}}, 100);
  keyspace.execute(SetRequest{"t", "a", {Expiry::Kind::absolute_ms, 5000}, {}, false}, 100);
  keyspace.execute(SetRequest{"t", "b", {Expiry::Kind::absolute_ms, 6000}, {}, false}, 100);
  keyspace.execute(SetRequest{"brief", "c", {Expiry::Kind::absolute_ms, 7000}, {}, false}, 100);
  keyspace.execute(DelRequest{{"brief"}}, 100);
  EXPECT_TRUE(keyspace.dirty());
  EXPECT_EQ(keyspace.dirty_records(), 4u);  // k, gone, t, brief
  EXPECT_FALSE(engine.get(Column::data, data_key("k")).has_value())
      << "storage waits for the checkpoint";
  EXPECT_TRUE(engine.get(Column::data, data_key("gone")).has_value());
  EXPECT_EQ(keyspace.execute(GetRequest{"k"}, 100), Reply::bulk("v9"));
  EXPECT_EQ(keyspace.execute(GetRequest{"gone"}, 100), Reply::nil());
  EXPECT_EQ(keyspace.execute(DbSizeRequest{}, 100), Reply::number(2));
  const std::string digest = keyspace.digest();

  keyspace.checkpoint(batch);
  std::map<std::string, int> data_operations;
  for (const auto& operation : batch.operations()) {
    if (operation.column == Column::data)
      ++data_operations[std::string(user_key_of(operation.key))];
  }
  EXPECT_EQ(data_operations,
            (std::map<std::string, int>{{"brief", 1}, {"gone", 1}, {"k", 1}, {"t", 1}}));
  ASSERT_TRUE(engine.write(batch).is_ok());
  EXPECT_FALSE(keyspace.dirty());
  EXPECT_EQ(keyspace.digest(), digest) << "the state served did not change";
  std::vector<std::string> expiry_index;
  engine.scan(Column::expiry, {}, [&](std::string_view key, std::string_view) {
    expiry_index.emplace_back(key);
    return true;
  });
  EXPECT_EQ(expiry_index, std::vector<std::string>{expiry_key(6000, "t")});

  Keyspace reopened(engine, GetParam());
  EXPECT_EQ(reopened.digest(), digest);
  EXPECT_EQ(reopened.checkpoint_index(), keyspace.checkpoint_index());
  EXPECT_EQ(reopened.execute(GetRequest{"k"}, 100), Reply::bulk("v9"));
  EXPECT_EQ(reopened.execute(TtlRequest{"t", true}, 1000), Reply::number(5000));
  EXPECT_EQ(reopened.key_count(), 2u);
  EXPECT_EQ(reopened.expiry_count(), 1u);
}

// SCAN and KEYS merge the dirty keys over storage through an index built by the first of them
// after a checkpoint and kept up to date by later writes. Against a model: random SETs and DELs
// over 300 keys (some values larger than the tiny cache), checkpoints now and then, and full SCANs
// (random COUNT) whose pages have writes between them — every key present from the scan's start to
// its end is returned, none that was never present; KEYS * answers exactly the model.
TEST_P(KeyspaceCheckpoint, ScanAndKeysSeeDirtyKeysAcrossWritesAndCheckpoints) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, GetParam());
  std::mt19937_64 random(7);
  std::set<std::string> model;
  std::set<std::string> deleted;  // during the scan under way
  auto key = [&] { return "key" + std::to_string(random() % 300); };
  auto write = [&] {
    const std::string k = key();
    if (random() % 3 == 0) {
      keyspace.execute(DelRequest{{k}}, 100);
      model.erase(k);
      deleted.insert(k);
    } else {
      // Now and then a value larger than the tiny cache: the key moves between pinned and overlay.
      keyspace.execute(
          SetRequest{k, random() % 10 == 0 ? std::string(500, 'x') : "v", {}, {}, false}, 100);
      model.insert(k);
    }
  };
  // A checkpoint begins now and then, and is written to storage some writes and pages later
  // (as a driver writing it off the loop does): meanwhile reads merge three layers.
  std::optional<WriteBatch> in_flight;
  auto maybe_checkpoint = [&] {
    if (in_flight) {
      if (random() % 3 != 0) return;
      ASSERT_TRUE(engine.write(*in_flight).is_ok());
      keyspace.end_checkpoint();
      in_flight.reset();
      return;
    }
    if (random() % 8 != 0) return;
    in_flight.emplace();
    keyspace.begin_checkpoint(*in_flight);
    ASSERT_EQ(keyspace.checkpoint_in_flight(), !in_flight->empty());
  };
  for (int round = 0; round < 60; ++round) {
    for (int i = 0; i < 40; ++i) write();
    maybe_checkpoint();
    const std::set<std::string> at_start = model;
    std::set<std::string> ever = model;
    deleted.clear();
    std::set<std::string> returned;
    uint64_t cursor = 0;
    int pages = 0;
    do {
      const Reply page =
          keyspace.execute(ScanRequest{cursor, {}, 1 + random() % 20, std::nullopt, false}, 100);
      ASSERT_EQ(page.elements.size(), 2u);
      cursor = std::stoull(page.elements[0].text);
      for (const Reply& k : page.elements[1].elements) returned.insert(k.text);
      for (int i = 0; i < 3; ++i) {
        write();
        ever.insert(model.begin(), model.end());
      }
      maybe_checkpoint();
      ASSERT_LT(++pages, 10000);
    } while (cursor != 0);
    std::set<std::string> kept;  // present from the scan's start to its end: owed
    std::set_difference(at_start.begin(), at_start.end(), deleted.begin(), deleted.end(),
                        std::inserter(kept, kept.end()));
    for (const std::string& k : returned) EXPECT_TRUE(ever.count(k)) << k << " was never present";
    std::vector<std::string> missing;
    std::set_difference(kept.begin(), kept.end(), returned.begin(), returned.end(),
                        std::back_inserter(missing));
    for (const std::string& k : missing)
      ADD_FAILURE() << "round " << round << ": " << k << " missing from SCAN";
    std::set<std::string> all;
    for (const Reply& k : keyspace.execute(KeysRequest{"*"}, 100).elements) all.insert(k.text);
    EXPECT_EQ(all, model) << "round " << round;
  }
}

// A checkpoint written later than it began (off the loop): its records stay visible until the
// driver reports it written, whatever the cache evicts meanwhile; the writes after it are dirty for
// the next one, which writes only them; a key rewritten meanwhile keeps its latest record.
TEST_P(KeyspaceCheckpoint, RecordsInFlightStayVisibleUntilWritten) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, GetParam());
  for (int i = 0; i < 20; ++i)
    keyspace.execute(SetRequest{"a" + std::to_string(i), "first", {}, {}, false}, 100);
  keyspace.execute(SetRequest{"big", std::string(1000, 'b'), {}, {}, false},
                   100);  // larger than the tiny cache
  keyspace.execute(SetRequest{"t", "x", {Expiry::Kind::absolute_ms, 9000}, {}, false}, 100);
  WriteBatch first;
  keyspace.begin_checkpoint(first);
  ASSERT_TRUE(keyspace.checkpoint_in_flight());
  EXPECT_FALSE(keyspace.dirty());
  EXPECT_EQ(keyspace.checkpoint_index(), LogIndex()) << "not until it is written";

  keyspace.execute(SetRequest{"a0", "second", {}, {}, false}, 100);
  keyspace.execute(DelRequest{{"a1"}}, 100);
  keyspace.execute(SetRequest{"big", std::string(900, 'c'), {}, {}, false}, 100);
  keyspace.execute(SetRequest{"new", "n", {}, {}, false}, 100);
  // Reads of keys storage lacks, enough to make the tiny cache evict what it may.
  for (int i = 0; i < 50; ++i) keyspace.execute(GetRequest{"absent" + std::to_string(i)}, 100);
  EXPECT_EQ(keyspace.dirty_records(), 4u);
  EXPECT_EQ(keyspace.execute(GetRequest{"a0"}, 100), Reply::bulk("second"));
  EXPECT_EQ(keyspace.execute(GetRequest{"a1"}, 100), Reply::nil());
  EXPECT_EQ(keyspace.execute(GetRequest{"a2"}, 100), Reply::bulk("first"))
      << "frozen, not yet in storage";
  EXPECT_EQ(keyspace.execute(GetRequest{"big"}, 100), Reply::bulk(std::string(900, 'c')));
  EXPECT_EQ(keyspace.execute(TtlRequest{"t", true}, 1000), Reply::number(8000));
  EXPECT_EQ(keyspace.execute(DbSizeRequest{}, 100), Reply::number(22));
  EXPECT_EQ(keyspace.execute(KeysRequest{"*"}, 100).elements.size(), 22u);
  const std::string digest = keyspace.digest();

  // The first checkpoint holds the records as they were when it began.
  std::map<std::string, std::string> frozen;
  for (const auto& operation : first.operations()) {
    if (operation.column == Column::data)
      frozen[std::string(user_key_of(operation.key))] = operation.value;
  }
  EXPECT_EQ(frozen.size(), 22u);
  EXPECT_EQ(decode_value(frozen.at("a0"))->value, "first");
  EXPECT_EQ(decode_value(frozen.at("big"))->value, std::string(1000, 'b'));
  EXPECT_FALSE(frozen.contains("new"));

  ASSERT_TRUE(engine.write(first).is_ok());
  keyspace.end_checkpoint();
  EXPECT_FALSE(keyspace.checkpoint_in_flight());
  EXPECT_EQ(keyspace.checkpoint_index(), LogIndex(22));
  EXPECT_EQ(keyspace.digest(), digest);
  EXPECT_EQ(keyspace.execute(GetRequest{"a0"}, 100), Reply::bulk("second"))
      << "written again since: still dirty";
  EXPECT_EQ(keyspace.execute(GetRequest{"big"}, 100), Reply::bulk(std::string(900, 'c')));
  EXPECT_EQ(keyspace.dirty_records(), 4u);

  WriteBatch second;
  keyspace.checkpoint(second);
  std::set<std::string> written;
  for (const auto& operation : second.operations()) {
    if (operation.column == Column::data) written.insert(std::string(user_key_of(operation.key)));
  }
  EXPECT_EQ(written, (std::set<std::string>{"a0", "a1", "big", "new"}));
  ASSERT_TRUE(engine.write(second).is_ok());
  Keyspace reopened(engine, GetParam());
  EXPECT_EQ(reopened.digest(), digest);
}

INSTANTIATE_TEST_SUITE_P(CacheOffTinyRoomy, KeyspaceCheckpoint,
                         ::testing::Values(uint64_t{0}, 3 * RecordCache::entry_overhead_bytes,
                                           uint64_t{1} << 20));

// A strategy's per-value metadata rides with the record: through the dirty state, a checkpoint
// and a keyspace opened again; it is part of the digest; a write without it leaves none.
TEST_P(KeyspaceCheckpoint, MetadataTravelsWithItsRecord) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, GetParam());
  keyspace.execute(SetRequest{"k", "v", {}, {}, false}, 100, "context-1");
  keyspace.execute(SetRequest{"plain", "v", {}, {}, false}, 100);
  EXPECT_EQ(keyspace.metadata("k", 100), "context-1");
  EXPECT_EQ(keyspace.metadata("plain", 100), "");
  EXPECT_EQ(keyspace.metadata("absent", 100), std::nullopt);
  EXPECT_EQ(keyspace.execute(GetRequest{"k"}, 100), Reply::bulk("v"));

  storage::MemoryEngine bare;
  Keyspace without(bare, GetParam());
  without.execute(SetRequest{"k", "v", {}, {}, false}, 100);
  without.execute(SetRequest{"plain", "v", {}, {}, false}, 100);
  EXPECT_NE(keyspace.digest(), without.digest()) << "metadata is part of the state";
  const std::string digest = keyspace.digest();

  WriteBatch batch;
  keyspace.checkpoint(batch);
  ASSERT_TRUE(engine.write(batch).is_ok());
  EXPECT_EQ(decode_value(*engine.get(Column::data, data_key("k")))->metadata, "context-1");
  const std::string plain_bytes = *engine.get(Column::data, data_key("plain"));
  const auto plain = decode_value(plain_bytes);  // (views into plain_bytes)
  EXPECT_TRUE(plain->metadata.empty()) << "a record without metadata is stored without any";
  EXPECT_EQ(plain->value, "v");
  Keyspace reopened(engine, GetParam());
  EXPECT_EQ(reopened.metadata("k", 100), "context-1");
  EXPECT_EQ(reopened.digest(), digest);

  // A write with metadata replaces it; one without keeps it (an EXPIRE, an INCRBY); a delete
  // drops it with the record.
  reopened.execute(SetRequest{"k", "w", {}, {}, false}, 100, "context-2");
  EXPECT_EQ(reopened.metadata("k", 100), "context-2");
  reopened.execute(SetRequest{"k", "x", {}, {}, false}, 100);
  EXPECT_EQ(reopened.metadata("k", 100), "context-2");
  reopened.execute(ExpireRequest{"k", Expiry{Expiry::Kind::absolute_ms, 9000}}, 100);
  EXPECT_EQ(reopened.metadata("k", 100), "context-2");
  reopened.execute(DelRequest{{"k"}}, 100);
  EXPECT_EQ(reopened.metadata("k", 100), std::nullopt);
  reopened.execute(SetRequest{"k", "y", {}, {}, false}, 100);
  EXPECT_EQ(reopened.metadata("k", 100), "");
}

// A strategy that writes records itself (put, remove — multi-leader applying its peers' writes)
// moves the key and expiry counts as execute() does, and a checkpoint writes them: a keyspace
// opened again from storage counts what storage holds. (Found by the simulator: a node that had
// applied only its peers' writes since its last checkpoint of counts came back with too few keys
// and counted below zero at the next DEL.)
TEST(Keyspace, CountsWrittenByPutAndRemoveSurviveAReopen) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 0);
  WriteBatch batch;
  keyspace.put("a", "1", std::nullopt, "meta");
  keyspace.put("b", "2", TimeMs{9000}, "meta");
  keyspace.put("c", "3", std::nullopt, "meta");
  keyspace.remove("c");
  keyspace.checkpoint(batch);
  ASSERT_TRUE(engine.write(batch).is_ok());
  Keyspace reopened(engine, 0);
  ReplicaStatus status;
  reopened.describe(status);
  EXPECT_EQ(status.key_count, 2u);
  EXPECT_EQ(reopened.execute(DelRequest{{"a", "b"}}, 100), Reply::number(2));
}

TEST(Keyspace, AnExpiryDecisionKeepsAKeyRewrittenSince) {
  storage::MemoryEngine engine;
  Keyspace keyspace(engine, 0);
  WriteBatch batch;
  keyspace.execute(SetRequest{"k", "old", {Expiry::Kind::absolute_ms, 1000}, {}, false}, 500);
  keyspace.checkpoint(batch);
  ASSERT_TRUE(engine.write(batch).is_ok());
  batch.clear();
  const auto due = keyspace.due_keys(2000, 10);
  ASSERT_EQ(due, std::vector<std::string>{"k"});
  // Rewritten without a time to live before the decision is applied: it stays.
  keyspace.execute(SetRequest{"k", "new", {}, {}, false}, 1500);
  EXPECT_EQ(keyspace.expire_keys(due, 2000), 0u);
  EXPECT_EQ(keyspace.execute(GetRequest{"k"}, 2000), Reply::bulk("new"));
}

}  // namespace
}  // namespace replikv::core
