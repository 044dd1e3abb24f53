// Collections under the leaderless strategy (docs/leaderless.md, "Collections"): hashes, sets and
// sorted sets whose elements merge one by one.
//
// A collection's copy is its key's state with one ElementState per field or member
// (key_state.h). A write command runs Redis's rules on its coordinator's copy, as the keyspace
// shows it, and each element it put or erased becomes a write of that element under the
// command's one dot: a value register (HSET's value, SADD's presence, ZADD's score), a removal's
// tombstone, or an increment (HINCRBY, ZINCRBY, ZADD INCR). The copy then travels as a string
// key's does — replicated to the key's replicas, joined, repaired, handed off, compared by
// anti-entropy — and every replica shows the elements their states say (show_collection).
//
// A read asks R replicas for their copies as GET does, joins them, and runs the command unchanged
// on a scratch keyspace that shows the joined copies: every read command Redis has for the types,
// with its own rules and errors. A command that reads several keys (SUNION, ZINTER …) reads each
// at its own quorum, as MGET does.
//
// Refused, naming the strategy: lists and whatever takes an element by its position (two
// coordinators would take the same one), commands that change several keys together (no quorum
// write spans keys on different replicas), float increments of a hash field (HINCRBYFLOAT: its
// running totals would not keep Redis's long double), a collection's time to live, and every
// collection command in the linearizable mode.
#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/command_docs.h"
#include "core/data/collections.h"
#include "core/encoding.h"
#include "core/leaderless/replica.h"

namespace replikv::core::leaderless {
namespace {

bool is_element_kind(char kind) {
  return kind == element_field || kind == element_member || kind == element_scored;
}

// The collection writes a coordinator turns into element writes.
bool is_element_write(std::string_view name) {
  static const std::set<std::string_view> names = {
      "hset", "hsetnx", "hmset",   "hdel", "hincrby",          "sadd",
      "srem", "zadd",   "zincrby", "zrem", "zremrangebyscore", "zremrangebylex"};
  return names.contains(name);
}

// The string writes a coordinator takes as it takes SET: what the key holds after them, on its
// copy, becomes the new register.
bool is_string_write(std::string_view name) {
  static const std::set<std::string_view> names = {"append", "setrange", "getdel",
                                                   "getex",  "persist",  "setnx"};
  return names.contains(name);
}

// Reads whose keys follow a count: ZUNION numkeys key …
bool counts_its_keys(std::string_view name) {
  return name == "zunion" || name == "zinter" || name == "zdiff" || name == "sintercard" ||
         name == "zintercard";
}

std::string upper(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = static_cast<char>(c - ('a' <= c && c <= 'z' ? 32 : 0));
  return out;
}

// Storage needs nothing of a scratch keyspace but somewhere to read from: nothing.
class NoStorage final : public StorageView {
 public:
  std::optional<std::string> get(Column, std::string_view) const override { return std::nullopt; }
  void scan(Column, std::string_view, const Visitor&) const override {}
  std::unique_ptr<StorageView> snapshot() const override { return std::make_unique<NoStorage>(); }
};

}  // namespace

bool Leaderless::removes(std::string_view name) {
  return name == "srem" || name == "hdel" || name == "zrem" || name == "zremrangebyscore" ||
         name == "zremrangebylex";
}

std::optional<Leaderless::Increment> Leaderless::increment_of(const CommandRequest& command) {
  const std::string_view name = command.spec->name;
  const auto& argv = command.argv;
  // (Arguments that do not parse make the command answer its own error: no increment is made.)
  if (name == "hincrby") {
    return Increment{{element_field, argv[2]}, parse_int64(argv[3]).value_or(0), 0};
  }
  if (name == "zincrby") {
    return Increment{{element_scored, argv[3]}, 0, parse_score(argv[2]).value_or(0)};
  }
  if (name == "zadd" && zadd_shape(argv).incr) {
    return Increment{
        {element_scored, argv.back()}, 0, parse_score(argv[argv.size() - 2]).value_or(0)};
  }
  return std::nullopt;
}

std::optional<std::string> Leaderless::refuse_command(const CommandRequest& command) const {
  const std::string_view name = command.spec->name;
  const std::string shown = upper(name);
  const auto doc = find_command_doc(name);
  const std::string_view group = doc ? doc->group : std::string_view();
  if (options_.linearizable) {
    return fmt::format(
        "ERR {} is not offered by the linearizable leaderless mode: it keeps one value per key "
        "under a tag, and offers GET, SET, DEL, MGET, MSET, EXISTS and TTL",
        shown);
  }
  if (group == "list" || name == "spop" || name == "zpopmin" || name == "zpopmax" ||
      name == "bzpopmin" || name == "bzpopmax" || name == "zmpop" || name == "bzmpop" ||
      name == "zremrangebyrank") {
    return fmt::format(
        "ERR {} is not offered by the leaderless strategy: it takes an element by its position, "
        "and two coordinators would take the same one (docs/leaderless.md, \"Collections\")",
        shown);
  }
  if (name == "smove" || name == "sunionstore" || name == "sinterstore" || name == "sdiffstore" ||
      name == "zunionstore" || name == "zinterstore" || name == "zdiffstore" ||
      name == "zrangestore" || name == "rename" || name == "renamenx" || name == "copy" ||
      name == "msetnx") {
    return fmt::format(
        "ERR {} is not offered by the leaderless strategy: it changes several keys together, "
        "which live on different replicas, and no quorum write spans them (docs/leaderless.md, "
        "\"Collections\")",
        shown);
  }
  if (name == "hincrbyfloat" || name == "incrbyfloat") {
    return fmt::format(
        "ERR {} is not offered by the leaderless strategy: {} (docs/leaderless.md, "
        "\"Collections\")",
        shown,
        name == "hincrbyfloat"
            ? "a field's increments merge as integers (HINCRBY); a sorted set's score takes "
              "float increments (ZINCRBY)"
            : "a read-modify-write of one replica's copy would lose concurrent increments");
  }
  if (name == "flushall" || name == "flushdb") {
    return fmt::format(
        "ERR {} is not offered by the leaderless strategy: each node holds only its keys' copies, "
        "and no write spans the ring; DEL the keys instead",
        shown);
  }
  if (command.spec->handler != CommandSpec::Handler::core) {
    return fmt::format("ERR {} is not offered by the leaderless strategy", shown);
  }
  if (command.spec->write) {
    if (is_element_write(name) || is_string_write(name)) return std::nullopt;
    return fmt::format(
        "ERR {} is not offered by the leaderless strategy (docs/leaderless.md, \"Commands\")",
        shown);
  }
  return std::nullopt;  // a read: each key read at quorum, then the command run on the copies
}

std::vector<std::string> Leaderless::read_keys(const CommandRequest& command) {
  if (!counts_its_keys(command.spec->name)) return keys_of(command);
  const auto& argv = command.argv;
  const auto count = argv.size() > 1 ? parse_int64(argv[1]) : std::nullopt;
  if (!count || *count <= 0 || static_cast<uint64_t>(*count) > argv.size() - 2) return {};
  return {argv.begin() + 2, argv.begin() + 2 + *count};
}

void Leaderless::show_copy(Keyspace& keyspace, const std::string& key, const KeyState& copy,
                           TimeMs now_ms) {
  if (const char kind = copy.shown_kind(); kind != 0) {
    Keyspace::Collection collection{key, type_of_element_kind(kind), {}, std::nullopt, true};
    collection.header.id = keyspace.new_collection_id();
    for (auto it = copy.elements.lower_bound({kind, {}});
         it != copy.elements.end() && it->first.first == kind; ++it) {
      if (const auto shown = it->second.shown(kind)) {
        show_member(keyspace, collection, kind, it->first.second, shown);
      }
    }
    collection.header.count = copy.present_count(kind);
    keyspace.put_collection(key, collection.type, collection.header, {});
  } else if (const auto rendered = copy.render(now_ms)) {
    keyspace.put(
        key, rendered->value,
        rendered->deadline_ms != 0 ? std::optional<TimeMs>(rendered->deadline_ms) : std::nullopt,
        {});
  }
}

Dot Leaderless::next_dot(const KeyState& copy) {
  // Above every dot of this node that the copy has seen, the key's and its elements' (a context
  // that named this node's writes beyond its counter — a forged VSET's — is skipped past).
  uint64_t seen = counter_in(copy.context, self_);
  for (const auto& [name, element] : copy.elements) {
    seen = std::max(seen, counter_in(element.context, self_));
    if (const auto count = element.counts.find(self_); count != element.counts.end()) {
      seen = std::max(seen, count->second.counter);
    }
  }
  Dot dot{self_, ++counter_};
  if (dot.counter <= seen) {
    ++dots_skipped_;
    counter_ = seen + 1;
    dot.counter = counter_;
  }
  meta_dirty_ = true;
  return dot;
}

HlcTimestamp Leaderless::next_stamp(const KeyState& copy) {
  // Stamped above every write the copy has seen, whatever this node's clock says: under lww, what
  // replaces a register must also be ordered after it on every copy. (A timestamp further ahead
  // of this node's clock than max_clock_offset_ms is counted, not taken into the clock.)
  HlcTimestamp stamp = clock_.now(wall_ms_);
  if (stamp <= copy.seen_hlc) {
    if (copy.seen_hlc.wall_ms > wall_ms_ + options_.max_clock_offset_ms) ++hlc_refused_;
    stamp = successor(copy.seen_hlc);
  }
  return stamp;
}

void Leaderless::read_before_removal(const std::string& key, const CommandRequest& command,
                                     uint32_t write_replicas, Origin origin,
                                     uint32_t read_replicas) {
  const std::string_view name = command.spec->name;
  ReadRound round;
  round.key = key;
  round.replicas = replicas_of(key);
  round.asked = round.needed = read_replicas;
  round.deadline_ms = monotonic_ms_ + options_.request_timeout_ms;
  round.resend_ms = monotonic_ms_ + options_.heartbeat_interval_ms;
  round.removal = command;
  round.removal_origin = origin;
  round.removal_replicas = write_replicas;
  if (name != "zremrangebyscore" && name != "zremrangebylex") {
    const char kind = name == "srem"   ? element_member
                      : name == "hdel" ? element_field
                                       : element_scored;
    for (size_t i = 2; i < command.argv.size(); ++i) round.names.push_back({kind, command.argv[i]});
  }
  const uint64_t id = next_id();
  const proto::LeaderlessMessage message = read_message(id, round);
  for (const NodeId replica : round.replicas) {
    if (replica == options_.node_id) {
      // This node's copy counts as read: the removal runs on it as it is then, the others' joined
      // in (a snapshot taken now could bring back what a collection takes in between).
      round.copies.emplace(replica, KeyState{});
    } else {
      proto::LeaderlessMessage copy = message;
      send(replica, copy);
    }
  }
  reads_.emplace(id, std::move(round));
  check_read(id);
}

void Leaderless::coordinate_command(const std::string& key, const CommandRequest& command,
                                    uint32_t write_replicas, Origin origin,
                                    uint32_t read_replicas) {
  if (is_string_write(command.spec->name)) {
    coordinate(key, Request{command}, write_replicas, origin);
    return;
  }
  if (read_replicas > 0 && removes(command.spec->name) && !options_.mutants.remove_unread &&
      !options_.pbs_draws) {
    read_before_removal(key, command, write_replicas, origin, read_replicas);
    return;
  }
  // (Read before Redis's rules run: a command that empties the collection deletes the record,
  // and its metadata with it.)
  Stored stored = load_stored(key);
  const auto increment = increment_of(command);
  if (increment) {
    // This node's running total of the element must take the increment (key_state.h): refused
    // as Redis refuses an overflow or a NaN score, before anything changes.
    const std::vector<ElementName> one = {increment->element};
    const KeyState held = load_part(stored, &one);
    const auto element = held.elements.find(increment->element);
    if (element != held.elements.end() &&
        !element->second.can_increment(self_, increment->delta, increment->float_delta)) {
      answer_origin(origin, Reply::error(increment->element.first == element_field
                                             ? "ERR increment or decrement would overflow"
                                             : "ERR resulting score is not a number (NaN)"));
      return;
    }
  }
  ++writes_coordinated_;
  const auto id_of = [&]() -> uint64_t {
    const auto record = keyspace_.live_record(key, wall_ms_);
    if (!record || record->type == ValueType::string) return 0;
    const auto header = decode_header(record->value);
    REPLIKV_ASSERT(header.has_value(), "a collection's record holds its header");
    return header->id;
  };
  const uint64_t id_before = id_of();
  std::vector<std::string> written, elements;
  keyspace_.observe_writes(&written);
  keyspace_.observe_elements(&elements);
  Reply answer = keyspace_.execute(Request{command}, wall_ms_);
  keyspace_.observe_writes(nullptr);
  keyspace_.observe_elements(nullptr);
  const std::string_view name = command.spec->name;
  const auto& argv = command.argv;
  const ZAddShape zadd = name == "zadd" ? zadd_shape(argv) : ZAddShape{};
  const bool adds_again = name == "sadd" || (name == "zadd" && !zadd.conditional);
  if (answer.is_error() || (written.empty() && !adds_again)) {
    answer_origin(origin, std::move(answer));
    return;
  }
  REPLIKV_ASSERT(
      std::all_of(written.begin(), written.end(), [&](const auto& k) { return k == key; }),
      "a coordinated write changes only its key");
  const uint64_t id_after = id_of();
  // The elements it touched, once each, in the order first touched — and the members an SADD or
  // an unconditional ZADD named that were there already: an add all the same, which wins against
  // a removal concurrent with it.
  std::vector<ElementName> touched;
  std::set<ElementName> seen;
  const auto touch = [&](char kind, std::string_view member) {
    ElementName element{kind, std::string(member)};
    if (seen.insert(element).second) touched.push_back(std::move(element));
  };
  for (const auto& element : elements) {
    if (element.size() < 17) continue;
    const uint64_t id = read_u64_be(element);
    if ((id != id_before && id != id_after) || !is_element_kind(element[8])) continue;
    touch(element[8], std::string_view(element).substr(17));
  }
  if (name == "sadd") {
    for (size_t i = 2; i < argv.size(); ++i) touch(element_member, argv[i]);
  } else if (name == "zadd" && !zadd.conditional) {
    for (size_t i = zadd.first_score + 1; i < argv.size(); i += 2) touch(element_scored, argv[i]);
  }
  // The states of just those elements, and the key's part.
  KeyState copy = load_part(stored, &touched);
  const KeyState before = copy;
  const HlcTimestamp stamp = next_stamp(copy);
  const Dot dot = next_dot(copy);
  for (const auto& element : touched) {
    const auto value = id_after != 0
                           ? keyspace_.element(member_key(id_after, element.first, element.second))
                           : std::nullopt;
    ElementState& state = copy.elements[element];
    if (value && increment) {
      state.increment(dot, increment->delta, increment->float_delta);
    } else if (value) {
      state.write(dot, Register{stamp, false, *value, 0});
    } else if (state.present()) {
      state.write(dot, Register{stamp, true, {}, 0});
    } else if (state.empty()) {
      copy.elements.erase(element);
    }
  }
  copy.seen_hlc = std::max(copy.seen_hlc, stamp);
  if (increment && answer.kind != Reply::Kind::null) {
    // The value the copy shows now: its increments' sums are what every replica will show (a
    // float total less its reset need not have the bits of the keyspace's one addition).
    const char kind = increment->element.first;
    const auto state = copy.elements.find(increment->element);
    if (state != copy.elements.end()) {
      if (const auto shown = state->second.shown(kind)) {
        answer = kind == element_field ? Reply::number(parse_int64(*shown).value_or(0))
                                       : Reply::bulk(render_score(score_of_raw(*shown)));
      }
    }
  }
  last_context_.reset();
  element_write_ = true;
  replicate_write(key, std::move(copy), dot, stamp, {}, std::move(answer), write_replicas, origin,
                  &stored, &before);
  element_write_ = false;
}

Reply Leaderless::execute_on_copies(const CommandRequest& command, const std::vector<Part>& parts) {
  NoStorage storage;
  Keyspace scratch(storage, 0);
  scratch.seed_random(rng_.next_u64());  // (HRANDFIELD, SRANDMEMBER: a draw of their own)
  for (const auto& part : parts) {
    if (part.copy) show_copy(scratch, part.key, *part.copy, wall_ms_);
  }
  return scratch.execute(Request{command}, wall_ms_);
}

}  // namespace replikv::core::leaderless
