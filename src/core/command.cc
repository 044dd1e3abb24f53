#include "core/command.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace replikv::core {
namespace {

using H = CommandSpec::Handler;

const std::vector<CommandSpec> kCommands = {
    // Data commands, answered by the core.
    {"get", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"set", -3, true, H::core, 1, 1, 1, "write denyoom"},
    {"del", -2, true, H::core, 1, -1, 1, "write"},
    {"exists", -2, false, H::core, 1, -1, 1, "readonly fast"},
    {"mget", -2, false, H::core, 1, -1, 1, "readonly fast"},
    {"mset", -3, true, H::core, 1, -1, 2, "write denyoom"},
    {"incr", -2, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"incrby", -3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"decr", -2, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"decrby", -3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"dbsize", 1, false, H::core, 0, 0, 0, "readonly fast"},
    {"scan", -2, false, H::core, 0, 0, 0, "readonly"},
    {"keys", 2, false, H::core, 0, 0, 0, "readonly"},
    {"ttl", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"pttl", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"cas", -3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"expire", -3, true, H::core, 1, 1, 1, "write fast"},
    {"pexpire", -3, true, H::core, 1, 1, 1, "write fast"},
    {"expireat", -3, true, H::core, 1, 1, 1, "write fast"},
    {"pexpireat", -3, true, H::core, 1, 1, 1, "write fast"},
    {"persist", 2, true, H::core, 1, 1, 1, "write fast"},
    {"wait", 3, false, H::core, 0, 0, 0, "noscript"},
    // Strings (core/data/strings.cc; GETSET, SETEX, PSETEX parse into SetRequest).
    {"append", 3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"strlen", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"getrange", 4, false, H::core, 1, 1, 1, "readonly"},
    {"substr", 4, false, H::core, 1, 1, 1, "readonly"},
    {"setrange", 4, true, H::core, 1, 1, 1, "write denyoom"},
    {"getdel", 2, true, H::core, 1, 1, 1, "write fast"},
    {"getex", -2, true, H::core, 1, 1, 1, "write fast"},
    {"getset", 3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"setnx", 3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"setex", 4, true, H::core, 1, 1, 1, "write denyoom"},
    {"psetex", 4, true, H::core, 1, 1, 1, "write denyoom"},
    {"msetnx", -3, true, H::core, 1, -1, 2, "write denyoom"},
    {"incrbyfloat", 3, true, H::core, 1, 1, 1, "write denyoom fast"},
    // The keyspace (core/data/keys.cc; UNLINK parses into DelRequest).
    {"unlink", -2, true, H::core, 1, -1, 1, "write fast"},
    {"rename", 3, true, H::core, 1, 2, 1, "write"},
    {"renamenx", 3, true, H::core, 1, 2, 1, "write fast"},
    {"copy", -3, true, H::core, 1, 2, 1, "write denyoom"},
    {"type", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"randomkey", 1, false, H::core, 0, 0, 0, "readonly"},
    {"touch", -2, false, H::core, 1, -1, 1, "readonly fast"},
    {"object", -2, false, H::core, 2, 2, 1, "readonly"},
    {"expiretime", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"pexpiretime", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"flushdb", -1, true, H::core, 0, 0, 0, "write"},
    {"flushall", -1, true, H::core, 0, 0, 0, "write"},
    // Hashes (core/data/hashes.cc).
    {"hset", -4, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"hmset", -4, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"hsetnx", 4, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"hget", 3, false, H::core, 1, 1, 1, "readonly fast"},
    {"hmget", -3, false, H::core, 1, 1, 1, "readonly fast"},
    {"hgetall", 2, false, H::core, 1, 1, 1, "readonly"},
    {"hkeys", 2, false, H::core, 1, 1, 1, "readonly"},
    {"hvals", 2, false, H::core, 1, 1, 1, "readonly"},
    {"hdel", -3, true, H::core, 1, 1, 1, "write fast"},
    {"hlen", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"hexists", 3, false, H::core, 1, 1, 1, "readonly fast"},
    {"hstrlen", 3, false, H::core, 1, 1, 1, "readonly fast"},
    {"hincrby", 4, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"hincrbyfloat", 4, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"hrandfield", -2, false, H::core, 1, 1, 1, "readonly"},
    {"hscan", -3, false, H::core, 1, 1, 1, "readonly"},
    // Sets (core/data/sets.cc).
    {"sadd", -3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"srem", -3, true, H::core, 1, 1, 1, "write fast"},
    {"smembers", 2, false, H::core, 1, 1, 1, "readonly"},
    {"sismember", 3, false, H::core, 1, 1, 1, "readonly fast"},
    {"smismember", -3, false, H::core, 1, 1, 1, "readonly fast"},
    {"scard", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"spop", -2, true, H::core, 1, 1, 1, "write fast"},
    {"srandmember", -2, false, H::core, 1, 1, 1, "readonly"},
    {"smove", 4, true, H::core, 1, 2, 1, "write fast"},
    {"sinter", -2, false, H::core, 1, -1, 1, "readonly"},
    {"sunion", -2, false, H::core, 1, -1, 1, "readonly"},
    {"sdiff", -2, false, H::core, 1, -1, 1, "readonly"},
    {"sinterstore", -3, true, H::core, 1, -1, 1, "write denyoom"},
    {"sunionstore", -3, true, H::core, 1, -1, 1, "write denyoom"},
    {"sdiffstore", -3, true, H::core, 1, -1, 1, "write denyoom"},
    {"sintercard", -3, false, H::core, 0, 0, 0, "readonly movablekeys"},
    {"sscan", -3, false, H::core, 1, 1, 1, "readonly"},
    // Sorted sets (core/data/sorted_sets.cc).
    {"zadd", -4, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"zincrby", 4, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"zscore", 3, false, H::core, 1, 1, 1, "readonly fast"},
    {"zmscore", -3, false, H::core, 1, 1, 1, "readonly fast"},
    {"zcard", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"zcount", 4, false, H::core, 1, 1, 1, "readonly fast"},
    {"zlexcount", 4, false, H::core, 1, 1, 1, "readonly fast"},
    {"zrank", 3, false, H::core, 1, 1, 1, "readonly fast"},
    {"zrevrank", 3, false, H::core, 1, 1, 1, "readonly fast"},
    {"zrem", -3, true, H::core, 1, 1, 1, "write fast"},
    {"zrange", -4, false, H::core, 1, 1, 1, "readonly"},
    {"zrangestore", -5, true, H::core, 1, 2, 1, "write denyoom"},
    {"zrevrange", -4, false, H::core, 1, 1, 1, "readonly"},
    {"zrangebyscore", -4, false, H::core, 1, 1, 1, "readonly"},
    {"zrevrangebyscore", -4, false, H::core, 1, 1, 1, "readonly"},
    {"zrangebylex", -4, false, H::core, 1, 1, 1, "readonly"},
    {"zrevrangebylex", -4, false, H::core, 1, 1, 1, "readonly"},
    {"zpopmin", -2, true, H::core, 1, 1, 1, "write fast"},
    {"zpopmax", -2, true, H::core, 1, 1, 1, "write fast"},
    {"zremrangebyrank", 4, true, H::core, 1, 1, 1, "write"},
    {"zremrangebyscore", 4, true, H::core, 1, 1, 1, "write"},
    {"zremrangebylex", 4, true, H::core, 1, 1, 1, "write"},
    {"zrandmember", -2, false, H::core, 1, 1, 1, "readonly"},
    {"zscan", -3, false, H::core, 1, 1, 1, "readonly"},
    {"zunion", -3, false, H::core, 0, 0, 0, "readonly movablekeys"},
    {"zinter", -3, false, H::core, 0, 0, 0, "readonly movablekeys"},
    {"zdiff", -3, false, H::core, 0, 0, 0, "readonly movablekeys"},
    {"zunionstore", -4, true, H::core, 1, 1, 1, "write denyoom movablekeys"},
    {"zinterstore", -4, true, H::core, 1, 1, 1, "write denyoom movablekeys"},
    {"zdiffstore", -4, true, H::core, 1, 1, 1, "write denyoom movablekeys"},
    {"zintercard", -3, false, H::core, 0, 0, 0, "readonly movablekeys"},
    // Lists (core/data/lists.cc).
    {"lpush", -3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"rpush", -3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"lpushx", -3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"rpushx", -3, true, H::core, 1, 1, 1, "write denyoom fast"},
    {"lpop", -2, true, H::core, 1, 1, 1, "write fast"},
    {"rpop", -2, true, H::core, 1, 1, 1, "write fast"},
    {"lmpop", -4, true, H::core, 0, 0, 0, "write movablekeys"},
    {"llen", 2, false, H::core, 1, 1, 1, "readonly fast"},
    {"lindex", 3, false, H::core, 1, 1, 1, "readonly"},
    {"lrange", 4, false, H::core, 1, 1, 1, "readonly"},
    {"lset", 4, true, H::core, 1, 1, 1, "write denyoom"},
    {"lrem", 4, true, H::core, 1, 1, 1, "write"},
    {"ltrim", 4, true, H::core, 1, 1, 1, "write"},
    {"linsert", 5, true, H::core, 1, 1, 1, "write denyoom"},
    {"lpos", -3, false, H::core, 1, 1, 1, "readonly"},
    {"lmove", 5, true, H::core, 1, 2, 1, "write denyoom"},
    {"rpoplpush", 3, true, H::core, 1, 2, 1, "write denyoom"},
    // Blocking pops (core/data/lists.cc; they wait at the node that serves them:
    // core/blocked_pops.h).
    {"blpop", -3, true, H::core, 1, -2, 1, "write blocking"},
    {"brpop", -3, true, H::core, 1, -2, 1, "write blocking"},
    {"blmove", 6, true, H::core, 1, 2, 1, "write denyoom blocking"},
    {"brpoplpush", 4, true, H::core, 1, 2, 1, "write denyoom blocking"},
    {"blmpop", -5, true, H::core, 0, 0, 0, "write blocking movablekeys"},
    // Connection and server commands, answered by the runtime.
    {"ping", -1, false, H::server, 0, 0, 0, "fast stale"},
    {"echo", 2, false, H::server, 0, 0, 0, "fast"},
    {"time", 1, false, H::server, 0, 0, 0, "loading stale fast"},
    // Transactions (the runtime queues; the core runs EXEC as one step: TransactionRequest).
    {"multi", 1, false, H::server, 0, 0, 0, "noscript loading stale fast allow_busy"},
    {"exec", 1, false, H::server, 0, 0, 0, "noscript loading stale skip_slowlog"},
    {"discard", 1, false, H::server, 0, 0, 0, "noscript loading stale fast allow_busy"},
    {"watch", -2, false, H::server, 1, -1, 1, "noscript loading stale fast allow_busy"},
    {"unwatch", 1, false, H::server, 0, 0, 0, "noscript loading stale fast allow_busy"},
    {"info", -1, false, H::server, 0, 0, 0, "loading stale"},
    {"role", 1, false, H::server, 0, 0, 0, "loading stale fast"},
    {"command", -1, false, H::server, 0, 0, 0, "loading stale"},
    {"config", -2, false, H::server, 0, 0, 0, "admin loading stale"},
    {"client", -2, false, H::server, 0, 0, 0, "loading stale"},
    {"select", 2, false, H::server, 0, 0, 0, "loading stale fast"},
    {"hello", -1, false, H::server, 0, 0, 0, "loading stale fast"},
    {"quit", -1, false, H::server, 0, 0, 0, "loading stale fast"},
    {"fault", -2, false, H::server, 0, 0, 0, "admin noscript"},
    {"debug", -2, false, H::server, 0, 0, 0, "admin noscript loading stale"},
    // Reads at a chosen consistency, and the connection's session (docs/replication.md, "Reads").
    {"read", -3, false, H::server, 0, 0, 0, "readonly"},
    {"consistency", -1, false, H::server, 0, 0, 0, "fast stale"},
    {"wconsistency", -1, false, H::server, 0, 0, 0, "fast stale"},
    {"session", -1, false, H::server, 0, 0, 0, "fast stale"},
};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

Reply syntax_error() { return Reply::error("ERR syntax error"); }
Reply not_integer() { return Reply::error("ERR value is not an integer or out of range"); }

std::vector<std::string> keys_from(std::span<const std::string_view> argv, size_t first) {
  std::vector<std::string> keys;
  keys.reserve(argv.size() - first);
  for (size_t i = first; i < argv.size(); ++i) keys.emplace_back(argv[i]);
  return keys;
}

std::variant<Request, Reply> parse_set(std::span<const std::string_view> argv) {
  SetRequest set{std::string(argv[1]), std::string(argv[2]), {}, {}, false};
  std::string_view expiry_option;  // the one given: given again, the last one counts (as Redis)
  for (size_t i = 3; i < argv.size(); ++i) {
    const std::string_view option = argv[i];
    const bool has_next = i + 1 < argv.size();
    const bool expiry_free = expiry_option.empty() || equals_ignore_case(expiry_option, option);
    if (equals_ignore_case(option, "nx") && set.condition != SetRequest::Condition::if_present) {
      set.condition = SetRequest::Condition::if_absent;
    } else if (equals_ignore_case(option, "xx") &&
               set.condition != SetRequest::Condition::if_absent) {
      set.condition = SetRequest::Condition::if_present;
    } else if (equals_ignore_case(option, "get")) {
      set.return_old = true;
    } else if (equals_ignore_case(option, "keepttl") && expiry_free) {
      set.expiry.kind = Expiry::Kind::keep;
      expiry_option = option;
    } else if ((equals_ignore_case(option, "ex") || equals_ignore_case(option, "px") ||
                equals_ignore_case(option, "exat") || equals_ignore_case(option, "pxat")) &&
               expiry_free && has_next) {
      const auto amount = parse_int64(argv[++i]);
      if (!amount) return not_integer();
      const bool seconds = equals_ignore_case(option, "ex") || equals_ignore_case(option, "exat");
      constexpr int64_t ms_max = std::numeric_limits<int64_t>::max() / 2;
      if (*amount <= 0 || (seconds && *amount > ms_max / 1000)) {
        return Reply::error("ERR invalid expire time in 'set' command");
      }
      set.expiry.ms = seconds ? *amount * 1000 : *amount;
      const bool absolute =
          equals_ignore_case(option, "exat") || equals_ignore_case(option, "pxat");
      set.expiry.kind = absolute ? Expiry::Kind::absolute_ms : Expiry::Kind::relative_ms;
      expiry_option = option;
    } else {
      return syntax_error();
    }
  }
  return Request{std::move(set)};
}

std::variant<Request, Reply> parse_scan(std::span<const std::string_view> argv) {
  ScanRequest scan;
  const std::string_view cursor = argv[1];
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), value);
  if (ec != std::errc() || end != cursor.data() + cursor.size()) {
    return Reply::error("ERR invalid cursor");
  }
  scan.cursor = value;
  for (size_t i = 2; i < argv.size(); i += 2) {
    if (i + 1 >= argv.size()) return syntax_error();
    const std::string_view option = argv[i];
    const std::string_view argument = argv[i + 1];
    if (equals_ignore_case(option, "match")) {
      scan.pattern = (argument == "*") ? std::string() : std::string(argument);
    } else if (equals_ignore_case(option, "count")) {
      const auto count = parse_int64(argument);
      if (!count) return not_integer();
      if (*count < 1) return syntax_error();
      scan.count = static_cast<uint64_t>(*count);
    } else if (equals_ignore_case(option, "type")) {
      scan.type = type_of_name(argument);
      scan.type_unknown = !scan.type;
    } else {
      return syntax_error();
    }
  }
  return Request{std::move(scan)};
}

}  // namespace

const std::vector<CommandSpec>& all_commands() { return kCommands; }

const CommandSpec* find_command(std::string_view name) {
  for (const auto& spec : kCommands) {
    if (equals_ignore_case(spec.name, name)) return &spec;
  }
  return nullptr;
}

std::optional<Reply> check_arity(const CommandSpec& spec, size_t argc) {
  const bool fits = spec.arity >= 0 ? argc == static_cast<size_t>(spec.arity)
                                    : argc >= static_cast<size_t>(-spec.arity);
  if (fits) return std::nullopt;
  return Reply::error(fmt::format("ERR wrong number of arguments for '{}' command", spec.name));
}

std::optional<int64_t> parse_int64(std::string_view text) {
  if (text.empty() || text.size() > 20 || text.front() == '+') return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  // Redis refuses leading zeros ("007") and "-0"; keep the same canonical form.
  if ((text.size() > 1 && text[0] == '0') ||
      (text.size() > 1 && text[0] == '-' && text[1] == '0')) {
    return std::nullopt;
  }
  return value;
}

bool answered_by_strategy(const Request& request) {
  return std::visit([](const auto& r) { return strategy_answers_v<std::decay_t<decltype(r)>>; },
                    request);
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

bool is_write(const Request& request) {
  if (const auto* command = std::get_if<StrategyCommand>(&request)) return command->write;
  if (const auto* command = std::get_if<CommandRequest>(&request)) return command->spec->write;
  if (const auto* transaction = std::get_if<TransactionRequest>(&request))
    return transaction->write;
  return std::holds_alternative<SetRequest>(request) ||
         std::holds_alternative<DelRequest>(request) ||
         std::holds_alternative<MSetRequest>(request) ||
         std::holds_alternative<IncrByRequest>(request) ||
         std::holds_alternative<CasRequest>(request) ||
         std::holds_alternative<ExpireRequest>(request);
}

std::optional<std::variant<Request, Reply>> parse_data_command(
    std::span<const std::string_view> argv) {
  const CommandSpec* spec = find_command(argv[0]);
  if (spec == nullptr || spec->handler != H::core) return std::nullopt;
  const DataCommand* command = find_data_command(spec->name);
  if (command == nullptr) return std::nullopt;
  if (auto error = check_arity(*spec, argv.size())) return *error;
  if (auto error = command->check(argv)) return *error;
  CommandRequest request{spec, command, {}};
  request.argv.reserve(argv.size());
  request.argv.emplace_back(spec->name);
  for (size_t i = 1; i < argv.size(); ++i) request.argv.emplace_back(argv[i]);
  return Request{std::move(request)};
}

std::optional<Reply> refuse_in_transaction(const CommandSpec& spec) {
  const std::string_view name = spec.name;
  const bool allowed =
      (spec.handler == H::core && name != "wait") ||
      (spec.handler == H::server && name != "read" && name != "consistency" &&
       name != "wconsistency" && name != "session" && name != "quit" && name != "hello");
  if (allowed) return std::nullopt;
  return Reply::error("ERR Command not allowed inside a transaction");
}

std::vector<std::string> keys_of(const CommandRequest& request) {
  std::vector<std::string> keys;
  const CommandSpec& spec = *request.spec;
  if (spec.first_key <= 0) return keys;
  const auto argc = static_cast<int>(request.argv.size());
  const int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
  for (int i = spec.first_key; i <= last && i < argc; i += std::max(spec.key_step, 1))
    keys.push_back(request.argv[static_cast<size_t>(i)]);
  return keys;
}

std::variant<Request, Reply> parse_request(const CommandSpec& spec,
                                           std::span<const std::string_view> argv) {
  const std::string_view name = spec.name;
  if (name == "get") return Request{GetRequest{std::string(argv[1])}};
  if (name == "getset") {
    SetRequest set{std::string(argv[1]), std::string(argv[2]), {}, {}, true};
    return Request{std::move(set)};
  }
  if (name == "setex" || name == "psetex") {
    const auto amount = parse_int64(argv[2]);
    if (!amount) return not_integer();
    constexpr int64_t ms_max = std::numeric_limits<int64_t>::max() / 2;  // room to add "now"
    const bool seconds = name == "setex";
    if (*amount <= 0 || (seconds && *amount > ms_max / 1000) || *amount > ms_max)
      return Reply::error(fmt::format("ERR invalid expire time in '{}' command", name));
    SetRequest set{std::string(argv[1]), std::string(argv[3]), {}, {}, false};
    set.expiry = {Expiry::Kind::relative_ms, seconds ? *amount * 1000 : *amount};
    return Request{std::move(set)};
  }
  if (name == "unlink") return Request{DelRequest{keys_from(argv, 1)}};
  if (auto parsed = parse_data_command(argv)) return std::move(*parsed);
  if (name == "set") return parse_set(argv);
  if (name == "del") return Request{DelRequest{keys_from(argv, 1)}};
  if (name == "exists") return Request{ExistsRequest{keys_from(argv, 1)}};
  if (name == "mget") return Request{MGetRequest{keys_from(argv, 1)}};
  if (name == "mset") {
    if (argv.size() % 2 != 1) return check_arity(spec, 0).value();
    MSetRequest mset;
    mset.pairs.reserve(argv.size() / 2);
    for (size_t i = 1; i + 1 < argv.size(); i += 2) {
      mset.pairs.emplace_back(std::string(argv[i]), std::string(argv[i + 1]));
    }
    return Request{std::move(mset)};
  }
  if (name == "incr" || name == "decr" || name == "incrby" || name == "decrby") {
    const bool by = name == "incrby" || name == "decrby";
    const size_t fixed = by ? 3 : 2;
    // The optional ID <request id> after the command's own arguments (replikv's, not Redis's).
    std::string request_id;
    if (argv.size() != fixed) {
      if (argv.size() != fixed + 2 || !equals_ignore_case(argv[fixed], "id")) {
        if (argv.size() > fixed && !equals_ignore_case(argv[fixed], "id")) {
          return Reply::error(fmt::format("ERR wrong number of arguments for '{}' command", name));
        }
        return Reply::error("ERR syntax error (the only option is ID <request id>)");
      }
      request_id = std::string(argv[fixed + 1]);
      if (request_id.empty() || request_id.size() > 256) {
        return Reply::error("ERR ID must be 1 to 256 bytes");
      }
    }
    int64_t delta = name == "decr" ? -1 : 1;
    if (by) {
      const auto parsed = parse_int64(argv[2]);
      if (!parsed) return not_integer();
      if (name == "decrby" && *parsed == std::numeric_limits<int64_t>::min()) {
        return Reply::error("ERR decrement would overflow");
      }
      delta = name == "incrby" ? *parsed : -*parsed;
    }
    return Request{IncrByRequest{std::string(argv[1]), delta, std::move(request_id)}};
  }
  if (name == "dbsize") return Request{DbSizeRequest{}};
  if (name == "scan") return parse_scan(argv);
  if (name == "keys") return Request{KeysRequest{std::string(argv[1])}};
  if (name == "ttl" || name == "pttl") {
    return Request{TtlRequest{std::string(argv[1]), name == "pttl"}};
  }
  if (name == "persist")
    return Request{ExpireRequest{std::string(argv[1]), {}, ExpireRequest::Condition::always}};
  if (name == "expire" || name == "pexpire" || name == "expireat" || name == "pexpireat") {
    const auto amount = parse_int64(argv[2]);
    if (!amount) return not_integer();
    const bool seconds = name == "expire" || name == "expireat";
    constexpr int64_t max_ms = std::numeric_limits<int64_t>::max() / 2;  // room to add "now"
    if (seconds && (*amount > max_ms / 1000 || *amount < -max_ms / 1000)) {
      return Reply::error(fmt::format("ERR invalid expire time in '{}' command", name));
    }
    const int64_t ms = seconds ? *amount * 1000 : *amount;
    if (ms > max_ms || ms < -max_ms)
      return Reply::error(fmt::format("ERR invalid expire time in '{}' command", name));
    ExpireRequest expire{
        std::string(argv[1]),
        {name.ends_with("at") ? Expiry::Kind::absolute_ms : Expiry::Kind::relative_ms, ms},
        ExpireRequest::Condition::always};
    for (size_t i = 3; i < argv.size(); ++i) {
      ExpireRequest::Condition condition;
      if (equals_ignore_case(argv[i], "nx")) {
        condition = ExpireRequest::Condition::if_none;
      } else if (equals_ignore_case(argv[i], "xx")) {
        condition = ExpireRequest::Condition::if_some;
      } else if (equals_ignore_case(argv[i], "gt")) {
        condition = ExpireRequest::Condition::if_greater;
      } else if (equals_ignore_case(argv[i], "lt")) {
        condition = ExpireRequest::Condition::if_less;
      } else {
        return Reply::error(fmt::format("ERR Unsupported option {}", argv[i]));
      }
      if (expire.condition != ExpireRequest::Condition::always && expire.condition != condition) {
        return Reply::error("ERR NX and XX, GT or LT options at the same time are not compatible");
      }
      expire.condition = condition;
    }
    return Request{std::move(expire)};
  }
  if (name == "wait") {
    const auto replicas = parse_int64(argv[1]);
    const auto timeout = parse_int64(argv[2]);
    if (!replicas || !timeout) return not_integer();
    if (*timeout < 0) return Reply::error("ERR timeout is negative");
    return Request{WaitRequest{std::max<int64_t>(*replicas, 0), *timeout}};
  }
  if (name == "cas") {
    if (argv.size() > 4) return check_arity(spec, 0).value();
    if (argv.size() == 3)
      return Request{CasRequest{std::string(argv[1]), std::nullopt, std::string(argv[2])}};
    return Request{CasRequest{std::string(argv[1]), std::string(argv[2]), std::string(argv[3])}};
  }
  return Reply::error(fmt::format("ERR command '{}' is not a data command", name));
}

}  // namespace replikv::core
