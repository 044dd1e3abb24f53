#include "core/data/collections.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/command.h"
#include "core/glob.h"

namespace replikv::core {

std::string kind_begin(uint64_t id, char kind) { return element_key(id, kind, {}); }

std::string kind_end(uint64_t id, char kind) {
  return element_key(id, static_cast<char>(kind + 1), {});
}

void visit_members(
    const Keyspace& keyspace, const Collection& collection, char kind,
    const std::function<bool(std::string_view name, std::string_view value)>& visit) {
  if (collection.header.id == 0) return;
  const uint64_t id = collection.header.id;
  keyspace.scan_elements(kind_begin(id, kind), kind_end(id, kind),
                         [&](std::string_view key, std::string_view value) {
                           return visit(key.substr(17), value);  // id, kind, hash
                         });
}

std::variant<MemberScan, Reply> MemberScan::parse(CommandArgs argv) {
  MemberScan out;
  // Redis's cursor: an unsigned 64-bit decimal.
  const std::string_view cursor = argv[2];
  uint64_t value = 0;
  bool valid = !cursor.empty() && cursor.size() <= 20;
  for (const char c : cursor) {
    if (c < '0' || c > '9' || value > (std::numeric_limits<uint64_t>::max() - (c - '0')) / 10) {
      valid = false;
      break;
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!valid) return Reply::error("ERR invalid cursor");
  out.cursor = value;
  for (size_t i = 3; i < argv.size(); i += 2) {
    if (i + 1 >= argv.size()) return Reply::error("ERR syntax error");
    if (equals_ignore_case(argv[i], "match")) {
      out.pattern = argv[i + 1] == "*" ? std::string_view() : argv[i + 1];
    } else if (equals_ignore_case(argv[i], "count")) {
      const auto count = parse_int64(argv[i + 1]);
      if (!count) return Reply::error("ERR value is not an integer or out of range");
      if (*count < 1) return Reply::error("ERR syntax error");
      out.count = static_cast<uint64_t>(*count);
    } else {
      return Reply::error("ERR syntax error");
    }
  }
  return out;
}

Reply MemberScan::run(
    const Keyspace& keyspace, const Collection& collection, char kind,
    const std::function<std::optional<Reply>(std::string_view value)>& render) const {
  std::vector<Reply> found;
  uint64_t next_cursor = 0;
  if (collection.exists) {
    const uint64_t id = collection.header.id;
    std::string begin = kind_begin(id, kind);
    append_u64_be(begin, cursor);
    uint64_t visited = 0;
    std::optional<uint64_t> last_hash;
    keyspace.scan_elements(begin, kind_end(id, kind),
                           [&](std::string_view key, std::string_view value) {
                             const uint64_t hash = read_u64_be(key.substr(9));
                             // A run of equal hashes is never split (the cursor resumes at one).
                             if (last_hash && hash != *last_hash && visited >= count) {
                               next_cursor = hash;
                               return false;
                             }
                             last_hash = hash;
                             ++visited;
                             const std::string_view name = key.substr(17);
                             if (!pattern.empty() && !glob_match(pattern, name)) return true;
                             found.push_back(Reply::bulk(std::string(name)));
                             if (auto rendered = render(value))
                               found.push_back(std::move(*rendered));
                             return true;
                           });
  }
  return Reply::array({Reply::bulk(std::to_string(next_cursor)), Reply::array(std::move(found))});
}

std::vector<Drawn> draw_members(const Keyspace& keyspace, const Collection& collection, char kind,
                                uint64_t count, bool distinct,
                                const std::function<uint64_t()>& random) {
  std::vector<Drawn> out;
  if (collection.header.id == 0 || count == 0) return out;
  const uint64_t id = collection.header.id;
  const std::string begin = kind_begin(id, kind), end = kind_end(id, kind);
  const auto take_from = [&](uint64_t hash, uint64_t wanted) {
    std::string from = begin;
    append_u64_be(from, hash);
    const auto take = [&](std::string_view key, std::string_view value) {
      out.push_back({std::string(key.substr(17)), std::string(value)});
      return --wanted > 0;
    };
    keyspace.scan_elements(from, end, take);
    // Wrapped: from the first member, up to where this draw began.
    if (wanted > 0) keyspace.scan_elements(begin, from, take);
  };
  if (distinct) {
    take_from(random(), std::min(count, collection.header.count));
  } else {
    for (uint64_t i = 0; i < count; ++i) take_from(random(), 1);
  }
  return out;
}

Reply random_members(Keyspace& keyspace, const Collection& collection, char kind,
                     std::optional<int64_t> count,
                     std::optional<Reply> (*render)(std::string_view value)) {
  const auto random = [&] { return keyspace.random_u64(); };
  if (!count) {
    auto drawn = draw_members(keyspace, collection, kind, 1, true, random);
    return drawn.empty() ? Reply::nil() : Reply::bulk(std::move(drawn.front().name));
  }
  if (*count == 0) return Reply::array();
  const bool distinct = *count > 0;
  const uint64_t wanted = distinct ? static_cast<uint64_t>(*count) : static_cast<uint64_t>(-*count);
  std::vector<Reply> out;
  for (auto& member : draw_members(keyspace, collection, kind, wanted, distinct, random)) {
    out.push_back(Reply::bulk(std::move(member.name)));
    if (render != nullptr) {
      if (auto value = render(member.value)) out.push_back(std::move(*value));
    }
  }
  return Reply::array(std::move(out));
}

Reply count_out_of_range() {
  return Reply::error(
      "ERR value is out of range, value must between -9223372036854775807 and "
      "9223372036854775807");
}

std::optional<long double> parse_long_double(std::string_view text) {
  if (text.empty() || text.size() > 5 * 1024 || std::isspace(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const long double value = std::strtold(copy.c_str(), &end);
  const bool overflow_or_underflow_to_zero =
      errno == ERANGE && (value == HUGE_VALL || value == -HUGE_VALL || value == 0);
  if (end != copy.c_str() + copy.size() || std::isnan(value) || overflow_or_underflow_to_zero)
    return std::nullopt;
  return value;
}

std::string human_long_double(long double value) {
  // The largest finite long double has 4,933 digits before the point.
  char buffer[5120];
  const int size = std::snprintf(buffer, sizeof buffer, "%.17Lf", value);
  std::string out(buffer, static_cast<size_t>(std::clamp(size, 0, int{sizeof buffer} - 1)));
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

std::optional<double> parse_score(std::string_view text) {
  if (text.empty() || text.size() > 5 * 1024 || std::isspace(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(copy.c_str(), &end);
  const bool overflow_or_underflow_to_zero =
      errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL || value == 0);
  if (end != copy.c_str() + copy.size() || std::isnan(value) || overflow_or_underflow_to_zero)
    return std::nullopt;
  return value;
}

std::string render_score(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buffer[64];
  const int size = std::snprintf(buffer, sizeof buffer, "%.17g", score);
  return std::string(buffer, static_cast<size_t>(std::clamp(size, 0, int{sizeof buffer} - 1)));
}

}  // namespace replikv::core
