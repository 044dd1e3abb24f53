// The set commands, with Redis 7's arguments, replies and error texts: SADD, SREM, SMEMBERS,
// SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SINTERCARD, SINTERSTORE,
// SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN. A member is one record of the elements column
// (core/encoding.h).
#include <algorithm>
#include <limits>
#include <set>
#include <string>

#include <fmt/format.h>

#include "core/command.h"
#include "core/data/collections.h"
#include "core/data/commands.h"
#include "core/keyspace.h"

namespace replikv::core {
namespace {

Reply not_integer() { return Reply::error("ERR value is not an integer or out of range"); }

std::variant<Collection, Reply> open_set(Keyspace& keyspace, std::string_view key, TimeMs now_ms) {
  return keyspace.collection(std::string(key), ValueType::set, now_ms);
}

bool has_member(const Keyspace& keyspace, const Collection& set, std::string_view member) {
  // By id, not `exists`: a member this same command added to a new set is there already.
  return set.header.id != 0 &&
         keyspace.element(member_key(set.header.id, element_member, member)).has_value();
}

bool add_member(Keyspace& keyspace, Collection& set, std::string_view member) {
  if (has_member(keyspace, set, member)) return false;
  keyspace.allocate(set);
  keyspace.put_element(member_key(set.header.id, element_member, member), {});
  ++set.header.count;
  return true;
}

bool remove_member(Keyspace& keyspace, Collection& set, std::string_view member) {
  if (!has_member(keyspace, set, member)) return false;
  keyspace.erase_element(member_key(set.header.id, element_member, member));
  --set.header.count;
  return true;
}

std::vector<std::string> members_of(const Keyspace& keyspace, const Collection& set) {
  std::vector<std::string> out;
  out.reserve(set.header.count);
  visit_members(keyspace, set, element_member, [&](std::string_view member, std::string_view) {
    out.emplace_back(member);
    return true;
  });
  return out;
}

Reply bulk_array(std::vector<std::string> values) {
  std::vector<Reply> out;
  out.reserve(values.size());
  for (auto& value : values) out.push_back(Reply::bulk(std::move(value)));
  return Reply::array(std::move(out));
}

// SADD key member [member …] (added) and SREM (removed).
template <bool add>
struct SAddRem {
  CommandArgs argv;
  static std::variant<SAddRem, Reply> parse(CommandArgs argv) { return SAddRem{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_set(keyspace, argv[1], now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& set = std::get<Collection>(opened);
    int64_t changed = 0;
    for (size_t i = 2; i < argv.size(); ++i) {
      changed += (add ? add_member(keyspace, set, argv[i]) : remove_member(keyspace, set, argv[i]))
                     ? 1
                     : 0;
    }
    if (changed > 0) keyspace.save(set);
    return Reply::number(changed);
  }
};

struct SMembers {
  std::string_view key;
  static std::variant<SMembers, Reply> parse(CommandArgs argv) { return SMembers{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_set(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return bulk_array(members_of(keyspace, std::get<Collection>(opened)));
  }
};

struct SIsMember {
  std::string_view key, member;
  static std::variant<SIsMember, Reply> parse(CommandArgs argv) {
    return SIsMember{argv[1], argv[2]};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_set(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return Reply::number(has_member(keyspace, std::get<Collection>(opened), member) ? 1 : 0);
  }
};

struct SMIsMember {
  CommandArgs argv;
  static std::variant<SMIsMember, Reply> parse(CommandArgs argv) { return SMIsMember{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_set(keyspace, argv[1], now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    std::vector<Reply> out;
    for (size_t i = 2; i < argv.size(); ++i)
      out.push_back(Reply::number(has_member(keyspace, std::get<Collection>(opened), argv[i])));
    return Reply::array(std::move(out));
  }
};

struct SCard {
  std::string_view key;
  static std::variant<SCard, Reply> parse(CommandArgs argv) { return SCard{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_set(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return Reply::number(static_cast<int64_t>(std::get<Collection>(opened).header.count));
  }
};

// SPOP key [count]: removes members drawn at random — with a generator seeded from the write
// version, so every replica removes the same ones.
struct SPop {
  std::string_view key;
  std::optional<int64_t> count;
  static std::variant<SPop, Reply> parse(CommandArgs argv) {
    SPop out{argv[1], std::nullopt};
    if (argv.size() > 3) return Reply::error("ERR syntax error");
    if (argv.size() == 3) {
      const auto count = parse_int64(argv[2]);
      if (!count || *count < 0) return Reply::error("ERR value is out of range, must be positive");
      out.count = *count;
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_set(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& set = std::get<Collection>(opened);
    if (!set.exists || set.header.count == 0 || (count && *count == 0))
      return count ? Reply::array() : Reply::nil();
    // Drawn from the write version's generator: every replica removes the same members, in work
    // bounded by how many.
    Rng random = keyspace.write_random();
    std::vector<std::string> members;
    for (auto& drawn :
         draw_members(keyspace, set, element_member, count ? static_cast<uint64_t>(*count) : 1,
                      true, [&] { return random.next_u64(); }))
      members.push_back(std::move(drawn.name));
    for (const auto& member : members) remove_member(keyspace, set, member);
    keyspace.save(set);
    if (!count) return Reply::bulk(std::move(members.front()));
    return bulk_array(std::move(members));
  }
};

struct SRandMember {
  std::string_view key;
  std::optional<int64_t> count;
  static std::variant<SRandMember, Reply> parse(CommandArgs argv) {
    SRandMember out{argv[1], std::nullopt};
    if (argv.size() > 3) return Reply::error("ERR syntax error");
    if (argv.size() == 3) {
      const auto count = parse_int64(argv[2]);
      if (!count) return not_integer();
      if (*count == std::numeric_limits<int64_t>::min()) return count_out_of_range();
      out.count = *count;
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_set(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return random_members(keyspace, std::get<Collection>(opened), element_member, count, nullptr);
  }
};

struct SMove {
  std::string_view from, to, member;
  static std::variant<SMove, Reply> parse(CommandArgs argv) {
    return SMove{argv[1], argv[2], argv[3]};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    // Redis's order: an absent source answers 0, then either key of another type WRONGTYPE.
    if (!keyspace.live_record(std::string(from), now_ms)) return Reply::number(0);
    auto source = open_set(keyspace, from, now_ms);
    if (auto* error = std::get_if<Reply>(&source)) return std::move(*error);
    auto target = open_set(keyspace, to, now_ms);
    if (auto* error = std::get_if<Reply>(&target)) return std::move(*error);
    auto& source_set = std::get<Collection>(source);
    if (!has_member(keyspace, source_set, member)) return Reply::number(0);
    if (from == to) return Reply::number(1);
    remove_member(keyspace, source_set, member);
    keyspace.save(source_set);
    auto& target_set = std::get<Collection>(target);
    if (add_member(keyspace, target_set, member)) keyspace.save(target_set);
    return Reply::number(1);
  }
};

// The set algebra: SINTER, SUNION, SDIFF over keys (a missing key is an empty set; any key of
// another type answers WRONGTYPE before anything is computed).
enum class Algebra : uint8_t { inter, uni, diff };

std::variant<std::vector<std::string>, Reply> compute(Keyspace& keyspace, Algebra algebra,
                                                      CommandArgs keys, TimeMs now_ms,
                                                      uint64_t limit = 0) {
  std::vector<Collection> sets;
  for (const auto key : keys) {
    auto opened = open_set(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    sets.push_back(std::move(std::get<Collection>(opened)));
  }
  std::vector<std::string> out;
  if (algebra == Algebra::uni) {
    std::set<std::string> seen;
    for (const auto& set : sets) {
      for (auto& member : members_of(keyspace, set)) {
        if (seen.insert(member).second) out.push_back(std::move(member));
      }
    }
    return out;
  }
  if (algebra == Algebra::inter) {
    // Walk the smallest; an empty or missing set empties the result.
    const auto smallest = std::min_element(
        sets.begin(), sets.end(),
        [](const auto& a, const auto& b) { return a.header.count < b.header.count; });
    if (!smallest->exists) return out;
    visit_members(keyspace, *smallest, element_member,
                  [&](std::string_view member, std::string_view) {
                    for (const auto& set : sets) {
                      if (&set != &*smallest && !has_member(keyspace, set, member)) return true;
                    }
                    out.emplace_back(member);
                    return limit == 0 || out.size() < limit;
                  });
    return out;
  }
  for (auto& member : members_of(keyspace, sets.front())) {
    bool elsewhere = false;
    for (size_t i = 1; i < sets.size() && !elsewhere; ++i)
      elsewhere = has_member(keyspace, sets[i], member);
    if (!elsewhere) out.push_back(std::move(member));
  }
  return out;
}

template <Algebra algebra>
struct SAlgebra {
  CommandArgs keys;
  static std::variant<SAlgebra, Reply> parse(CommandArgs argv) { return SAlgebra{argv.subspan(1)}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto result = compute(keyspace, algebra, keys, now_ms);
    if (auto* error = std::get_if<Reply>(&result)) return std::move(*error);
    return bulk_array(std::move(std::get<std::vector<std::string>>(result)));
  }
};

// S*STORE destination key [key …]: the result replaces what destination held (whatever its
// type); an empty result deletes it.
template <Algebra algebra>
struct SAlgebraStore {
  CommandArgs argv;
  static std::variant<SAlgebraStore, Reply> parse(CommandArgs argv) { return SAlgebraStore{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto result = compute(keyspace, algebra, argv.subspan(2), now_ms);
    if (auto* error = std::get_if<Reply>(&result)) return std::move(*error);
    const auto& members = std::get<std::vector<std::string>>(result);
    const std::string destination(argv[1]);
    keyspace.remove(destination);
    Collection set{destination, ValueType::set, {}, std::nullopt, false};
    for (const auto& member : members) {
      keyspace.allocate(set);
      keyspace.put_element(member_key(set.header.id, element_member, member), {});
      ++set.header.count;
    }
    keyspace.save(set);
    return Reply::number(static_cast<int64_t>(members.size()));
  }
};

// SINTERCARD numkeys key [key …] [LIMIT limit].
struct SInterCard {
  CommandArgs keys;
  uint64_t limit = 0;
  static std::variant<SInterCard, Reply> parse(CommandArgs argv) {
    const auto numkeys = parse_int64(argv[1]);
    if (!numkeys) return not_integer();
    if (*numkeys <= 0) return Reply::error("ERR numkeys should be greater than 0");
    if (static_cast<uint64_t>(*numkeys) > argv.size() - 2)
      return Reply::error("ERR Number of keys can't be greater than number of args");
    SInterCard out{argv.subspan(2, static_cast<size_t>(*numkeys)), 0};
    for (size_t i = 2 + static_cast<size_t>(*numkeys); i < argv.size(); i += 2) {
      if (!equals_ignore_case(argv[i], "limit") || i + 1 >= argv.size())
        return Reply::error("ERR syntax error");
      const auto limit = parse_int64(argv[i + 1]);
      if (!limit) return Reply::error("ERR LIMIT can't be negative");
      if (*limit < 0) return Reply::error("ERR LIMIT can't be negative");
      out.limit = static_cast<uint64_t>(*limit);
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto result = compute(keyspace, Algebra::inter, keys, now_ms, limit);
    if (auto* error = std::get_if<Reply>(&result)) return std::move(*error);
    return Reply::number(static_cast<int64_t>(std::get<std::vector<std::string>>(result).size()));
  }
};

std::optional<Reply> no_value(std::string_view) { return std::nullopt; }

const DataCommand kSetCommands[] = {
    data_command<SAddRem<true>>("sadd"),
    data_command<SAddRem<false>>("srem"),
    data_command<SMembers>("smembers"),
    data_command<SIsMember>("sismember"),
    data_command<SMIsMember>("smismember"),
    data_command<SCard>("scard"),
    data_command<SPop>("spop"),
    data_command<SRandMember>("srandmember"),
    data_command<SMove>("smove"),
    data_command<SAlgebra<Algebra::inter>>("sinter"),
    data_command<SAlgebra<Algebra::uni>>("sunion"),
    data_command<SAlgebra<Algebra::diff>>("sdiff"),
    data_command<SAlgebraStore<Algebra::inter>>("sinterstore"),
    data_command<SAlgebraStore<Algebra::uni>>("sunionstore"),
    data_command<SAlgebraStore<Algebra::diff>>("sdiffstore"),
    data_command<SInterCard>("sintercard"),
    data_command<CollectionScan<ValueType::set, element_member, no_value>>("sscan"),
};

}  // namespace

std::span<const DataCommand> set_commands() { return kSetCommands; }

}  // namespace replikv::core
