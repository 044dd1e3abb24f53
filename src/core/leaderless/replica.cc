// The leaderless replica: start, a key's copy in storage, client requests at the node they came
// to, and what it reports. Coordinating writes and reads, and the peer protocol: coordination.cc.
#include "core/leaderless/replica.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/causality/context_text.h"
#include "core/causality/versioned_commands.h"
#include "core/causality/wire.h"
#include "core/encoding.h"
#include "core/write_codec.h"

namespace replikv::core::leaderless {
namespace {

// Where the replica keeps its own records (core/storage.h's columns), beside the keyspace's:
//   meta  "ll_incarnation"  this node's incarnation (u32, big-endian)
//         "ll_counter"      the last dot counter it issued (u64)
//         "ll_hlc"          its hybrid clock's last timestamp (u64 wall ms, u32 logical)
//         "ll_synced"       whether it runs with fsync "always" ("1") or "never" ("0")
//         "ll_tomb/<key>"   a key's stored part when nothing of it shows (copies.cc)
constexpr std::string_view meta_incarnation = "ll_incarnation";
constexpr std::string_view meta_counter = "ll_counter";
constexpr std::string_view meta_hlc = "ll_hlc";
// "1" when the node that wrote the incarnation ran with fsync "always": only then did every dot it
// issued survive its crashes, and a restart may keep the incarnation.
constexpr std::string_view meta_synced = "ll_synced";
}  // namespace

Leaderless::Leaderless(const StorageView& view, Rng rng, Options options)
    : options_(std::move(options)),
      rng_(rng),
      view_(view),
      ring_(options_.members, options_.vnodes),
      keyspace_(view, options_.cache_bytes_max),
      clock_(options_.max_clock_offset_ms) {
  REPLIKV_ASSERT(options_.n >= 1 && options_.n <= options_.members.size(),
                 "N is between 1 and the members");
  if (options_.linearizable) {
    // Majorities both ways, and a read makes a majority hold what it returns (ABD's write-back).
    options_.w = options_.r = options_.n / 2 + 1;
    options_.read_repair = ReadRepair::blocking;
    options_.policy = ConflictPolicy::lww;  // one value per key: the highest tag
  }
  for (const NodeId member : options_.members) {
    if (member != options_.node_id) peers_.emplace(member, Peer{member, false, 0, std::nullopt});
  }
  load();
}

void Leaderless::load() {
  const auto incarnation = view_.get(Column::meta, meta_incarnation);
  const uint32_t stored = incarnation && incarnation->size() == 4 ? read_u32_be(*incarnation) : 0;
  // A node keeps its incarnation while its writes survive its crashes (fsync "always"); otherwise
  // — a new data directory, or a start under fsync "never", where a crash may have taken writes it
  // had sent to replicas — it takes a new one, so no dot it issues names another write.
  // (A run under "never" followed by one under "always" takes a new one too: the counter stored
  // may be behind dots the crash took after peers had them.)
  const auto synced = view_.get(Column::meta, meta_synced);
  if (stored != 0 && options_.fsync_always && synced && *synced == "1") {
    self_ = {options_.node_id.value(), stored};
    const auto counter = view_.get(Column::meta, meta_counter);
    counter_ = counter && counter->size() == 8 ? read_u64_be(*counter) : 0;
  } else {
    uint32_t fresh = 0;
    while (fresh == 0 || fresh == stored) fresh = static_cast<uint32_t>(rng_.next_u64());
    self_ = {options_.node_id.value(), fresh};
    counter_ = 0;
    pending_.sync = Sync::always;  // the new incarnation is durable before anything uses it
    meta_dirty_ = true;
  }
  if (const auto hlc = view_.get(Column::meta, meta_hlc); hlc && hlc->size() == 12) {
    clock_.restore({static_cast<TimeMs>(read_u64_be(*hlc)), read_u32_be(hlc->substr(8))});
  }
  load_tombstones();
  load_hints();
  load_handoffs();
  build_digests();
  // Request ids start at random: an answer to a request of this node's earlier life matches none.
  last_id_ = rng_.next_u64() >> 2;
}

std::vector<NodeId> Leaderless::replicas_of(std::string_view key) const {
  return ring_.preference_list(key, options_.n);
}

bool Leaderless::names_own_dots_far_ahead(const KeyState& copy) const {
  constexpr uint64_t far = counter_max / 2;
  if (counter_in(copy.context, self_) >= far) return true;
  for (const auto& [name, element] : copy.elements) {
    if (counter_in(element.context, self_) >= far) return true;
    const auto count = element.counts.find(self_);
    if (count != element.counts.end() && count->second.counter >= far) return true;
  }
  return false;
}

KeyState Leaderless::joined(const KeyState& a, const KeyState& b) const {
  if (options_.linearizable) return KeyState::join_highest(a, b);
  KeyState out = KeyState::join(a, b);
  resolve_lww(out);
  return out;
}

size_t Leaderless::resolve_lww(KeyState& copy) const {
  if (options_.policy != ConflictPolicy::lww) return 0;
  if (!options_.mutants.lww_keeps_older) return copy.resolve_lww().size();
  if (copy.registers.size() < 2) return 0;
  auto lowest = copy.registers.begin();
  for (auto it = std::next(lowest); it != copy.registers.end(); ++it) {
    if (ordered_after(lowest->first, lowest->second, it->first, it->second)) lowest = it;
  }
  const size_t discarded = copy.registers.size() - 1;
  copy.registers = {*lowest};
  return discarded;
}

bool Leaderless::join_copy(const std::string& key, const KeyState& incoming) {
  if (names_own_dots_far_ahead(incoming)) {
    // No replica made it (this node's counter is persisted with its writes, or it is a new
    // incarnation): taken, it would push this node's next dots toward the end of their range.
    ++malformed_;
    return false;
  }
  // Only what the incoming copy names is read and written: its elements, and the key's part.
  Stored stored = load_stored(key);
  std::vector<ElementName> names;
  for (const auto& [name, element] : incoming.elements) names.push_back(name);
  const KeyState current = load_part(stored, &names);
  KeyState joined;
  if (options_.mutants.replace_copies) {
    joined = incoming;
  } else if (options_.linearizable) {
    joined = KeyState::join_highest(current, incoming);
  } else if (options_.mutants.forget_increments) {
    KeyState stripped = incoming;
    for (auto& [name, element] : stripped.elements) element.counts.clear();
    std::erase_if(stripped.elements, [](const auto& entry) { return entry.second.empty(); });
    joined = KeyState::join(current, stripped);
    conflicts_resolved_ += resolve_lww(joined);
  } else {
    joined = KeyState::join(current, incoming);
    conflicts_resolved_ += resolve_lww(joined);
    if (options_.mutants.forget_values && !current.registers.empty()) {
      joined.registers = current.registers;
    }
  }
  if (joined == current) return false;
  // A copy only grows: what it had seen it still has, or what superseded it (lww aside, which
  // discards the lower of two concurrent registers).
  if (options_.policy == ConflictPolicy::siblings && !options_.mutants.replace_copies) {
    REPLIKV_ASSERT(joined.includes(current), "a join keeps everything the copy had seen");
  }
  ++copies_joined_;
  store_copy(key, std::move(stored), current, std::move(joined));
  return true;
}

// ---- Client requests ----

namespace {

// A request's parts: each key's share, as the node the client came to carries it out.
struct PartPlan {
  std::string key;
  Request request;
  bool write;
};

std::vector<PartPlan> plan_parts(const Request& request) {
  std::vector<PartPlan> parts;
  std::visit(Overloaded{
                 [&](const GetRequest& r) {
                   parts.push_back({r.key, r, false});
                 },
                 [&](const TtlRequest& r) {
                   parts.push_back({r.key, r, false});
                 },
                 [&](const MGetRequest& r) {
                   for (const auto& key : r.keys) parts.push_back({key, GetRequest{key}, false});
                 },
                 [&](const ExistsRequest& r) {
                   for (const auto& key : r.keys) {
                     parts.push_back({key, ExistsRequest{{key}}, false});
                   }
                 },
                 [&](const SetRequest& r) {
                   parts.push_back({r.key, r, true});
                 },
                 [&](const ExpireRequest& r) {
                   parts.push_back({r.key, r, true});
                 },
                 [&](const DelRequest& r) {
                   for (const auto& key : r.keys) parts.push_back({key, DelRequest{{key}}, true});
                 },
                 [&](const MSetRequest& r) {
                   for (const auto& [key, value] : r.pairs) {
                     SetRequest set;
                     set.key = key;
                     set.value = value;
                     parts.push_back({key, std::move(set), true});
                   }
                 },
                 [&](const CommandRequest& r) {
                   if (r.spec->write) {
                     parts.push_back({r.argv[1], r, true});
                     return;
                   }
                   // A read: each key at its own quorum (a command naming none: no part).
                   for (auto& key : Leaderless::read_keys(r)) {
                     parts.push_back({std::move(key), r, false});
                   }
                 },
                 [&](const StrategyCommand& r) {
                   if (const auto* vget = r.as<VGetCommand>()) {
                     parts.push_back({vget->key, r, false});
                   } else if (const auto* vset = r.as<VSetCommand>()) {
                     parts.push_back({vset->key, r, true});
                   }
                 },
                 [&](const auto&) {},
             },
             request);
  return parts;
}

}  // namespace

void Leaderless::client_request(ClientRequest request) {
  last_dot_.reset();
  last_context_.reset();
  const auto refuse = [&](std::string text) { answer(request, Reply::error(std::move(text))); };
  if (std::holds_alternative<WaitRequest>(request.request)) {
    refuse(
        "ERR WAIT is not offered by the leaderless strategy: a write answers once the replicas "
        "its WCONSISTENCY asks for hold it (WCONSISTENCY all waits for every replica)");
    return;
  }
  if (std::holds_alternative<IncrByRequest>(request.request)) {
    refuse(
        "ERR counters are not offered by the leaderless strategy (a read-modify-write of one "
        "replica's copy would lose concurrent increments); use multi-leader, whose counters "
        "merge, or the single leader");
    return;
  }
  if (std::holds_alternative<CasRequest>(request.request)) {
    refuse(
        "ERR CAS needs consensus, which the leaderless strategy does not run: use the single "
        "leader with ack majority");
    return;
  }
  if (const auto* command = std::get_if<CommandRequest>(&request.request)) {
    if (command->spec->name == "randomkey") {
      // Of the copies this node holds, as DBSIZE and SCAN are.
      answer(request, keyspace_.execute(request.request, wall_ms_));
      return;
    }
    if (auto refused = refuse_command(*command)) {
      refuse(std::move(*refused));
      return;
    }
  }
  if (std::holds_alternative<DbSizeRequest>(request.request) ||
      std::holds_alternative<ScanRequest>(request.request) ||
      std::holds_alternative<KeysRequest>(request.request)) {
    // What this node holds copies of (docs/leaderless.md): the keyspace as it is here.
    answer(request, keyspace_.execute(request.request, wall_ms_));
    return;
  }
  start_operation(std::move(request));
}

void Leaderless::start_operation(ClientRequest request) {
  if (options_.linearizable) {
    if (auto refused = refuse_linearizable(request.request)) {
      answer(request, Reply::error(std::move(*refused)));
      return;
    }
  }
  auto plans = plan_parts(request.request);
  if (const auto* command = std::get_if<CommandRequest>(&request.request);
      plans.empty() && command != nullptr && !command->spec->write) {
    // A read whose keys do not parse (ZUNION's numkeys): it answers its own error.
    answer(request, execute_on_copies(*command, {}));
    return;
  }
  if (plans.empty()) {
    answer(request, Reply::error("ERR unknown command for the leaderless strategy"));
    return;
  }
  // (Linearizable: majorities, whatever the connection asked.)
  const uint32_t write_replicas =
      options_.linearizable
          ? options_.w
          : resolve_replica_count(request.write_replicas.value_or(options_.w), options_.n);
  const uint32_t read_replicas =
      request.read.consistency == ReadConsistency::replicas && !options_.linearizable
          ? resolve_replica_count(request.read.replicas, options_.n)
          : options_.r;
  const bool writes = plans.front().write;
  const uint32_t asked = writes ? write_replicas : read_replicas;
  if (asked > options_.n) {
    answer(request,
           Reply::error(fmt::format("ERR {} = {} exceeds N = {}, the replicas each key has",
                                    writes ? "W" : "R", asked, options_.n)));
    return;
  }
  const uint64_t id = next_id();
  Operation operation;
  operation.request = std::move(request);
  operation.write_replicas = write_replicas;
  operation.read_replicas = read_replicas;
  for (auto& plan : plans) {
    Part part;
    part.key = std::move(plan.key);
    part.request = std::move(plan.request);
    part.write = plan.write;
    operation.parts.push_back(std::move(part));
  }
  operation.remaining = operation.parts.size();
  const size_t count = operation.parts.size();
  operations_.emplace(id, std::move(operation));
  for (size_t index = 0; index < count; ++index) {
    start_part(id, index);
    if (!operations_.contains(id)) return;  // answered at once (every part local)
  }
}

void Leaderless::start_part(uint64_t operation_id, size_t index) {
  Operation& operation = operations_.at(operation_id);
  const uint64_t part_id = next_id();
  parts_.emplace(part_id, PartRef{operation_id, index});
  const Part& part = operation.parts[index];
  if (!part.write) {
    start_read(part_id, part.key, operation.read_replicas);
    return;
  }
  if (options_.linearizable) {
    // Any node coordinates: first the highest tag a majority holds, then a higher one.
    const std::string key = part.key;
    Request request = part.request;
    start_read(part_id, key, options_.r, std::move(request));
    return;
  }
  const auto replicas = replicas_of(part.key);
  const Origin origin{part_id, NodeId(0), 0};
  const bool replica =
      std::find(replicas.begin(), replicas.end(), options_.node_id) != replicas.end();
  const auto* command = std::get_if<StrategyCommand>(&part.request);
  const VSetCommand* vset = command != nullptr ? command->as<VSetCommand>() : nullptr;
  const auto* data_command = std::get_if<CommandRequest>(&part.request);
  if (replica || options_.pbs_draws) {
    const std::string key = part.key;  // (the operation may be answered and gone after this)
    const uint32_t write_replicas = operation.write_replicas;
    if (data_command != nullptr) {
      const CommandRequest request = *data_command;
      coordinate_command(key, request, write_replicas, origin, operation.read_replicas);
    } else if (vset != nullptr) {
      const TimeMs expiry = vset->expiry.kind == Expiry::Kind::relative_ms ? vset->expiry.ms : 0;
      const CausalContext context = vset->context;
      coordinate_vset(key, context, vset->value, expiry, write_replicas, origin);
    } else {
      const Request request = part.request;
      coordinate(key, request, write_replicas, origin);
    }
    return;
  }
  // The first replica that is up coordinates it (the first of the list when none seems up).
  NodeId target = replicas.front();
  for (const NodeId candidate : replicas) {
    if (peer_up(candidate)) {
      target = candidate;
      break;
    }
  }
  ++writes_forwarded_;
  proto::LeaderlessMessage message;
  message.set_type(proto::LeaderlessMessage::FORWARD);
  message.set_request(part_id);
  message.set_key(part.key);
  message.set_write_quorum(operation.write_replicas);
  message.set_read_quorum(operation.read_replicas);
  if (vset != nullptr) {
    message.set_vset(true);
    add_positions(vset->context, *message.mutable_vset_context());
    message.set_vset_value(vset->value);
    message.set_vset_expiry_ms(vset->expiry.kind == Expiry::Kind::relative_ms ? vset->expiry.ms
                                                                              : 0);
  } else {
    auto write = to_log_write(part.request, std::nullopt);
    REPLIKV_ASSERT(write.has_value(), "a write part has a log form");
    *message.mutable_write() = std::move(*write);
  }
  send(target, message);
  // The node the client came to times the forward out itself, a little after the coordinator
  // would: the coordinator's answer says more (how many replicas acknowledged).
  // (A removal reads first, then writes — each within the request timeout.)
  const TimeMs budget_ms = data_command != nullptr && removes(data_command->spec->name)
                               ? 2 * options_.request_timeout_ms
                               : options_.request_timeout_ms;
  forwards_.emplace(part_id, Forward{replicas, target, std::move(message),
                                     monotonic_ms_ + budget_ms + options_.heartbeat_interval_ms,
                                     monotonic_ms_ + options_.heartbeat_interval_ms,
                                     data_command == nullptr || !increment_of(*data_command)});
}

void Leaderless::part_done(uint64_t part_id, Reply reply, std::optional<SessionPosition> position) {
  const auto ref = parts_.find(part_id);
  if (ref == parts_.end()) return;  // answered already (timed out)
  const auto [operation_id, index] = ref->second;
  parts_.erase(ref);
  forwards_.erase(part_id);
  Operation& operation = operations_.at(operation_id);
  Part& part = operation.parts[index];
  REPLIKV_ASSERT(!part.done, "a part is answered once");
  part.done = true;
  part.reply = std::move(reply);
  part.position = std::move(position);
  if (--operation.remaining == 0) finish_operation(operation_id);
}

void Leaderless::finish_operation(uint64_t operation_id) {
  auto node = operations_.extract(operation_id);
  Operation& operation = node.mapped();
  Reply answer;
  if (std::holds_alternative<MGetRequest>(operation.request.request)) {
    // MGET answers nil for a key holding another type, as Redis does.
    for (auto& part : operation.parts) {
      if (part.reply.is_error() && part.reply.text.starts_with("WRONGTYPE"))
        part.reply = Reply::nil();
    }
  }
  // An error of any part answers for the whole request — a timeout first: some of its writes may
  // still take effect.
  const Part* failed = nullptr;
  for (const auto& part : operation.parts) {
    if (!part.reply.is_error()) continue;
    if (failed == nullptr || part.reply.outcome == Outcome::unknown) failed = &part;
  }
  const Request& request = operation.request.request;
  if (failed != nullptr) {
    answer = failed->reply;
    if (operation.parts.size() > 1 && answer.outcome == Outcome::unknown) {
      answer.text +=
          fmt::format(" (key '{}' of {})", failed->key.substr(0, 64), operation.parts.size());
    }
  } else if (std::holds_alternative<MGetRequest>(request)) {
    std::vector<Reply> values;
    for (auto& part : operation.parts) values.push_back(std::move(part.reply));
    answer = Reply::array(std::move(values));
  } else if (std::holds_alternative<ExistsRequest>(request) ||
             std::holds_alternative<DelRequest>(request)) {
    int64_t total = 0;
    for (const auto& part : operation.parts) total += part.reply.integer;
    answer = Reply::number(total);
  } else if (std::holds_alternative<MSetRequest>(request)) {
    answer = Reply::ok();
  } else if (const auto* command = std::get_if<CommandRequest>(&request);
             command != nullptr && !command->spec->write) {
    answer = execute_on_copies(*command, operation.parts);
  } else {
    answer = std::move(operation.parts.front().reply);
  }
  // One key's request carries where it stands, for the history: the write's dot, what the read
  // saw (position.h).
  std::optional<SessionPosition> written, read_at;
  if (operation.parts.size() == 1 && failed == nullptr) {
    (operation.parts.front().write ? written : read_at) = operation.parts.front().position;
  }
  this->answer(operation.request, std::move(answer), std::move(written), std::move(read_at));
}

Reply Leaderless::read_reply(const Request& request, const KeyState& copy) const {
  const auto rendered = copy.render(wall_ms_);
  const bool collection = copy.shown_kind() != 0;
  if (collection && (std::holds_alternative<GetRequest>(request) ||
                     std::holds_alternative<StrategyCommand>(request))) {
    return Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value");
  }
  return std::visit(
      Overloaded{
          [&](const GetRequest&) { return rendered ? Reply::bulk(rendered->value) : Reply::nil(); },
          [&](const ExistsRequest&) { return Reply::number(rendered || collection ? 1 : 0); },
          [&](const TtlRequest& ttl) {
            if (collection) return Reply::number(-1);  // (a collection has no time to live)
            if (!rendered) return Reply::number(-2);
            if (rendered->deadline_ms == 0) return Reply::number(-1);
            const int64_t remaining_ms = rendered->deadline_ms - wall_ms_;
            return Reply::number(ttl.milliseconds ? remaining_ms : (remaining_ms + 500) / 1000);
          },
          [&](const StrategyCommand&) {
            std::vector<Reply> values;
            for (const auto* sibling : copy.live(wall_ms_)) {
              values.push_back(Reply::bulk(sibling->second.value));
            }
            return Reply::array(
                {Reply::bulk(context_text(copy.context)), Reply::array(std::move(values))});
          },
          [&](const auto&) { return Reply::error("ERR not a read"); },
      },
      request);
}

void Leaderless::answer(const ClientRequest& request, Reply reply,
                        std::optional<SessionPosition> written,
                        std::optional<SessionPosition> read_at) {
  ClientReply out;
  out.connection = request.connection;
  out.sequence = request.sequence;
  out.reply = std::move(reply);
  out.written = std::move(written);
  out.read_at = std::move(read_at);
  pending_.replies.push_back(std::move(out));
}

// ---- Time, Readies, status ----

void Leaderless::tick(TimeMs wall_ms, TimeMs monotonic_ms) {
  wall_ms_ = std::max(wall_ms_, wall_ms);
  monotonic_ms_ = std::max(monotonic_ms_, monotonic_ms);
  if (monotonic_ms_ >= next_heartbeat_ms_) {
    next_heartbeat_ms_ = monotonic_ms_ + options_.heartbeat_interval_ms;
    for (const auto& [id, peer] : peers_) {
      proto::LeaderlessMessage message;
      message.set_type(proto::LeaderlessMessage::STATUS);
      message.set_durable(options_.fsync_always);
      send(id, message);
    }
  }
  expire_timed_out();
  resend_unanswered();
  replay_hints();
  start_exchange();
  reap_due();
  if (wall_ms_ >= next_sweep_ms_) {
    next_sweep_ms_ = wall_ms_ + options_.expiry_sweep_interval_ms;
    expire_due();
  }
  pending_.tick_at_ms =
      wall_ms_ + std::min(options_.heartbeat_interval_ms, options_.expiry_sweep_interval_ms);
}

void Leaderless::expire_due() {
  for (const auto& key : keyspace_.due_keys(wall_ms_, options_.expiry_sweep_keys_max)) {
    Stored stored = load_stored(key);
    const KeyState before = stored.part;
    KeyState copy = before;
    expired_ += copy.expire(wall_ms_);
    store_copy(key, std::move(stored), before, std::move(copy));
  }
}

void Leaderless::persisted(ReadyId ready_id) {
  REPLIKV_ASSERT(ready_id <= last_taken_, "persisted() names a Ready that was never taken");
  REPLIKV_ASSERT(ready_id >= durable_, "the durable position never moves back");
  durable_ = ready_id;
  std::vector<uint64_t> moved;
  for (auto& [id, coordination] : coordinations_) {
    if (coordination.own_ready && *coordination.own_ready <= ready_id) {
      coordination.own_ready.reset();
      coordination.holders.insert(options_.node_id);
      moved.push_back(id);
    }
  }
  for (const uint64_t id : moved) check_coordination(id);
}

bool Leaderless::take_ready(Ready& out) {
  if (meta_dirty_) {
    meta_dirty_ = false;
    std::string incarnation;
    append_u32_be(incarnation, self_.incarnation);
    pending_.batch.put(Column::meta, std::string(meta_incarnation), std::move(incarnation));
    std::string counter;
    append_u64_be(counter, counter_);
    pending_.batch.put(Column::meta, std::string(meta_counter), std::move(counter));
    std::string hlc;
    append_u64_be(hlc, static_cast<uint64_t>(clock_.last().wall_ms));
    append_u32_be(hlc, clock_.last().logical);
    pending_.batch.put(Column::meta, std::string(meta_hlc), std::move(hlc));
    pending_.batch.put(Column::meta, std::string(meta_synced), options_.fsync_always ? "1" : "0");
    if (pending_.sync == Sync::none) pending_.sync = Sync::per_policy;
  }
  keyspace_.checkpoint(pending_.batch);  // no log to replay: what it answered is in storage
  return hand_over(pending_, last_taken_, out);
}

ReplicaStatus Leaderless::status() const {
  ReplicaStatus status;
  status.role = "master";  // every node takes every request
  status.state = "replica";
  status.node_id = options_.node_id;
  keyspace_.describe(status);
  status.durable_ready_id = durable_;
  status.writes_applied_total = writes_coordinated_ + copies_joined_;
  status.reads_total = reads_started_;
  status.expired_keys_total = expired_;
  status.replication_offset = LogIndex(counter_);
  status.malformed_messages_total = malformed_;
  for (const auto& [id, peer] : peers_) {
    FollowerStatus follower;
    follower.node = id;
    follower.heard_ms_ago = peer.heard ? monotonic_ms_ - peer.last_heard_ms : -1;
    status.followers.push_back(follower);
  }
  MetricList metrics;
  metrics.text("conflict_policy", "how concurrent writes are resolved (lww or siblings)",
               options_.policy == ConflictPolicy::lww ? "lww" : "siblings", true);
  metrics.gauge("replicas_per_key", "N: the replicas each key has", options_.n, true);
  metrics.gauge("write_quorum", "W: the replicas a write waits for by default", options_.w);
  metrics.gauge("read_quorum", "R: the replicas a read waits for by default", options_.r);
  metrics.counter("writes_coordinated", "writes this node coordinated as a replica of their key",
                  writes_coordinated_);
  metrics.counter("writes_forwarded", "writes sent on to a replica of their key to coordinate",
                  writes_forwarded_);
  metrics.counter("write_timeouts",
                  "writes answered -TIMEOUT: fewer than W replicas acknowledged in time",
                  writes_timed_out_);
  metrics.counter("read_timeouts",
                  "reads answered -TIMEOUT: fewer than R replicas answered (or, with blocking "
                  "repair, fewer than W took the write-back) in time",
                  reads_timed_out_);
  metrics.counter("resends",
                  "copies and read requests sent again to replicas that had not answered in a "
                  "heartbeat interval (a message lost, a connection not yet up)",
                  resends_);
  metrics.counter("dots_skipped",
                  "dot counters skipped because a copy had seen this node's counter further on "
                  "(a context naming writes this node never made)",
                  dots_skipped_);
  metrics.counter("anti_entropy_exchanges", "anti-entropy exchanges this node began", exchanges_);
  metrics.counter("anti_entropy_buckets_differing",
                  "leaf buckets an exchange found different (each repaired both ways)",
                  buckets_differing_);
  metrics.counter("anti_entropy_keys", "copies sent by anti-entropy", anti_entropy_keys_);
  std::string roots;
  for (const auto& [id, peer] : peers_) {
    roots += fmt::format("{}{}:{:016x}", roots.empty() ? "" : ",", id.value(), tree_root(id));
  }
  metrics.text("anti_entropy_roots",
               "per peer, the root of this node's hash tree of the keys both replicate (equal "
               "on both sides when their copies are)",
               roots);
  metrics.gauge("hints", "hints kept: writes a replica has not acknowledged, to replay to it",
                static_cast<int64_t>(hint_count_));
  metrics.counter("hints_written", "hints made", hints_written_);
  metrics.counter("hints_replayed", "hints replayed and acknowledged by their replica",
                  hints_replayed_);
  metrics.counter("hints_dropped", "hints not kept: hints_max were kept already", hints_dropped_);
  metrics.counter("hints_expired", "hints dropped unreplayed after hint_window_ms", hints_expired_);
  metrics.counter("copies_joined", "copies a peer sent that changed this node's", copies_joined_);
  metrics.counter("read_repairs", "copies sent to replicas a read found behind", repairs_sent_);
  metrics.counter("conflicts_resolved", "concurrent registers lww discarded on this node",
                  conflicts_resolved_);
  metrics.counter("siblings_refused", "writes refused: the key would have more than siblings_max",
                  siblings_refused_);
  metrics.counter("hlc_refused", "peer timestamps too far ahead of this node's clock, not taken",
                  hlc_refused_);
  metrics.gauge("tombstones", "deleted keys this node keeps a copy of", tombstones_.size());
  metrics.counter("writes_sloppy",
                  "writes answered with a fallback's acknowledgement counted toward W (sloppy "
                  "quorums): held by fewer of the key's replicas",
                  writes_sloppy_);
  metrics.counter("fallback_copies_taken",
                  "copies this node took as a fallback for a replica that was down",
                  fallback_copies_taken_);
  metrics.gauge("fallback_copies", "copies this node holds for replicas that were down",
                static_cast<int64_t>(handoffs_.size()));
  metrics.counter("tombstones_reaped",
                  "deleted keys' copies collected here (every replica had acknowledged the delete)",
                  tombstones_reaped_);
  metrics.counter("elements_reaped",
                  "removed collection elements' states collected here (every replica had "
                  "acknowledged the removal)",
                  elements_reaped_);
  metrics.counter("reaps_sent", "collections of a delete's tombstone this node started",
                  reaps_sent_);
  metrics.gauge("reaps_pending", "deletes every replica acknowledged, to collect when due",
                static_cast<int64_t>(reaps_.size()));
  metrics.gauge("requests_in_flight", "client requests waiting for replicas",
                static_cast<int64_t>(operations_.size()));
  status.metrics = metrics.take();
  return status;
}

std::vector<NodeId> Leaderless::draw(std::vector<NodeId> replicas, uint32_t count) {
  // A partial Fisher–Yates shuffle: the first `count` are a uniform draw without replacement.
  for (size_t i = 0; i < count && i + 1 < replicas.size(); ++i) {
    const size_t j = i + rng_.below(replicas.size() - i);
    std::swap(replicas[i], replicas[j]);
  }
  replicas.resize(std::min<size_t>(count, replicas.size()));
  return replicas;
}

// A node holds only its keys' copies, so its digest is pairwise (check::digests_agree): per peer,
// the root of the tree over the keys both replicate. Every pair's roots equal: every key's copies
// are equal on its replicas.
std::string Leaderless::state_digest() const {
  std::string out = "peers";
  for (const auto& [id, peer] : peers_)
    out += fmt::format(" {}:{:016x}", id.value(), tree_root(id));
  return out;
}

std::vector<HistoryFields> Leaderless::take_history_events() {
  report_history_ = true;
  return std::exchange(history_events_, {});
}

HistoryFields Leaderless::last_write_fields() const {
  if (!last_dot_) return {};
  HistoryFields fields = {
      {"dot", "\"" + context_text({{last_dot_->actor, last_dot_->counter}}) + "\""}};
  if (last_context_) fields.emplace_back("context", "\"" + context_text(*last_context_) + "\"");
  return fields;
}

}  // namespace replikv::core::leaderless
