// Causal contexts as clients see them: the text VGET gives and VSET takes back, the same under
// every strategy that keeps siblings.
//
// A context is "node.incarnation:counter" per actor, comma separated, the incarnation in hex
// ("1.5f3a2b1c:12,2.0a0b0c0d:7"; "-" when empty).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/causality/dot_set.h"

namespace replikv::core {

std::string context_text(const CausalContext& context);
// nullopt for text that is no context.
std::optional<CausalContext> parse_context_text(std::string_view text);

// Whether `applied` covers every write `vector` names (a counter of 0 names none).
bool covers_vector(const CausalContext& applied, const CausalContext& vector);

}  // namespace replikv::core
