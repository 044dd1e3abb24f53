// The leaderless replica's peer protocol (proto LeaderlessMessage): sending, what each message
// a peer sends does here, and the requests peers forward to this node to coordinate.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/causality/wire.h"
#include "core/leaderless/replica.h"
#include "core/leaderless/wire.h"
#include "core/write_codec.h"

namespace replikv::core::leaderless {

void Leaderless::send(NodeId to, proto::LeaderlessMessage& message) {
  message.set_from(options_.node_id.value());
  message.set_incarnation(self_.incarnation);
  const HlcTimestamp now = clock_.last();
  message.set_hlc_wall_ms(now.wall_ms);
  message.set_hlc_logical(now.logical);
  Message out;
  out.from = options_.node_id;
  out.to = to;
  message.SerializeToString(&out.payload);
  pending_.messages.push_back(std::move(out));
}

bool Leaderless::peer_up(NodeId node) const {
  if (node == options_.node_id) return true;
  const auto it = peers_.find(node);
  return it != peers_.end() && it->second.heard &&
         monotonic_ms_ - it->second.last_heard_ms <= 3 * options_.heartbeat_interval_ms;
}

void Leaderless::observe_clock(const proto::LeaderlessMessage& message) {
  const HlcTimestamp remote{message.hlc_wall_ms(), message.hlc_logical()};
  if (!clock_.observe(remote, wall_ms_)) ++hlc_refused_;
}

void Leaderless::peer_message(const Message& wire) {
  proto::LeaderlessMessage message;
  const auto from = peers_.find(wire.from);
  if (from == peers_.end() || !message.ParseFromString(wire.payload) ||
      message.from() != wire.from.value()) {
    ++malformed_;
    return;
  }
  from->second.heard = true;
  from->second.last_heard_ms = monotonic_ms_;
  observe_clock(message);
  switch (message.type()) {
    case proto::LeaderlessMessage::STATUS:
      from->second.durable = message.durable();
      return;
    case proto::LeaderlessMessage::FORWARD:
      receive_forward(message);
      return;
    case proto::LeaderlessMessage::FORWARD_REPLY: {
      auto reply = decode_reply(message.reply());
      if (!reply) {
        ++malformed_;
        return;
      }
      std::optional<SessionPosition> position;
      if (!message.position().empty()) position = SessionPosition{message.position()};
      if (forwards_.contains(message.request())) {
        part_done(message.request(), std::move(*reply), std::move(position));
      }
      return;
    }
    case proto::LeaderlessMessage::REPLICATE:
      receive_replicate(message);
      return;
    case proto::LeaderlessMessage::REPLICATE_ACK: {
      if (hint_acknowledged(wire.from, message.request())) return;
      if (const auto it = coordinations_.find(message.request()); it != coordinations_.end()) {
        if (!contains(it->second.replicas, wire.from)) {
          if (fallback_acknowledged(it->second, wire.from)) {
            check_coordination(message.request());
            return;
          }
          ++malformed_;  // not a replica of the key nor its fallback: counts toward no quorum
          return;
        }
        it->second.holders.insert(wire.from);
        check_coordination(message.request());
      } else if (const auto round = reads_.find(message.request());
                 round != reads_.end() && contains(round->second.replicas, wire.from)) {
        round->second.holders.insert(wire.from);
        round->second.repairing.erase(wire.from);
        check_read(message.request());
      }
      return;
    }
    case proto::LeaderlessMessage::READ:
      receive_read(message);
      return;
    case proto::LeaderlessMessage::REAP:
      receive_reap(message);
      return;
    case proto::LeaderlessMessage::AE_SUMMARY:
      receive_summary(message);
      return;
    case proto::LeaderlessMessage::AE_LEAVES:
      receive_leaves(message);
      return;
    case proto::LeaderlessMessage::AE_KEYS:
      receive_keys(message);
      return;
    case proto::LeaderlessMessage::AE_FETCH: {
      const std::vector<std::string> keys(message.keys().begin(), message.keys().end());
      send_copies(wire.from, keys);
      return;
    }
    case proto::LeaderlessMessage::READ_REPLY: {
      const auto round = reads_.find(message.request());
      if (round == reads_.end() || !contains(round->second.replicas, wire.from) ||
          round->second.copies.contains(wire.from)) {
        return;  // late, or a duplicate
      }
      auto copy = message.state().empty() ? std::optional<KeyState>(KeyState{})
                                          : KeyState::decode(message.state());
      if (!copy) {
        ++malformed_;
        return;
      }
      ReadRound& read = round->second;
      read.copies.emplace(wire.from, std::move(*copy));
      if (read.merged_ready) {
        // A late answer: it counts toward the write-back when it holds the value returned;
        // otherwise it is repaired (asynchronously: the read has its answer or its repairs).
        if (holds(read.copies.at(wire.from), read.merged)) {
          read.holders.insert(wire.from);
        } else if (options_.read_repair != ReadRepair::off && !read.repairing.contains(wire.from)) {
          proto::LeaderlessMessage repair =
              replicate_message(message.request(), read.key, read.merged,
                                options_.read_repair == ReadRepair::blocking);
          ++repairs_sent_;
          read.repairing.insert(wire.from);
          send(wire.from, repair);
        }
      }
      check_read(message.request());
      return;
    }
    default:
      ++malformed_;
      return;
  }
}

void Leaderless::receive_forward(const proto::LeaderlessMessage& message) {
  const Origin origin{0, NodeId(message.from()), message.request()};
  // A repeat (the peer heard no answer in a heartbeat): answered again once there is an answer.
  const auto [seen, first] =
      forwarded_.try_emplace({origin.peer, origin.peer_request}, Forwarded{{}, monotonic_ms_});
  if (!first) {
    if (seen->second.answer) {
      auto [reply, position] = *seen->second.answer;
      answer_origin(origin, std::move(reply), std::move(position));
    }
    return;
  }
  const std::string& key = message.key();
  const auto refuse = [&](std::string text) {
    answer_origin(origin, Reply::error(std::move(text)));
  };
  if (!contains(replicas_of(key), options_.node_id)) {
    refuse(
        "ERR this node is no replica of the key it was sent (do the nodes agree on the members?)");
    return;
  }
  const uint32_t write_replicas = message.write_quorum();
  if (write_replicas == 0 || write_replicas > options_.n) {
    ++malformed_;
    refuse(fmt::format("ERR W = {} is not between 1 and N = {}", write_replicas, options_.n));
    return;
  }
  if (message.vset()) {
    coordinate_vset(key, context_of(message.vset_context()), message.vset_value(),
                    std::max<int64_t>(0, message.vset_expiry_ms()), write_replicas, origin);
    return;
  }
  proto::Write write = message.write();
  if (write.op_case() == proto::Write::OP_NOT_SET || write.has_transaction() ||
      write.has_expire() || (write.has_command() && !is_valid_command_write(write))) {
    ++malformed_;  // (no leaderless node forwards these)
    refuse("ERR a forwarded write of a kind the leaderless strategy does not take");
    return;
  }
  resolve_expiry(write, wall_ms_);
  const Request request = from_log_write(write);
  if (const auto* command = std::get_if<CommandRequest>(&request)) {
    if (command->argv.size() < 2 || command->argv[1] != key) {
      ++malformed_;
      refuse("ERR a forwarded command writes the key it names");
      return;
    }
    if (auto refused = refuse_command(*command)) {
      refuse(std::move(*refused));
      return;
    }
    const uint32_t read_replicas = message.read_quorum() != 0 ? message.read_quorum() : options_.r;
    if (read_replicas > options_.n) {
      ++malformed_;
      refuse(fmt::format("ERR R = {} is not between 1 and N = {}", read_replicas, options_.n));
      return;
    }
    coordinate_command(key, *command, write_replicas, origin, read_replicas);
    return;
  }
  const bool single_key_write = std::visit(
      Overloaded{[&](const SetRequest& r) { return r.key == key; },
                 [&](const ExpireRequest& r) { return r.key == key; },
                 [&](const DelRequest& r) { return r.keys.size() == 1 && r.keys[0] == key; },
                 [](const auto&) { return false; }},
      request);
  if (!single_key_write) {
    ++malformed_;
    refuse("ERR a forwarded write names one key: SET, DEL or EXPIRE");
    return;
  }
  coordinate(key, request, write_replicas, origin);
}

void Leaderless::receive_replicate(const proto::LeaderlessMessage& message) {
  const auto incoming = KeyState::decode(message.state());
  if (incoming && message.hinted_for() != 0) {
    hold_for(message, *incoming);  // a fallback's copy, for a replica that was down
    return;
  }
  if (!incoming || !contains(replicas_of(message.key()), options_.node_id)) {
    ++malformed_;
    return;
  }
  if (!options_.mutants.lose_joins || !message.ack() || ++mutant_replicates_ % 10 != 0) {
    join_copy(message.key(), *incoming);
  }
  if (!message.ack()) return;
  proto::LeaderlessMessage ack;
  ack.set_type(proto::LeaderlessMessage::REPLICATE_ACK);
  ack.set_request(message.request());
  ack.set_key(message.key());
  send(NodeId(message.from()), ack);  // (it leaves once the joined copy is durable)
}

proto::LeaderlessMessage Leaderless::read_message(uint64_t request, const ReadRound& round) const {
  proto::LeaderlessMessage message;
  message.set_type(proto::LeaderlessMessage::READ);
  message.set_request(request);
  message.set_key(round.key);
  for (const auto& [kind, name] : round.names) {
    message.add_element_kinds(static_cast<uint8_t>(kind));
    message.add_element_names(name);
  }
  return message;
}

void Leaderless::receive_read(const proto::LeaderlessMessage& message) {
  proto::LeaderlessMessage reply;
  reply.set_type(proto::LeaderlessMessage::READ_REPLY);
  reply.set_request(message.request());
  reply.set_key(message.key());
  if (message.element_kinds_size() != message.element_names_size() ||
      std::any_of(message.element_kinds().begin(), message.element_kinds().end(),
                  [](uint32_t kind) { return kind > 0xff; })) {
    ++malformed_;
    return;
  }
  KeyState copy;
  if (message.element_names_size() == 0) {
    copy = load_copy(message.key());
  } else {
    // Those elements only (and the key's part): a removal's read first.
    std::vector<ElementName> names;
    for (int i = 0; i < message.element_names_size(); ++i) {
      names.push_back({static_cast<char>(message.element_kinds(i)), message.element_names(i)});
    }
    copy = load_part(load_stored(message.key()), &names);
  }
  if (!copy.empty()) reply.set_state(copy.encode());
  send(NodeId(message.from()), reply);
}

}  // namespace replikv::core::leaderless
