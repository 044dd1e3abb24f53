// Positions of the multi-leader strategy as clients carry them: a version vector (per actor, the
// writes applied) as the opaque causal context VGET gives and VSET takes back, and a session
// position — a vector and the highest hybrid-clock timestamp the client has seen.
//
// Text forms (what VGET, SESSION and the history show): a vector is "node.incarnation:counter"
// per actor, comma separated, incarnation in hex ("1.5f3a2b1c:12,2.0a0b0c0d:7"; "-" when empty);
// a session position is "<vector>@<wall_ms>.<logical>".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/causality/context_text.h"
#include "core/causality/dot_set.h"
#include "core/causality/hlc.h"
#include "core/session.h"

namespace replikv::core::multi_leader {

struct Position {
  CausalContext vector;
  HlcTimestamp hlc;
  bool operator==(const Position&) const = default;
};

std::string position_text(const Position& position);
std::optional<Position> parse_position_text(std::string_view text);

// As the opaque session position drivers carry (core/session.h), and back.
SessionPosition encode_position(const Position& position);
std::optional<Position> decode_position(const SessionPosition& position);

// Pointwise max, and the later timestamp.
Position merge(const Position& a, const Position& b);

}  // namespace replikv::core::multi_leader
