// The string commands beyond GET, SET and the counters, with Redis 7's arguments, replies and
// error texts: APPEND, STRLEN, GETRANGE (and SUBSTR), SETRANGE, GETDEL, GETEX, SETNX, MSETNX,
// INCRBYFLOAT. (GETSET, SETEX and PSETEX are SETs with options and parse into SetRequest,
// core/command.cc.)
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "core/command.h"
#include "core/data/collections.h"
#include "core/data/commands.h"
#include "core/keyspace.h"

namespace replikv::core {
namespace {

// Redis's limit on a string's size (proto-max-bulk-len's default).
constexpr uint64_t string_bytes_max = 512ULL * 1024 * 1024;

Reply not_integer() { return Reply::error("ERR value is not an integer or out of range"); }
Reply too_large() {
  return Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
}
Reply not_float() { return Reply::error("ERR value is not a valid float"); }

struct Append {
  std::string_view key, value;
  static std::variant<Append, Reply> parse(CommandArgs argv) { return Append{argv[1], argv[2]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const std::string name(key);
    auto record = keyspace.live_record(name, now_ms);
    if (record && record->type != ValueType::string) return wrong_type();
    if (!record) {
      keyspace.write(name, std::string(value), std::nullopt);
      return Reply::number(static_cast<int64_t>(value.size()));
    }
    if (record->value.size() + value.size() > string_bytes_max) return too_large();
    record->value.append(value);
    const auto length = static_cast<int64_t>(record->value.size());
    keyspace.write(name, std::move(record->value), record->expire_at_ms);
    return Reply::number(length);
  }
};

struct Strlen {
  std::string_view key;
  static std::variant<Strlen, Reply> parse(CommandArgs argv) { return Strlen{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const auto record = keyspace.live_record(std::string(key), now_ms);
    if (record && record->type != ValueType::string) return wrong_type();
    return Reply::number(record ? static_cast<int64_t>(record->value.size()) : 0);
  }
};

// GETRANGE key start end (and the older SUBSTR): Redis's clamping of negative and out-of-range
// positions, the empty string when nothing is left.
struct GetRange {
  std::string_view key;
  int64_t start = 0, end = 0;
  static std::variant<GetRange, Reply> parse(CommandArgs argv) {
    const auto start = parse_int64(argv[2]);
    const auto end = parse_int64(argv[3]);
    if (!start || !end) return not_integer();
    return GetRange{argv[1], *start, *end};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const auto record = keyspace.live_record(std::string(key), now_ms);
    if (record && record->type != ValueType::string) return wrong_type();
    if (!record) return Reply::bulk({});
    if (start < 0 && end < 0 && start > end) return Reply::bulk({});
    const auto length = static_cast<int64_t>(record->value.size());
    int64_t from = start < 0 ? length + start : start;
    int64_t to = end < 0 ? length + end : end;
    from = std::max<int64_t>(from, 0);
    to = std::max<int64_t>(to, 0);
    to = std::min(to, length - 1);
    if (length == 0 || from > to) return Reply::bulk({});
    return Reply::bulk(
        record->value.substr(static_cast<size_t>(from), static_cast<size_t>(to - from + 1)));
  }
};

struct SetRange {
  std::string_view key, value;
  int64_t offset = 0;
  static std::variant<SetRange, Reply> parse(CommandArgs argv) {
    const auto offset = parse_int64(argv[2]);
    if (!offset) return not_integer();
    if (*offset < 0) return Reply::error("ERR offset is out of range");
    return SetRange{argv[1], argv[3], *offset};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const std::string name(key);
    auto record = keyspace.live_record(name, now_ms);
    if (record && record->type != ValueType::string) return wrong_type();
    const uint64_t current = record ? record->value.size() : 0;
    if (value.empty()) return Reply::number(static_cast<int64_t>(current));  // nothing created
    if (static_cast<uint64_t>(offset) + value.size() > string_bytes_max) return too_large();
    std::string bytes = record ? std::move(record->value) : std::string();
    const auto at = static_cast<size_t>(offset);
    if (bytes.size() < at + value.size()) bytes.resize(at + value.size(), '\0');
    bytes.replace(at, value.size(), value);
    const auto length = static_cast<int64_t>(bytes.size());
    keyspace.write(name, std::move(bytes), record ? record->expire_at_ms : std::nullopt);
    return Reply::number(length);
  }
};

struct GetDel {
  std::string_view key;
  static std::variant<GetDel, Reply> parse(CommandArgs argv) { return GetDel{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const std::string name(key);
    auto record = keyspace.live_record(name, now_ms);
    if (record && record->type != ValueType::string) return wrong_type();
    if (!record) return Reply::nil();
    keyspace.remove(name);
    return Reply::bulk(std::move(record->value));
  }
};

// GETEX key [EX seconds | PX milliseconds | EXAT unix-seconds | PXAT unix-ms | PERSIST].
struct GetEx {
  enum class Change : uint8_t { none, relative, absolute, persist };
  std::string_view key;
  Change change = Change::none;
  int64_t ms = 0;
  static std::variant<GetEx, Reply> parse(CommandArgs argv) {
    GetEx out{argv[1]};
    std::string_view given;  // the option given: given again, the last one counts (as Redis)
    for (size_t i = 2; i < argv.size(); ++i) {
      const std::string_view option = argv[i];
      if (!given.empty() && !equals_ignore_case(given, option))
        return Reply::error("ERR syntax error");
      given = option;
      if (equals_ignore_case(option, "persist")) {
        out.change = Change::persist;
        continue;
      }
      const bool seconds = equals_ignore_case(option, "ex") || equals_ignore_case(option, "exat");
      const bool millis = equals_ignore_case(option, "px") || equals_ignore_case(option, "pxat");
      if ((!seconds && !millis) || i + 1 >= argv.size()) return Reply::error("ERR syntax error");
      const auto amount = parse_int64(argv[++i]);
      if (!amount) return not_integer();
      // A relative time leaves room to add "now" (the log turns it into PXAT now + it, which
      // must parse again on every replica); an absolute one may take the rest of the range.
      const bool relative = equals_ignore_case(option, "ex") || equals_ignore_case(option, "px");
      const int64_t ms_max = std::numeric_limits<int64_t>::max() / (relative ? 2 : 1);
      if (*amount <= 0 || (seconds && *amount > ms_max / 1000) || *amount > ms_max)
        return Reply::error("ERR invalid expire time in 'getex' command");
      out.ms = seconds ? *amount * 1000 : *amount;
      out.change = relative ? Change::relative : Change::absolute;
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const std::string name(key);
    auto record = keyspace.live_record(name, now_ms);
    if (record && record->type != ValueType::string) return wrong_type();
    if (!record) return Reply::nil();
    Reply reply = Reply::bulk(record->value);
    if (change == Change::persist && record->expire_at_ms) {
      keyspace.write(name, std::move(record->value), std::nullopt);
    } else if (change == Change::relative || change == Change::absolute) {
      const TimeMs at = change == Change::relative ? now_ms + ms : ms;
      if (at <= now_ms) {
        keyspace.remove(name);  // a time already past deletes the key, as Redis does
      } else {
        keyspace.write(name, std::move(record->value), at);
      }
    }
    return reply;
  }
  // EX and PX become PXAT from the accepting node's clock.
  static void absolute(std::vector<std::string>& argv, TimeMs now_ms) {
    for (size_t i = 2; i + 1 < argv.size(); ++i) {
      const bool ex = equals_ignore_case(argv[i], "ex");
      if (!ex && !equals_ignore_case(argv[i], "px")) continue;
      const auto amount = parse_int64(argv[i + 1]);
      if (!amount) return;  // (checked before: not reached)
      argv[i] = "pxat";
      argv[i + 1] = std::to_string(now_ms + (ex ? *amount * 1000 : *amount));
      return;
    }
  }
};

struct SetNx {
  std::string_view key, value;
  static std::variant<SetNx, Reply> parse(CommandArgs argv) { return SetNx{argv[1], argv[2]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const std::string name(key);
    if (keyspace.live_record(name, now_ms)) return Reply::number(0);
    keyspace.write(name, std::string(value), std::nullopt);
    return Reply::number(1);
  }
};

// MSETNX key value [key value …]: every pair, or none when any key exists.
struct MSetNx {
  CommandArgs argv;
  static std::variant<MSetNx, Reply> parse(CommandArgs argv) {
    if (argv.size() % 2 != 1)
      return Reply::error("ERR wrong number of arguments for 'msetnx' command");
    return MSetNx{argv};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    for (size_t i = 1; i < argv.size(); i += 2) {
      if (keyspace.live_record(std::string(argv[i]), now_ms)) return Reply::number(0);
    }
    for (size_t i = 1; i < argv.size(); i += 2)
      keyspace.write(std::string(argv[i]), std::string(argv[i + 1]), std::nullopt);
    return Reply::number(1);
  }
};

// INCRBYFLOAT key increment: long double arithmetic and rendering, as Redis does (so 10.5 + 0.1
// answers "10.6"); the key keeps its time to live.
struct IncrByFloat {
  std::string_view key;
  long double increment = 0;
  static std::variant<IncrByFloat, Reply> parse(CommandArgs argv) {
    const auto increment = parse_long_double(argv[2]);
    if (!increment) return not_float();
    return IncrByFloat{argv[1], *increment};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const std::string name(key);
    auto record = keyspace.live_record(name, now_ms);
    if (record && record->type != ValueType::string) return wrong_type();
    long double value = 0;
    if (record) {
      const auto current = parse_long_double(record->value);
      if (!current) return not_float();
      value = *current;
    }
    value += increment;
    if (std::isnan(value) || std::isinf(value))
      return Reply::error("ERR increment would produce NaN or Infinity");
    std::string text = human_long_double(value);
    keyspace.write(name, text, record ? record->expire_at_ms : std::nullopt);
    return Reply::bulk(std::move(text));
  }
};

const DataCommand kStringCommands[] = {
    data_command<Append>("append"),
    data_command<Strlen>("strlen"),
    data_command<GetRange>("getrange"),
    data_command<GetRange>("substr"),
    data_command<SetRange>("setrange"),
    data_command<GetDel>("getdel"),
    data_command<GetEx>("getex", &GetEx::absolute),
    data_command<SetNx>("setnx"),
    data_command<MSetNx>("msetnx"),
    data_command<IncrByFloat>("incrbyfloat"),
};

}  // namespace

std::span<const DataCommand> string_commands() { return kStringCommands; }

}  // namespace replikv::core
