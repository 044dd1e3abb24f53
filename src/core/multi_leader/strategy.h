// The multi-leader strategy (`multi-leader`), as registered at the seam (core/strategy.h).
#pragma once

#include <memory>

#include "core/multi_leader/replica.h"
#include "core/strategy.h"

namespace replikv::core::multi_leader {

std::unique_ptr<Strategy> make_strategy();
// The replica options a node's context and (validated) settings make.
Options make_options(const NodeContext& node, const Settings& settings);

}  // namespace replikv::core::multi_leader
