// The keyspace commands beyond DEL, EXISTS, SCAN, KEYS and the expiry ones, with Redis 7's
// arguments, replies and error texts: RENAME, RENAMENX, COPY, TYPE, RANDOMKEY, TOUCH, OBJECT,
// EXPIRETIME, PEXPIRETIME, FLUSHDB and FLUSHALL. (UNLINK is DEL: core/command.cc.)
#include <string>

#include <fmt/format.h>

#include "core/command.h"
#include "core/data/commands.h"
#include "core/keyspace.h"

namespace replikv::core {
namespace {

Reply syntax_error() { return Reply::error("ERR syntax error"); }

// RENAME key newkey / RENAMENX key newkey: the value and its time to live move; an existing
// newkey is replaced (RENAME) or kept and 0 answered (RENAMENX).
template <bool if_absent>
struct Rename {
  std::string_view from, to;
  static std::variant<Rename, Reply> parse(CommandArgs argv) { return Rename{argv[1], argv[2]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const std::string source(from), target(to);
    auto record = keyspace.live_record(source, now_ms);
    if (!record) return Reply::error("ERR no such key");
    if (source == target) return if_absent ? Reply::number(0) : Reply::ok();
    if (if_absent && keyspace.live_record(target, now_ms)) return Reply::number(0);
    keyspace.rename(source, target, now_ms);
    return if_absent ? Reply::number(1) : Reply::ok();
  }
};

// COPY source destination [DB destination-db] [REPLACE]. replikv has one database (0).
struct Copy {
  std::string_view from, to;
  bool replace = false;
  static std::variant<Copy, Reply> parse(CommandArgs argv) {
    Copy out{argv[1], argv[2]};
    for (size_t i = 3; i < argv.size(); ++i) {
      if (equals_ignore_case(argv[i], "replace")) {
        out.replace = true;
      } else if (equals_ignore_case(argv[i], "db") && i + 1 < argv.size()) {
        const auto db = parse_int64(argv[++i]);
        if (!db) return Reply::error("ERR value is not an integer or out of range");
        if (*db != 0) return Reply::error("ERR DB index is out of range");
      } else {
        return syntax_error();
      }
    }
    if (out.from == out.to) return Reply::error("ERR source and destination objects are the same");
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto record = keyspace.live_record(std::string(from), now_ms);
    if (!record) return Reply::number(0);
    const std::string target(to);
    if (!replace && keyspace.live_record(target, now_ms)) return Reply::number(0);
    keyspace.copy(std::string(from), target, now_ms);
    return Reply::number(1);
  }
};

struct Type {
  std::string_view key;
  static std::variant<Type, Reply> parse(CommandArgs argv) { return Type{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const auto record = keyspace.live_record(std::string(key), now_ms);
    return Reply::status(std::string(record ? type_name(record->type) : "none"));
  }
};

struct RandomKey {
  static std::variant<RandomKey, Reply> parse(CommandArgs) { return RandomKey{}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto key = keyspace.random_key(now_ms);
    return key ? Reply::bulk(std::move(*key)) : Reply::nil();
  }
};

// TOUCH key [key …]: how many exist (replikv keeps no access time to update).
struct Touch {
  CommandArgs argv;
  static std::variant<Touch, Reply> parse(CommandArgs argv) { return Touch{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    int64_t count = 0;
    for (size_t i = 1; i < argv.size(); ++i)
      count += keyspace.live_record(std::string(argv[i]), now_ms) ? 1 : 0;
    return Reply::number(count);
  }
};

// EXPIRETIME / PEXPIRETIME key: the absolute expiry, -1 without one, -2 when absent.
template <bool milliseconds>
struct ExpireTime {
  std::string_view key;
  static std::variant<ExpireTime, Reply> parse(CommandArgs argv) { return ExpireTime{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    const auto record = keyspace.live_record(std::string(key), now_ms);
    if (!record) return Reply::number(-2);
    if (!record->expire_at_ms) return Reply::number(-1);
    // (Seconds round to the nearest, as Redis's do.)
    return Reply::number(milliseconds ? *record->expire_at_ms
                                      : (*record->expire_at_ms + 500) / 1000);
  }
};

// The encoding Redis gives a string as SET stores it: "int" for what reads as a 64-bit integer,
// "embstr" up to 44 bytes, "raw" beyond.
std::string_view string_encoding(std::string_view value) {
  if (value.size() <= 20 && parse_int64(value)) return "int";
  return value.size() <= 44 ? "embstr" : "raw";
}

// The encoding Redis 7.0 gives a collection of that size and content: the compact one (listpack,
// intset) while it has at most 128 elements (a set of integers: 512) of at most 64 bytes, a hash
// table or skip list beyond; a list is a quicklist whatever its size. (Redis never converts
// back when elements go; replikv says what the content is now.)
std::string_view collection_encoding(Keyspace& keyspace, ValueType type,
                                     const CollectionHeader& header) {
  if (type == ValueType::list) return "quicklist";
  const bool set = type == ValueType::set;
  bool compact = header.count <= (set ? 512 : 128);
  if (compact) {
    // (At most 512 elements walked.)
    keyspace.scan_elements(u64_be(header.id), u64_be(header.id + 1),
                           [&](std::string_view element, std::string_view value) {
                             if (element[8] == element_order) return true;
                             // A strategy's states of the elements (multi-leader), last.
                             if (element[8] == element_state) return false;
                             const std::string_view name = element.substr(17);
                             compact = set ? parse_int64(name).has_value()
                                           : name.size() <= 64 && value.size() <= 64;
                             return compact;
                           });
  }
  if (set) return compact ? "intset" : "hashtable";
  if (type == ValueType::hash) return compact ? "listpack" : "hashtable";
  return compact ? "listpack" : "skiplist";
}

// OBJECT ENCODING|REFCOUNT|FREQ|IDLETIME key, OBJECT HELP.
struct Object {
  std::string_view subcommand, key;
  static std::variant<Object, Reply> parse(CommandArgs argv) {
    const std::string_view sub = argv[1];
    if (equals_ignore_case(sub, "help")) {
      if (argv.size() != 2)
        return Reply::error("ERR wrong number of arguments for 'object|help' command");
      return Object{"help", {}};
    }
    for (const std::string_view known : {"encoding", "refcount", "freq", "idletime"}) {
      if (!equals_ignore_case(sub, known)) continue;
      if (argv.size() != 3) {
        return Reply::error(
            fmt::format("ERR wrong number of arguments for 'object|{}' command", known));
      }
      return Object{known, argv[2]};
    }
    return Reply::error(
        fmt::format("ERR unknown subcommand '{}'. Try OBJECT HELP.", sub.substr(0, 128)));
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    if (subcommand == "help") {
      std::vector<Reply> lines;
      for (const char* line :
           {"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "ENCODING <key>",
            "    Return the kind of internal representation used in order to",
            "    store the value associated with a <key>.", "FREQ <key>",
            "    Not tracked by replikv (no LFU policy): answered with an error.", "IDLETIME <key>",
            "    Not tracked by replikv (no access clock): answered with an error.",
            "REFCOUNT <key>", "    Return the number of references of the value associated with",
            "    the specified <key> (as Redis counts them).", "HELP", "    Print this help."}) {
        lines.push_back(Reply::status(line));
      }
      return Reply::array(std::move(lines));
    }
    const auto record = keyspace.live_record(std::string(key), now_ms);
    if (!record) return Reply::nil();
    if (subcommand == "encoding" && record->type != ValueType::string) {
      const auto header = decode_header(record->value);
      if (!header) return Reply::nil();
      return Reply::bulk(std::string(collection_encoding(keyspace, record->type, *header)));
    }
    if (subcommand == "encoding") return Reply::bulk(std::string(string_encoding(record->value)));
    if (subcommand == "refcount") {
      // Redis shares the integers 0 to 9,999 among keys and reports them so (INT_MAX).
      const auto number = record->type == ValueType::string && record->value.size() <= 4
                              ? parse_int64(record->value)
                              : std::nullopt;
      return Reply::number(number && *number >= 0 && *number < 10000 ? 2147483647 : 1);
    }
    if (subcommand == "freq") {
      return Reply::error(
          "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
          "note that when switching between policies at runtime LRU and LFU data will take some "
          "time to adjust.");
    }
    return Reply::error("ERR replikv keeps no access time per key: OBJECT IDLETIME is not offered");
  }
};

// FLUSHDB / FLUSHALL [ASYNC | SYNC]: every key goes, in bounded work (Keyspace::flush).
struct Flush {
  static std::variant<Flush, Reply> parse(CommandArgs argv) {
    if (argv.size() > 2) return syntax_error();
    if (argv.size() == 2 && !equals_ignore_case(argv[1], "async") &&
        !equals_ignore_case(argv[1], "sync")) {
      return syntax_error();
    }
    return Flush{};
  }
  Reply run(Keyspace& keyspace, TimeMs) const {
    keyspace.flush();
    return Reply::ok();
  }
};

const DataCommand kKeyCommands[] = {
    data_command<Rename<false>>("rename"),
    data_command<Rename<true>>("renamenx"),
    data_command<Copy>("copy"),
    data_command<Type>("type"),
    data_command<RandomKey>("randomkey"),
    data_command<Touch>("touch"),
    data_command<ExpireTime<false>>("expiretime"),
    data_command<ExpireTime<true>>("pexpiretime"),
    data_command<Object>("object"),
    data_command<Flush>("flushdb"),
    data_command<Flush>("flushall"),
};

}  // namespace

std::span<const DataCommand> key_commands() { return kKeyCommands; }

}  // namespace replikv::core
