// The hash commands, with Redis 7's arguments, replies and error texts: HSET, HMSET, HSETNX, HGET,
// HMGET, HGETALL, HDEL, HLEN, HEXISTS, HKEYS, HVALS, HSTRLEN, HINCRBY, HINCRBYFLOAT, HRANDFIELD,
// HSCAN. A field is one record of the elements column (core/encoding.h): setting one writes that
// field and the hash's header, whatever the hash's size.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "core/command.h"
#include "core/data/collections.h"
#include "core/data/commands.h"
#include "core/keyspace.h"

namespace replikv::core {
namespace {

Reply not_integer() { return Reply::error("ERR value is not an integer or out of range"); }

// Opens `key` as a hash: the collection, or WRONGTYPE.
std::variant<Collection, Reply> open_hash(Keyspace& keyspace, std::string_view key, TimeMs now_ms) {
  return keyspace.collection(std::string(key), ValueType::hash, now_ms);
}

std::optional<std::string> field_of(const Keyspace& keyspace, const Collection& hash,
                                    std::string_view field) {
  if (hash.header.id == 0) return std::nullopt;  // (by id: what this command wrote counts)
  return keyspace.element(member_key(hash.header.id, element_field, field));
}

std::optional<Reply> field_value(std::string_view value) { return Reply::bulk(std::string(value)); }

// Sets `field` (the hash's id allocated first); true when it is new.
bool set_field(Keyspace& keyspace, Collection& hash, std::string_view field, std::string value) {
  keyspace.allocate(hash);
  std::string key = member_key(hash.header.id, element_field, field);
  // (Not `exists`: a field this same command set on a new hash is there already.)
  const bool added = !keyspace.element(key).has_value();
  keyspace.put_element(std::move(key), std::move(value));
  if (added) ++hash.header.count;
  return added;
}

// HSET key field value [field value …] (the number of fields added) and HMSET (OK).
template <bool answer_ok>
struct HSet {
  CommandArgs argv;
  static std::variant<HSet, Reply> parse(CommandArgs argv) {
    if (argv.size() % 2 != 0) {
      return Reply::error(fmt::format("ERR wrong number of arguments for '{}' command",
                                      answer_ok ? "hmset" : "hset"));
    }
    return HSet{argv};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, argv[1], now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& hash = std::get<Collection>(opened);
    int64_t added = 0;
    for (size_t i = 2; i + 1 < argv.size(); i += 2)
      added += set_field(keyspace, hash, argv[i], std::string(argv[i + 1])) ? 1 : 0;
    keyspace.save(hash);
    return answer_ok ? Reply::ok() : Reply::number(added);
  }
};

struct HSetNx {
  std::string_view key, field, value;
  static std::variant<HSetNx, Reply> parse(CommandArgs argv) {
    return HSetNx{argv[1], argv[2], argv[3]};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& hash = std::get<Collection>(opened);
    if (field_of(keyspace, hash, field)) return Reply::number(0);
    set_field(keyspace, hash, field, std::string(value));
    keyspace.save(hash);
    return Reply::number(1);
  }
};

struct HGet {
  std::string_view key, field;
  static std::variant<HGet, Reply> parse(CommandArgs argv) { return HGet{argv[1], argv[2]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto value = field_of(keyspace, std::get<Collection>(opened), field);
    return value ? Reply::bulk(std::move(*value)) : Reply::nil();
  }
};

struct HMGet {
  CommandArgs argv;
  static std::variant<HMGet, Reply> parse(CommandArgs argv) { return HMGet{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, argv[1], now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    const auto& hash = std::get<Collection>(opened);
    std::vector<Reply> values;
    values.reserve(argv.size() - 2);
    for (size_t i = 2; i < argv.size(); ++i) {
      auto value = field_of(keyspace, hash, argv[i]);
      values.push_back(value ? Reply::bulk(std::move(*value)) : Reply::nil());
    }
    return Reply::array(std::move(values));
  }
};

// HGETALL (fields and values), HKEYS, HVALS.
struct HGetAll {
  enum class What : uint8_t { both, fields, values };
  std::string_view key;
  What what = What::both;
  Reply run_as(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    std::vector<Reply> out;
    visit_members(keyspace, std::get<Collection>(opened), element_field,
                  [&](std::string_view field, std::string_view value) {
                    if (what != What::values) out.push_back(Reply::bulk(std::string(field)));
                    if (what != What::fields) out.push_back(Reply::bulk(std::string(value)));
                    return true;
                  });
    return Reply::array(std::move(out));
  }
};
template <HGetAll::What what>
struct HGetAllOf {
  std::string_view key;
  static std::variant<HGetAllOf, Reply> parse(CommandArgs argv) { return HGetAllOf{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    return HGetAll{key, what}.run_as(keyspace, now_ms);
  }
};

struct HDel {
  CommandArgs argv;
  static std::variant<HDel, Reply> parse(CommandArgs argv) { return HDel{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, argv[1], now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& hash = std::get<Collection>(opened);
    if (!hash.exists) return Reply::number(0);
    int64_t removed = 0;
    for (size_t i = 2; i < argv.size(); ++i) {
      std::string element = member_key(hash.header.id, element_field, argv[i]);
      if (!keyspace.element(element)) continue;
      keyspace.erase_element(std::move(element));
      --hash.header.count;
      ++removed;
    }
    if (removed > 0) keyspace.save(hash);
    return Reply::number(removed);
  }
};

struct HLen {
  std::string_view key;
  static std::variant<HLen, Reply> parse(CommandArgs argv) { return HLen{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return Reply::number(static_cast<int64_t>(std::get<Collection>(opened).header.count));
  }
};

// HEXISTS (1/0) and HSTRLEN (the value's length, 0 when absent).
template <bool length>
struct HFieldInfo {
  std::string_view key, field;
  static std::variant<HFieldInfo, Reply> parse(CommandArgs argv) {
    return HFieldInfo{argv[1], argv[2]};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    const auto value = field_of(keyspace, std::get<Collection>(opened), field);
    if (!length) return Reply::number(value ? 1 : 0);
    return Reply::number(value ? static_cast<int64_t>(value->size()) : 0);
  }
};

struct HIncrBy {
  std::string_view key, field;
  int64_t delta = 0;
  static std::variant<HIncrBy, Reply> parse(CommandArgs argv) {
    const auto delta = parse_int64(argv[3]);
    if (!delta) return not_integer();
    return HIncrBy{argv[1], argv[2], *delta};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& hash = std::get<Collection>(opened);
    int64_t value = 0;
    if (const auto current = field_of(keyspace, hash, field)) {
      const auto parsed = parse_int64(*current);
      if (!parsed) return Reply::error("ERR hash value is not an integer");
      value = *parsed;
    }
    constexpr int64_t max = std::numeric_limits<int64_t>::max();
    constexpr int64_t min = std::numeric_limits<int64_t>::min();
    if ((delta > 0 && value > max - delta) || (delta < 0 && value < min - delta))
      return Reply::error("ERR increment or decrement would overflow");
    value += delta;
    set_field(keyspace, hash, field, std::to_string(value));
    keyspace.save(hash);
    return Reply::number(value);
  }
};

struct HIncrByFloat {
  std::string_view key, field;
  long double increment = 0;
  static std::variant<HIncrByFloat, Reply> parse(CommandArgs argv) {
    const auto increment = parse_long_double(argv[3]);
    if (!increment) return Reply::error("ERR value is not a valid float");
    return HIncrByFloat{argv[1], argv[2], *increment};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& hash = std::get<Collection>(opened);
    long double value = 0;
    if (const auto current = field_of(keyspace, hash, field)) {
      const auto parsed = parse_long_double(*current);
      if (!parsed) return Reply::error("ERR hash value is not a float");
      value = *parsed;
    }
    value += increment;
    if (std::isnan(value) || std::isinf(value))
      return Reply::error("ERR increment would produce NaN or Infinity");
    std::string text = human_long_double(value);
    set_field(keyspace, hash, field, text);
    keyspace.save(hash);
    return Reply::bulk(std::move(text));
  }
};

// HRANDFIELD key [count [WITHVALUES]]: one field (nil when absent); a positive count, distinct
// fields up to all of them; a negative count, that many, repeats allowed. Drawn with the
// keyspace's generator (a read: each node draws its own).
struct HRandField {
  std::string_view key;
  std::optional<int64_t> count;
  bool with_values = false;
  static std::variant<HRandField, Reply> parse(CommandArgs argv) {
    HRandField out{argv[1], std::nullopt, false};
    if (argv.size() >= 3) {
      const auto count = parse_int64(argv[2]);
      if (!count) return not_integer();
      if (*count == std::numeric_limits<int64_t>::min()) return count_out_of_range();
      out.count = *count;
      if (argv.size() == 4) {
        if (!equals_ignore_case(argv[3], "withvalues")) return Reply::error("ERR syntax error");
        out.with_values = true;
      } else if (argv.size() > 4) {
        return Reply::error("ERR syntax error");
      }
      // Redis's range check for a negative count (so that its replies, values too, fit).
      const int64_t limit = std::numeric_limits<int64_t>::max() / (out.with_values ? 2 : 1);
      if (*count < -limit) return Reply::error("ERR value is out of range");
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_hash(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return random_members(keyspace, std::get<Collection>(opened), element_field, count,
                          with_values ? field_value : nullptr);
  }
};

}  // namespace

namespace {

const DataCommand kHashCommands[] = {
    data_command<HSet<false>>("hset"),
    data_command<HSet<true>>("hmset"),
    data_command<HSetNx>("hsetnx"),
    data_command<HGet>("hget"),
    data_command<HMGet>("hmget"),
    data_command<HGetAllOf<HGetAll::What::both>>("hgetall"),
    data_command<HGetAllOf<HGetAll::What::fields>>("hkeys"),
    data_command<HGetAllOf<HGetAll::What::values>>("hvals"),
    data_command<HDel>("hdel"),
    data_command<HLen>("hlen"),
    data_command<HFieldInfo<false>>("hexists"),
    data_command<HFieldInfo<true>>("hstrlen"),
    data_command<HIncrBy>("hincrby"),
    data_command<HIncrByFloat>("hincrbyfloat"),
    data_command<HRandField>("hrandfield"),
    data_command<CollectionScan<ValueType::hash, element_field, field_value>>("hscan"),
};

}  // namespace

std::span<const DataCommand> hash_commands() { return kHashCommands; }

}  // namespace replikv::core
