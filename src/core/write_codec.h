// The bridge between a client's write request and the replicated log's `proto::Write`.
//
// A write enters the log once, on the node that accepts it, and is applied on every replica.
// Everything that depends on where or when it is applied must be decided on entry: a relative
// expiry ("EX 10") becomes an absolute instant from the accepting node's clock. After that the
// entry means the same thing everywhere.
#pragma once

#include <optional>

#include "core/command.h"
#include "core/types.h"
#include "proto/replikv.pb.h"

namespace replikv::core {

// The log form of a write request, expiry resolved against `now_ms`; nullopt for a read. With
// no `now_ms` (a follower forwarding to the leader) a relative expiry stays relative.
std::optional<proto::Write> to_log_write(const Request& request, std::optional<TimeMs> now_ms);
// The same, taking a SET's key and value buffers rather than copying them: `request` is left
// with an empty key and value (a leader keeps a request only to answer it).
std::optional<proto::Write> to_log_write(Request&& request, std::optional<TimeMs> now_ms);

// Turns a forwarded write's relative expiry into an absolute one, from the leader's clock.
void resolve_expiry(proto::Write& write, TimeMs now_ms);

// Whether a peer's Command write is one this version runs: a write command with good arguments
// (a leader checks what a follower forwards before it enters the log, which trusts its entries).
bool is_valid_command_write(const proto::Write& write);
// The same for a Transaction write: every command one a transaction runs, with its arity (bad
// arguments are the command's own error in its place, as at EXEC).
bool is_valid_transaction_write(const proto::Write& write);

// The request a replica applies for a log entry's write (expiry absolute or kept).
Request from_log_write(const proto::Write& write);

}  // namespace replikv::core
