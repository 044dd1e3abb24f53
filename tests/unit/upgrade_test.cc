#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/upgrade.h"
#include "storage/memory_engine.h"

namespace replikv::core {
namespace {

// A data directory of the first layout kept the checkpoint's records in the meta column; the
// upgrade moves them, and only them, to the state column, once.
TEST(UpgradeLayout, MovesTheCheckpointRecordsFromMetaToStateOnce) {
  storage::MemoryEngine engine;
  WriteBatch old;
  old.put(Column::meta, std::string(state_counters), std::string(24, '\1'));
  old.put(Column::meta, std::string(state_applied), std::string(8, '\2'));
  old.put(Column::meta, std::string(state_applied_terms), std::string(16, '\3'));
  old.put(Column::meta, std::string(state_window_prefix) + "0001", "w1");
  old.put(Column::meta, std::string(state_window_prefix) + "0002", "w2");
  old.put(Column::meta, "raft_term", "t");
  old.put(Column::meta, "raft_vote", "v");
  old.put(Column::data, "k", "d");
  ASSERT_TRUE(engine.write(old).is_ok());

  const WriteBatch upgrade = upgrade_layout(engine);
  ASSERT_FALSE(upgrade.empty());
  ASSERT_TRUE(engine.write(upgrade).is_ok());
  EXPECT_EQ(engine.get(Column::state, state_counters), std::string(24, '\1'));
  EXPECT_EQ(engine.get(Column::state, state_applied), std::string(8, '\2'));
  EXPECT_EQ(engine.get(Column::state, state_applied_terms), std::string(16, '\3'));
  EXPECT_EQ(engine.get(Column::state, std::string(state_window_prefix) + "0001"), "w1");
  EXPECT_EQ(engine.get(Column::state, std::string(state_window_prefix) + "0002"), "w2");
  EXPECT_FALSE(engine.get(Column::meta, state_counters).has_value());
  EXPECT_FALSE(engine.get(Column::meta, std::string(state_window_prefix) + "0001").has_value());
  EXPECT_EQ(engine.get(Column::meta, "raft_term"), "t") << "the node's own records stay";
  EXPECT_EQ(engine.get(Column::meta, "raft_vote"), "v");
  EXPECT_EQ(engine.get(Column::data, "k"), "d");
  EXPECT_TRUE(upgrade_layout(engine).empty()) << "nothing left to move";

  storage::MemoryEngine fresh;
  EXPECT_TRUE(upgrade_layout(fresh).empty());
}

// Layout 3: a snapshot staged in the meta column (an install under way when the node stopped)
// moves to the staging column, keyed without the prefix; nothing else in meta moves.
TEST(UpgradeLayout, MovesAStagedSnapshotToItsOwnColumn) {
  storage::MemoryEngine engine;
  WriteBatch old;
  old.put(Column::meta, std::string("raft_stage_") + '\1' + "key1", "v1");
  old.put(Column::meta, std::string("raft_stage_") + '\3' + "exp", "e");
  old.put(Column::meta, "raft_install", "marker");
  old.put(Column::meta, "raft_term", "t");
  ASSERT_TRUE(engine.write(old).is_ok());
  const WriteBatch upgrade = upgrade_layout(engine);
  ASSERT_TRUE(engine.write(upgrade).is_ok());
  EXPECT_EQ(engine.get(Column::staging, std::string(1, '\1') + "key1"), "v1");
  EXPECT_EQ(engine.get(Column::staging, std::string(1, '\3') + "exp"), "e");
  EXPECT_FALSE(engine.get(Column::meta, std::string("raft_stage_") + '\1' + "key1").has_value());
  EXPECT_EQ(engine.get(Column::meta, "raft_install"), "marker");
  EXPECT_EQ(engine.get(Column::meta, "raft_term"), "t");
  EXPECT_TRUE(upgrade_layout(engine).empty());
}

}  // namespace
}  // namespace replikv::core
