// The leaderless strategy (`leaderless`), as registered at the seam (core/strategy.h).
#pragma once

#include <memory>

#include "core/leaderless/replica.h"
#include "core/strategy.h"

namespace replikv::core::leaderless {

std::unique_ptr<Strategy> make_strategy();
// The replica options a node's context and (validated) settings make.
Options make_options(const NodeContext& node, const Settings& settings);

}  // namespace replikv::core::leaderless
