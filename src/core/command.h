// Commands: the table of every command replikv answers, and the parser that turns a client's
// argument vector into a typed `Request` for the core.
//
// The table is the one place that says what a command is called, how many arguments it takes,
// whether it writes, and who answers it: the core (data commands) or the runtime (connection and
// server commands such as PING, CLIENT, INFO). COMMAND's reply is generated from it. Parsing is
// pure: same arguments, same request or the same error, in Redis's words.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/data/commands.h"
#include "core/encoding.h"
#include "core/reply.h"
#include "core/types.h"

namespace replikv::core {

struct CommandSpec {
  // Who parses and answers it: the core (data commands, parse_request below), the runtime
  // (connection and server commands), or the node's strategy (the commands it adds: Strategy::
  // commands and parse_command, core/strategy.h; FAILOVER is the single leader's).
  enum class Handler : uint8_t { core, server, strategy };
  std::string_view name;  // lower case
  int arity;              // Redis's convention: N exactly, or -N for at least N (name included)
  bool write;
  Handler handler;
  int first_key;  // COMMAND's key positions; 0 when the command takes no keys
  int last_key;
  int key_step;
  std::string_view flags;  // space separated, as COMMAND lists them
};

// ASCII case-insensitive equality (command names and options).
bool equals_ignore_case(std::string_view a, std::string_view b);

// The spec for a command name in any case, or nullptr (the core's and the runtime's; a strategy's
// own are found through it: Strategy::find_command).
const CommandSpec* find_command(std::string_view name);
const std::vector<CommandSpec>& all_commands();

// "ERR wrong number of arguments for 'get' command" when `argc` (name included) does not fit.
std::optional<Reply> check_arity(const CommandSpec& spec, size_t argc);

// When a value expires.
struct Expiry {
  enum class Kind : uint8_t { none, relative_ms, absolute_ms, keep };
  Kind kind = Kind::none;
  int64_t ms = 0;
};

struct GetRequest {
  std::string key;
};
struct SetRequest {
  enum class Condition : uint8_t { always, if_absent, if_present };
  std::string key;
  std::string value;
  Expiry expiry;
  Condition condition = Condition::always;
  bool return_old = false;  // SET … GET
};
struct DelRequest {
  std::vector<std::string> keys;
};
struct ExistsRequest {
  std::vector<std::string> keys;
};
struct MGetRequest {
  std::vector<std::string> keys;
};
struct MSetRequest {
  std::vector<std::pair<std::string, std::string>> pairs;
};
// INCR/INCRBY/DECR/DECRBY key [delta] [ID <request id>]: a client's id for the increment, so a
// retry is applied once — under multi-leader, by a node that has seen the first attempt (the
// others apply every INCR they are sent once already). Empty: none.
struct IncrByRequest {
  std::string key;
  int64_t delta;
  std::string request_id{};
};
struct DbSizeRequest {};
struct ScanRequest {
  uint64_t cursor = 0;
  std::string pattern;  // empty: every key
  uint64_t count = 10;
  // TYPE's filter: only keys of `type`; a name that is no type matches nothing (as Redis 7.0).
  std::optional<ValueType> type;
  bool type_unknown = false;
};
struct KeysRequest {
  std::string pattern;
};
struct TtlRequest {
  std::string key;
  bool milliseconds;
};
// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT], and PERSIST key.
struct ExpireRequest {
  enum class Condition : uint8_t { always, if_none, if_some, if_greater, if_less };
  std::string key;
  Expiry expiry;  // relative_ms or absolute_ms; none for PERSIST
  Condition condition = Condition::always;
};
// CAS key [expected] new: sets `key` to `value` only if its current value is `expected` — or, with
// no expected value given, only if the key is absent. Answers 1 when it set, 0 when not.
struct CasRequest {
  std::string key;
  std::optional<std::string> expected;
  std::string value;
};

// WAIT numreplicas timeout: answered with the number of followers holding the connection's last
// write durably, once at least `replicas` do or after `timeout_ms` (0: no limit). The runtime
// supplies the write's position (ClientRequest::session).
struct WaitRequest {
  int64_t replicas = 0;
  int64_t timeout_ms = 0;
};

// A command of the data families (core/data/commands.h): its arguments, checked when parsed and
// run by its family's code on every replica; the log carries them as they are here (times made
// absolute). `argv[0]` is the name in lower case.
struct CommandRequest {
  const CommandSpec* spec = nullptr;
  const DataCommand* command = nullptr;
  std::vector<std::string> argv;
};

// WATCH key [key …] as the runtime asks it of the replica: answered with an array — the
// keyspace's write version now, then 1 or 0 per key for whether it is live — which the runtime
// keeps for EXEC and answers the client OK.
struct WatchRequest {
  std::vector<std::string> keys;
};

// A key WATCH saw: the write version then, and whether it was live.
struct WatchedKey {
  std::string key;
  uint64_t version = 0;
  bool live = false;
};

// MULTI … EXEC: the queued commands as their arguments (the name first), run in order as one
// step; when a watched key changed since it was watched, none runs and the answer is a null
// array. A command whose arguments are bad answers its error in its place and the others run, as
// in Redis. In the single-leader strategies a transaction that writes is one log entry.
struct TransactionRequest {
  std::vector<std::vector<std::string>> commands;
  std::vector<WatchedKey> watched;
  bool write = false;  // some command writes
};

// A command a strategy adds (core/strategy.h: Strategy::commands, parsed by its parse_command):
// its typed arguments are the strategy's own type, which only its replica reads back (`as`). The
// single leader's FAILOVER travels so (core/leader/commands.h); a multi-leader strategy's reads
// that return several values or writes with a causal context would too.
struct StrategyCommand {
  struct Payload {
    virtual ~Payload() = default;
  };
  std::string name;  // lower case, as the strategy registered it
  std::shared_ptr<const Payload> payload;
  bool write = false;

  template <typename T>
  const T* as() const {
    return dynamic_cast<const T*>(payload.get());
  }
  template <typename T>
  static StrategyCommand of(std::string name, T typed, bool write) {
    return {std::move(name), std::make_shared<const T>(std::move(typed)), write};
  }
};

using Request = std::variant<GetRequest, SetRequest, DelRequest, ExistsRequest, MGetRequest,
                             MSetRequest, IncrByRequest, DbSizeRequest, ScanRequest, KeysRequest,
                             TtlRequest, CasRequest, ExpireRequest, WaitRequest, CommandRequest,
                             WatchRequest, TransactionRequest, StrategyCommand>;

// Who answers what. The keyspace (core/keyspace.h) serves these …
using KeyspaceRequestTypes =
    std::tuple<GetRequest, SetRequest, DelRequest, ExistsRequest, MGetRequest, MSetRequest,
               IncrByRequest, DbSizeRequest, ScanRequest, KeysRequest, TtlRequest, CasRequest,
               ExpireRequest, CommandRequest, WatchRequest, TransactionRequest>;
// … and the replication strategy answers these itself: WAIT counts replicas, and the commands it
// adds are its own (answer_strategy_request, core/replica.h).
using StrategyRequestTypes = std::tuple<WaitRequest, StrategyCommand>;

template <typename T, typename Tuple>
struct tuple_has;
template <typename T, typename... Ts>
struct tuple_has<T, std::tuple<Ts...>> : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};
template <typename T>
inline constexpr bool keyspace_serves_v = tuple_has<T, KeyspaceRequestTypes>::value;
template <typename T>
inline constexpr bool strategy_answers_v = tuple_has<T, StrategyRequestTypes>::value;

// Every type of Request is answered by exactly one of them: a new request type that neither
// takes up does not compile.
template <typename... Ts>
constexpr bool answered_once(std::variant<Ts...>*) {
  return ((keyspace_serves_v<Ts> != strategy_answers_v<Ts>)&&...);
}
static_assert(answered_once(static_cast<Request*>(nullptr)),
              "every request type is served by the keyspace or answered by the strategy, not both");

bool is_write(const Request& request);
// Whether the strategy answers it itself (StrategyRequestTypes) rather than the keyspace.
bool answered_by_strategy(const Request& request);

// Parses a core command (`spec.handler == core`, arity already checked). On bad arguments returns
// the error reply Redis gives.
std::variant<Request, Reply> parse_request(const CommandSpec& spec,
                                           std::span<const std::string_view> argv);

// The family command named `argv[0]` (any case) as a request, or the error Redis gives its
// arguments; nullopt when no family has it. (parse_request does this for the table's names; the
// log's entries come back through it too.)
std::optional<std::variant<Request, Reply>> parse_data_command(
    std::span<const std::string_view> argv);

// The keys a request names, in order (a key named twice comes twice): COMMAND's key positions
// for a family command.
std::vector<std::string> keys_of(const CommandRequest& request);

// Whether a command may be queued between MULTI and EXEC (a data command of the core's, or one
// the runtime answers that is not about the transaction or the connection's reads); nullopt when
// it may, else the error that flags the transaction.
std::optional<Reply> refuse_in_transaction(const CommandSpec& spec);

// Integer parsing with Redis's rules: optional '-', decimal digits, no spaces, no '+', fits int64.
std::optional<int64_t> parse_int64(std::string_view text);

}  // namespace replikv::core
