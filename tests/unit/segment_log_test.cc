// The segmented log keeps bytes safe: what was synced survives any power loss whole; what was
// not comes back as a prefix (a torn tail, cut and counted); damage to what was synced is
// reported as corruption, never served. Run over MemoryDirectory's disk (pages lost, written or
// torn in any order) and over the real file system.
#include "storage/segment_log.h"

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/crc32c.h"
#include "storage/memory_files.h"

namespace replikv::storage {
namespace {

// A directory shared between opens: the log owns a Directory, so it gets a view of this one.
class SharedDirectory final : public Directory {
 public:
  explicit SharedDirectory(MemoryDirectory& inner) : inner_(inner) {}
  Status list(std::vector<std::string>& names) const override { return inner_.list(names); }
  std::unique_ptr<File> open(const std::string& name, Status& error) override {
    return inner_.open(name, error);
  }
  std::unique_ptr<File> create(const std::string& name, Status& error) override {
    return inner_.create(name, error);
  }
  Status rename(const std::string& from, const std::string& to) override {
    return inner_.rename(from, to);
  }
  Status remove(const std::string& name) override { return inner_.remove(name); }
  Status sync() override { return inner_.sync(); }
  std::string path(const std::string& name) const override { return inner_.path(name); }

 private:
  MemoryDirectory& inner_;
};

struct Opened {
  std::unique_ptr<SegmentLog> log;
  std::vector<std::string> payloads;  // replayed, in order
  std::vector<FramePosition> positions;
  SegmentLogRecovery recovery;
  Status error = Status::ok();
};

Opened open_log(MemoryDirectory& disk, uint64_t segment_bytes = 4096, bool zero_fill = true) {
  Opened opened;
  SegmentLogOptions options;
  options.segment_bytes = segment_bytes;
  options.zero_fill = zero_fill;
  options.prepare_in_background = false;
  opened.log = SegmentLog::open(
      std::make_unique<SharedDirectory>(disk), options,
      [&](uint64_t, std::string_view payload, const FramePosition& position) {
        opened.payloads.emplace_back(payload);
        opened.positions.push_back(position);
      },
      opened.recovery, opened.error);
  return opened;
}

std::string payload_of(uint64_t n, std::mt19937_64& rng) {
  std::string payload = "frame " + std::to_string(n) + " ";
  const size_t extra = std::uniform_int_distribution<size_t>(0, 1500)(rng);
  for (size_t i = 0; i < extra; ++i) payload.push_back(static_cast<char>('a' + (n + i) % 26));
  return payload;
}

FramePosition append(SegmentLog& log, std::string_view payload) {
  std::string frame(SegmentLog::frame_header_bytes, '\0');
  frame.append(payload);
  FramePosition position;
  EXPECT_TRUE(log.append(frame, position).is_ok());
  return position;
}

std::string read_back(SegmentLog& log, const FramePosition& position, size_t length) {
  std::string bytes;
  EXPECT_TRUE(log.segment(position.segment)->read(position.offset, length, bytes).is_ok());
  return bytes;
}

TEST(Crc32c, KnownValuesAndExtension) {
  EXPECT_EQ(crc32c("123456789"), 0xe3069283u);  // the check value of CRC-32C
  EXPECT_EQ(crc32c(""), 0u);
  const std::string text = "the quick brown fox jumps over the lazy dog, twice over";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(crc32c_extend(crc32c(text.substr(0, cut)), text.substr(cut)), crc32c(text));
  }
}

TEST(SegmentLog, FramesComeBackInOrderAcrossSegmentsAndAreReadableWhereTheyLie) {
  MemoryDirectory disk;
  std::mt19937_64 rng(1);
  std::vector<std::string> written;
  {
    Opened opened = open_log(disk);
    ASSERT_TRUE(opened.error.is_ok()) << opened.error.message();
    for (uint64_t n = 0; n < 60; ++n) {
      written.push_back(payload_of(n, rng));
      const FramePosition position = append(*opened.log, written.back());
      EXPECT_EQ(read_back(*opened.log, position, written.back().size()), written.back());
    }
    written.push_back(std::string(10000, 'x'));  // larger than a segment: one of its own
    append(*opened.log, written.back());
    written.push_back("after the large one");
    append(*opened.log, written.back());
    ASSERT_TRUE(opened.log->sync().is_ok());
    EXPECT_GT(opened.log->current_segment(), 10u);
    EXPECT_EQ(opened.log->synced_through(), written.size());
  }
  Opened reopened = open_log(disk);
  ASSERT_TRUE(reopened.error.is_ok()) << reopened.error.message();
  EXPECT_EQ(reopened.payloads, written);
  EXPECT_EQ(reopened.recovery.torn_bytes_cut, 0u);
  EXPECT_EQ(reopened.log->last_sequence(), written.size());
  for (size_t i = 0; i < written.size(); ++i) {
    EXPECT_EQ(read_back(*reopened.log, reopened.positions[i], written[i].size()), written[i]);
  }
  // And appending goes on where it stopped.
  append(*reopened.log, "one more");
  reopened.log.reset();
  Opened again = open_log(disk);
  ASSERT_TRUE(again.error.is_ok());
  ASSERT_EQ(again.payloads.size(), written.size() + 1);
  EXPECT_EQ(again.payloads.back(), "one more");
}

TEST(SegmentLog, AKilledProcessLosesNothingItWrote) {
  MemoryDirectory disk;
  {
    Opened opened = open_log(disk);
    for (int i = 0; i < 20; ++i) append(*opened.log, "unsynced " + std::to_string(i));
  }
  disk.crash_keeping_everything();  // the page cache survives a kill -9
  Opened reopened = open_log(disk);
  ASSERT_TRUE(reopened.error.is_ok());
  EXPECT_EQ(reopened.payloads.size(), 20u);
  EXPECT_EQ(reopened.recovery.torn_bytes_cut, 0u);
}

// The heart of it: over many power losses at random points — frames synced, frames written and
// not synced, segments made and not yet used — a reopened log holds every synced frame and a
// prefix of the rest, never anything else, and never reports corruption. Segments zero-filled
// and segments allocated alike (the seeds alternate).
TEST(SegmentLog, APowerLossKeepsWhatWasSyncedAndAPrefixOfTheRest) {
  uint64_t torn = 0, cut_bytes = 0, kept_unsynced = 0, lost_unsynced = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const bool zero_fill = seed % 2 == 0;
    MemoryDirectory disk;
    std::mt19937_64 rng(seed);
    std::vector<std::string> written;
    size_t synced = 0;
    for (int round = 0; round < 3; ++round) {
      Opened opened = open_log(disk, 4096, zero_fill);
      ASSERT_TRUE(opened.error.is_ok()) << "seed " << seed << ": " << opened.error.message();
      ASSERT_GE(opened.payloads.size(), synced) << "seed " << seed;
      ASSERT_LE(opened.payloads.size(), written.size()) << "seed " << seed;
      for (size_t i = 0; i < opened.payloads.size(); ++i) {
        ASSERT_EQ(opened.payloads[i], written[i]) << "seed " << seed << " frame " << i;
      }
      kept_unsynced += opened.payloads.size() - synced;
      lost_unsynced += written.size() - opened.payloads.size();
      if (opened.recovery.torn_bytes_cut > 0) ++torn;
      cut_bytes += opened.recovery.torn_bytes_cut;
      written.resize(opened.payloads.size());
      synced = written.size();  // open syncs what it kept
      const int frames = std::uniform_int_distribution<int>(1, 40)(rng);
      for (int f = 0; f < frames; ++f) {
        written.push_back(payload_of(written.size(), rng));
        append(*opened.log, written.back());
        if (std::bernoulli_distribution(0.15)(rng)) {
          ASSERT_TRUE(opened.log->sync().is_ok());
          synced = written.size();
        }
      }
      opened.log.reset();
      disk.crash(rng);
    }
  }
  // The runs reached what they are about: torn tails cut, unsynced frames both kept and lost.
  EXPECT_GT(torn, 50u);
  EXPECT_GT(cut_bytes, 0u);
  EXPECT_GT(kept_unsynced, 100u);
  EXPECT_GT(lost_unsynced, 100u);
}

TEST(SegmentLog, AFlippedByteInASyncedFrameIsCorruptionAndSaysWhere) {
  MemoryDirectory disk;
  FramePosition damaged;
  {
    Opened opened = open_log(disk, 1 << 16);
    for (int i = 0; i < 5; ++i) append(*opened.log, "early " + std::to_string(i));
    damaged = append(*opened.log, "this one is damaged later");
    ASSERT_TRUE(opened.log->sync().is_ok());
    append(*opened.log, "written after the sync");  // says the damaged frame had been synced
  }
  disk.flip("00000000000000000001.seg", damaged.offset + 3);
  Opened reopened = open_log(disk, 1 << 16);
  ASSERT_EQ(reopened.log, nullptr);
  EXPECT_NE(reopened.error.message().find("the log is corrupt"), std::string::npos)
      << reopened.error.message();
  EXPECT_NE(reopened.error.message().find("00000000000000000001.seg at offset"), std::string::npos)
      << reopened.error.message();
  // Nothing was cut or changed: the damage is left for inspection.
  EXPECT_NE(disk.contents("00000000000000000001.seg").find("written after the sync"),
            std::string::npos);
}

TEST(SegmentLog, ADamagedFrameNoSyncCoveredIsATornTailAndIsCut) {
  MemoryDirectory disk;
  FramePosition damaged;
  {
    Opened opened = open_log(disk, 1 << 16);
    for (int i = 0; i < 5; ++i) append(*opened.log, "kept " + std::to_string(i));
    ASSERT_TRUE(opened.log->sync().is_ok());
    damaged = append(*opened.log, "torn");
    append(*opened.log, "after the torn one, never synced");
  }
  disk.crash_keeping_everything();
  disk.flip("00000000000000000001.seg", damaged.offset + 1);
  Opened reopened = open_log(disk, 1 << 16);
  ASSERT_TRUE(reopened.error.is_ok()) << reopened.error.message();
  EXPECT_EQ(reopened.payloads.size(), 5u);
  EXPECT_GT(reopened.recovery.torn_bytes_cut, 0u);
  EXPECT_NE(reopened.recovery.torn_at.find("00000000000000000001.seg"), std::string::npos);
  // Cut for good: the bytes are zeros now, and frames appended next follow on.
  EXPECT_EQ(disk.contents("00000000000000000001.seg").find("after the torn one"),
            std::string::npos);
  append(*reopened.log, "next");
  reopened.log.reset();
  Opened again = open_log(disk, 1 << 16);
  ASSERT_TRUE(again.error.is_ok());
  EXPECT_EQ(again.payloads.back(), "next");
  EXPECT_EQ(again.recovery.torn_bytes_cut, 0u);
}

TEST(SegmentLog, ASegmentUnfinishedAtACrashIsRemovedAndOneFromAnotherLogRefused) {
  MemoryDirectory disk;
  {
    Opened opened = open_log(disk);
    append(*opened.log, "one");
    ASSERT_TRUE(opened.log->sync().is_ok());
  }
  Status error = Status::ok();
  auto unfinished = disk.create("00000000000000000002.seg.tmp", error);
  ASSERT_TRUE(unfinished->write_at(0, std::string(100, 'z')).is_ok());
  Opened reopened = open_log(disk);
  ASSERT_TRUE(reopened.error.is_ok()) << reopened.error.message();
  EXPECT_EQ(reopened.payloads, std::vector<std::string>{"one"});
  std::vector<std::string> names;
  ASSERT_TRUE(disk.list(names).is_ok());
  EXPECT_EQ(names, std::vector<std::string>{"00000000000000000001.seg"});
  reopened.log.reset();

  // A segment of another log (another salt) beside this one's.
  MemoryDirectory other;
  {
    Opened opened = open_log(other);
    while (opened.log->current_segment() < 2) append(*opened.log, std::string(1000, 'o'));
  }
  const std::string foreign = other.contents("00000000000000000002.seg");
  auto copy = disk.create("00000000000000000002.seg", error);
  ASSERT_TRUE(copy->write_at(0, foreign).is_ok());
  Opened mixed = open_log(disk);
  EXPECT_EQ(mixed.log, nullptr);
  EXPECT_NE(mixed.error.message().find("belongs to another log"), std::string::npos)
      << mixed.error.message();
}

TEST(SegmentLog, EachNewSegmentOpensWithTheOwnersFrameAndOldSegmentsCanBeDropped) {
  MemoryDirectory disk;
  int state = 0;
  {
    Opened opened = open_log(disk);
    opened.log->set_opening([&](std::string& frame) { frame += "state " + std::to_string(state); });
    for (state = 0; state < 40; ++state) append(*opened.log, std::string(300, 'e'));
    ASSERT_GT(opened.log->current_segment(), 3u);
    const uint64_t keep_from = opened.log->current_segment() - 1;
    ASSERT_TRUE(opened.log->drop_segments_before(keep_from).is_ok());
    EXPECT_EQ(opened.log->segment(keep_from - 1), nullptr);
    ASSERT_NE(opened.log->segment(keep_from), nullptr);
    ASSERT_TRUE(opened.log->sync().is_ok());
  }
  Opened reopened = open_log(disk);
  ASSERT_TRUE(reopened.error.is_ok()) << reopened.error.message();
  ASSERT_FALSE(reopened.payloads.empty());
  EXPECT_TRUE(reopened.payloads.front().starts_with("state ")) << reopened.payloads.front();
  size_t openings = 0;
  for (const auto& payload : reopened.payloads) openings += payload.starts_with("state ") ? 1 : 0;
  EXPECT_EQ(openings, 2u);  // one per segment kept
}

TEST(SegmentLog, AFailedSyncIsAnError) {
  MemoryDirectory disk;
  Opened opened = open_log(disk);
  append(*opened.log, "one");
  disk.fail_syncs();
  const Status status = opened.log->sync();
  EXPECT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("injected failure"), std::string::npos);
}

class SegmentLogOnDisk : public ::testing::TestWithParam<bool> {};

TEST_P(SegmentLogOnDisk, SegmentsPreparedAheadZeroFilledOrAllocated) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("replikv-segment-log-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  SegmentLogOptions options;
  options.segment_bytes = 1 << 16;
  options.zero_fill = GetParam();
  std::vector<std::string> written;
  std::mt19937_64 rng(7);
  {
    Status error = Status::ok();
    SegmentLogRecovery recovery;
    auto log = SegmentLog::open(
        open_posix_directory(dir.string(), error), options,
        [](uint64_t, std::string_view, const FramePosition&) {}, recovery, error);
    ASSERT_NE(log, nullptr) << error.message();
    for (uint64_t n = 0; n < 400; ++n) {
      written.push_back(payload_of(n, rng));
      append(*log, written.back());
      if (n % 50 == 0) {
        ASSERT_TRUE(log->sync().is_ok());
      }
    }
    ASSERT_TRUE(log->sync().is_ok());
    EXPECT_GT(log->stats().segments_created, 3u);
  }
  Status error = Status::ok();
  SegmentLogRecovery recovery;
  std::vector<std::string> replayed;
  auto log = SegmentLog::open(
      open_posix_directory(dir.string(), error), options,
      [&](uint64_t, std::string_view payload, const FramePosition&) {
        replayed.emplace_back(payload);
      },
      recovery, error);
  ASSERT_NE(log, nullptr) << error.message();
  EXPECT_EQ(replayed, written);
  EXPECT_EQ(std::filesystem::file_size(dir / "00000000000000000002.seg"), options.segment_bytes);
  log.reset();
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(SegmentLog, SegmentLogOnDisk, ::testing::Values(true, false),
                         [](const auto& param) {
                           return param.param ? "ZeroFilled" : "Allocated";
                         });

}  // namespace
}  // namespace replikv::storage
