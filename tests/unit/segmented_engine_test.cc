// The segmented engine on real files: a killed process (RocksDB's memtables lost, the page cache
// not) loses nothing it wrote; batches RocksDB lost are written again
// from the log, never over a checkpoint made after them; a data directory of the RocksDB log
// layout moves into segments once; segments go as the log is compacted; damage is refused.
#include "storage/segmented_engine.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "storage/memory_files.h"
#include "storage/rocksdb_engine.h"

namespace replikv::storage {
namespace {

using core::Column;

class SegmentedEngineTest : public ::testing::Test {
 protected:
  SegmentedEngineTest() {
    path_ = std::filesystem::temp_directory_path() /
            ("replikv-segmented-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
  }
  ~SegmentedEngineTest() override { std::filesystem::remove_all(path_); }

  std::unique_ptr<SegmentedEngine> open(SegmentedEngineRecovery& recovery, Status& error) {
    SegmentedEngineOptions options;
    options.path = path_.string();
    options.segment_bytes = 1 << 16;
    return SegmentedEngine::open(options, recovery, error);
  }
  std::unique_ptr<SegmentedEngine> open() {
    Status error = Status::ok();
    auto engine = open(recovery_, error);
    EXPECT_TRUE(engine) << error.message();
    return engine;
  }

  // Runs `work` on an engine that then closes as a killed process would stop: RocksDB's
  // batches not yet flushed are lost (it keeps no WAL of its own), the segments stay as written
  // (the page cache survives a kill -9).
  void in_killed_process(const std::function<void(SegmentedEngine&)>& work) {
    SegmentedEngineOptions options;
    options.path = path_.string();
    options.segment_bytes = 1 << 16;
    options.flush_at_close = false;
    Status error = Status::ok();
    auto engine = SegmentedEngine::open(options, recovery_, error);
    ASSERT_TRUE(engine) << error.message();
    work(*engine);
  }

  std::filesystem::path path_;
  SegmentedEngineRecovery recovery_;
};

TEST_F(SegmentedEngineTest, AKilledProcessLosesNothingItWroteAndRocksDbsPartIsWrittenAgain) {
  in_killed_process([](SegmentedEngine& engine) {
    core::WriteBatch batch;
    for (uint64_t i = 1; i <= 100; ++i)
      batch.put(Column::log, core::u64_be(i), "entry " + std::to_string(i));
    batch.put(Column::meta, "raft_term", "7");
    ASSERT_TRUE(engine.write(batch).is_ok());
    core::WriteBatch install;  // a batch across both: the install's switch, say
    install.put(Column::meta, "raft_install", "moving");
    install.put(Column::data, "key", "from the snapshot");
    install.put(Column::staging, "\1staged", "s");
    ASSERT_TRUE(engine.write(install).is_ok());
  });
  auto engine = open();
  EXPECT_EQ(engine->get(Column::log, core::u64_be(100)), "entry 100");
  EXPECT_EQ(engine->get(Column::meta, "raft_term"), "7");
  EXPECT_EQ(engine->get(Column::meta, "raft_install"), "moving");
  EXPECT_EQ(engine->get(Column::data, "key"), "from the snapshot");
  EXPECT_EQ(engine->get(Column::staging, "\1staged"), "s");
  EXPECT_EQ(recovery_.batches_rewritten, 1u);
  EXPECT_EQ(recovery_.entries, 100u);
}

// RocksDB's part of a batch is written again after a crash only if RocksDB lost it: never over a
// checkpoint ingested after it (it would put an older value back). The engine flushes RocksDB
// before such a checkpoint. (RocksDB flushes a memtable an ingested file overlaps on its own too,
// and with atomic flush every column goes with it, so this test passes without the engine's
// flush as well: the flush keeps the rule from resting on that.)
TEST_F(SegmentedEngineTest, ABatchWrittenAgainNeverLandsOnALaterCheckpoint) {
  in_killed_process([](SegmentedEngine& engine) {
    core::WriteBatch install;
    install.put(Column::data, "key", "older, from a batch");
    install.put(Column::meta, "raft_install", "moving");
    ASSERT_TRUE(engine.write(install).is_ok());
    core::WriteBatch checkpoint;
    checkpoint.put(Column::data, "key", "newer, from the checkpoint");
    ASSERT_TRUE(engine.write_checkpoint(checkpoint).is_ok());
  });
  auto engine = open();
  EXPECT_EQ(engine->get(Column::data, "key"), "newer, from the checkpoint");
  EXPECT_EQ(recovery_.batches_rewritten, 0u);
}

TEST_F(SegmentedEngineTest, ADirectoryOfTheRocksDbLogLayoutMovesIntoSegmentsOnce) {
  {
    Status error = Status::ok();
    auto old = RocksDbEngine::open({path_.string()}, error);
    ASSERT_TRUE(old) << error.message();
    core::WriteBatch batch;
    for (uint64_t i = 50; i < 1050; ++i)
      batch.put(Column::log, core::u64_be(i), std::string(300, 'e'));
    batch.put(Column::meta, "raft_term", "3");
    batch.put(Column::meta, "raft_log_start", "50");
    batch.put(Column::data, "key", "value");
    batch.put(Column::state, "raft_applied", "900");
    ASSERT_TRUE(old->write(batch).is_ok());
    ASSERT_TRUE(old->sync().is_ok());
  }
  // What a migration interrupted by a crash would have left: it starts over.
  std::filesystem::create_directories(path_ / "log");
  std::ofstream(path_ / "log" / "00000000000000000001.seg") << "half written";
  {
    auto engine = open();
    EXPECT_EQ(recovery_.migrated_entries, 1000u);
    EXPECT_EQ(recovery_.migrated_records, 2u);
    EXPECT_EQ(recovery_.entries, 1000u);
    EXPECT_EQ(engine->get(Column::log, core::u64_be(50)), std::string(300, 'e'));
    EXPECT_EQ(engine->get(Column::log, core::u64_be(1049)), std::string(300, 'e'));
    EXPECT_EQ(engine->get(Column::log, core::u64_be(1050)), std::nullopt);
    EXPECT_EQ(engine->get(Column::meta, "raft_term"), "3");
    EXPECT_EQ(engine->get(Column::data, "key"), "value");
    EXPECT_EQ(engine->get(Column::state, "raft_applied"), "900");
  }
  auto engine = open();
  EXPECT_EQ(recovery_.migrated_entries, 0u) << "once";
  EXPECT_EQ(recovery_.entries, 1000u);
  EXPECT_EQ(engine->get(Column::meta, "raft_log_start"), "50");
}

TEST_F(SegmentedEngineTest, SegmentsGoAsTheLogIsCompactedAndAViewTakenBeforeStillReadsThem) {
  auto engine = open();
  const std::string value(1000, 'v');
  for (uint64_t i = 1; i <= 400; ++i) {
    core::WriteBatch batch;
    batch.put(Column::log, core::u64_be(i), value + std::to_string(i));
    batch.put(Column::meta, "raft_last_index", std::to_string(i));
    ASSERT_TRUE(engine->write(batch).is_ok());
  }
  ASSERT_TRUE(engine->sync().is_ok());
  auto frozen = engine->snapshot();
  const auto segments_before = engine->log_stats().segments_created;
  ASSERT_GT(segments_before, 5u);
  core::WriteBatch compact;
  compact.erase_range(Column::log, core::u64_be(1), core::u64_be(351));
  ASSERT_TRUE(engine->write(compact).is_ok());
  ASSERT_TRUE(engine->sync().is_ok());
  core::WriteBatch next;  // segments are dropped at a write after the compaction is synced
  next.put(Column::log, core::u64_be(401), "next");
  ASSERT_TRUE(engine->write(next).is_ok());
  EXPECT_GT(engine->log_stats().segments_removed, 3u);
  EXPECT_EQ(engine->get(Column::log, core::u64_be(350)), std::nullopt);
  EXPECT_EQ(engine->get(Column::log, core::u64_be(351)), value + "351");
  EXPECT_EQ(frozen->get(Column::log, core::u64_be(2)), value + "2")
      << "a dropped segment, still read";
  frozen.reset();
  ASSERT_TRUE(engine->sync().is_ok());
  engine.reset();
  engine = open();
  EXPECT_EQ(recovery_.entries, 51u);
  EXPECT_EQ(engine->get(Column::log, core::u64_be(351)), value + "351");
  EXPECT_EQ(engine->get(Column::log, core::u64_be(401)), "next");
  EXPECT_EQ(engine->get(Column::meta, "raft_last_index"), "400");
}

// Found by review: a restart finds the segment prepared ahead empty and appends to it; that
// segment must open with the meta records too, or a compaction that drops the segments before it
// loses the term, the vote and the log's shape at the next restart.
TEST_F(SegmentedEngineTest, MetaRecordsSurviveRestartsAndTheDropOfEverySegmentBefore) {
  const std::string value(2000, 'v');
  uint64_t index = 0;
  auto append = [&](SegmentedEngine& engine, int entries) {
    for (int i = 0; i < entries; ++i) {
      core::WriteBatch batch;
      batch.put(Column::log, core::u64_be(++index), value);
      ASSERT_TRUE(engine.write(batch).is_ok());
    }
    ASSERT_TRUE(engine.sync().is_ok());
  };
  {
    auto engine = open();
    core::WriteBatch meta;
    meta.put(Column::meta, "raft_term", "5");
    meta.put(Column::meta, "raft_vote", "2");
    ASSERT_TRUE(engine->write(meta).is_ok());
    append(*engine, 60);  // about two segments
  }
  uint64_t removed = 0;
  for (int restart = 0; restart < 3; ++restart) {
    auto engine = open();
    ASSERT_EQ(engine->get(Column::meta, "raft_term"), "5") << "restart " << restart;
    append(*engine, 5);        // within the segment appended to since the restart
    core::WriteBatch compact;  // everything but the last few entries
    compact.erase_range(Column::log, core::u64_be(1), core::u64_be(index - 2));
    ASSERT_TRUE(engine->write(compact).is_ok());
    ASSERT_TRUE(engine->sync().is_ok());
    append(*engine, 1);  // segments are dropped at the next write
    removed += engine->log_stats().segments_removed;
  }
  EXPECT_GT(removed, 0u);
  auto engine = open();
  EXPECT_EQ(engine->get(Column::meta, "raft_term"), "5");
  EXPECT_EQ(engine->get(Column::meta, "raft_vote"), "2");
  EXPECT_EQ(engine->get(Column::log, core::u64_be(index)), value);
  EXPECT_EQ(recovery_.entries, 4u);
  EXPECT_EQ(recovery_.log.torn_bytes_cut, 0u);
}

// Found by review: a snapshot installed below the log's first index (a rollback re-seeded from
// an earlier snapshot) cuts the whole log, and the log then starts past that snapshot.
TEST_F(SegmentedEngineTest, ALogCutWholeStartsAgainBelowItsOldFirstIndex) {
  {
    auto engine = open();
    core::WriteBatch batch;
    for (uint64_t i = 1; i <= 1000; ++i) batch.put(Column::log, core::u64_be(i), "old");
    batch.erase_range(Column::log, core::u64_be(1), core::u64_be(900));
    ASSERT_TRUE(engine->write(batch).is_ok());
    core::WriteBatch install;
    install.erase_to_end(Column::log, "");
    install.put(Column::log, core::u64_be(501), "after the snapshot at 500");
    ASSERT_TRUE(engine->write(install).is_ok());
    EXPECT_EQ(engine->get(Column::log, core::u64_be(501)), "after the snapshot at 500");
    EXPECT_EQ(engine->get(Column::log, core::u64_be(900)), std::nullopt);
    ASSERT_TRUE(engine->sync().is_ok());
  }
  auto engine = open();
  EXPECT_EQ(engine->get(Column::log, core::u64_be(501)), "after the snapshot at 500");
  EXPECT_EQ(recovery_.entries, 1u);
}

// A node whose directory keeps its log in segments refuses the RocksDB log (tested at the
// engine: the marker it leaves in RocksDB).
TEST_F(SegmentedEngineTest, ADirectoryInSegmentsSaysSoToRocksDb) {
  open().reset();
  Status error = Status::ok();
  auto rocks = RocksDbEngine::open({path_.string()}, error);
  ASSERT_TRUE(rocks) << error.message();
  EXPECT_TRUE(rocks->get(Column::meta, SegmentedEngine::layout_key).has_value());
}

// Consecutive entries of one batch are one run in the frame: their keys and the 8 bytes every
// value begins with (a record's term) are stored once. Reads put the prefix back, across prefix
// changes, a cut tail, a compaction, a frozen view and a restart.
TEST_F(SegmentedEngineTest, RunsStoreTheirSharedPrefixOnceAndReadBackWhole) {
  auto record = [](uint64_t term, uint64_t index) {
    return core::u64_be(term) + "entry " + std::to_string(index) + std::string(100, 'x');
  };
  std::map<uint64_t, std::string> expected;
  auto engine = open();
  auto append = [&](uint64_t term, uint64_t from, uint64_t to) {
    core::WriteBatch batch;
    for (uint64_t index = from; index <= to; ++index) {
      batch.put(Column::log, core::u64_be(index), record(term, index));
      expected[index] = record(term, index);
    }
    batch.put(Column::meta, "raft_last_index", core::u64_be(to));
    ASSERT_TRUE(engine->write(batch).is_ok());
  };
  auto check = [&](const core::StorageView& view, const std::string& when) {
    for (const auto& [index, value] : expected) {
      EXPECT_EQ(view.get(Column::log, core::u64_be(index)), value) << when << ", entry " << index;
    }
    size_t scanned = 0;
    view.scan(Column::log, "", [&](std::string_view key, std::string_view value) {
      EXPECT_EQ(value, expected[core::read_u64_be(key)]) << when;
      return ++scanned > 0;
    });
    EXPECT_EQ(scanned, expected.size()) << when;
    size_t sized = 0;
    view.scan_sizes(Column::log, "", [&](std::string_view key, size_t size) {
      EXPECT_EQ(size, expected[core::read_u64_be(key)].size()) << when;
      return ++sized > 0;
    });
    EXPECT_EQ(sized, expected.size()) << when;
  };

  const uint64_t before = engine->log_stats().bytes_appended;
  append(1, 1, 100);
  // Each entry costs its value less the prefix, and a length: no kind, column, key or prefix.
  const size_t entry_bytes = record(1, 100).size() - 8 + 1;
  EXPECT_LE(engine->log_stats().bytes_appended - before, 100 * entry_bytes + 64);
  append(1, 101, 150);  // the same prefix
  append(2, 151, 200);  // a new one
  core::WriteBatch cut;
  cut.erase_to_end(Column::log, core::u64_be(141));
  ASSERT_TRUE(engine->write(cut).is_ok());
  expected.erase(expected.lower_bound(141), expected.end());
  append(3, 141, 220);  // the cut indexes again, under another prefix
  append(3, 221, 221);  // one entry: a put of its own
  check(*engine, "written");
  core::WriteBatch compact;
  compact.erase_range(Column::log, core::u64_be(1), core::u64_be(160));
  ASSERT_TRUE(engine->write(compact).is_ok());
  expected.erase(expected.begin(), expected.lower_bound(160));
  auto frozen = engine->snapshot();
  append(4, 222, 230);
  check(*engine, "compacted");
  const auto all = expected;
  expected.erase(expected.lower_bound(222), expected.end());
  check(*frozen, "frozen before the last append");
  frozen.reset();
  expected = all;
  ASSERT_TRUE(engine->sync().is_ok());
  engine.reset();
  engine = open();
  EXPECT_EQ(recovery_.entries, expected.size());
  check(*engine, "reopened");

  // The whole log cut and started again below its old first index (a rollback re-seeded from an
  // earlier snapshot), under the prefix it last had: the new entries find it.
  core::WriteBatch reseed;
  reseed.erase_to_end(Column::log, "");
  ASSERT_TRUE(engine->write(reseed).is_ok());
  expected.clear();
  append(3, 50, 60);
  check(*engine, "started again below");

  // Runs in segments the compaction drops: a restart replays from an opening frame.
  for (uint64_t from = 61; from < 3061; from += 50) append(5, from, from + 49);
  ASSERT_GT(engine->log_stats().segments_created, 2u);
  compact.clear();
  compact.erase_range(Column::log, core::u64_be(50), core::u64_be(3000));
  ASSERT_TRUE(engine->write(compact).is_ok());
  expected.erase(expected.begin(), expected.lower_bound(3000));
  ASSERT_TRUE(engine->sync().is_ok());
  append(6, 3061, 3070);  // segments are dropped at a write after the compaction is synced
  EXPECT_GT(engine->log_stats().segments_removed, 0u);
  check(*engine, "compacted across segments");
  ASSERT_TRUE(engine->sync().is_ok());
  engine.reset();
  engine = open();
  check(*engine, "reopened after the drop");
}

// A clean stop ends the log with a closing frame, written after the last sync: damage to the
// frames before it, found at the next start, is refused as corruption. After a kill there is no
// such frame, and damage to the last frame cannot be told from a torn tail: it is cut.
TEST_F(SegmentedEngineTest, AfterACleanStopDamageToTheLastFrameIsRefused) {
  auto fill = [](SegmentedEngine& engine) {  // written, not synced: closing syncs them
    for (uint64_t i = 1; i <= 20; ++i) {
      core::WriteBatch batch;
      batch.put(Column::log, core::u64_be(i), "entry " + std::to_string(i));
      ASSERT_TRUE(engine.write(batch).is_ok());
    }
  };
  const auto segment = path_ / "log" / "00000000000000000001.seg";
  auto damage_last_entry = [&] {
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
    const size_t at = bytes.rfind("entry 20");
    ASSERT_NE(at, std::string::npos);
    file.seekp(static_cast<std::streamoff>(at));
    file.put('E');
  };

  fill(*open());  // closed cleanly
  damage_last_entry();
  Status error = Status::ok();
  SegmentedEngineRecovery recovery;
  EXPECT_EQ(open(recovery, error), nullptr);
  EXPECT_NE(error.message().find("the log is corrupt"), std::string::npos) << error.message();

  // What the start reports.
  std::filesystem::remove_all(path_);
  fill(*open());
  open().reset();
  EXPECT_TRUE(recovery_.clean_stop);
  // A run that ends in a crash after a clean stop, before writing anything: not clean.
  in_killed_process([](SegmentedEngine&) {});
  EXPECT_TRUE(recovery_.clean_stop);
  open().reset();
  EXPECT_FALSE(recovery_.clean_stop) << "the run before was killed";
  open().reset();
  EXPECT_TRUE(recovery_.clean_stop);

  std::filesystem::remove_all(path_);
  in_killed_process(fill);
  damage_last_entry();
  auto engine = open();
  ASSERT_TRUE(engine);
  EXPECT_FALSE(recovery_.clean_stop);
  EXPECT_GT(recovery_.log.torn_bytes_cut, 0u) << "taken for a torn tail";
  EXPECT_EQ(engine->get(Column::log, core::u64_be(20)), std::nullopt);
  EXPECT_EQ(engine->get(Column::log, core::u64_be(19)), "entry 19");
}

// A batch that writes RocksDB's columns too (a snapshot being installed) is synced into the log
// before RocksDB gets it: RocksDB must never hold a batch the log could lose. With the log's disk
// failing its syncs, such a write fails and RocksDB holds nothing of it; a batch of the log alone
// waits for the next sync as usual.
TEST_F(SegmentedEngineTest, ABatchForRocksDbIsInTheLogDurablyBeforeRocksDbHasIt) {
  auto disk = std::make_unique<MemoryDirectory>();
  SegmentedEngineOptions options;
  options.path = path_.string();
  options.segment_bytes = 1 << 16;
  options.flush_at_close = false;  // a close is a crash: RocksDB's unflushed batches are lost
  options.log_directory = [&disk](Status&) { return disk->another_handle(); };
  auto open_engine = [&] {
    Status error = Status::ok();
    SegmentedEngineRecovery recovery;
    auto engine = SegmentedEngine::open(options, recovery, error);
    EXPECT_TRUE(engine) << error.message();
    return engine;
  };
  // Power losses right after such a write: whatever happens to the unsynced pages, the batch is
  // in the log, and RocksDB's part is written again from it.
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    std::filesystem::remove_all(path_);
    disk = std::make_unique<MemoryDirectory>();
    auto engine = open_engine();
    ASSERT_TRUE(engine);
    core::WriteBatch staged;
    staged.put(Column::staging, "chunk " + std::to_string(seed), "records");
    staged.put(Column::meta, "raft_install", "staging " + std::to_string(seed));
    core::WriteBatch entry;  // and a batch of the log alone after it, not synced
    entry.put(Column::log, core::u64_be(seed), "entry");
    const uint64_t syncs = engine->log_stats().syncs;
    ASSERT_TRUE(engine->write(staged).is_ok());
    EXPECT_EQ(engine->log_stats().syncs, syncs + 1) << "the log was synced for it";
    ASSERT_TRUE(engine->write(entry).is_ok());
    engine.reset();  // killed (the segment being prepared is finished first) ...
    std::mt19937_64 rng(seed);
    disk->crash(rng);  // ... then the power goes
    engine = open_engine();
    ASSERT_TRUE(engine);
    EXPECT_EQ(engine->get(Column::meta, "raft_install"), "staging " + std::to_string(seed));
    EXPECT_EQ(engine->get(Column::staging, "chunk " + std::to_string(seed)), "records");
  }

  // With the log's disk failing its syncs, such a write fails and RocksDB holds nothing of it.
  auto engine = open_engine();
  ASSERT_TRUE(engine);
  disk->fail_syncs();
  core::WriteBatch entry;
  entry.put(Column::log, core::u64_be(100), "entry");
  EXPECT_TRUE(engine->write(entry).is_ok()) << "the log alone: synced later";
  core::WriteBatch next;
  next.put(Column::staging, "chunk 100", "records");
  EXPECT_FALSE(engine->write(next).is_ok()) << "the log's sync failed";
  EXPECT_EQ(engine->get(Column::staging, "chunk 100"), std::nullopt)
      << "RocksDB got a batch the log had not made durable";
}

// A sync that failed fails every later one (the kernel may have dropped the pages it could not
// write and marked them clean), and the engine then writes no closing frame that would vouch for
// them.
TEST_F(SegmentedEngineTest, AFailedSyncFailsEveryLaterOneAndLeavesNoClosingFrame) {
  MemoryDirectory disk;
  SegmentedEngineOptions options;
  options.path = path_.string();
  options.segment_bytes = 1 << 16;
  options.log_directory = [&disk](Status&) { return disk.another_handle(); };
  Status error = Status::ok();
  SegmentedEngineRecovery recovery;
  auto engine = SegmentedEngine::open(options, recovery, error);
  ASSERT_TRUE(engine) << error.message();
  core::WriteBatch entry;
  entry.put(Column::log, core::u64_be(1), "entry");
  ASSERT_TRUE(engine->write(entry).is_ok());
  disk.fail_next_sync();
  EXPECT_FALSE(engine->sync().is_ok());
  EXPECT_FALSE(engine->sync().is_ok()) << "the disk would take this one: the log must not";
  core::WriteBatch after;
  after.put(Column::log, core::u64_be(2), "entry");
  EXPECT_FALSE(engine->write(after).is_ok()) << "nor any write after";
  engine.reset();  // a clean close, after a failure
  engine = SegmentedEngine::open(options, recovery, error);
  ASSERT_TRUE(engine) << error.message();
  EXPECT_FALSE(recovery.clean_stop);
}

TEST_F(SegmentedEngineTest, DamageToSyncedFramesIsRefusedWithWhere) {
  {
    auto engine = open();
    for (uint64_t i = 1; i <= 20; ++i) {
      core::WriteBatch batch;
      batch.put(Column::log, core::u64_be(i), "entry " + std::to_string(i));
      ASSERT_TRUE(engine->write(batch).is_ok());
      ASSERT_TRUE(engine->sync().is_ok());
    }
  }
  const auto segment = path_ / "log" / "00000000000000000001.seg";
  {
    std::fstream file(segment, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(200);
    file.put('\x5a');
  }
  Status error = Status::ok();
  SegmentedEngineRecovery recovery;
  EXPECT_EQ(open(recovery, error), nullptr);
  EXPECT_NE(error.message().find("the log is corrupt"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("00000000000000000001.seg"), std::string::npos) << error.message();
}

}  // namespace
}  // namespace replikv::storage
