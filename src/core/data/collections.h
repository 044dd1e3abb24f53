// What the collection families (hashes, sets, sorted sets, lists) share: opening a key as a
// collection, walking a kind of its elements, the *SCAN commands' paging, and numbers as Redis
// parses and renders them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/data/commands.h"
#include "core/encoding.h"
#include "core/keyspace.h"

namespace replikv::core {

using Collection = Keyspace::Collection;

// The first and one-past-the-last element key of `kind` in collection `id`.
std::string kind_begin(uint64_t id, char kind);
std::string kind_end(uint64_t id, char kind);

// Visits the members (fields, set members, sorted-set members) of `kind` in `collection` with
// their stored values, in member-key order (by hash), until `visit` returns false.
void visit_members(const Keyspace& keyspace, const Collection& collection, char kind,
                   const std::function<bool(std::string_view name, std::string_view value)>& visit);

// HSCAN / SSCAN / ZSCAN key cursor [MATCH pattern] [COUNT count]: arguments from argv[2] on.
struct MemberScan {
  uint64_t cursor = 0;
  std::string_view pattern;  // empty: every member
  uint64_t count = 10;
  static std::variant<MemberScan, Reply> parse(CommandArgs argv);
  // One page: [next cursor, [member, (value)…]] — `render` gives a member's value reply, or
  // nullopt for members alone (SSCAN). The cursor is the hash to resume from, as SCAN's is.
  Reply run(const Keyspace& keyspace, const Collection& collection, char kind,
            const std::function<std::optional<Reply>(std::string_view value)>& render) const;
};

// HSCAN / SSCAN / ZSCAN key cursor …: a page of the members of `kind` of a collection of `type`,
// each followed by `render`'s reply for its stored value (nothing when it gives nullopt).
template <ValueType type, char kind, std::optional<Reply> (*render)(std::string_view value)>
struct CollectionScan {
  std::string_view key;
  MemberScan scan;
  static std::variant<CollectionScan, Reply> parse(CommandArgs argv) {
    auto scan = MemberScan::parse(argv);
    if (auto* error = std::get_if<Reply>(&scan)) return std::move(*error);
    return CollectionScan{argv[1], std::get<MemberScan>(scan)};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = keyspace.collection(std::string(key), type, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return scan.run(keyspace, std::get<Collection>(opened), kind, render);
  }
};

// Members of `kind` drawn at random in work bounded by how many are drawn, not by the collection's
// size: a draw seeks to a random point of the member hashes and takes the member there (wrapping
// at the end); `distinct` members are the run that follows it. `random` gives 64-bit numbers.
// Like Redis's draws, not exactly uniform: a member's chance follows the gap of hashes before it.
struct Drawn {
  std::string name, value;
};
std::vector<Drawn> draw_members(const Keyspace& keyspace, const Collection& collection, char kind,
                                uint64_t count, bool distinct,
                                const std::function<uint64_t()>& random);

// HRANDFIELD / SRANDMEMBER / ZRANDMEMBER: one name (nil when empty) without a count; with a
// positive count distinct members up to all; with a negative one that many, repeats allowed.
// With `render`, each name is followed by its value's reply.
Reply random_members(Keyspace& keyspace, const Collection& collection, char kind,
                     std::optional<int64_t> count,
                     std::optional<Reply> (*render)(std::string_view value));

// A random-draw count below -LONG_MAX: Redis's range error for it.
Reply count_out_of_range();

// Redis's string2ld: the whole text a number, no leading space, not NaN, at most 5 KiB.
std::optional<long double> parse_long_double(std::string_view text);
// Redis's "human" long double (INCRBYFLOAT, HINCRBYFLOAT): 17 digits after the point, trailing
// zeros and point removed, "-0" as "0".
std::string human_long_double(long double value);
// Redis's string2d for scores: strtod of the whole text, "inf"/"-inf" accepted, NaN refused.
std::optional<double> parse_score(std::string_view text);
// A score as Redis 7.0 replies it: "%.17g", "inf", "-inf".
std::string render_score(double score);

// A sorted set's member as kept by member: its score's bits (-0 as 0, as Redis keeps it).
std::string raw_score(double score);
double score_of_raw(std::string_view bytes);  // size 8
// `member`'s score in `zset`, or nullopt.
std::optional<double> score_of(const Keyspace& keyspace, const Collection& zset,
                               std::string_view member);
// Sets `member`'s score in both orders (`old`: its score now, if it has one), counting it.
void put_scored_member(Keyspace& keyspace, Collection& zset, std::string_view member, double score,
                       std::optional<double> old);
void remove_scored_member(Keyspace& keyspace, Collection& zset, std::string_view member,
                          double score);

// The type of a collection whose elements are of `kind` (element_field: a hash; element_member:
// a set; element_scored: a sorted set).
inline ValueType type_of_element_kind(char kind) {
  return kind == element_field    ? ValueType::hash
         : kind == element_member ? ValueType::set
                                  : ValueType::zset;
}

// A ZADD's options: conditional (NX, XX, GT, LT or INCR: it changes only what they allow), INCR,
// and where its score-member pairs start (argv as the client sent it).
struct ZAddShape {
  bool conditional = false;
  bool incr = false;
  size_t first_score = 2;
};
ZAddShape zadd_shape(const std::vector<std::string>& argv);

// For a strategy that derives a collection's elements from states of its own (multi-leader,
// leaderless): shows element `name` of `kind` in `collection` as `shown` says — nullopt: absent;
// a field's value; "" for a set member; a sorted-set member's score as raw_score's 8 bytes.
// Writes only the element's own records (the caller keeps the header's count).
void show_member(Keyspace& keyspace, Collection& collection, char kind, std::string_view name,
                 const std::optional<std::string>& shown);

}  // namespace replikv::core
