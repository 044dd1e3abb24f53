// The leaderless replica's coordination: writes it coordinates as a replica of their key, reads
// it coordinates for its clients, and their time outs. The peer protocol behind both: peers.cc.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/causality/context_text.h"
#include "core/causality/versioned_commands.h"
#include "core/leaderless/replica.h"
#include "core/leaderless/wire.h"

namespace replikv::core::leaderless {
namespace {

std::vector<Dot> registers_of(const KeyState& copy) {
  std::vector<Dot> out;
  for (const auto& [dot, value] : copy.registers) out.push_back(dot);
  return out;
}

}  // namespace

// ---- Writes this node coordinates ----

void Leaderless::coordinate(const std::string& key, const Request& request, uint32_t write_replicas,
                            Origin origin) {
  ++writes_coordinated_;
  // (Read before Redis's rules run: a command that deletes the record takes its metadata along.)
  Stored stored = load_stored(key);
  KeyState copy = load_part(stored, nullptr);
  if (std::holds_alternative<DelRequest>(request)) {
    // A delete is a tombstone whatever this copy holds: another replica may hold the value. It
    // removes every element of a collection this copy has seen, too.
    const bool existed = copy.render(wall_ms_).has_value() || copy.shown_kind() != 0;
    const CausalContext replaces = copy.context;
    write_and_replicate(key, std::move(stored), std::move(copy), replaces,
                        Register{{}, true, {}, 0}, Reply::number(existed ? 1 : 0), write_replicas,
                        origin, true);
    return;
  }
  const auto* command = std::get_if<CommandRequest>(&request);
  if (copy.shown_kind() != 0 && (std::holds_alternative<ExpireRequest>(request) ||
                                 (command != nullptr && command->spec->name == "persist"))) {
    answer_origin(origin,
                  Reply::error("ERR a time to live on a collection is not offered by the "
                               "leaderless strategy: its elements merge one by one, and replicas "
                               "would not agree on when the whole key expires; DEL it instead"));
    return;
  }
  // Redis's rules (NX, XX, GET, KEEPTTL, EXPIRE's conditions) run on this node's copy as its
  // keyspace shows it; what the command wrote becomes the new register.
  std::vector<std::string> written;
  keyspace_.observe_writes(&written);
  Reply answer = keyspace_.execute(request, wall_ms_);
  keyspace_.observe_writes(nullptr);
  if (written.empty()) {
    answer_origin(origin, std::move(answer));
    return;
  }
  REPLIKV_ASSERT(
      std::all_of(written.begin(), written.end(), [&](const auto& k) { return k == key; }),
      "a coordinated write changes only its key");
  const auto record = keyspace_.live_record(key, wall_ms_);
  REPLIKV_ASSERT(!record || record->type == ValueType::string,
                 "a string write leaves a string or nothing");
  Register value;
  if (record) {
    value.value = record->value;
    value.deadline_ms = record->expire_at_ms.value_or(0);
  } else {
    value.tombstone = true;  // an expiry in the past deletes
  }
  // (SET over a collection takes its elements away, as Redis's SET replaces any value.)
  const CausalContext replaces = copy.context;
  write_and_replicate(key, std::move(stored), std::move(copy), replaces, std::move(value),
                      std::move(answer), write_replicas, origin,
                      std::holds_alternative<SetRequest>(request));
}

void Leaderless::coordinate_vset(const std::string& key, const CausalContext& context,
                                 std::string value, TimeMs relative_expiry_ms,
                                 uint32_t write_replicas, Origin origin) {
  Stored stored = load_stored(key);
  if (!stored.present.empty()) {
    answer_origin(
        origin, Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value"));
    return;
  }
  KeyState copy = load_part(stored, nullptr);
  ++writes_coordinated_;
  // The client's context supersedes at most what this copy has seen: a write it names that has
  // not reached this replica stays beside the new value as a sibling (extra siblings are safe; a
  // context forged far ahead would otherwise swallow writes not yet made).
  CausalContext replaces;
  for (const auto& [actor, counter] : context) {
    const uint64_t capped = std::min(counter, counter_in(copy.context, actor));
    if (capped > 0) replaces[actor] = capped;
  }
  Register reg;
  reg.value = std::move(value);
  if (relative_expiry_ms > 0) {
    reg.deadline_ms =
        relative_expiry_ms > INT64_MAX - wall_ms_ ? INT64_MAX : wall_ms_ + relative_expiry_ms;
  }
  write_and_replicate(key, std::move(stored), std::move(copy), replaces, std::move(reg),
                      Reply::ok(), write_replicas, origin);
}

void Leaderless::write_and_replicate(const std::string& key, Stored stored, KeyState copy,
                                     const CausalContext& replaces, Register value, Reply answer,
                                     uint32_t write_replicas, Origin origin, bool clears_elements) {
  const KeyState before = copy;
  if (options_.policy == ConflictPolicy::siblings) {
    size_t kept = 0;
    for (const auto* sibling : copy.live(wall_ms_))
      kept += covers(replaces, sibling->first) ? 0 : 1;
    if (kept + 1 > options_.siblings_max) {
      ++siblings_refused_;
      answer_origin(origin, Reply::error(fmt::format(
                                "CONFLICT key has {} siblings the context does not cover "
                                "(siblings_max is {}); VGET it and VSET with that context to "
                                "merge them",
                                kept, options_.siblings_max)));
      return;
    }
  }
  value.hlc = next_stamp(copy);
  const HlcTimestamp stamp = value.hlc;
  const Dot dot = next_dot(copy);
  copy.write(replaces, dot, std::move(value));
  if (clears_elements) {
    // Every element this copy shows is removed by the same write (what it has not seen stays).
    for (auto& [name, element] : copy.elements) {
      if (element.present()) element.write(dot, Register{stamp, true, {}, 0});
    }
  }
  conflicts_resolved_ += resolve_lww(copy);
  last_context_ = replaces;
  replicate_write(key, std::move(copy), dot, stamp, replaces, std::move(answer), write_replicas,
                  origin, &stored, &before);
}

void Leaderless::replicate_write(const std::string& key, KeyState copy, const Dot& dot,
                                 const HlcTimestamp& stamp, const CausalContext& replaces,
                                 Reply answer, uint32_t write_replicas, Origin origin,
                                 Stored* stored, const KeyState* before) {
  const auto replicas = options_.pbs_draws && !options_.pbs_write_to_all
                            ? draw(replicas_of(key), write_replicas)
                            : replicas_of(key);
  const bool local = contains(replicas, options_.node_id);
  if (local && options_.linearizable) {
    // The tag was chosen from a read phase that began earlier: what this replica joined since (a
    // higher tag it acknowledged) must stay — joined, never replaced.
    join_copy(key, copy);
  } else if (local) {
    // (The copy is this node's own, read and written in this step.)
    REPLIKV_ASSERT(stored != nullptr && before != nullptr, "a coordinator's write names its copy");
    store_copy(key, std::move(*stored), *before, copy);
  }
  last_dot_ = dot;
  const auto found = copy.registers.find(dot);
  const bool tombstone = found != copy.registers.end() && found->second.tombstone;
  if (report_history_) {
    // (It leaves with the next durable Ready, as the write does: a crash before takes both.)
    history_events_.push_back({{"event", "\"made\""},
                               {"key", quoted(key)},
                               {"dot", "\"" + context_text({{dot.actor, dot.counter}}) + "\""},
                               {"context", "\"" + context_text(replaces) + "\""},
                               {"hlc", "\"" + stamp.text() + "\""},
                               {"tombstone", tombstone ? "true" : "false"}});
    if (found != copy.registers.end() && !tombstone) {
      history_events_.back().emplace_back("written", quoted(found->second.value));
    }
    // (A collection's element writes: no register of the key, nothing a GET returns.)
    if (element_write_) history_events_.back().emplace_back("element", "true");
  }
  const uint64_t id = next_id();
  Coordination coordination;
  coordination.key = key;
  coordination.replicas = replicas;
  coordination.needed = write_replicas;
  // The Ready being built holds this node's write (and the counter of its dot).
  if (local) coordination.own_ready = last_taken_.next();
  coordination.reply = std::move(answer);
  coordination.written = {dot,      stamp,    write_replicas, options_.n, replicas_of(key),
                          replaces, tombstone};
  coordination.position = encode_write_position(coordination.written);
  coordination.origin = origin;
  coordination.deadline_ms = monotonic_ms_ + options_.request_timeout_ms;
  coordination.resend_ms = monotonic_ms_ + options_.heartbeat_interval_ms;
  proto::LeaderlessMessage message = replicate_message(id, key, copy, true);
  for (const NodeId replica : coordination.replicas) {
    if (replica != options_.node_id) send(replica, message);
  }
  assign_fallbacks(coordination, message);
  coordination.copy = std::move(copy);
  coordinations_.emplace(id, std::move(coordination));
  check_coordination(id);
}

void Leaderless::check_coordination(uint64_t id) {
  const auto it = coordinations_.find(id);
  if (it == coordinations_.end()) return;
  Coordination& coordination = it->second;
  // Each of the key's replicas counts once: holding the copy, or through a fallback holding it
  // for it (sloppy quorums).
  const bool enough = covered(coordination) >= coordination.needed || options_.mutants.ack_early;
  if (!coordination.answered && enough) {
    coordination.answered = true;
    const auto real = static_cast<uint32_t>(
        std::count_if(coordination.replicas.begin(), coordination.replicas.end(),
                      [&](NodeId replica) { return coordination.holders.contains(replica); }));
    if (real < coordination.needed && !options_.mutants.ack_early) {
      // Fallbacks counted toward W: the position says how many of the key's replicas hold it.
      ++writes_sloppy_;
      coordination.written.replicas = real;
      coordination.position = encode_write_position(coordination.written);
    }
    answer_origin(coordination.origin, coordination.reply, coordination.position);
    if (options_.mutants.reap_early) schedule_reap(coordination.key, coordination.copy);
  }
  if (coordination.answered && covered(coordination) >= coordination.replicas.size()) {
    // Every replica holds it durably: a delete's tombstone may be collected (tombstones.cc).
    if (!options_.mutants.reap_early) schedule_reap(coordination.key, coordination.copy);
    coordinations_.erase(it);
  }
}

void Leaderless::answer_origin(const Origin& origin, Reply reply,
                               std::optional<SessionPosition> position) {
  if (origin.part != 0) {
    part_done(origin.part, std::move(reply), std::move(position));
    return;
  }
  proto::LeaderlessMessage message;
  message.set_type(proto::LeaderlessMessage::FORWARD_REPLY);
  message.set_request(origin.peer_request);
  encode_reply(reply, *message.mutable_reply());
  if (position) message.set_position(position->bytes);
  if (const auto it = forwarded_.find({origin.peer, origin.peer_request}); it != forwarded_.end()) {
    it->second.answer.emplace(std::move(reply), std::move(position));
  }
  send(origin.peer, message);
}

// ---- Linearizable quorums (multi-writer ABD) ----

std::optional<std::string> Leaderless::refuse_linearizable(const Request& request) const {
  const auto needs_consensus = [](std::string_view what) {
    return fmt::format(
        "ERR {} reads and writes in one step, which needs consensus: the linearizable "
        "leaderless mode offers plain SET, MSET, DEL and reads (use the single leader with ack "
        "majority)",
        what);
  };
  return std::visit(
      Overloaded{
          [&](const SetRequest& set) -> std::optional<std::string> {
            if (set.condition != SetRequest::Condition::always) return needs_consensus("SET NX/XX");
            if (set.return_old) return needs_consensus("SET … GET");
            if (set.expiry.kind != Expiry::Kind::none) {
              return "ERR times to live are not offered by the linearizable leaderless mode: "
                     "coordinators' clocks would read a deadline differently";
            }
            return std::nullopt;
          },
          [&](const ExpireRequest&) -> std::optional<std::string> {
            return "ERR times to live are not offered by the linearizable leaderless mode: "
                   "coordinators' clocks would read a deadline differently";
          },
          [&](const StrategyCommand& command) -> std::optional<std::string> {
            if (command.as<VSetCommand>() == nullptr) return std::nullopt;
            return "ERR VSET merges siblings, and the linearizable leaderless mode keeps one value "
                   "per key: use SET";
          },
          [&](const auto&) -> std::optional<std::string> { return std::nullopt; },
      },
      request);
}

void Leaderless::write_above(uint64_t part_id, const std::string& key, const Request& request,
                             const KeyState& found) {
  ++writes_coordinated_;
  const auto* highest = found.registers.empty() ? nullptr : &*found.registers.begin();
  Register value;
  Reply answer = Reply::ok();
  if (std::holds_alternative<DelRequest>(request)) {
    value.tombstone = true;
    answer = Reply::number(highest != nullptr && highest->second.live(wall_ms_) ? 1 : 0);
  } else {
    value.value = std::get<SetRequest>(request).value;
  }
  // The tag: above every tag a majority holds (the mutant takes the clock's word for it).
  value.hlc = clock_.now(wall_ms_);
  if (!options_.mutants.blind_writes && value.hlc <= found.seen_hlc) {
    if (found.seen_hlc.wall_ms > wall_ms_ + options_.max_clock_offset_ms) ++hlc_refused_;
    value.hlc = successor(found.seen_hlc);
  }
  const HlcTimestamp stamp = value.hlc;
  clock_.restore(stamp);  // this node's later tags go above it (persisted with the counter)
  const Dot dot{self_, ++counter_};
  meta_dirty_ = true;
  // One register: copies join to the highest tag (lww's order: timestamp, then dot) — a copy
  // drops a register only for a higher one it has seen.
  KeyState copy;
  copy.seen_hlc = stamp;
  copy.context[dot.actor] = dot.counter;
  copy.registers.emplace(dot, std::move(value));
  last_context_.reset();
  replicate_write(key, std::move(copy), dot, stamp, {}, std::move(answer), options_.w,
                  Origin{part_id, NodeId(0), 0});
}

// ---- Reads this node coordinates ----

void Leaderless::start_read(uint64_t part_id, const std::string& key, uint32_t read_replicas,
                            std::optional<Request> write) {
  if (!write) ++reads_started_;
  const uint64_t id = next_id();
  ReadRound round;
  round.write = std::move(write);
  round.part = part_id;
  round.key = key;
  round.replicas = options_.pbs_draws ? draw(replicas_of(key), read_replicas) : replicas_of(key);
  round.asked = read_replicas;
  round.needed = options_.mutants.read_one ? 1 : read_replicas;
  round.write_back = options_.w;
  round.deadline_ms = monotonic_ms_ + options_.request_timeout_ms;
  round.resend_ms = monotonic_ms_ + options_.heartbeat_interval_ms;
  proto::LeaderlessMessage message;
  message.set_type(proto::LeaderlessMessage::READ);
  message.set_request(id);
  message.set_key(key);
  for (const NodeId replica : round.replicas) {
    if (replica == options_.node_id) {
      round.copies.emplace(replica, load_copy(key));
    } else {
      send(replica, message);
    }
  }
  reads_.emplace(id, std::move(round));
  check_read(id);
}

void Leaderless::check_read(uint64_t id) {
  const auto it = reads_.find(id);
  if (it == reads_.end()) return;
  ReadRound& round = it->second;
  if (!round.merged_ready) {
    if (round.copies.size() < round.needed) return;
    KeyState merged;
    for (const auto& [node, copy] : round.copies) merged = joined(merged, copy);
    round.merged = std::move(merged);
    round.merged_ready = true;
    if (round.removal) {
      // A removal's read: what R replicas hold of what it removes joins this node's copy, and the
      // removal runs on that.
      const std::string key = round.key;
      const CommandRequest command = *round.removal;
      const Origin origin = round.removal_origin;
      const uint32_t write_replicas = round.removal_replicas;
      const KeyState found = std::move(round.merged);
      reads_.erase(it);
      join_copy(key, found);
      coordinate_command(key, command, write_replicas, origin, /*read_replicas=*/0);
      return;
    }
    if (round.write) {
      // The first phase of a linearizable write: its tag goes above what a majority holds.
      const uint64_t part = round.part;
      const std::string key = round.key;
      const Request request = *round.write;
      const KeyState found = round.merged;
      reads_.erase(it);
      write_above(part, key, request, found);
      return;
    }
    for (const auto& [node, copy] : round.copies) {
      if (holds(copy, round.merged)) round.holders.insert(node);
    }
    if (options_.read_repair != ReadRepair::off) {
      const bool blocking = options_.read_repair == ReadRepair::blocking;
      proto::LeaderlessMessage message = replicate_message(id, round.key, round.merged, blocking);
      for (const NodeId replica : round.replicas) {
        if (round.holders.contains(replica)) continue;
        // Async repair goes to the replicas heard from that lack it; blocking to every one that
        // may lack it, until W hold it.
        if (!blocking && !round.copies.contains(replica)) continue;
        if (replica == options_.node_id) {
          join_copy(round.key, round.merged);
          round.holders.insert(replica);  // (its reply leaves after this Ready is durable)
          continue;
        }
        ++repairs_sent_;
        round.repairing.insert(replica);
        send(replica, message);
      }
    }
  }
  if (!round.answered) {
    const bool may_answer = options_.read_repair != ReadRepair::blocking ||
                            round.holders.size() >= round.write_back ||
                            options_.mutants.skip_write_back;
    if (!may_answer) return;
    round.answered = true;
    const auto ref = parts_.find(round.part);
    if (ref != parts_.end()) {
      const Part& part = operations_.at(ref->second.operation).parts[ref->second.index];
      // (What the read claims: the mutants break the claim, not the record of it.)
      const uint32_t written_back =
          options_.read_repair == ReadRepair::blocking ? round.write_back : 0;
      if (std::holds_alternative<CommandRequest>(part.request)) {
        // A command's read: it runs once every key it reads is in (finish_operation).
        operations_.at(ref->second.operation).parts[ref->second.index].copy = round.merged;
        part_done(round.part, Reply::ok());
        return;
      }
      const auto own = round.copies.find(options_.node_id);
      const KeyState& answered_from =
          options_.mutants.reply_from_own_copy && own != round.copies.end() ? own->second
                                                                            : round.merged;
      part_done(round.part, read_reply(part.request, answered_from),
                encode_read_position(
                    {round.merged.context, round.asked, written_back, options_.n, round.replicas,
                     registers_of(round.merged),
                     options_.linearizable                    ? ReadOrder::tags
                     : options_.policy == ConflictPolicy::lww ? ReadOrder::lww
                                                              : ReadOrder::siblings,
                     std::holds_alternative<GetRequest>(part.request)        ? ReadShown::one
                     : std::holds_alternative<StrategyCommand>(part.request) ? ReadShown::all
                                                                             : ReadShown::none}));
    }
  }
  if (round.copies.size() == round.replicas.size() &&
      (options_.read_repair != ReadRepair::blocking ||
       round.holders.size() >= round.replicas.size() || round.repairing.empty())) {
    reads_.erase(id);
  }
}

// ---- Time outs ----

proto::LeaderlessMessage Leaderless::replicate_message(uint64_t request, const std::string& key,
                                                       const KeyState& copy, bool ack) const {
  proto::LeaderlessMessage message;
  message.set_type(proto::LeaderlessMessage::REPLICATE);
  message.set_request(request);
  message.set_key(key);
  message.set_state(copy.encode());
  message.set_ack(ack);
  return message;
}

void Leaderless::resend_unanswered() {
  const TimeMs next = monotonic_ms_ + options_.heartbeat_interval_ms;
  for (auto& [id, forward] : forwards_) {
    if (monotonic_ms_ < forward.resend_ms || !forward.resend) continue;
    forward.resend_ms = next;
    if (!peer_up(forward.target)) {
      for (const NodeId replica : forward.replicas) {
        if (replica != forward.target && peer_up(replica)) {
          forward.target = replica;
          break;
        }
      }
    }
    ++resends_;
    send(forward.target, forward.message);
  }
  for (auto& [id, coordination] : coordinations_) {
    if (monotonic_ms_ < coordination.resend_ms) continue;
    coordination.resend_ms = next;
    proto::LeaderlessMessage message =
        replicate_message(id, coordination.key, coordination.copy, true);
    for (const NodeId replica : coordination.replicas) {
      if (replica != options_.node_id && !coordination.holders.contains(replica)) {
        ++resends_;
        send(replica, message);
      }
    }
    for (const auto& [fallback, replica] : coordination.fallbacks) {
      if (coordination.holders.contains(fallback)) continue;
      proto::LeaderlessMessage held = message;
      held.set_hinted_for(replica.value());
      ++resends_;
      send(fallback, held);
    }
    assign_fallbacks(coordination, message);  // for replicas gone down since
  }
  for (auto& [id, round] : reads_) {
    if (monotonic_ms_ < round.resend_ms) continue;
    round.resend_ms = next;
    if (!round.merged_ready) {
      proto::LeaderlessMessage message = read_message(id, round);
      for (const NodeId replica : round.replicas) {
        if (!round.copies.contains(replica)) {
          ++resends_;
          send(replica, message);
        }
      }
    } else if (!round.answered && options_.read_repair == ReadRepair::blocking) {
      proto::LeaderlessMessage message = replicate_message(id, round.key, round.merged, true);
      for (const NodeId replica : round.replicas) {
        if (replica != options_.node_id && !round.holders.contains(replica)) {
          ++resends_;
          send(replica, message);
        }
      }
    }
  }
}

void Leaderless::expire_timed_out() {
  for (auto it = coordinations_.begin(); it != coordinations_.end();) {
    Coordination& coordination = it->second;
    if (monotonic_ms_ < coordination.deadline_ms) {
      ++it;
      continue;
    }
    if (!coordination.answered) {
      ++writes_timed_out_;
      answer_origin(coordination.origin,
                    Reply::unknown(fmt::format(
                        "TIMEOUT only {} of the {} replicas the write waits for acknowledged it "
                        "in time; it may still take effect",
                        covered(coordination), coordination.needed)));
    }
    // The replicas that never acknowledged get the key later, from a hint — kept by a coordinator
    // that holds the key's copy (a linearizable write's coordinator may be no replica: then
    // anti-entropy repairs them).
    const bool holds_copy = contains(coordination.replicas, options_.node_id);
    for (const NodeId replica : coordination.replicas) {
      const bool held_for = std::any_of(
          coordination.fallbacks.begin(), coordination.fallbacks.end(), [&](const auto& entry) {
            return entry.second == replica && coordination.holders.contains(entry.first);
          });
      if (holds_copy && replica != options_.node_id && !coordination.holders.contains(replica) &&
          !held_for) {
        add_hint(replica, coordination.key);  // (a fallback that holds it hints it itself)
      }
    }
    it = coordinations_.erase(it);
  }
  for (auto it = reads_.begin(); it != reads_.end();) {
    ReadRound& round = it->second;
    if (monotonic_ms_ < round.deadline_ms) {
      ++it;
      continue;
    }
    if (!round.answered && round.removal) {
      ++writes_timed_out_;
      answer_origin(round.removal_origin,
                    Reply::error(fmt::format(
                        "TIMEOUT only {} of the {} replicas a removal reads first answered in "
                        "time; nothing was removed",
                        round.copies.size(), round.needed)));
    } else if (!round.answered && round.write) {
      // The first phase of a linearizable write: nothing was written.
      ++writes_timed_out_;
      part_done(round.part,
                Reply::error(fmt::format("TIMEOUT only {} of the {} replicas a write reads its tag "
                                         "from answered in time; nothing was written",
                                         round.copies.size(), round.needed)));
    } else if (!round.answered) {
      ++reads_timed_out_;
      const std::string text =
          round.merged_ready
              ? fmt::format(
                    "TIMEOUT the read's value reached only {} of the {} replicas it must "
                    "be written back to before it is returned (blocking read repair)",
                    round.holders.size(), round.write_back)
              : fmt::format(
                    "TIMEOUT only {} of the {} replicas the read waits for answered in "
                    "time",
                    round.copies.size(), round.needed);
      part_done(round.part, Reply::unknown(text));
    }
    it = reads_.erase(it);
  }
  for (auto it = forwards_.begin(); it != forwards_.end();) {
    if (monotonic_ms_ < it->second.deadline_ms) {
      ++it;
      continue;
    }
    const uint64_t part = it->first;
    it = forwards_.erase(it);
    ++writes_timed_out_;
    part_done(part, Reply::unknown("TIMEOUT the replica coordinating the write did not answer in "
                                   "time; it may still take effect"));
  }
  std::erase_if(forwarded_, [&](const auto& entry) {
    return monotonic_ms_ - entry.second.since_ms > 2 * options_.request_timeout_ms;
  });
}

}  // namespace replikv::core::leaderless
