// The standalone strategy (`standalone`): one node, as registered at the seam (core/strategy.h).
#pragma once

#include <memory>

#include "core/strategy.h"

namespace replikv::core {

std::unique_ptr<Strategy> make_standalone_strategy();

}  // namespace replikv::core
