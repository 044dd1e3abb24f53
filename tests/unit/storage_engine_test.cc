// One suite, run against every engine: what core/storage.h and storage/engine.h promise.
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "storage/memory_engine.h"
#include "storage/rocksdb_engine.h"
#include "storage/segmented_engine.h"

namespace replikv::storage {
namespace {

using core::Column;

struct MemoryFactory {
  std::unique_ptr<Engine> open() {
    if (!engine) engine = std::make_unique<MemoryEngine>();
    return std::move(engine);
  }
  // A reopen is a new process over the same storage: what was not synced is gone (crash()), as
  // after a power loss — so "synced writes survive" is something this engine can fail.
  void keep(std::unique_ptr<Engine> e) {
    engine.reset(static_cast<MemoryEngine*>(e.release()));
    engine->crash();
  }
  std::unique_ptr<MemoryEngine> engine;
};

struct RocksFactory {
  RocksFactory() {
    path = std::filesystem::temp_directory_path() /
           ("replikv-engine-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
  }
  ~RocksFactory() { std::filesystem::remove_all(path); }
  std::unique_ptr<Engine> open() {
    Status error = Status::ok();
    auto engine = RocksDbEngine::open({path.string()}, error);
    EXPECT_TRUE(engine) << error.message();
    return engine;
  }
  void keep(std::unique_ptr<Engine>) {}  // closing is enough: the files stay
  std::filesystem::path path;
  static inline int counter = 0;
};

template <typename Factory>
class EngineTest : public ::testing::Test {
 protected:
  // Closes and reopens the engine, keeping what was synced.
  void reopen() {
    factory_.keep(std::move(engine_));
    engine_ = factory_.open();
  }
  Factory factory_;
  std::unique_ptr<Engine> engine_ = factory_.open();
};

struct SegmentedFactory : RocksFactory {
  std::unique_ptr<Engine> open() {
    Status error = Status::ok();
    SegmentedEngineOptions options;
    options.path = path.string();
    options.segment_bytes = 1 << 16;  // small: tests cross segments
    SegmentedEngineRecovery recovery;
    auto engine = SegmentedEngine::open(options, recovery, error);
    EXPECT_TRUE(engine) << error.message();
    return engine;
  }
};

using Engines = ::testing::Types<MemoryFactory, RocksFactory, SegmentedFactory>;
TYPED_TEST_SUITE(EngineTest, Engines);

TYPED_TEST(EngineTest, PutGetErase) {
  core::WriteBatch batch;
  batch.put(Column::data, "k", "v");
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  EXPECT_EQ(this->engine_->get(Column::data, "k"), "v");
  core::WriteBatch erase;
  erase.erase(Column::data, "k");
  ASSERT_TRUE(this->engine_->write(erase).is_ok());
  EXPECT_EQ(this->engine_->get(Column::data, "k"), std::nullopt);
}

TYPED_TEST(EngineTest, ColumnsAreSeparate) {
  core::WriteBatch batch;
  batch.put(Column::data, "k", "data");
  batch.put(Column::meta, "k", "meta");
  batch.put(Column::log, core::u64_be(1), "log");
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  EXPECT_EQ(this->engine_->get(Column::data, "k"), "data");
  EXPECT_EQ(this->engine_->get(Column::meta, "k"), "meta");
  EXPECT_EQ(this->engine_->get(Column::log, core::u64_be(1)), "log");
  EXPECT_EQ(this->engine_->get(Column::log, "k"), std::nullopt);
  EXPECT_EQ(this->engine_->get(Column::expiry, "k"), std::nullopt);
}

TYPED_TEST(EngineTest, LaterOperationsInABatchWin) {
  core::WriteBatch batch;
  batch.put(Column::data, "k", "1");
  batch.erase(Column::data, "k");
  batch.put(Column::data, "j", "1");
  batch.put(Column::data, "j", "2");
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  EXPECT_EQ(this->engine_->get(Column::data, "k"), std::nullopt);
  EXPECT_EQ(this->engine_->get(Column::data, "j"), "2");
}

TYPED_TEST(EngineTest, ScanIsOrderedFromStartAndStoppable) {
  core::WriteBatch batch;
  for (const char* key : {"d", "a", "c", "b", "e"}) batch.put(Column::data, key, key);
  batch.put(Column::meta, "bb", "other column");
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  std::string seen;
  this->engine_->scan(Column::data, "b", [&](std::string_view key, std::string_view value) {
    EXPECT_EQ(key, value);
    seen += key;
    return seen.size() < 3;
  });
  EXPECT_EQ(seen, "bcd");
}

TYPED_TEST(EngineTest, BinaryKeysAndValues) {
  const std::string key("\0k\xff", 3), value("\0\r\n\xfe", 4);
  core::WriteBatch batch;
  batch.put(Column::data, key, value);
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  EXPECT_EQ(this->engine_->get(Column::data, key), value);
}

TYPED_TEST(EngineTest, SyncedWritesSurviveReopen) {
  core::WriteBatch batch;
  batch.put(Column::data, "k", "v");
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  ASSERT_TRUE(this->engine_->sync().is_ok());
  this->reopen();
  EXPECT_EQ(this->engine_->get(Column::data, "k"), "v");
}

TYPED_TEST(EngineTest, ASnapshotIsFrozenWhileWritesGoOn) {
  core::WriteBatch before;
  before.put(Column::data, "a", "1");
  before.put(Column::data, "b", "2");
  before.put(Column::meta, "m", "x");
  ASSERT_TRUE(this->engine_->write(before).is_ok());
  auto frozen = this->engine_->snapshot();
  for (int round = 0; round < 50; ++round) {
    core::WriteBatch after;
    after.put(Column::data, "a", "changed " + std::to_string(round));
    after.erase(Column::data, "b");
    after.put(Column::data, "c" + std::to_string(round), "new");
    after.erase(Column::meta, "m");
    ASSERT_TRUE(this->engine_->write(after).is_ok());
  }
  ASSERT_TRUE(this->engine_->sync().is_ok());
  EXPECT_EQ(this->engine_->get(Column::data, "a"), "changed 49");
  EXPECT_EQ(this->engine_->get(Column::data, "b"), std::nullopt);
  EXPECT_EQ(frozen->get(Column::data, "a"), "1");
  EXPECT_EQ(frozen->get(Column::data, "b"), "2");
  EXPECT_EQ(frozen->get(Column::data, "c0"), std::nullopt);
  EXPECT_EQ(frozen->get(Column::meta, "m"), "x");
  std::vector<std::string> keys;
  frozen->scan(Column::data, {}, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  // A snapshot of the snapshot is frozen at the same point, and outlives the first.
  auto again = frozen->snapshot();
  frozen.reset();
  EXPECT_EQ(again->get(Column::data, "a"), "1");
  EXPECT_EQ(this->engine_->snapshot()->get(Column::data, "a"), "changed 49");
}

TYPED_TEST(EngineTest, ARangeEraseRemovesExactlyItsRange) {
  core::WriteBatch batch;
  for (const char* key : {"a", "b1", "b2", "b3", "c"}) batch.put(Column::state, key, "v");
  batch.put(Column::data, "b2", "other column");
  batch.erase_range(Column::state, "b1", "b3");
  batch.put(Column::state, "b1", "again");  // in order: after the erase
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  std::vector<std::string> keys;
  this->engine_->scan(Column::state, {}, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b1", "b3", "c"}));
  EXPECT_EQ(this->engine_->get(Column::state, "b1"), "again");
  EXPECT_EQ(this->engine_->get(Column::data, "b2"), "other column");
}

TYPED_TEST(EngineTest, AnEraseToTheEndEmptiesTheRestOfAColumn) {
  core::WriteBatch stored;
  for (const std::string& key :
       std::vector<std::string>{"a", "m", std::string(20, static_cast<char>(0xff))}) {
    stored.put(Column::data, key, "v");
  }
  stored.put(Column::meta, "zzz", "other column");
  ASSERT_TRUE(this->engine_->write(stored).is_ok());
  core::WriteBatch batch;
  batch.put(Column::data, std::string(30, '\xff'), "put in the same batch, before");
  batch.erase_to_end(Column::data, "b");
  batch.put(Column::data, "x", "after");
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  std::vector<std::string> keys;
  this->engine_->scan(Column::data, {}, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "x"}));
  EXPECT_EQ(this->engine_->get(Column::meta, "zzz"), "other column");
  core::WriteBatch all;
  all.erase_to_end(Column::data, "");
  ASSERT_TRUE(this->engine_->write(all).is_ok());
  EXPECT_EQ(this->engine_->get(Column::data, "a"), std::nullopt);
  EXPECT_EQ(this->engine_->get(Column::data, "x"), std::nullopt);
}

// The RocksDB engine hands a batch's point operations to RocksDB sorted by key (a skiplist takes
// sorted inserts faster) and reuses one buffer between batches: a random batch over a few keys,
// with ranges among its points, must end exactly as its operations in order say.
TYPED_TEST(EngineTest, ARandomBatchEndsAsItsOperationsInOrderSay) {
  std::mt19937 random(7);
  std::map<std::string, std::string> model;  // the data column as the batches say it must be
  auto key = [&] { return std::string(1, static_cast<char>('a' + random() % 8)); };
  for (int round = 0; round < 200; ++round) {
    core::WriteBatch batch;
    const int operations = 1 + static_cast<int>(random() % 40);
    for (int i = 0; i < operations; ++i) {
      const auto dice = random() % 10;
      if (dice < 6) {
        std::string k = key();
        std::string v = std::to_string(round) + "." + std::to_string(i);
        model[k] = v;
        batch.put(Column::data, std::move(k), std::move(v));
      } else if (dice < 9) {
        std::string k = key();
        model.erase(k);
        batch.erase(Column::data, std::move(k));
      } else {
        std::string begin = key();
        std::string end = key();
        if (end < begin) std::swap(begin, end);
        model.erase(model.lower_bound(begin), model.lower_bound(end));
        batch.erase_range(Column::data, std::move(begin), std::move(end));
      }
    }
    ASSERT_TRUE(this->engine_->write(batch).is_ok());
    std::map<std::string, std::string> stored;
    this->engine_->scan(Column::data, {}, [&](std::string_view k, std::string_view v) {
      stored.emplace(k, v);
      return true;
    });
    ASSERT_EQ(stored, model) << "round " << round;
  }
}

TYPED_TEST(EngineTest, ABatchOfManyMegabytesIsWrittenWhole) {
  core::WriteBatch big;
  const std::string value(64 << 10, 'v');
  for (int i = 0; i < 100; ++i) big.put(Column::data, "big" + std::to_string(i), value);  // 6.4 MB
  ASSERT_TRUE(this->engine_->write(big).is_ok());
  core::WriteBatch small;
  small.put(Column::data, "small", "s");
  ASSERT_TRUE(this->engine_->write(small).is_ok());
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(this->engine_->get(Column::data, "big" + std::to_string(i)), value);
  EXPECT_EQ(this->engine_->get(Column::data, "small"), "s");
}

// The log column as the replicas use it: entries appended by index, a suffix cut by one
// erase_to_end, the front compacted by erase_range, everything cut at a snapshot's install; scans
// from an index; the same after a reopen.
TYPED_TEST(EngineTest, TheLogAppendsCutsAndCompactsAsTheReplicasWriteIt) {
  auto entries = [&](const Engine& engine, std::string_view from = {}) {
    std::vector<std::pair<uint64_t, std::string>> out;
    engine.scan(Column::log, from, [&](std::string_view key, std::string_view value) {
      out.emplace_back(core::read_u64_be(key), std::string(value));
      return true;
    });
    return out;
  };
  using Entries = std::vector<std::pair<uint64_t, std::string>>;
  // scan_sizes() walks what scan() walks, sizes only (the segmented engine from its index).
  auto sizes_agree = [&](const Engine& engine, std::string_view from = {}) {
    std::vector<std::pair<uint64_t, size_t>> sizes, expected;
    engine.scan_sizes(Column::log, from, [&](std::string_view key, size_t bytes) {
      sizes.emplace_back(core::read_u64_be(key), bytes);
      return true;
    });
    for (const auto& [index, value] : entries(engine, from))
      expected.emplace_back(index, value.size());
    return sizes == expected && !sizes.empty();
  };
  core::WriteBatch append;
  for (uint64_t i = 1; i <= 10; ++i)
    append.put(Column::log, core::u64_be(i), "e" + std::to_string(i));
  ASSERT_TRUE(this->engine_->write(append).is_ok());
  core::WriteBatch cut;  // a conflicting suffix from 8 on, then the new entries
  cut.erase_to_end(Column::log, core::u64_be(8));
  cut.put(Column::log, core::u64_be(8), "new8");
  ASSERT_TRUE(this->engine_->write(cut).is_ok());
  core::WriteBatch compact;
  compact.erase_range(Column::log, core::u64_be(1), core::u64_be(5));
  ASSERT_TRUE(this->engine_->write(compact).is_ok());
  const Entries expected{{5, "e5"}, {6, "e6"}, {7, "e7"}, {8, "new8"}};
  EXPECT_EQ(entries(*this->engine_), expected);
  EXPECT_EQ(entries(*this->engine_, core::u64_be(7)), (Entries{{7, "e7"}, {8, "new8"}}));
  EXPECT_TRUE(sizes_agree(*this->engine_));
  EXPECT_TRUE(sizes_agree(*this->engine_, core::u64_be(7)));
  EXPECT_EQ(this->engine_->get(Column::log, core::u64_be(4)), std::nullopt);
  EXPECT_EQ(this->engine_->get(Column::log, core::u64_be(9)), std::nullopt);
  ASSERT_TRUE(this->engine_->sync().is_ok());
  this->reopen();
  EXPECT_EQ(entries(*this->engine_), expected);
  // A snapshot installed: the whole log cut, and it starts again past the snapshot.
  core::WriteBatch install;
  install.erase_to_end(Column::log, "");
  install.erase_range(Column::log, core::u64_be(5), core::u64_be(101));
  install.put(Column::log, core::u64_be(101), "after the snapshot");
  ASSERT_TRUE(this->engine_->write(install).is_ok());
  ASSERT_TRUE(this->engine_->sync().is_ok());
  this->reopen();
  EXPECT_EQ(entries(*this->engine_), (Entries{{101, "after the snapshot"}}));
  EXPECT_TRUE(sizes_agree(*this->engine_));
}

TYPED_TEST(EngineTest, SyncsAreCounted) {
  const auto before = this->engine_->stats();
  core::WriteBatch batch;  // meta: with the log in segments, a data write syncs the log itself
  batch.put(Column::meta, "k", "v");
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  ASSERT_TRUE(this->engine_->sync().is_ok());
  const auto after = this->engine_->stats();
  EXPECT_EQ(after.batches_written_total - before.batches_written_total, 2u);
  EXPECT_EQ(after.syncs_total - before.syncs_total, 1u);
  EXPECT_GE(after.wal_syncs_total - before.wal_syncs_total, 1u);
}

// A checkpoint (Engine::write_checkpoint; RocksDB: sorted files ingested into every column at
// once) leaves each key as the batch's last operation on it says, over what storage held, durably;
// a snapshot view taken before does not see it; and the loop's writes to other columns go on
// around it — from another thread while it is written, where the engine allows that.
TYPED_TEST(EngineTest, ACheckpointLeavesEachKeyAsItsLastOperationSays) {
  core::WriteBatch before;
  for (int i = 0; i < 100; ++i) before.put(Column::data, "key" + std::to_string(i), "old");
  before.put(Column::expiry, "gone", "");
  before.put(Column::log, core::u64_be(1), "e");
  ASSERT_TRUE(this->engine_->write(before).is_ok());
  auto frozen = this->engine_->snapshot();

  core::WriteBatch checkpoint;
  std::map<std::string, std::optional<std::string>> model;
  std::mt19937_64 random(3);
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "key" + std::to_string(random() % 300);
    if (random() % 4 == 0) {
      checkpoint.erase(Column::data, key);
      model[key] = std::nullopt;
    } else {
      const std::string value = "v" + std::to_string(i);
      checkpoint.put(Column::data, key, value);
      model[key] = value;
    }
  }
  checkpoint.put(Column::expiry, "brief", "");
  checkpoint.erase(Column::expiry, "brief");  // put and erased again: erased
  checkpoint.erase(Column::expiry, "gone");
  checkpoint.put(Column::state, "counters", "c");
  core::WriteBatch beside;
  beside.put(Column::log, core::u64_be(2), "e");
  beside.put(Column::meta, "raft_commit", "2");
  if (this->engine_->checkpoint_off_thread()) {
    Status written = Status::ok();
    std::thread writer([&] { written = this->engine_->write_checkpoint(checkpoint); });
    EXPECT_TRUE(this->engine_->write(beside).is_ok());
    writer.join();
    ASSERT_TRUE(written.is_ok()) << written.message();
  } else {
    ASSERT_TRUE(this->engine_->write_checkpoint(checkpoint).is_ok());
    ASSERT_TRUE(this->engine_->write(beside).is_ok());
  }
  ASSERT_TRUE(this->engine_->sync().is_ok());
  EXPECT_EQ(this->engine_->stats().checkpoints_written_total, 1u);

  auto check = [&](const Engine& engine) {
    for (int i = 0; i < 300; ++i) {
      const std::string key = "key" + std::to_string(i);
      const auto it = model.find(key);
      const std::optional<std::string> expected =
          it != model.end() ? it->second
                            : (i < 100 ? std::optional<std::string>("old") : std::nullopt);
      EXPECT_EQ(engine.get(Column::data, key), expected) << key;
    }
    EXPECT_EQ(engine.get(Column::expiry, "brief"), std::nullopt);
    EXPECT_EQ(engine.get(Column::expiry, "gone"), std::nullopt);
    EXPECT_EQ(engine.get(Column::state, "counters"), "c");
    EXPECT_EQ(engine.get(Column::log, core::u64_be(1)), "e");
    EXPECT_EQ(engine.get(Column::log, core::u64_be(2)), "e");
    EXPECT_EQ(engine.get(Column::meta, "raft_commit"), "2");
  };
  check(*this->engine_);
  EXPECT_EQ(frozen->get(Column::data, "key0"), "old") << "a view taken before does not see it";
  EXPECT_EQ(frozen->get(Column::expiry, "gone"), "");
  EXPECT_EQ(frozen->get(Column::state, "counters"), std::nullopt);
  frozen.reset();  // a view does not outlive its engine
  this->reopen();
  check(*this->engine_);
}

// A checkpoint's range erases (FLUSHALL's columns, a deleted collection's elements) come before
// its puts and erases: the ranges erase what storage held, and what the checkpoint puts after
// them stays — across a reopen too. (RocksDB: range tombstones in the ingested files, which its
// point records override.) This stopped every node of a cluster at the first checkpoint after a
// FLUSHALL before ingested files carried ranges.
TYPED_TEST(EngineTest, ACheckpointsRangeErasesComeBeforeItsPuts) {
  core::WriteBatch before;
  for (int i = 0; i < 50; ++i) {
    before.put(Column::data, "key" + std::to_string(i), "old");
    before.put(Column::elements, "a" + std::to_string(i), "old");
    before.put(Column::elements, "b" + std::to_string(i), "old");
  }
  before.put(Column::expiry, "x", "");
  ASSERT_TRUE(this->engine_->write(before).is_ok());

  core::WriteBatch checkpoint;
  checkpoint.erase_to_end(Column::data, {});
  checkpoint.erase_to_end(Column::expiry, {});
  checkpoint.erase_range(Column::elements, "a", "b");
  checkpoint.put(Column::data, "key7", "new");
  checkpoint.put(Column::data, "later", "new");
  checkpoint.put(Column::elements, "a3", "new");
  checkpoint.put(Column::state, "counters", "c");
  ASSERT_TRUE(this->engine_->write_checkpoint(checkpoint).is_ok());
  ASSERT_TRUE(this->engine_->sync().is_ok());

  auto check = [&](const Engine& engine) {
    std::vector<std::string> data, elements;
    engine.scan(Column::data, {}, [&](std::string_view key, std::string_view value) {
      data.push_back(std::string(key) + "=" + std::string(value));
      return true;
    });
    engine.scan(Column::elements, {}, [&](std::string_view key, std::string_view value) {
      elements.push_back(std::string(key) + "=" + std::string(value));
      return true;
    });
    EXPECT_EQ(data, (std::vector<std::string>{"key7=new", "later=new"}));
    ASSERT_EQ(elements.size(), 51u);
    EXPECT_EQ(elements.front(), "a3=new");
    EXPECT_EQ(elements[1], "b0=old");
    EXPECT_EQ(engine.get(Column::expiry, "x"), std::nullopt);
  };
  check(*this->engine_);
  this->reopen();
  check(*this->engine_);
}

// scan_reverse walks the keys below its bound from the top down, on the engine and on a frozen
// view of it, as scan walks them up.
TYPED_TEST(EngineTest, ScanReverseWalksDownFromItsBound) {
  core::WriteBatch batch;
  for (const char* key : {"a", "b", "ba", "c", "d"}) batch.put(Column::elements, key, key);
  batch.put(Column::data, "z", "other column");
  ASSERT_TRUE(this->engine_->write(batch).is_ok());
  const auto walk = [](const core::StorageView& view, std::string_view before, size_t max) {
    std::vector<std::string> keys;
    view.scan_reverse(Column::elements, before, [&](std::string_view key, std::string_view value) {
      EXPECT_EQ(key, value);
      keys.emplace_back(key);
      return keys.size() < max;
    });
    return keys;
  };
  auto frozen = this->engine_->snapshot();
  core::WriteBatch later;
  later.put(Column::elements, "bb", "bb");
  ASSERT_TRUE(this->engine_->write(later).is_ok());
  using Keys = std::vector<std::string>;
  EXPECT_EQ(walk(*this->engine_, {}, 10), (Keys{"d", "c", "bb", "ba", "b", "a"}));
  EXPECT_EQ(walk(*this->engine_, "c", 10), (Keys{"bb", "ba", "b", "a"}));
  EXPECT_EQ(walk(*this->engine_, "bz", 2), (Keys{"bb", "ba"}));
  EXPECT_EQ(walk(*this->engine_, "a", 10), Keys{});
  EXPECT_EQ(walk(*frozen, "c", 10), (Keys{"ba", "b", "a"})) << "a frozen view's own walk";
}

TEST(MemoryEngine, CrashLosesExactlyTheUnsyncedWrites) {
  MemoryEngine engine;
  core::WriteBatch first, second;
  first.put(Column::data, "synced", "1");
  second.put(Column::data, "unsynced", "2");
  second.erase(Column::data, "synced");
  ASSERT_TRUE(engine.write(first).is_ok());
  ASSERT_TRUE(engine.sync().is_ok());
  ASSERT_TRUE(engine.write(second).is_ok());
  EXPECT_EQ(engine.get(Column::data, "synced"), std::nullopt);
  engine.crash();
  EXPECT_EQ(engine.get(Column::data, "synced"), "1");
  EXPECT_EQ(engine.get(Column::data, "unsynced"), std::nullopt);
}

TEST(MemoryEngine, CrashRestoresTheSyncedValueOfAKeyChangedManyTimes) {
  MemoryEngine engine;
  core::WriteBatch synced;
  synced.put(Column::data, "k", "synced");
  synced.put(Column::meta, "k", "other column");
  ASSERT_TRUE(engine.write(synced).is_ok());
  ASSERT_TRUE(engine.sync().is_ok());
  // Changed, deleted, recreated, changed again; a new key created, changed and deleted.
  for (const char* value : {"a", "", "b", "c"}) {
    core::WriteBatch batch;
    if (*value != 0)
      batch.put(Column::data, "k", value);
    else
      batch.erase(Column::data, "k");
    batch.put(Column::data, "new", value);
    ASSERT_TRUE(engine.write(batch).is_ok());
  }
  core::WriteBatch last;
  last.erase(Column::data, "new");
  last.erase(Column::meta, "k");
  last.erase_range(Column::data, "a", "z");  // takes "k" (changed many times) with it
  ASSERT_TRUE(engine.write(last).is_ok());
  EXPECT_EQ(engine.get(Column::data, "k"), std::nullopt);
  engine.crash();
  EXPECT_EQ(engine.get(Column::data, "k"), "synced");
  EXPECT_EQ(engine.get(Column::meta, "k"), "other column");
  EXPECT_EQ(engine.get(Column::data, "new"), std::nullopt);
  // A second crash with nothing written since changes nothing.
  engine.crash();
  EXPECT_EQ(engine.get(Column::data, "k"), "synced");
}

TEST(RocksDbEngine, UnopenablePathIsAnError) {
  Status error = Status::ok();
  auto engine = RocksDbEngine::open({"/proc/replikv-cannot-be-here"}, error);
  EXPECT_FALSE(engine);
  EXPECT_FALSE(error.is_ok());
  EXPECT_NE(error.message().find("/proc/replikv-cannot-be-here"), std::string::npos);
}

}  // namespace
}  // namespace replikv::storage
