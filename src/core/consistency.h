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
//   one | quorum | all | <n>
//                 leaderless: answered once that many of the key's N replicas replied (quorum: a
//                 majority of N) and their copies were reconciled (docs/leaderless.md).
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
  eventual,
  replicas,
};

// How many of a key's N replicas a leaderless request waits for: a number (1 is "one"), or one of
// these two, worked out against N.
inline constexpr uint32_t replicas_majority = 0;
inline constexpr uint32_t replicas_all = UINT32_MAX;
inline constexpr uint32_t replicas_number_max = 1000;
// "one", "quorum", "all" or a number 1 … 1000, any case; nullopt otherwise.
std::optional<uint32_t> parse_replica_count(std::string_view text);
std::string replica_count_text(uint32_t count);
// The count against a key's `n` replicas (a majority is n / 2 + 1; a number above n stays so:
// the caller refuses it).
inline uint32_t resolve_replica_count(uint32_t count, uint32_t n) {
  if (count == replicas_majority) return n / 2 + 1;
  if (count == replicas_all) return n;
  return count;
}

struct ReadOptions {
  ReadConsistency consistency = ReadConsistency::cluster_default;
  TimeMs bound_ms = 0;                    // bounded only
  uint32_t replicas = replicas_majority;  // replicas only
  bool operator==(const ReadOptions&) const = default;
};

// "linearizable", "leader", "session", "bounded:<ms>" (1 .. 86,400,000), "eventual" or a replica
// count (parse_replica_count), any case;
// nullopt otherwise ("default" is not a level a client may name).
std::optional<ReadOptions> parse_read_options(std::string_view text);
std::string to_string(const ReadOptions& options);
// What parse_read_options takes, for an error that names it.
inline constexpr std::string_view read_options_expected =
    "linearizable, leader, session, bounded:<ms> (1 to 86400000), eventual, or a replica count "
    "(one, quorum, all, or 1 to 1000)";

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
