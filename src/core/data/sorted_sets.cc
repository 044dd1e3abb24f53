// The sorted-set commands, with Redis 7's arguments, replies and error texts: ZADD (NX, XX, GT,
// LT, CH, INCR), ZINCRBY, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK, ZREM, ZRANGE
// (by rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES) and the older ZREVRANGE, ZRANGEBYSCORE,
// ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZRANGESTORE, ZPOPMIN, ZPOPMAX,
// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX, ZRANDMEMBER, ZSCAN.
//
// A member is kept twice in the elements column (core/encoding.h): by member ('m', its score's
// bits) and in score order ('o': score, then member bytes — Redis's order). Reads in
// score order walk the second from either end; a rank is the walk's count, so ZRANK and a range
// starting at rank r cost O(r) where Redis's skip list costs O(log n) (docs/commands.md).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "core/command.h"
#include "core/data/collections.h"
#include "core/data/commands.h"
#include "core/keyspace.h"

namespace replikv::core {

// A member's score as stored by member: the double's bits (-0 stored as 0, as Redis stores it).
std::string raw_score(double score) {
  if (score == 0) score = 0;
  uint64_t bits;
  std::memcpy(&bits, &score, 8);
  return u64_be(bits);
}
double score_of_raw(std::string_view bytes) {
  const uint64_t bits = read_u64_be(bytes);
  double score;
  std::memcpy(&score, &bits, 8);
  return score;
}

namespace {
std::string order_key(uint64_t id, double score, std::string_view member) {
  std::string rest = score_key(score);
  rest.append(member);
  return element_key(id, element_order, rest);
}

}  // namespace

std::optional<double> score_of(const Keyspace& keyspace, const Collection& zset,
                               std::string_view member) {
  // By id, not `exists`: a member this same command added to a new sorted set is there already.
  if (zset.header.id == 0) return std::nullopt;
  const auto value = keyspace.element(member_key(zset.header.id, element_scored, member));
  if (!value) return std::nullopt;
  return score_of_raw(*value);
}

// Sets `member`'s score (`old`: its score now, if it has one).
void put_scored_member(Keyspace& keyspace, Collection& zset, std::string_view member, double score,
                       std::optional<double> old) {
  keyspace.allocate(zset);
  const uint64_t id = zset.header.id;
  if (old) {
    keyspace.erase_element(order_key(id, *old, member));
  } else {
    ++zset.header.count;
  }
  keyspace.put_element(member_key(id, element_scored, member), raw_score(score));
  keyspace.put_element(order_key(id, score, member), {});
}

void remove_scored_member(Keyspace& keyspace, Collection& zset, std::string_view member,
                          double score) {
  keyspace.erase_element(member_key(zset.header.id, element_scored, member));
  keyspace.erase_element(order_key(zset.header.id, score, member));
  --zset.header.count;
}

ZAddShape zadd_shape(const std::vector<std::string>& argv) {
  // ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member …: the options, in any order, come before
  // the first score.
  ZAddShape shape;
  size_t i = 2;
  for (; i < argv.size(); ++i) {
    std::string word = argv[i];
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (word == "incr") {
      shape.incr = shape.conditional = true;
    } else if (word == "nx" || word == "xx" || word == "gt" || word == "lt") {
      shape.conditional = true;
    } else if (word != "ch") {
      break;
    }
  }
  shape.first_score = i;
  return shape;
}

void show_member(Keyspace& keyspace, Collection& collection, char kind, std::string_view name,
                 const std::optional<std::string>& shown) {
  const uint64_t id = collection.header.id;
  if (kind != element_scored) {
    if (shown) {
      keyspace.put_element(member_key(id, kind, name), *shown);
    } else {
      keyspace.erase_element(member_key(id, kind, name));
    }
    return;
  }
  const auto old = score_of(keyspace, collection, name);
  if (shown) {
    put_scored_member(keyspace, collection, name, score_of_raw(*shown), old);
  } else if (old) {
    remove_scored_member(keyspace, collection, name, *old);
  }
}

namespace {

std::optional<Reply> score_value(std::string_view value) {
  return Reply::bulk(render_score(score_of_raw(value)));
}

Reply not_integer() { return Reply::error("ERR value is not an integer or out of range"); }
Reply not_float() { return Reply::error("ERR value is not a valid float"); }
Reply syntax_error() { return Reply::error("ERR syntax error"); }

std::variant<Collection, Reply> open_zset(Keyspace& keyspace, std::string_view key, TimeMs now_ms) {
  return keyspace.collection(std::string(key), ValueType::zset, now_ms);
}

struct Entry {
  std::string member;
  double score;
};

// Walks the members in score order (from the top with `reverse`), from `from` (an element key
// inside the order range; empty: that end) until `visit` returns false.
void walk(const Keyspace& keyspace, const Collection& zset, bool reverse,
          const std::function<bool(std::string_view member, double score)>& visit,
          std::string_view from = {}) {
  if (!zset.exists) return;
  const uint64_t id = zset.header.id;
  const std::string begin = kind_begin(id, element_order), end = kind_end(id, element_order);
  const auto each = [&](std::string_view key, std::string_view) {
    return visit(key.substr(17), score_of_key(key.substr(9, 8)));
  };
  if (reverse) {
    keyspace.scan_elements_reverse(begin, from.empty() ? std::string_view(end) : from, each);
  } else {
    keyspace.scan_elements(from.empty() ? std::string_view(begin) : from, end, each);
  }
}

// A score range's end as Redis parses it: "(" for exclusive, "-inf"/"+inf".
struct ScoreBound {
  double value = 0;
  bool exclusive = false;
};
std::optional<ScoreBound> parse_score_bound(std::string_view text) {
  ScoreBound out;
  if (!text.empty() && text[0] == '(') {
    out.exclusive = true;
    text.remove_prefix(1);
  }
  const auto value = parse_score(text);
  if (!value) return std::nullopt;
  out.value = *value;
  return out;
}
bool above_min(double score, const ScoreBound& min) {
  return min.exclusive ? score > min.value : score >= min.value;
}
bool below_max(double score, const ScoreBound& max) {
  return max.exclusive ? score < max.value : score <= max.value;
}

// A lex range's end: "[" inclusive, "(" exclusive, "-" and "+" the ends.
struct LexBound {
  std::string value;
  bool exclusive = false;
  int infinite = 0;  // -1: "-", +1: "+"
};
std::optional<LexBound> parse_lex_bound(std::string_view text) {
  if (text == "-") return LexBound{{}, false, -1};
  if (text == "+") return LexBound{{}, false, 1};
  if (text.empty() || (text[0] != '[' && text[0] != '(')) return std::nullopt;
  return LexBound{std::string(text.substr(1)), text[0] == '(', 0};
}
bool lex_above_min(std::string_view member, const LexBound& min) {
  if (min.infinite != 0) return min.infinite < 0;
  const int c = member.compare(min.value);
  return min.exclusive ? c > 0 : c >= 0;
}
bool lex_below_max(std::string_view member, const LexBound& max) {
  if (max.infinite != 0) return max.infinite > 0;
  const int c = member.compare(max.value);
  return max.exclusive ? c < 0 : c <= 0;
}

// The range of ZRANGE and its older forms, parsed.
struct Range {
  enum class By : uint8_t { rank, score, lex };
  By by = By::rank;
  bool reverse = false;
  bool with_scores = false;
  int64_t offset = 0, limit = -1;  // LIMIT (score and lex only); a limit < 0: all
  bool limited = false;
  int64_t start = 0, stop = 0;  // by rank
  ScoreBound min_score, max_score;
  LexBound min_lex, max_lex;

  // `first` and `second` as the command gives them (ZRANGE … REV and the REV forms give the
  // top first).
  std::optional<Reply> parse_bounds(std::string_view first, std::string_view second) {
    const std::string_view low = reverse && by != By::rank ? second : first;
    const std::string_view high = reverse && by != By::rank ? first : second;
    if (by == By::rank) {
      const auto a = parse_int64(first), b = parse_int64(second);
      if (!a || !b) return not_integer();
      start = *a;
      stop = *b;
    } else if (by == By::score) {
      const auto a = parse_score_bound(low), b = parse_score_bound(high);
      if (!a || !b) return Reply::error("ERR min or max is not a float");
      min_score = *a;
      max_score = *b;
    } else {
      auto a = parse_lex_bound(low), b = parse_lex_bound(high);
      if (!a || !b) return Reply::error("ERR min or max not valid string range item");
      min_lex = std::move(*a);
      max_lex = std::move(*b);
    }
    return std::nullopt;
  }

  std::vector<Entry> collect(const Keyspace& keyspace, const Collection& zset) const {
    std::vector<Entry> out;
    if (!zset.exists) return out;
    const auto count = static_cast<int64_t>(zset.header.count);
    if (by == By::rank) {
      int64_t from = start < 0 ? start + count : start;
      int64_t to = stop < 0 ? stop + count : stop;
      from = std::max<int64_t>(from, 0);
      if (from > to || from >= count) return out;
      to = std::min(to, count - 1);
      int64_t rank = 0;
      walk(keyspace, zset, reverse, [&](std::string_view member, double score) {
        if (rank++ < from) return true;
        out.push_back({std::string(member), score});
        return rank <= to;
      });
      return out;
    }
    if (offset < 0) return out;
    int64_t skip = offset;
    const auto take = [&](std::string_view member, double score) {
      if (skip > 0) {
        --skip;
        return true;
      }
      out.push_back({std::string(member), score});
      return limit < 0 || static_cast<int64_t>(out.size()) < limit;
    };
    if (limit == 0) return out;
    const uint64_t id = zset.header.id;
    if (by == By::score) {
      if (!reverse) {
        std::string from = kind_begin(id, element_order);
        from.append(score_key(min_score.value));
        walk(
            keyspace, zset, false,
            [&](std::string_view member, double score) {
              if (!above_min(score, min_score)) return true;
              if (!below_max(score, max_score)) return false;
              return take(member, score);
            },
            from);
      } else {
        // Every member with score max_score sorts before the next score key up.
        std::string before = kind_begin(id, element_order);
        const uint64_t max_bits = read_u64_be(score_key(max_score.value));
        if (max_bits == std::numeric_limits<uint64_t>::max()) {
          before = kind_end(id, element_order);
        } else {
          append_u64_be(before, max_bits + 1);
        }
        walk(
            keyspace, zset, true,
            [&](std::string_view member, double score) {
              if (!below_max(score, max_score)) return true;
              if (!above_min(score, min_score)) return false;
              return take(member, score);
            },
            before);
      }
      return out;
    }
    // By lex: Redis's walk — from the first member inside the range to the first beyond it (its
    // meaning assumes one score for every member).
    walk(keyspace, zset, reverse, [&](std::string_view member, double score) {
      if (!reverse) {
        if (!lex_above_min(member, min_lex)) return true;
        if (!lex_below_max(member, max_lex)) return false;
      } else {
        if (!lex_below_max(member, max_lex)) return true;
        if (!lex_above_min(member, min_lex)) return false;
      }
      return take(member, score);
    });
    return out;
  }
};

Reply entries_reply(const std::vector<Entry>& entries, bool with_scores) {
  std::vector<Reply> out;
  out.reserve(entries.size() * (with_scores ? 2 : 1));
  for (const auto& entry : entries) {
    out.push_back(Reply::bulk(entry.member));
    if (with_scores) out.push_back(Reply::bulk(render_score(entry.score)));
  }
  return Reply::array(std::move(out));
}

// ZRANGE's options from argv[from] on, as Redis 7.0 parses them for ZRANGE, ZRANGESTORE and the
// older forms alike (those come with the range type and direction fixed, so BYSCORE, BYLEX and
// REV are not theirs to give); then the bounds.
std::optional<Reply> parse_range(CommandArgs argv, size_t from, bool store, bool fixed,
                                 Range& range) {
  for (size_t i = from; i < argv.size(); ++i) {
    const std::string_view option = argv[i];
    if (!store && equals_ignore_case(option, "withscores")) {
      range.with_scores = true;
    } else if (equals_ignore_case(option, "limit") && i + 2 < argv.size()) {
      const auto offset = parse_int64(argv[i + 1]), limit = parse_int64(argv[i + 2]);
      if (!offset || !limit) return not_integer();
      range.offset = *offset;
      range.limit = *limit;
      range.limited = true;
      i += 2;
    } else if (!fixed && !range.reverse && equals_ignore_case(option, "rev")) {
      range.reverse = true;
    } else if (!fixed && range.by == Range::By::rank && equals_ignore_case(option, "bylex")) {
      range.by = Range::By::lex;
    } else if (!fixed && range.by == Range::By::rank && equals_ignore_case(option, "byscore")) {
      range.by = Range::By::score;
    } else {
      return syntax_error();
    }
  }
  if (range.limited && range.by == Range::By::rank) {
    return Reply::error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (range.with_scores && range.by == Range::By::lex)
    return Reply::error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  return range.parse_bounds(argv[from - 2], argv[from - 1]);
}

// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES], and
// ZRANGESTORE destination key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count].
template <bool store>
struct ZRange {
  std::string_view destination, key;
  Range range;
  static std::variant<ZRange, Reply> parse(CommandArgs argv) {
    ZRange out{};
    const size_t at = store ? 2 : 1;
    if (store) out.destination = argv[1];
    out.key = argv[at];
    if (auto error = parse_range(argv, at + 3, store, false, out.range)) return *error;
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    const auto entries = range.collect(keyspace, std::get<Collection>(opened));
    if (!store) return entries_reply(entries, range.with_scores);
    const std::string target(destination);
    keyspace.remove(target);
    Collection result{target, ValueType::zset, {}, std::nullopt, false};
    for (const auto& entry : entries)
      put_scored_member(keyspace, result, entry.member, entry.score, {});
    keyspace.save(result);
    return Reply::number(static_cast<int64_t>(entries.size()));
  }
};

// The older forms: ZREVRANGE key start stop [WITHSCORES]; Z(REV)RANGEBYSCORE key min max
// [WITHSCORES] [LIMIT offset count]; Z(REV)RANGEBYLEX key min max [LIMIT offset count].
template <Range::By by, bool reverse>
struct ZRangeOld {
  std::string_view key;
  Range range;
  static std::variant<ZRangeOld, Reply> parse(CommandArgs argv) {
    ZRangeOld out{argv[1], {}};
    out.range.by = by;
    out.range.reverse = reverse;
    if (auto error = parse_range(argv, 4, false, true, out.range)) return *error;
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return entries_reply(range.collect(keyspace, std::get<Collection>(opened)), range.with_scores);
  }
};

// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member …]
struct ZAdd {
  CommandArgs pairs;  // score, member, …
  std::string_view key;
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
  static std::variant<ZAdd, Reply> parse(CommandArgs argv) {
    ZAdd out{};
    out.key = argv[1];
    size_t i = 2;
    for (; i < argv.size(); ++i) {
      const std::string_view option = argv[i];
      if (equals_ignore_case(option, "nx")) {
        out.nx = true;
      } else if (equals_ignore_case(option, "xx")) {
        out.xx = true;
      } else if (equals_ignore_case(option, "gt")) {
        out.gt = true;
      } else if (equals_ignore_case(option, "lt")) {
        out.lt = true;
      } else if (equals_ignore_case(option, "ch")) {
        out.ch = true;
      } else if (equals_ignore_case(option, "incr")) {
        out.incr = true;
      } else {
        break;
      }
    }
    out.pairs = argv.subspan(i);
    if (out.pairs.empty() || out.pairs.size() % 2 != 0) return syntax_error();
    if (out.nx && out.xx)
      return Reply::error("ERR XX and NX options at the same time are not compatible");
    if ((out.gt && out.nx) || (out.lt && out.nx) || (out.gt && out.lt)) {
      return Reply::error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if (out.incr && out.pairs.size() > 2)
      return Reply::error("ERR INCR option supports a single increment-element pair");
    for (size_t p = 0; p < out.pairs.size(); p += 2) {
      if (!parse_score(out.pairs[p])) return not_float();
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& zset = std::get<Collection>(opened);
    int64_t added = 0, updated = 0;
    std::optional<double> incr_result;
    for (size_t p = 0; p < pairs.size(); p += 2) {
      double score = *parse_score(pairs[p]);
      const std::string_view member = pairs[p + 1];
      const auto current = score_of(keyspace, zset, member);
      if (current) {
        if (nx) continue;
        if (incr) {
          score += *current;
          if (std::isnan(score)) {
            if (added + updated > 0) keyspace.save(zset);
            return Reply::error("ERR resulting score is not a number (NaN)");
          }
        }
        if ((gt && score <= *current) || (lt && score >= *current)) continue;
        incr_result = score;
        if (score != *current) {
          put_scored_member(keyspace, zset, member, score, current);
          ++updated;
        }
      } else {
        if (xx) continue;
        put_scored_member(keyspace, zset, member, score, std::nullopt);
        incr_result = score;
        ++added;
      }
    }
    if (added + updated > 0) keyspace.save(zset);
    if (incr) return incr_result ? Reply::bulk(render_score(*incr_result)) : Reply::nil();
    return Reply::number(ch ? added + updated : added);
  }
};

struct ZIncrBy {
  std::string_view key, member;
  double increment = 0;
  static std::variant<ZIncrBy, Reply> parse(CommandArgs argv) {
    const auto increment = parse_score(argv[2]);
    if (!increment) return not_float();
    return ZIncrBy{argv[1], argv[3], *increment};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& zset = std::get<Collection>(opened);
    const auto current = score_of(keyspace, zset, member);
    const double score = (current ? *current : 0) + increment;
    if (std::isnan(score)) return Reply::error("ERR resulting score is not a number (NaN)");
    if (!current || score != *current) put_scored_member(keyspace, zset, member, score, current);
    keyspace.save(zset);
    return Reply::bulk(render_score(score));
  }
};

struct ZScore {
  std::string_view key, member;
  static std::variant<ZScore, Reply> parse(CommandArgs argv) { return ZScore{argv[1], argv[2]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    const auto score = score_of(keyspace, std::get<Collection>(opened), member);
    return score ? Reply::bulk(render_score(*score)) : Reply::nil();
  }
};

struct ZMScore {
  CommandArgs argv;
  static std::variant<ZMScore, Reply> parse(CommandArgs argv) { return ZMScore{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, argv[1], now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    std::vector<Reply> out;
    for (size_t i = 2; i < argv.size(); ++i) {
      const auto score = score_of(keyspace, std::get<Collection>(opened), argv[i]);
      out.push_back(score ? Reply::bulk(render_score(*score)) : Reply::nil());
    }
    return Reply::array(std::move(out));
  }
};

struct ZCard {
  std::string_view key;
  static std::variant<ZCard, Reply> parse(CommandArgs argv) { return ZCard{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return Reply::number(static_cast<int64_t>(std::get<Collection>(opened).header.count));
  }
};

// ZCOUNT key min max and ZLEXCOUNT key min max.
template <Range::By by>
struct ZCount {
  std::string_view key;
  Range range;
  static std::variant<ZCount, Reply> parse(CommandArgs argv) {
    ZCount out{argv[1], {}};
    out.range.by = by;
    if (auto error = out.range.parse_bounds(argv[2], argv[3])) return *error;
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return Reply::number(
        static_cast<int64_t>(range.collect(keyspace, std::get<Collection>(opened)).size()));
  }
};

// ZRANK / ZREVRANK key member.
template <bool reverse>
struct ZRank {
  std::string_view key, member;
  static std::variant<ZRank, Reply> parse(CommandArgs argv) { return ZRank{argv[1], argv[2]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    const auto& zset = std::get<Collection>(opened);
    const auto score = score_of(keyspace, zset, member);
    if (!score) return Reply::nil();
    // The members before it in score order, counted up to its own order key.
    const std::string target = order_key(zset.header.id, *score, member);
    int64_t rank = 0;
    keyspace.scan_elements(kind_begin(zset.header.id, element_order), target,
                           [&](std::string_view, std::string_view) {
                             ++rank;
                             return true;
                           });
    return Reply::number(reverse ? static_cast<int64_t>(zset.header.count) - 1 - rank : rank);
  }
};

struct ZRem {
  CommandArgs argv;
  static std::variant<ZRem, Reply> parse(CommandArgs argv) { return ZRem{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, argv[1], now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& zset = std::get<Collection>(opened);
    int64_t removed = 0;
    for (size_t i = 2; i < argv.size(); ++i) {
      const auto score = score_of(keyspace, zset, argv[i]);
      if (!score) continue;
      remove_scored_member(keyspace, zset, argv[i], *score);
      ++removed;
    }
    if (removed > 0) keyspace.save(zset);
    return Reply::number(removed);
  }
};

// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key a b.
template <Range::By by>
struct ZRemRange {
  std::string_view key;
  Range range;
  static std::variant<ZRemRange, Reply> parse(CommandArgs argv) {
    ZRemRange out{argv[1], {}};
    out.range.by = by;
    if (auto error = out.range.parse_bounds(argv[2], argv[3])) return *error;
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& zset = std::get<Collection>(opened);
    const auto entries = range.collect(keyspace, zset);
    for (const auto& entry : entries)
      remove_scored_member(keyspace, zset, entry.member, entry.score);
    if (!entries.empty()) keyspace.save(zset);
    return Reply::number(static_cast<int64_t>(entries.size()));
  }
};

// ZPOPMIN / ZPOPMAX key [count].
template <bool max>
struct ZPop {
  std::string_view key;
  int64_t count = 1;
  bool counted = false;
  static std::variant<ZPop, Reply> parse(CommandArgs argv) {
    ZPop out{argv[1], 1, false};
    if (argv.size() > 3) return syntax_error();
    if (argv.size() == 3) {
      const auto count = parse_int64(argv[2]);
      if (!count || *count < 0) return Reply::error("ERR value is out of range, must be positive");
      out.count = *count;
      out.counted = true;
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& zset = std::get<Collection>(opened);
    std::vector<Entry> entries;
    if (count > 0) {
      walk(keyspace, zset, max, [&](std::string_view member, double score) {
        entries.push_back({std::string(member), score});
        return static_cast<int64_t>(entries.size()) < count;
      });
    }
    for (const auto& entry : entries)
      remove_scored_member(keyspace, zset, entry.member, entry.score);
    if (!entries.empty()) keyspace.save(zset);
    return entries_reply(entries, true);
  }
};

struct ZRandMember {
  std::string_view key;
  std::optional<int64_t> count;
  bool with_scores = false;
  static std::variant<ZRandMember, Reply> parse(CommandArgs argv) {
    ZRandMember out{argv[1], std::nullopt, false};
    if (argv.size() >= 3) {
      const auto count = parse_int64(argv[2]);
      if (!count) return not_integer();
      if (*count == std::numeric_limits<int64_t>::min()) return count_out_of_range();
      out.count = *count;
      if (argv.size() == 4) {
        if (!equals_ignore_case(argv[3], "withscores")) return syntax_error();
        out.with_scores = true;
      } else if (argv.size() > 4) {
        return syntax_error();
      }
      const int64_t limit = std::numeric_limits<int64_t>::max() / (out.with_scores ? 2 : 1);
      if (*count < -limit) return Reply::error("ERR value is out of range");
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_zset(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return random_members(keyspace, std::get<Collection>(opened), element_scored, count,
                          with_scores ? score_value : nullptr);
  }
};

using By = Range::By;
const DataCommand kSortedSetCommands[] = {
    data_command<ZAdd>("zadd"),
    data_command<ZIncrBy>("zincrby"),
    data_command<ZScore>("zscore"),
    data_command<ZMScore>("zmscore"),
    data_command<ZCard>("zcard"),
    data_command<ZCount<By::score>>("zcount"),
    data_command<ZCount<By::lex>>("zlexcount"),
    data_command<ZRank<false>>("zrank"),
    data_command<ZRank<true>>("zrevrank"),
    data_command<ZRem>("zrem"),
    data_command<ZRange<false>>("zrange"),
    data_command<ZRange<true>>("zrangestore"),
    data_command<ZRangeOld<By::rank, true>>("zrevrange"),
    data_command<ZRangeOld<By::score, false>>("zrangebyscore"),
    data_command<ZRangeOld<By::score, true>>("zrevrangebyscore"),
    data_command<ZRangeOld<By::lex, false>>("zrangebylex"),
    data_command<ZRangeOld<By::lex, true>>("zrevrangebylex"),
    data_command<ZPop<false>>("zpopmin"),
    data_command<ZPop<true>>("zpopmax"),
    data_command<ZRemRange<By::rank>>("zremrangebyrank"),
    data_command<ZRemRange<By::score>>("zremrangebyscore"),
    data_command<ZRemRange<By::lex>>("zremrangebylex"),
    data_command<ZRandMember>("zrandmember"),
    data_command<CollectionScan<ValueType::zset, element_scored, score_value>>("zscan"),
};

}  // namespace

std::span<const DataCommand> sorted_set_commands() { return kSortedSetCommands; }

}  // namespace replikv::core
