// Redis-style glob matching for KEYS and SCAN MATCH: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, and `\`
// to escape. Iterative with backtracking over the last `*` only, so a hostile pattern cannot make
// it exponential: O(pattern × text) at worst.
#pragma once

#include <string_view>

namespace replikv::core {

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace replikv::core
