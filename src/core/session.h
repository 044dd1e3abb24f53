// Session positions: where a client's session stands (SESSION, session reads, WAIT), opaque to
// every driver. The strategy that makes a position encodes it and says how it reads as text and
// how two merge (Strategy::parse_session, session_text, merge_sessions in core/strategy.h): the
// single leader keeps a position in its log (term and index, core/consistency.h's SessionToken); a
// multi-leader node would keep one per origin, and two such positions merge pointwise — which a
// plain `<` could not say. A strategy that offers no session reads makes none.
#pragma once

#include <cstdint>
#include <string>

namespace replikv::core {

struct SessionPosition {
  std::string bytes;  // the strategy's encoding
  bool operator==(const SessionPosition&) const = default;
};

// What a replica can do for a session read at a position: serve it now, wait until it has
// applied that far, or refuse it because the write the position names was lost.
enum class SessionCheck : uint8_t { satisfied, wait, lost };

}  // namespace replikv::core
