// Upgrades of the storage layout: what a data directory written by an earlier replikv needs before
// this version's replicas read it. Each upgrade is a batch the driver applies (and syncs) before
// it creates the replica; the core still never writes storage itself.
#pragma once

#include "core/storage.h"

namespace replikv::core {

// The batch that brings `view` to this version's layout; empty when it already has it (a new
// directory, or one upgraded before). Applying it twice is harmless: the second time finds
// nothing to move.
//
// Layout 2 (checkpoints written off the event loop): the records a checkpoint writes besides data
// and expiry — counters, raft_applied, raft_applied_terms, raft_window_* — moved from the meta
// column into a column of their own (`state`), so that nothing else writes the columns a
// checkpoint writes (docs/storage.md).
//
// Layout 3 (the log in segment files): a snapshot's records staged while it is installed moved
// from the meta column (keys raft_stage_<column byte><key>) to a column of their own (`staging`,
// keys <column byte><key>): the meta column now lives with the log, which holds no bulk data.
WriteBatch upgrade_layout(const StorageView& view);

}  // namespace replikv::core
