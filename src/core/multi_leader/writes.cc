// The multi-leader replica's client writes: Redis's rules run on what this node shows, and what
// a command changed becomes this node's writes (docs/multi-leader.md, "Commands"); VSET and VGET.
// Start, reads and the keyspace are in replica.cc, collections in collections.cc, the peer
// protocol in streams.cc.
#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/data/commands.h"
#include "core/encoding.h"
#include "core/multi_leader/replica.h"

namespace replikv::core::multi_leader {
namespace {

// The keys a write names, in order, each once.
std::vector<std::string> keys_of(const Request& request) {
  return std::visit(
      [](const auto& r) -> std::vector<std::string> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, DelRequest>) {
          return r.keys;
        } else if constexpr (std::is_same_v<T, MSetRequest>) {
          std::vector<std::string> keys;
          for (const auto& [key, value] : r.pairs) keys.push_back(key);
          return keys;
        } else if constexpr (std::is_same_v<T, CommandRequest>) {
          return core::keys_of(r);
        } else if constexpr (requires { r.key; }) {
          return {r.key};
        } else {
          return {};
        }
      },
      request);
}

}  // namespace

void MultiLeader::client_request(ClientRequest request) {
  request_first_counter_ = counter_;
  last_dot_.reset();
  last_context_.reset();
  last_client_context_.reset();
  const bool answered = answer_strategy_request(
      request.request,
      Overloaded{[&](const WaitRequest& wait) {
                   const TimeMs timeout = wait.timeout_ms;
                   waiting_.push_back(
                       {std::move(request), timeout == 0 ? INT64_MAX : monotonic_ms_ + timeout});
                   serve_waiting();
                 },
                 [&](const StrategyCommand& command) {
                   if (command.as<VGetCommand>() != nullptr) {
                     serve_read(request);  // (a session read waits as a GET does)
                   } else if (const auto* vset_command = command.as<VSetCommand>()) {
                     const VSetCommand copy = *vset_command;
                     vset(request, copy);
                   } else {
                     reply(request, Reply::error("ERR unknown command '" + command.name + "'"));
                   }
                 }});
  if (answered) return;
  if (is_write(request.request)) {
    client_write(request);
  } else {
    serve_read(request);
  }
}

// The family commands whose meaning a node's own copy cannot give: each node would flush, or add
// to a float, on its own, and the merge would not add up. The rest are register writes of the
// keys they name, merged as SET's are (docs/multi-leader.md, "Commands").
std::optional<std::string> MultiLeader::refuse_command(const CommandRequest& command) {
  const std::string_view name = command.spec->name;
  if (name == "flushall" || name == "flushdb") {
    return fmt::format(
        "ERR {} is not offered by the multi-leader strategy: every node would drop its own copy "
        "of every key, and writes concurrent with it elsewhere would come back; DEL the keys",
        name == "flushall" ? "FLUSHALL" : "FLUSHDB");
  }
  // Commands that consume or depend on a position: two nodes apart would pop, move or insert at
  // the same element, and no merge undoes that (docs/multi-leader.md, "Collections").
  static const std::set<std::string_view, std::less<>> positional = {
      "lpush",      "rpush",  "lpushx",  "rpushx", "lpop",      "rpop",   "lmpop", "lset",
      "lrem",       "ltrim",  "linsert", "lmove",  "rpoplpush", "blpop",  "brpop", "blmove",
      "brpoplpush", "blmpop", "spop",    "smove",  "zpopmin",   "zpopmax"};
  if (positional.contains(name)) {
    std::string upper(name);
    for (char& c : upper) c = static_cast<char>(c - ('a' <= c && c <= 'z' ? 32 : 0));
    const bool pop = name[0] == 's' || name[0] == 'z';  // SPOP, SMOVE, ZPOPMIN, ZPOPMAX
    return fmt::format(
        "ERR {} is not offered by the multi-leader strategy: it {}, and two nodes taking writes "
        "apart would {} the same element; lists need the single leader, sets and sorted sets "
        "merge element by element (docs/multi-leader.md)",
        upper, pop ? "takes an element away" : "works on a list by position", pop ? "take" : "use");
  }
  if (name == "hincrbyfloat") {
    return "ERR HINCRBYFLOAT is not offered by the multi-leader strategy: two nodes' concurrent "
           "additions would merge as values, losing one; use HINCRBY, whose counter merges";
  }
  if (name == "incrbyfloat") {
    return "ERR INCRBYFLOAT is not offered by the multi-leader strategy: two nodes' concurrent "
           "additions would merge as values, losing one; use INCRBY, whose counter merges";
  }
  return std::nullopt;
}

void MultiLeader::client_write(ClientRequest& request) {
  ++writes_;
  if (std::holds_alternative<TransactionRequest>(request.request)) {
    reply(request, Reply::error("ERR MULTI is not offered by the multi-leader strategy"));
    return;
  }
  if (const auto* command = std::get_if<CommandRequest>(&request.request)) {
    if (auto refused = refuse_command(*command)) {
      reply(request, Reply::error(std::move(*refused)));
      return;
    }
  }
  if (auto refused = refuse_on_collection(request.request)) {
    reply(request, Reply::error(std::move(*refused)));
    return;
  }
  if (recovering_ && !std::holds_alternative<IncrByRequest>(request.request)) {
    ++recovering_refused_;
    reply(request, recovering_refusal());
    return;
  }
  std::optional<HlcTimestamp> seen_hlc;
  if (request.session) {
    if (const auto position = decode_position(*request.session)) seen_hlc = position->hlc;
  }
  // An increment this node already counted under the client's id (a retry): answered with the
  // value, counted once.
  if (const auto* incr = std::get_if<IncrByRequest>(&request.request);
      incr != nullptr && !incr->request_id.empty() &&
      load_state(incr->key).has_increment(incr->request_id, wall_ms_)) {
    ++increments_retried_;
    const auto rendered = load_state(incr->key).render(wall_ms_);
    const auto value = rendered ? parse_int64(rendered->value) : std::optional<int64_t>(0);
    reply(request, value ? Reply::number(*value)
                         : Reply::error("ERR value is not an integer or out of range"));
    return;
  }
  // Redis's rules run on the keyspace, which holds what a GET here sees; what the command
  // changed becomes this node's writes.
  // (A key written since the last Ready lends its state rather than copying it — a hot counter's
  // unfolded increments — and gets it back if the command wrote nothing to it.)
  std::map<std::string, KeyState> before;
  std::set<std::string> lent;
  // A collection command's keys: what each held before (a collection's id; 0 for a string, and
  // absent for nothing) — what it changed becomes element writes (collections.cc).
  const auto* command = std::get_if<CommandRequest>(&request.request);
  const bool collection_command = command != nullptr && is_collection_command(*command->command);
  std::map<std::string, HeldBefore> held_before;
  for (const auto& key : keys_of(request.request)) {
    if (before.contains(key)) continue;
    if (const auto it = written_.find(key); it != written_.end()) {
      before.emplace(key, std::move(it->second.state));
      lent.insert(key);
    } else {
      before.emplace(key, load_state(key));
    }
    if (collection_command) {
      if (const auto record = keyspace_.live_record(key, wall_ms_)) {
        const auto header =
            record->type == ValueType::string ? std::nullopt : decode_header(record->value);
        HeldBefore held{header ? header->id : 0, {}};
        // Elements of a kind the key does not show (writes of two types met) go with the record
        // if the command empties it: kept aside to be shown next (collection_write).
        if (held.id != 0 && before.at(key).element_counts.size() > 1) {
          const char shown = element_kind_of(record->type);
          for (const auto& [kind, count] : before.at(key).element_counts) {
            if (kind != shown) held.hidden.merge(element_states(held.id, kind));
          }
        }
        held_before.emplace(key, std::move(held));
      }
    }
  }
  written_keys_.clear();
  written_elements_.clear();
  keyspace_.observe_writes(&written_keys_);
  if (collection_command) keyspace_.observe_elements(&written_elements_);
  Reply answer = keyspace_.execute(request.request, wall_ms_);
  keyspace_.observe_writes(nullptr);
  keyspace_.observe_elements(nullptr);
  if (collection_command && answer.kind != Reply::Kind::error &&
      (command->spec->name == std::string_view("sadd") ||
       command->spec->name == std::string_view("zadd")) &&
      collection_header(command->argv[1])) {
    // Members already there are added again all the same (collections.cc, element_writes).
    written_keys_.push_back(command->argv[1]);
  }
  const auto* incr = std::get_if<IncrByRequest>(&request.request);
  std::set<std::string> done;
  for (const auto& key : written_keys_) {
    if (!done.insert(key).second) continue;
    auto state = before.find(key);
    REPLIKV_ASSERT(state != before.end(), "a write changes only the keys it names");
    if (collection_command) {
      collection_write(key, held_before, command, seen_hlc, std::move(state->second));
      continue;
    }
    const auto record = keyspace_.live_record(key, wall_ms_);
    const TimeMs deadline = record && record->expire_at_ms ? *record->expire_at_ms : 0;
    if (incr != nullptr) {
      local_write(key, proto::MlEntry::INCREMENT, incr->request_id, deadline, incr->delta, nullptr,
                  seen_hlc, std::move(state->second));
    } else if (!record) {
      local_write(key, proto::MlEntry::TOMBSTONE, {}, 0, 0, nullptr, seen_hlc,
                  std::move(state->second));
    } else {
      local_write(key, proto::MlEntry::VALUE, record->value, deadline, 0, nullptr, seen_hlc,
                  std::move(state->second));
    }
  }
  for (const auto& key : lent) {
    if (done.contains(key)) continue;
    const auto it = written_.find(key);
    REPLIKV_ASSERT(it != written_.end(), "a lent state's key is still written");
    it->second.state = std::move(before.at(key));
  }
  if (collection_command && !done.empty() && answer.kind != Reply::Kind::error) {
    // A counter's reply is what the element shows now: its increments summed per actor may
    // round otherwise than the command's one addition (collections.cc, float_total).
    if (auto shown = counter_reply(*command)) answer = std::move(*shown);
  }
  std::optional<SessionPosition> written;
  if (!done.empty()) written = encode_position({{{self_, counter_}}, clock_.last()});
  reply(request, std::move(answer), std::move(written));
}

void MultiLeader::vset(ClientRequest& request, const VSetCommand& command) {
  ++writes_;
  if (recovering_) {
    ++recovering_refused_;
    reply(request, recovering_refusal());
    return;
  }
  // A collection's elements merge one by one (collections.cc), each folding its increments at
  // its own moment: a context could cover part of a fold, which no node can reset alike. VGET
  // and VSET are a string key's; SET or DEL replace a collection.
  if (collection_header(command.key)) {
    reply(request, wrong_type());
    return;
  }
  // The context names writes this node must have applied: what they were superseded by here
  // decides what the new value supersedes, and a write it has not applied yet would come back
  // as a sibling of the value meant to replace it.
  if (const auto lost = lost_write(command.context, "the context")) {
    ++lost_writes_named_;
    reply(request, Reply::error(*lost));
    return;
  }
  if (!covers_vector(applied_, command.context)) {
    reply(request, Reply::error("TRYAGAIN this node has not yet applied every write the context "
                                "names; retry, or send VSET to the node you read it from"));
    return;
  }
  std::optional<HlcTimestamp> seen_hlc;
  if (request.session) {
    if (const auto position = decode_position(*request.session)) seen_hlc = position->hlc;
  }
  KeyState state = load_state(command.key);
  state.expire(wall_ms_);
  // A counter's increments a merge has not seen would have to stay beside it — but nodes fold an
  // actor's increments into one sum at different moments, and a context that covers part of a
  // fold cannot reset part of it: one node would reset some increments one by one where another
  // keeps the fold whole, and their sums would differ for good. So a merge on a counter must have
  // seen all of its increments (VGET's context, read where it is sent, always has).
  bool unseen_increments = false;
  for (const auto& [dot, increment] : state.increments)
    unseen_increments |= !covers(command.context, dot);
  for (const auto& [actor, fold] : state.folds)
    unseen_increments |= !covers(command.context, {actor, fold.upto});
  if (unseen_increments && !options_.mutants.merge_unseen_increments) {
    ++merges_refused_;
    reply(request, Reply::error("CONFLICT the counter has increments the context has not seen; "
                                "VGET it and VSET with that context"));
    return;
  }
  const CausalContext replaces = merge_context(command.context, state);
  size_t kept = 0;
  for (const auto* sibling : state.live(wall_ms_)) {
    if (!covers(replaces, sibling->first)) ++kept;
  }
  if (options_.policy == ConflictPolicy::siblings && kept + 1 > options_.siblings_max) {
    ++siblings_refused_;
    reply(request, Reply::error(fmt::format(
                       "CONFLICT key has {} siblings the context does not cover (siblings_max "
                       "is {}); VGET it and VSET with that context to merge them",
                       kept, options_.siblings_max)));
    return;
  }
  const TimeMs deadline =
      command.expiry.kind == Expiry::Kind::relative_ms ? wall_ms_ + command.expiry.ms : 0;
  local_write(command.key, proto::MlEntry::VALUE, command.value, deadline, 0, &replaces, seen_hlc,
              std::move(state));
  last_client_context_ = command.context;
  reply(request, Reply::ok(), encode_position({{{self_, counter_}}, clock_.last()}));
}

// A merge's context, as the write carries it: the client's, and the key's deletes. A tombstone is
// collected once every member has applied it, and nodes collect at different moments; a context
// read before a delete (a client's stale VGET) would leave the write concurrent with the tombstone
// where a node still holds it — where lww may let the tombstone win — and alone where a node has
// collected it: the nodes would disagree. So a merge supersedes every tombstone its node holds for
// the key, and everything below what this node collected tombstones under (collected_: a
// member's report can go back after it lost writes in a crash, so not what every member has
// applied now — fsync "never", found by the simulator), except the values the client has not
// seen: those stay concurrent with it (a vector covers a prefix of each actor's writes, so it
// stops below the first of them). What is left — a tombstone
// above a value of the same actor the client has not seen — cannot be collected while that value
// is there. A deleted key written back this way takes the merged value, as after a plain SET.
CausalContext MultiLeader::merge_context(const CausalContext& context,
                                         const KeyState& state) const {
  std::map<Actor, uint64_t> below;  // per actor: the first write the client has not seen, less 1
  const auto stop_at = [&](const Dot& dot) {
    const auto [it, inserted] = below.try_emplace(dot.actor, dot.counter - 1);
    if (!inserted) it->second = std::min(it->second, dot.counter - 1);
  };
  for (const auto& [dot, value] : state.registers) {
    if (!value.tombstone && !covers(context, dot) && !options_.mutants.widen_over_values)
      stop_at(dot);
  }
  // (Every increment of the key is covered: vset refuses a merge that has not seen them all.)
  // (Mutant: over everything this node has applied, values the client had not seen included.)
  CausalContext out = options_.mutants.widen_over_values ? join(context, applied_) : context;
  const auto raise = [&](const Actor& actor, uint64_t counter) {
    if (const auto it = below.find(actor); it != below.end())
      counter = std::min(counter, it->second);
    if (counter == 0) return;
    uint64_t& slot = out[actor];
    slot = std::max(slot, counter);
  };
  for (const auto& [actor, counter] : collected_) raise(actor, counter);
  for (const auto& [dot, value] : state.registers) {
    if (value.tombstone) raise(dot.actor, dot.counter);
  }
  return out;
}

void MultiLeader::vget(ClientRequest& request, const VGetCommand& command) {
  ++reads_;
  if (collection_header(command.key)) {
    reply(request, wrong_type(), std::nullopt, encode_position(read_position()));
    return;
  }
  KeyState state = load_state(command.key);
  std::vector<Reply> values;
  for (const auto* sibling : state.live(wall_ms_))
    values.push_back(Reply::bulk(sibling->second.value));
  // A counter shows as one value: its registers' winner plus the increments.
  if (!state.increments.empty() || !state.folds.empty()) {
    values.clear();
    if (const auto rendered = state.render(wall_ms_))
      values.push_back(Reply::bulk(rendered->value));
  }
  reply(request,
        Reply::array({Reply::bulk(context_text(applied_)), Reply::array(std::move(values))}),
        std::nullopt, encode_position(read_position()));
}

Dot MultiLeader::local_write(const std::string& key, proto::MlEntry::Kind kind, std::string value,
                             TimeMs deadline_ms, int64_t delta, const CausalContext* replaces,
                             const std::optional<HlcTimestamp>& seen_hlc, KeyState state,
                             const ElementWrite* element) {
  // The clock moves past what the client's session has seen — unless that is more than
  // max_clock_offset_ms ahead of this node's clock (refused, counted: a forged SESSION, or one from
  // a node whose clock is in the year 2100, cannot pin the key's timestamps there) — and the write
  // is stamped above what it supersedes, whatever that is: the order of writes a node holds must
  // not depend on when it applied them (KeyState::superseded_hlc).
  if (seen_hlc && !clock_.observe(*seen_hlc, wall_ms_)) ++hlc_refused_;
  HlcTimestamp stamp = clock_.now(wall_ms_);
  const HlcTimestamp floor = state.superseded_hlc(replaces != nullptr ? *replaces : applied_);
  if (stamp <= floor) stamp = successor(floor);  // the clock itself stays
  proto::MlEntry entry;
  REPLIKV_ASSERT(counter_ < UINT64_MAX, "the dot counter does not wrap");
  const Dot dot{self_, ++counter_};
  entry.set_node(self_.node);
  entry.set_incarnation(self_.incarnation);
  entry.set_counter(dot.counter);
  entry.set_key(key);
  entry.set_kind(kind);
  if (kind == proto::MlEntry::INCREMENT) {
    entry.set_request_id(std::move(value));  // an increment's value is the client's id for it
  } else {
    entry.set_value(std::move(value));
  }
  entry.set_deadline_ms(deadline_ms);
  entry.set_delta(delta);
  if (element != nullptr) {
    entry.set_element_kind(static_cast<uint8_t>(element->kind));
    entry.set_element(element->name);
    entry.set_float_delta(element->float_delta);
  }
  entry.set_hlc_wall_ms(stamp.wall_ms);
  entry.set_hlc_logical(stamp.logical);
  for (const auto& [actor, counter] : applied_) {
    if (actor == self_ || counter == 0) continue;
    auto& dep = *entry.add_deps();
    dep.set_node(actor.node);
    dep.set_incarnation(actor.incarnation);
    dep.set_counter(counter);
  }
  if (replaces != nullptr) {
    entry.set_replaces_given(true);
    for (const auto& [actor, counter] : *replaces) {
      auto& position = *entry.add_replaces();
      position.set_node(actor.node);
      position.set_incarnation(actor.incarnation);
      position.set_counter(counter);
    }
  }
  std::string bytes = entry.SerializeAsString();
  fresh_.emplace_back(dot.counter, bytes);
  last_dot_ = dot;
  last_increment_ = kind == proto::MlEntry::INCREMENT;
  last_tombstone_ = kind == proto::MlEntry::TOMBSTONE;
  last_stamp_ = stamp;
  if (replaces != nullptr) {
    last_context_ = *replaces;
  } else {
    last_context_.reset();
  }
  // (Mutant: the entry supersedes all this node had seen, while the history records the context.)
  if (options_.mutants.vset_replaces_all && replaces != nullptr) {
    entry.set_replaces_given(false);
    entry.clear_replaces();
    bytes = entry.SerializeAsString();
    fresh_.back().second = bytes;
  }
  apply_entry(entry, std::move(bytes), &state);
  return dot;
}

}  // namespace replikv::core::multi_leader
