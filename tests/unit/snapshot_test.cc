// SnapshotSource: the state machine read out of a frozen view in bounded, repeatable chunks.
#include <map>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/leader/snapshot.h"
#include "storage/memory_engine.h"

namespace replikv::core {
namespace {

using Records = std::map<std::tuple<uint32_t, std::string>, std::string>;

Records replicated_state(const StorageView& view) {
  Records out;
  for (const Column column : {Column::data, Column::expiry, Column::state}) {
    view.scan(column, {}, [&](std::string_view key, std::string_view value) {
      out[{static_cast<uint32_t>(column), std::string(key)}] = std::string(value);
      return true;
    });
  }
  return out;
}

TEST(SnapshotSource, ChunksCoverTheFrozenStateInOrderAndRepeat) {
  storage::MemoryEngine engine;
  WriteBatch batch;
  for (int i = 0; i < 200; ++i)
    batch.put(Column::data, data_key("k" + std::to_string(i)), std::string(i % 7 * 10, 'v'));
  batch.put(Column::data, data_key("big"), std::string(1000, 'b'));  // larger than a chunk
  for (int i = 0; i < 20; ++i)
    batch.put(Column::expiry, expiry_key(1000 + i, "k" + std::to_string(i)), "");
  batch.put(Column::state, std::string(state_counters), std::string(24, '\0'));
  batch.put(Column::state, "raft_window_00000001", std::string(136, 'w'));
  batch.put(Column::meta, "raft_term", "not replicated");
  batch.put(Column::log, "entry", "not in a snapshot");
  ASSERT_TRUE(engine.write(batch).is_ok());
  SnapshotSource source(engine.snapshot(), LogIndex(42), Term(7));
  const Records expected = replicated_state(engine);
  // Writes after the snapshot do not show in it.
  WriteBatch later;
  later.put(Column::data, data_key("later"), "x");
  later.erase(Column::data, data_key("k1"));
  ASSERT_TRUE(engine.write(later).is_ok());

  Records got;
  std::tuple<uint32_t, std::string> previous{0, ""};
  constexpr size_t bytes_max = 300;
  uint64_t number = 0;
  for (;; ++number) {
    ASSERT_LT(number, 1000u) << "the chunks end";
    const proto::SnapshotChunk chunk = source.chunk(number, bytes_max);
    EXPECT_EQ(chunk.index(), 42u);
    EXPECT_EQ(chunk.term(), 7u);
    EXPECT_EQ(chunk.number(), number);
    size_t bytes = 0;
    for (const auto& record : chunk.records()) {
      const std::tuple<uint32_t, std::string> at{record.column(), record.key()};
      // Column order data (1), expiry (3), meta (2): compare by that order.
      auto rank = [](uint32_t column) { return column == 1 ? 0 : column == 3 ? 1 : 2; };
      if (number > 0 || &record != &chunk.records(0)) {
        const bool after =
            rank(std::get<0>(at)) > rank(std::get<0>(previous)) ||
            (std::get<0>(at) == std::get<0>(previous) && std::get<1>(at) > std::get<1>(previous));
        EXPECT_TRUE(after) << "records come once, in order";
      }
      previous = at;
      got[at] = record.value();
      bytes += record.key().size() + record.value().size();
    }
    if (chunk.records_size() > 1) {
      EXPECT_LE(bytes, bytes_max);
    }
    // Asked again, the same chunk.
    EXPECT_EQ(source.chunk(number, bytes_max).SerializeAsString(), chunk.SerializeAsString());
    if (chunk.last()) break;
  }
  EXPECT_GT(number, 5u) << "the state took several chunks";
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got.count({static_cast<uint32_t>(Column::meta), "raft_term"}), 0u);
}

TEST(SnapshotSource, AnEmptyStateIsOneLastChunk) {
  storage::MemoryEngine engine;
  SnapshotSource source(engine.snapshot(), LogIndex(0), Term(0));
  const proto::SnapshotChunk chunk = source.chunk(0, 1024);
  EXPECT_TRUE(chunk.last());
  EXPECT_EQ(chunk.records_size(), 0);
}

// The install steps move a snapshot into a node that holds other state: the replicated state
// becomes the snapshot's exactly, the node's own records (term, log) stay, and a crash in the
// moving step (unsynced batches lost) is finished by moving again.
TEST(SnapshotInstall, StagingErasingAndMovingReplaceTheReplicatedStateOnly) {
  storage::MemoryEngine leader;
  WriteBatch state;
  for (int i = 0; i < 120; ++i)
    state.put(Column::data, data_key("new" + std::to_string(i)), std::string(i % 5 * 20, 'n'));
  state.put(Column::expiry, expiry_key(5000, "new1"), "");
  state.put(Column::state, std::string(state_counters), std::string(24, '\1'));
  state.put(Column::state, "raft_window_00000002", std::string(136, 'w'));
  ASSERT_TRUE(leader.write(state).is_ok());
  SnapshotSource source(leader.snapshot(), LogIndex(99), Term(3));

  storage::MemoryEngine follower;
  WriteBatch old;
  for (int i = 0; i < 50; ++i) old.put(Column::data, data_key("old" + std::to_string(i)), "o");
  old.put(Column::expiry, expiry_key(10, "old1"), "");
  old.put(Column::state, "raft_window_00000001", std::string(136, 'x'));
  old.put(Column::state, std::string(state_counters), std::string(24, '\2'));
  old.put(Column::meta, "raft_term", "mine");
  old.put(Column::log, "entry", "mine too");
  ASSERT_TRUE(follower.write(old).is_ok());
  ASSERT_TRUE(follower.sync().is_ok());

  for (uint64_t number = 0;; ++number) {
    const proto::SnapshotChunk chunk = source.chunk(number, 256);
    WriteBatch batch;
    stage_chunk(chunk, batch);
    ASSERT_TRUE(follower.write(batch).is_ok());
    ASSERT_TRUE(follower.sync().is_ok());
    if (chunk.last()) break;
  }
  EXPECT_EQ(follower.get(Column::data, data_key("old3")), "o") << "staging changes nothing yet";
  WriteBatch erase;
  erase_replicated_state(erase);
  ASSERT_TRUE(follower.write(erase).is_ok());
  ASSERT_TRUE(follower.sync().is_ok());
  int batches = 0;
  bool crashed = false;
  std::string position;
  for (bool done = false; !done;) {
    ASSERT_LT(++batches, 1000);
    WriteBatch move;
    done = move_staged(follower, 200, position, move);
    ASSERT_TRUE(follower.write(move).is_ok());
    if (batches == 5 && !crashed) {
      follower.crash();  // the batch was never synced: it is lost, and moved again
      position.clear();  // a restart starts from the start of staging
      crashed = true;
      done = false;
      continue;
    }
    ASSERT_TRUE(follower.sync().is_ok());
  }
  EXPECT_GT(batches, 10);
  EXPECT_EQ(replicated_state(follower), replicated_state(leader));
  EXPECT_EQ(follower.get(Column::meta, "raft_term"), "mine");
  EXPECT_EQ(follower.get(Column::log, "entry"), "mine too");
  bool staged = false;
  follower.scan(Column::staging, "", [&](std::string_view, std::string_view) {
    staged = true;
    return false;
  });
  EXPECT_FALSE(staged) << "staging is empty at the end";

  // An abandoned install leaves nothing staged.
  WriteBatch again;
  stage_chunk(source.chunk(0, 256), again);
  ASSERT_TRUE(follower.write(again).is_ok());
  WriteBatch discard;
  discard_staged(discard);
  ASSERT_TRUE(follower.write(discard).is_ok());
  follower.scan(Column::staging, "", [&](std::string_view, std::string_view) {
    staged = true;
    return false;
  });
  EXPECT_FALSE(staged);
  EXPECT_EQ(replicated_state(follower), replicated_state(leader));
}

}  // namespace
}  // namespace replikv::core
