// The multi-leader strategy (`multi-leader`), as registered at the seam (core/strategy.h).
#pragma once

#include <memory>

#include "core/strategy.h"

namespace replikv::core::multi_leader {

std::unique_ptr<Strategy> make_strategy();

}  // namespace replikv::core::multi_leader
