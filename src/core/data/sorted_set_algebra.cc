// The sorted-set algebra, with Redis 7's arguments, replies and error texts: ZUNION, ZINTER,
// ZDIFF, their STORE forms, and ZINTERCARD. A source may be a sorted set or a set (each member
// scoring 1); a missing key is empty.
//
//   ZUNION|ZINTER numkeys key [key …] [WEIGHTS weight …] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
//   ZDIFF numkeys key [key …] [WITHSCORES]
//   ZUNIONSTORE|ZINTERSTORE destination numkeys key [key …] [WEIGHTS …] [AGGREGATE …]
//   ZDIFFSTORE destination numkeys key [key …]
//   ZINTERCARD numkeys key [key …] [LIMIT limit]
//
// As in Redis, the sources' types are checked before the options (a WRONGTYPE key wins over a
// syntax error), the sources are combined smallest first (which fixes the order a SUM adds its
// scores in), a sum that comes to NaN is 0, and the result is ordered by score, then member.
// Every source is read into memory whole: for a union that is Redis's work too; for an
// intersection or a difference Redis walks the smallest (or first) set and looks members up in
// the others — here a large source costs its size even when a small one bounds the result.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/command.h"
#include "core/data/collections.h"
#include "core/data/commands.h"
#include "core/keyspace.h"

namespace replikv::core {
namespace {

enum class Op : uint8_t { uni, inter, diff };
enum class Aggregate : uint8_t { sum, min, max };

Reply syntax_error() { return Reply::error("ERR syntax error"); }

// A source's members and scores, and how many (for the order sources are combined in).
struct Source {
  std::map<std::string, double> members;
  double weight = 1;
};

// Reads `key` as a sorted set or a set (scores 1); WRONGTYPE for another type.
std::variant<Source, Reply> read_source(Keyspace& keyspace, std::string_view key, TimeMs now_ms) {
  Source source;
  auto zset = keyspace.collection(std::string(key), ValueType::zset, now_ms);
  if (auto* collection = std::get_if<Collection>(&zset)) {
    visit_members(keyspace, *collection, element_scored,
                  [&](std::string_view member, std::string_view value) {
                    source.members.emplace(member, score_of_raw(value));
                    return true;
                  });
    return source;
  }
  auto set = keyspace.collection(std::string(key), ValueType::set, now_ms);
  if (auto* error = std::get_if<Reply>(&set)) return std::move(*error);
  visit_members(keyspace, std::get<Collection>(set), element_member,
                [&](std::string_view member, std::string_view) {
                  source.members.emplace(member, 1.0);
                  return true;
                });
  return source;
}

double aggregate(Aggregate how, double target, double value) {
  switch (how) {
    case Aggregate::min:
      return std::min(target, value);
    case Aggregate::max:
      return std::max(target, value);
    default: {
      const double sum = target + value;
      return std::isnan(sum) ? 0 : sum;  // +inf and -inf
    }
  }
}

double weighted(double score, double weight) {
  const double out = score * weight;
  return std::isnan(out) ? 0 : out;  // inf times 0
}

// One of the commands, its form given by the template arguments: `store` (a destination first),
// `card` (ZINTERCARD: a count, with LIMIT).
template <Op op, bool store, bool card = false>
struct ZAlgebra {
  static constexpr size_t numkeys_at = store ? 2 : 1;
  CommandArgs argv;
  size_t count = 0;  // numkeys

  // What can be judged without the keyspace: numkeys. The options come after the sources'
  // types, in run(), as Redis judges them.
  static std::variant<ZAlgebra, Reply> parse(CommandArgs argv) {
    const auto numkeys = parse_int64(argv[numkeys_at]);
    if (!numkeys) return Reply::error("ERR value is not an integer or out of range");
    if (*numkeys < 1) {
      std::string name(argv[0]);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return Reply::error(fmt::format("ERR at least 1 input key is needed for '{}' command", name));
    }
    if (static_cast<uint64_t>(*numkeys) > argv.size() - numkeys_at - 1) return syntax_error();
    return ZAlgebra{argv, static_cast<size_t>(*numkeys)};
  }

  struct Options {
    std::vector<double> weights;
    Aggregate aggregate = Aggregate::sum;
    bool with_scores = false;
    uint64_t limit = 0;  // 0: none
  };

  std::variant<Options, Reply> options() const {
    Options out;
    out.weights.assign(count, 1.0);
    size_t i = numkeys_at + 1 + count;
    while (i < argv.size()) {
      const size_t remaining = argv.size() - i;
      if (op != Op::diff && !card && remaining >= count + 1 &&
          equals_ignore_case(argv[i], "weights")) {
        ++i;
        for (size_t k = 0; k < count; ++k, ++i) {
          const auto weight = parse_score(argv[i]);
          if (!weight) return Reply::error("ERR weight value is not a float");
          out.weights[k] = *weight;
        }
      } else if (op != Op::diff && !card && remaining >= 2 &&
                 equals_ignore_case(argv[i], "aggregate")) {
        const std::string_view how = argv[i + 1];
        if (equals_ignore_case(how, "sum")) {
          out.aggregate = Aggregate::sum;
        } else if (equals_ignore_case(how, "min")) {
          out.aggregate = Aggregate::min;
        } else if (equals_ignore_case(how, "max")) {
          out.aggregate = Aggregate::max;
        } else {
          return syntax_error();
        }
        i += 2;
      } else if (!store && !card && equals_ignore_case(argv[i], "withscores")) {
        out.with_scores = true;
        ++i;
      } else if (card && remaining >= 2 && equals_ignore_case(argv[i], "limit")) {
        const auto limit = parse_int64(argv[i + 1]);
        if (!limit || *limit < 0) return Reply::error("ERR LIMIT can't be negative");
        out.limit = static_cast<uint64_t>(*limit);
        i += 2;
      } else {
        return syntax_error();
      }
    }
    return out;
  }

  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    std::vector<Source> sources;
    for (size_t k = 0; k < count; ++k) {
      auto source = read_source(keyspace, argv[numkeys_at + 1 + k], now_ms);
      if (auto* error = std::get_if<Reply>(&source)) return std::move(*error);
      sources.push_back(std::move(std::get<Source>(source)));
    }
    auto parsed = options();
    if (auto* error = std::get_if<Reply>(&parsed)) return std::move(*error);
    const Options& options = std::get<Options>(parsed);
    for (size_t k = 0; k < count; ++k) sources[k].weight = options.weights[k];
    const auto result = combine(std::move(sources), options);
    if (card) {
      const uint64_t size = result.size();
      return Reply::number(static_cast<int64_t>(
          options.limit != 0 ? std::min<uint64_t>(size, options.limit) : size));
    }
    // By score, then member: a sorted set's order.
    std::vector<std::pair<double, std::string_view>> ordered;
    ordered.reserve(result.size());
    for (const auto& [member, score] : result) ordered.emplace_back(score, member);
    std::sort(ordered.begin(), ordered.end());
    if (store) {
      const std::string destination(argv[1]);
      keyspace.remove(destination);
      Collection zset{destination, ValueType::zset, {}, std::nullopt, false};
      for (const auto& [score, member] : ordered) {
        put_scored_member(keyspace, zset, member, score, std::nullopt);
      }
      keyspace.save(zset);
      return Reply::number(static_cast<int64_t>(ordered.size()));
    }
    std::vector<Reply> out;
    for (const auto& [score, member] : ordered) {
      out.push_back(Reply::bulk(std::string(member)));
      if (options.with_scores) out.push_back(Reply::bulk(render_score(score)));
    }
    return Reply::array(std::move(out));
  }

  static std::map<std::string, double> combine(std::vector<Source> sources,
                                               const Options& options) {
    std::map<std::string, double> out;
    if (op == Op::diff) {
      for (auto& [member, score] : sources.front().members) {
        bool elsewhere = false;
        for (size_t k = 1; k < sources.size() && !elsewhere; ++k)
          elsewhere = sources[k].members.contains(member);
        if (!elsewhere) out.emplace(member, score);
      }
      return out;
    }
    // Smallest first (stable, so sources of one size keep their order).
    std::stable_sort(sources.begin(), sources.end(), [](const Source& a, const Source& b) {
      return a.members.size() < b.members.size();
    });
    if (op == Op::inter) {
      for (const auto& [member, score] : sources.front().members) {
        double total = weighted(score, sources.front().weight);
        bool everywhere = true;
        for (size_t k = 1; k < sources.size() && everywhere; ++k) {
          const auto it = sources[k].members.find(member);
          everywhere = it != sources[k].members.end();
          // (The others' products as they are, as Redis: a NaN makes a SUM 0 and leaves MIN
          // and MAX as they were.)
          if (everywhere)
            total = aggregate(options.aggregate, total, it->second * sources[k].weight);
        }
        if (everywhere) out.emplace(member, total);
        if (card && options.limit != 0 && out.size() >= options.limit) break;
      }
      return out;
    }
    for (const auto& source : sources) {
      for (const auto& [member, score] : source.members) {
        const double value = weighted(score, source.weight);
        const auto [it, inserted] = out.emplace(member, value);
        if (!inserted) it->second = aggregate(options.aggregate, it->second, value);
      }
    }
    return out;
  }
};

const DataCommand kSortedSetAlgebraCommands[] = {
    data_command<ZAlgebra<Op::uni, false>>("zunion"),
    data_command<ZAlgebra<Op::inter, false>>("zinter"),
    data_command<ZAlgebra<Op::diff, false>>("zdiff"),
    data_command<ZAlgebra<Op::uni, true>>("zunionstore"),
    data_command<ZAlgebra<Op::inter, true>>("zinterstore"),
    data_command<ZAlgebra<Op::diff, true>>("zdiffstore"),
    data_command<ZAlgebra<Op::inter, false, true>>("zintercard"),
};

}  // namespace

std::span<const DataCommand> sorted_set_algebra_commands() { return kSortedSetAlgebraCommands; }

}  // namespace replikv::core
