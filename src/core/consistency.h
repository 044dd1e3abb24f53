// Read consistency and session tokens: what a client asks of a read, and the log position that
// lets it carry its session from node to node (docs/replication.md, "Reads").
//
//   linearizable  through the leader, confirmed by a quorum (ReadIndex): reflects every write
//                 acknowledged before the read began. Refused under `ack = async`, where a
//                 failover may lose acknowledged writes.
//   leader        the same path, where it cannot be promised linearizable (async's default).
//   session       served by any node once it has applied the session's token: read-your-writes
//                 and monotonic reads across nodes. A token whose entry another term replaced
//                 (a lost write) is an error, never a silent older answer.
//   bounded:<ms>  served by any node whose lag behind the leader is certainly within the bound.
//   eventual      served by any node from what it has now.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/session.h"
#include "core/types.h"

namespace replikv::core {

enum class ReadConsistency : uint8_t {
  cluster_default,
  linearizable,
  leader,
  session,
  bounded,
  eventual
};

struct ReadOptions {
  ReadConsistency consistency = ReadConsistency::cluster_default;
  TimeMs bound_ms = 0;  // bounded only
  bool operator==(const ReadOptions&) const = default;
};

// "linearizable", "leader", "session", "bounded:<ms>" (1 .. 86,400,000) or "eventual", any case;
// nullopt otherwise ("default" is not a level a client may name).
std::optional<ReadOptions> parse_read_options(std::string_view text);
std::string to_string(const ReadOptions& options);

// A position in the replicated log: the entry at `index`, written in `term`. A write's token is
// the entry that holds it; a read's, the last entry the serving node had applied. Of two tokens
// the later position is the one with the higher index (later(), below); the term tells whether
// the entry at that index is still the one written (a failover may have replaced it).
struct SessionToken {
  Term term;
  LogIndex index;
  bool operator==(const SessionToken&) const = default;
};

// "<term>:<index>", as SESSION shows it; nullopt for anything else.
std::optional<SessionToken> parse_session_token(std::string_view text);
std::string to_string(const SessionToken& token);

// The later of two tokens by index (an equal index keeps `a`).
inline SessionToken later(const SessionToken& a, const SessionToken& b) {
  return b.index > a.index ? b : a;
}

// A token as the opaque session position drivers carry (core/session.h), and back: the term and
// the index as two varints. nullopt for bytes that are no token.
SessionPosition position_of(const SessionToken& token);
std::optional<SessionToken> token_of(const SessionPosition& position);

}  // namespace replikv::core
