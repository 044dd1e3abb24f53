// The list commands, with Redis 7's arguments, replies and error texts: LPUSH, RPUSH, LPUSHX,
// RPUSHX, LPOP, RPOP, LMPOP, LLEN, LINDEX, LRANGE, LSET, LREM, LTRIM, LINSERT, LPOS, LMOVE and
// RPOPLPUSH. (The blocking pops are the runtime's and the leader's: docs/commands.md.)
//
// An element is one record of the elements column at its position (core/encoding.h): the header
// keeps the first position and one past the last, so a push or pop at either end writes one
// element and the header, LINDEX and LSET read or write one, and LRANGE walks just its range.
// LINSERT and LREM move the elements on one side of the change (LINSERT the shorter side), as
// Redis's are O(n) too.
#include <algorithm>
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
Reply syntax_error() { return Reply::error("ERR syntax error"); }

// A new list's first position: the middle of the range, so either end has 2^63 pushes of room.
constexpr uint64_t list_origin = uint64_t{1} << 63;

std::variant<Collection, Reply> open_list(Keyspace& keyspace, std::string_view key, TimeMs now_ms) {
  auto opened = keyspace.collection(std::string(key), ValueType::list, now_ms);
  if (auto* list = std::get_if<Collection>(&opened); list != nullptr && !list->exists) {
    list->header.head = list->header.tail = list_origin;
  }
  return opened;
}

std::string position_key(uint64_t id, uint64_t position) {
  return element_key(id, element_position, u64_be(position));
}

void push(Keyspace& keyspace, Collection& list, bool left, std::string element) {
  keyspace.allocate(list);
  CollectionHeader& h = list.header;
  const uint64_t position = left ? --h.head : h.tail++;
  keyspace.put_element(position_key(h.id, position), std::move(element));
  ++h.count;
}

std::optional<std::string> pop(Keyspace& keyspace, Collection& list, bool left) {
  CollectionHeader& h = list.header;
  if (!list.exists || h.count == 0) return std::nullopt;
  const uint64_t position = left ? h.head++ : --h.tail;
  std::string key = position_key(h.id, position);
  auto element = keyspace.element(key);
  REPLIKV_ASSERT(element.has_value(), "a list holds an element at every position of its range");
  keyspace.erase_element(std::move(key));
  --h.count;
  return element;
}

// The position of index `index` (negative: from the end), or nullopt when out of range.
std::optional<uint64_t> position_of(const Collection& list, int64_t index) {
  const auto count = static_cast<int64_t>(list.header.count);
  if (index < 0) index += count;
  if (!list.exists || index < 0 || index >= count) return std::nullopt;
  return list.header.head + static_cast<uint64_t>(index);
}

// Visits the elements at indexes [from, to] in order (from the end with `reverse`).
void walk(const Keyspace& keyspace, const Collection& list, uint64_t from, uint64_t to,
          bool reverse, const std::function<bool(uint64_t index, std::string_view)>& visit) {
  if (!list.exists || from > to) return;
  const uint64_t id = list.header.id, head = list.header.head;
  const std::string begin = position_key(id, head + from), end = position_key(id, head + to + 1);
  const auto each = [&](std::string_view key, std::string_view value) {
    return visit(read_u64_be(key.substr(9)) - head, value);
  };
  if (reverse) {
    keyspace.scan_elements_reverse(begin, end, each);
  } else {
    keyspace.scan_elements(begin, end, each);
  }
}

std::vector<std::string> all_elements(const Keyspace& keyspace, const Collection& list) {
  std::vector<std::string> out;
  if (list.header.count == 0) return out;
  walk(keyspace, list, 0, list.header.count - 1, false, [&](uint64_t, std::string_view value) {
    out.emplace_back(value);
    return true;
  });
  return out;
}

// Rewrites the list as `elements` from its head: what LREM leaves.
void rewrite(Keyspace& keyspace, Collection& list, std::vector<std::string> elements) {
  for (uint64_t p = list.header.head; p < list.header.tail; ++p)
    keyspace.erase_element(position_key(list.header.id, p));
  list.header.tail = list.header.head;
  list.header.count = 0;
  for (auto& element : elements) push(keyspace, list, false, std::move(element));
}

// LPUSH / RPUSH key element [element …], and the X forms that push only onto an existing list.
template <bool left, bool existing_only>
struct Push {
  CommandArgs argv;
  static std::variant<Push, Reply> parse(CommandArgs argv) { return Push{argv}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, argv[1], now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& list = std::get<Collection>(opened);
    if (existing_only && !list.exists) return Reply::number(0);
    for (size_t i = 2; i < argv.size(); ++i) push(keyspace, list, left, std::string(argv[i]));
    keyspace.save(list);
    return Reply::number(static_cast<int64_t>(list.header.count));
  }
};

std::optional<int64_t> parse_count(std::string_view text, std::optional<Reply>& error) {
  const auto count = parse_int64(text);
  if (!count || *count < 0) {
    error = Reply::error("ERR value is out of range, must be positive");
    return std::nullopt;
  }
  return count;
}

// LPOP / RPOP key [count].
template <bool left>
struct Pop {
  std::string_view key;
  std::optional<int64_t> count;
  static std::variant<Pop, Reply> parse(CommandArgs argv) {
    Pop out{argv[1], std::nullopt};
    if (argv.size() > 3)
      return Reply::error(
          fmt::format("ERR wrong number of arguments for '{}' command", left ? "lpop" : "rpop"));
    if (argv.size() == 3) {
      std::optional<Reply> error;
      out.count = parse_count(argv[2], error);
      if (error) return std::move(*error);
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& list = std::get<Collection>(opened);
    if (!list.exists) return count ? Reply::null_array() : Reply::nil();
    if (!count) {
      auto element = pop(keyspace, list, left);
      keyspace.save(list);
      return Reply::bulk(std::move(*element));
    }
    std::vector<Reply> out;
    for (int64_t i = 0; i < *count && list.header.count > 0; ++i)
      out.push_back(Reply::bulk(std::move(*pop(keyspace, list, left))));
    if (!out.empty()) keyspace.save(list);
    return Reply::array(std::move(out));
  }
};

// LMPOP numkeys key [key …] LEFT | RIGHT [COUNT count]: pops from the first non-empty list.
struct LMPop {
  CommandArgs keys;
  bool left = true;
  int64_t count = 1;
  static std::variant<LMPop, Reply> parse(CommandArgs argv) {
    const auto numkeys = parse_int64(argv[1]);
    if (!numkeys || *numkeys <= 0) return Reply::error("ERR numkeys should be greater than 0");
    if (static_cast<uint64_t>(*numkeys) > argv.size() - 3) return syntax_error();
    LMPop out{argv.subspan(2, static_cast<size_t>(*numkeys)), true, 1};
    size_t i = 2 + static_cast<size_t>(*numkeys);
    if (equals_ignore_case(argv[i], "left")) {
      out.left = true;
    } else if (equals_ignore_case(argv[i], "right")) {
      out.left = false;
    } else {
      return syntax_error();
    }
    bool counted = false;
    for (++i; i < argv.size(); i += 2) {
      if (counted || !equals_ignore_case(argv[i], "count") || i + 1 >= argv.size())
        return syntax_error();
      const auto count = parse_int64(argv[i + 1]);
      if (!count || *count <= 0) return Reply::error("ERR count should be greater than 0");
      out.count = *count;
      counted = true;
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    for (const auto key : keys) {
      auto opened = open_list(keyspace, key, now_ms);
      if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
      auto& list = std::get<Collection>(opened);
      if (!list.exists) continue;
      std::vector<Reply> out;
      for (int64_t i = 0; i < count && list.header.count > 0; ++i)
        out.push_back(Reply::bulk(std::move(*pop(keyspace, list, left))));
      keyspace.save(list);
      return Reply::array({Reply::bulk(std::string(key)), Reply::array(std::move(out))});
    }
    return Reply::null_array();
  }
};

struct LLen {
  std::string_view key;
  static std::variant<LLen, Reply> parse(CommandArgs argv) { return LLen{argv[1]}; }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    return Reply::number(static_cast<int64_t>(std::get<Collection>(opened).header.count));
  }
};

struct LIndex {
  std::string_view key;
  int64_t index = 0;
  static std::variant<LIndex, Reply> parse(CommandArgs argv) {
    const auto index = parse_int64(argv[2]);
    if (!index) return not_integer();
    return LIndex{argv[1], *index};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    const auto& list = std::get<Collection>(opened);
    const auto position = position_of(list, index);
    if (!position) return Reply::nil();
    auto element = keyspace.element(position_key(list.header.id, *position));
    return element ? Reply::bulk(std::move(*element)) : Reply::nil();
  }
};

// Redis's clamping of a start/stop pair against a list of `count`: nullopt when empty.
std::optional<std::pair<uint64_t, uint64_t>> clamp(int64_t start, int64_t stop, uint64_t count) {
  const auto n = static_cast<int64_t>(count);
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  start = std::max<int64_t>(start, 0);
  if (start > stop || start >= n) return std::nullopt;
  stop = std::min(stop, n - 1);
  return std::make_pair(static_cast<uint64_t>(start), static_cast<uint64_t>(stop));
}

struct LRange {
  std::string_view key;
  int64_t start = 0, stop = 0;
  static std::variant<LRange, Reply> parse(CommandArgs argv) {
    const auto start = parse_int64(argv[2]), stop = parse_int64(argv[3]);
    if (!start || !stop) return not_integer();
    return LRange{argv[1], *start, *stop};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    const auto& list = std::get<Collection>(opened);
    std::vector<Reply> out;
    if (const auto range = clamp(start, stop, list.header.count)) {
      walk(keyspace, list, range->first, range->second, false,
           [&](uint64_t, std::string_view value) {
             out.push_back(Reply::bulk(std::string(value)));
             return true;
           });
    }
    return Reply::array(std::move(out));
  }
};

struct LSet {
  std::string_view key, element;
  int64_t index = 0;
  static std::variant<LSet, Reply> parse(CommandArgs argv) {
    const auto index = parse_int64(argv[2]);
    if (!index) return not_integer();
    return LSet{argv[1], argv[3], *index};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& list = std::get<Collection>(opened);
    if (!list.exists) return Reply::error("ERR no such key");
    const auto position = position_of(list, index);
    if (!position) return Reply::error("ERR index out of range");
    keyspace.put_element(position_key(list.header.id, *position), std::string(element));
    keyspace.save(list);
    return Reply::ok();
  }
};

// LREM key count element: the first |count| equal to element from the head (count > 0) or the
// tail (count < 0), or every one (0).
struct LRem {
  std::string_view key, element;
  int64_t count = 0;
  static std::variant<LRem, Reply> parse(CommandArgs argv) {
    const auto count = parse_int64(argv[2]);
    if (!count) return not_integer();
    return LRem{argv[1], argv[3], *count};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& list = std::get<Collection>(opened);
    auto elements = all_elements(keyspace, list);
    std::vector<bool> removed(elements.size(), false);
    int64_t found = 0;
    const int64_t limit =
        count == 0 ? std::numeric_limits<int64_t>::max() : (count < 0 ? -(count + 1) + 1 : count);
    for (size_t k = 0; k < elements.size() && found < limit; ++k) {
      const size_t i = count < 0 ? elements.size() - 1 - k : k;
      if (elements[i] == element) {
        removed[i] = true;
        ++found;
      }
    }
    if (found == 0) return Reply::number(0);
    std::vector<std::string> kept;
    for (size_t i = 0; i < elements.size(); ++i) {
      if (!removed[i]) kept.push_back(std::move(elements[i]));
    }
    rewrite(keyspace, list, std::move(kept));
    keyspace.save(list);
    return Reply::number(found);
  }
};

struct LTrim {
  std::string_view key;
  int64_t start = 0, stop = 0;
  static std::variant<LTrim, Reply> parse(CommandArgs argv) {
    const auto start = parse_int64(argv[2]), stop = parse_int64(argv[3]);
    if (!start || !stop) return not_integer();
    return LTrim{argv[1], *start, *stop};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& list = std::get<Collection>(opened);
    if (!list.exists) return Reply::ok();
    CollectionHeader& h = list.header;
    const auto range = clamp(start, stop, h.count);
    const uint64_t keep_from = range ? h.head + range->first : h.tail;
    const uint64_t keep_to = range ? h.head + range->second + 1 : h.tail;
    for (uint64_t p = h.head; p < keep_from; ++p) keyspace.erase_element(position_key(h.id, p));
    for (uint64_t p = keep_to; p < h.tail; ++p) keyspace.erase_element(position_key(h.id, p));
    h.head = keep_from;
    h.tail = keep_to;
    h.count = keep_to - keep_from;
    keyspace.save(list);
    return Reply::ok();
  }
};

// LINSERT key BEFORE | AFTER pivot element: the elements on the shorter side of the insertion
// move one place out.
struct LInsert {
  std::string_view key, pivot, element;
  bool after = false;
  static std::variant<LInsert, Reply> parse(CommandArgs argv) {
    LInsert out{argv[1], argv[3], argv[4], false};
    if (equals_ignore_case(argv[2], "after")) {
      out.after = true;
    } else if (!equals_ignore_case(argv[2], "before")) {
      return syntax_error();
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    auto& list = std::get<Collection>(opened);
    if (!list.exists) return Reply::number(0);
    std::optional<uint64_t> found;
    walk(keyspace, list, 0, list.header.count - 1, false,
         [&](uint64_t index, std::string_view value) {
           if (value != pivot) return true;
           found = index;
           return false;
         });
    if (!found) return Reply::number(-1);
    CollectionHeader& h = list.header;
    const uint64_t at = *found + (after ? 1 : 0);  // the new element's index
    const uint64_t id = h.id;
    if (at <= h.count - at) {
      // Shift the first `at` elements one place towards the head.
      for (uint64_t i = 0; i < at; ++i) {
        auto moved = keyspace.element(position_key(id, h.head + i));
        keyspace.put_element(position_key(id, h.head + i - 1), std::move(*moved));
      }
      --h.head;
    } else {
      // Shift the elements from `at` on one place towards the tail.
      for (uint64_t i = h.count; i > at; --i) {
        auto moved = keyspace.element(position_key(id, h.head + i - 1));
        keyspace.put_element(position_key(id, h.head + i), std::move(*moved));
      }
      ++h.tail;
    }
    keyspace.put_element(position_key(id, h.head + at), std::string(element));
    ++h.count;
    keyspace.save(list);
    return Reply::number(static_cast<int64_t>(h.count));
  }
};

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
struct LPos {
  std::string_view key, element;
  int64_t rank = 1, maxlen = 0;
  std::optional<int64_t> count;
  static std::variant<LPos, Reply> parse(CommandArgs argv) {
    LPos out{argv[1], argv[2], 1, 0, std::nullopt};
    for (size_t i = 3; i < argv.size(); i += 2) {
      if (i + 1 >= argv.size()) return syntax_error();
      const std::string_view option = argv[i];
      const auto value = parse_int64(argv[i + 1]);
      if (equals_ignore_case(option, "rank")) {
        if (!value) return not_integer();
        if (*value == 0 || *value == std::numeric_limits<int64_t>::min()) {
          return Reply::error(
              "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
              "or use negative to start from the end of the list");
        }
        out.rank = *value;
      } else if (equals_ignore_case(option, "count")) {
        if (!value) return not_integer();
        if (*value < 0) return Reply::error("ERR COUNT can't be negative");
        out.count = *value;
      } else if (equals_ignore_case(option, "maxlen")) {
        if (!value) return not_integer();
        if (*value < 0) return Reply::error("ERR MAXLEN can't be negative");
        out.maxlen = *value;
      } else {
        return syntax_error();
      }
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto opened = open_list(keyspace, key, now_ms);
    if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
    const auto& list = std::get<Collection>(opened);
    std::vector<Reply> matches;
    const bool reverse = rank < 0;
    int64_t skip = (reverse ? -rank : rank) - 1, compared = 0;
    const int64_t wanted = count ? (*count == 0 ? std::numeric_limits<int64_t>::max() : *count) : 1;
    if (list.header.count > 0) {
      walk(keyspace, list, 0, list.header.count - 1, reverse,
           [&](uint64_t index, std::string_view value) {
             if (maxlen != 0 && compared++ >= maxlen) return false;
             if (value != element) return true;
             if (skip > 0) {
               --skip;
               return true;
             }
             matches.push_back(Reply::number(static_cast<int64_t>(index)));
             return static_cast<int64_t>(matches.size()) < wanted;
           });
    }
    if (count) return Reply::array(std::move(matches));
    return matches.empty() ? Reply::nil() : std::move(matches.front());
  }
};

std::optional<bool> parse_side(std::string_view side) {
  if (equals_ignore_case(side, "left")) return true;
  if (equals_ignore_case(side, "right")) return false;
  return std::nullopt;
}

// LMOVE source destination LEFT | RIGHT LEFT | RIGHT, and RPOPLPUSH source destination.
template <bool rpoplpush>
struct LMove {
  std::string_view from, to;
  bool from_left = false, to_left = true;
  static std::variant<LMove, Reply> parse(CommandArgs argv) {
    LMove out{argv[1], argv[2], false, true};
    if (!rpoplpush) {
      const auto a = parse_side(argv[3]), b = parse_side(argv[4]);
      if (!a || !b) return syntax_error();
      out.from_left = *a;
      out.to_left = *b;
    }
    return out;
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    auto source = open_list(keyspace, from, now_ms);
    if (auto* error = std::get_if<Reply>(&source)) return std::move(*error);
    auto& source_list = std::get<Collection>(source);
    if (!source_list.exists) return Reply::nil();
    auto target = open_list(keyspace, to, now_ms);
    if (auto* error = std::get_if<Reply>(&target)) return std::move(*error);
    auto element = pop(keyspace, source_list, from_left);
    keyspace.save(source_list);
    // The same list: the target is what the pop left.
    auto& target_list = std::get<Collection>(target);
    if (from == to) target_list = source_list;
    if (from == to && !target_list.exists) {
      target_list.header = CollectionHeader{};
      target_list.header.head = target_list.header.tail = list_origin;
    }
    push(keyspace, target_list, to_left, *element);
    keyspace.save(target_list);
    return Reply::bulk(std::move(*element));
  }
};

// A blocking pop's timeout: seconds as a float (Redis's rule), in milliseconds; 0 waits for ever.
std::variant<int64_t, Reply> parse_timeout(std::string_view text) {
  const auto seconds = parse_long_double(text);
  if (!seconds) return Reply::error("ERR timeout is not a float or out of range");
  const long double ms = *seconds * 1000;
  if (ms < 0) return Reply::error("ERR timeout is negative");
  if (ms > static_cast<long double>(std::numeric_limits<int64_t>::max() / 4))
    return Reply::error("ERR timeout is out of range");
  return static_cast<int64_t>(ms);
}

// BLPOP / BRPOP key [key …] timeout, as one try: the first non-empty list's element as
// [key, element], or the timeout reply (a null array) when every list is empty — the node that
// serves blocking pops waits and tries again (core/blocked_pops.h).
template <bool left>
struct BPop {
  CommandArgs keys;
  int64_t timeout_ms = 0;
  static std::variant<BPop, Reply> parse(CommandArgs argv) {
    auto timeout = parse_timeout(argv.back());
    if (auto* error = std::get_if<Reply>(&timeout)) return std::move(*error);
    return BPop{argv.subspan(1, argv.size() - 2), std::get<int64_t>(timeout)};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const {
    for (const auto key : keys) {
      auto opened = open_list(keyspace, key, now_ms);
      if (auto* error = std::get_if<Reply>(&opened)) return std::move(*error);
      auto& list = std::get<Collection>(opened);
      if (!list.exists) continue;
      auto element = pop(keyspace, list, left);
      keyspace.save(list);
      return Reply::array({Reply::bulk(std::string(key)), Reply::bulk(std::move(*element))});
    }
    return Reply::null_array();
  }
};

// BLMOVE source destination LEFT | RIGHT LEFT | RIGHT timeout, and BRPOPLPUSH source destination
// timeout: LMOVE's try, nil when the source is empty.
template <bool rpoplpush>
struct BLMove {
  LMove<rpoplpush> move;
  int64_t timeout_ms = 0;
  static std::variant<BLMove, Reply> parse(CommandArgs argv) {
    auto timeout = parse_timeout(argv.back());
    if (auto* error = std::get_if<Reply>(&timeout)) return std::move(*error);
    auto move = LMove<rpoplpush>::parse(argv.first(argv.size() - 1));
    if (auto* error = std::get_if<Reply>(&move)) return std::move(*error);
    return BLMove{std::get<LMove<rpoplpush>>(move), std::get<int64_t>(timeout)};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const { return move.run(keyspace, now_ms); }
};

// BLMPOP timeout numkeys key [key …] LEFT | RIGHT [COUNT count]: LMPOP's try.
struct BLMPop {
  LMPop pop;
  int64_t timeout_ms = 0;
  static std::variant<BLMPop, Reply> parse(CommandArgs argv) {
    auto timeout = parse_timeout(argv[1]);
    if (auto* error = std::get_if<Reply>(&timeout)) return std::move(*error);
    auto pop =
        LMPop::parse(argv.subspan(1));  // (LMPOP's arguments, the timeout in the name's place)
    if (auto* error = std::get_if<Reply>(&pop)) return std::move(*error);
    return BLMPop{std::get<LMPop>(pop), std::get<int64_t>(timeout)};
  }
  Reply run(Keyspace& keyspace, TimeMs now_ms) const { return pop.run(keyspace, now_ms); }
};

const DataCommand kListCommands[] = {
    data_command<Push<true, false>>("lpush"),
    data_command<Push<false, false>>("rpush"),
    data_command<Push<true, true>>("lpushx"),
    data_command<Push<false, true>>("rpushx"),
    data_command<Pop<true>>("lpop"),
    data_command<Pop<false>>("rpop"),
    data_command<LMPop>("lmpop"),
    data_command<LLen>("llen"),
    data_command<LIndex>("lindex"),
    data_command<LRange>("lrange"),
    data_command<LSet>("lset"),
    data_command<LRem>("lrem"),
    data_command<LTrim>("ltrim"),
    data_command<LInsert>("linsert"),
    data_command<LPos>("lpos"),
    data_command<LMove<false>>("lmove"),
    data_command<LMove<true>>("rpoplpush"),
    data_command<BPop<true>>("blpop"),
    data_command<BPop<false>>("brpop"),
    data_command<BLMove<false>>("blmove"),
    data_command<BLMove<true>>("brpoplpush"),
    data_command<BLMPop>("blmpop"),
};

template <typename T>
BlockingPop blocking_of(const T& parsed, std::vector<std::string> keys, Reply timeout_reply) {
  return {std::move(keys), parsed.timeout_ms, std::move(timeout_reply)};
}

}  // namespace

std::span<const DataCommand> list_commands() { return kListCommands; }

std::optional<BlockingPop> blocking_pop_of(const std::vector<std::string>& words) {
  if (words.empty()) return std::nullopt;
  const std::vector<std::string_view> argv(words.begin(), words.end());
  const std::string_view name = argv[0];
  const auto keys_of_args = [](CommandArgs args) {
    return std::vector<std::string>(args.begin(), args.end());
  };
  if (name == "blpop" || name == "brpop") {
    const auto parsed = BPop<true>::parse(argv);
    if (std::holds_alternative<Reply>(parsed)) return std::nullopt;
    const auto& pop = std::get<BPop<true>>(parsed);
    return blocking_of(pop, keys_of_args(pop.keys), Reply::null_array());
  }
  // (Each form parsed by its own parser: BLMOVE's reads arguments BRPOPLPUSH does not have.)
  if (name == "blmove") {
    const auto parsed = BLMove<false>::parse(argv);
    const auto* move = std::get_if<BLMove<false>>(&parsed);
    return move ? std::optional(blocking_of(*move, {words[1]}, Reply::nil())) : std::nullopt;
  }
  if (name == "brpoplpush") {
    const auto parsed = BLMove<true>::parse(argv);
    const auto* move = std::get_if<BLMove<true>>(&parsed);
    return move ? std::optional(blocking_of(*move, {words[1]}, Reply::nil())) : std::nullopt;
  }
  if (name == "blmpop") {
    const auto parsed = BLMPop::parse(argv);
    if (std::holds_alternative<Reply>(parsed)) return std::nullopt;
    const auto& pop = std::get<BLMPop>(parsed);
    return blocking_of(pop, keys_of_args(pop.pop.keys), Reply::null_array());
  }
  return std::nullopt;
}

}  // namespace replikv::core
