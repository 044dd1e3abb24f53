// The simulated clients: operations chosen from the seed, their replies read by outcome, and the
// history (check/history.h) they write.
#include "sim/simulation.h"

#include "core/encoding.h"

#include <fmt/compile.h>
#include <algorithm>
#include <charconv>
#include <iterator>
#include <limits>
#include <utility>

namespace replikv::sim::detail {

// The operation's value as the history records it: null for a read, [expected, new] for a cas,
// a delete's id for a delete.
std::string value_json(const PendingOp& op) {
  if (op.f == check::Function::read) return "null";
  if (op.f == check::Function::cas) {
    return fmt::format("[{},{}]", op.expected ? std::to_string(*op.expected) : "null", op.value);
  }
  return std::to_string(op.value);
}

void Simulation::record_invoke(const Client& client, const PendingOp& op) {
  const std::string value = value_json(op);
  check::write_event(history_,
                     {client.process, check::EventType::invoke, op.f, op.key, value, op.node,
                      op.final, op.consistency},
                     events_.now_ns());
}

void Simulation::complete(Client& client, check::EventType type, const std::string& value_json,
                          const core::HistoryFields* fields) {
  const PendingOp& op = client.pending;
  check::write_event(history_,
                     {client.process, type, op.f, op.key, value_json, op.node, op.final,
                      op.consistency, fields != nullptr && !fields->empty() ? fields : nullptr},
                     events_.now_ns());
  client.busy = false;
  if (type == check::EventType::ok)
    ++stats_.ok;
  else if (type == check::EventType::fail)
    ++stats_.failed;
  else {
    ++stats_.unknown;
    client.process = next_process_++;  // an unknown outcome ends this process, as in Jepsen
  }
  int64_t think_us = client.backoff ? rng_.between(10'000, 30'000) : rng_.between(0, 2000);
  if (!options_.pbs_read_delays_us.empty() && !op.final && op.f == check::Function::write &&
      type == check::EventType::ok) {
    // The PBS experiment: the read of the key comes this long after the acknowledgement.
    const auto& delays = options_.pbs_read_delays_us;
    think_us = delays[rng_.below(delays.size())];
    client.pbs_read_next = true;
  }
  client.backoff = false;
  events_.after(think_us * ns_per_us, [this, &client] { next_operation(client); });
}

core::Request Simulation::parse_words(const std::vector<std::string>& words) const {
  const std::vector<std::string_view> argv(words.begin(), words.end());
  const core::CommandSpec* spec = argv.empty() ? nullptr : core::find_command(argv.front());
  if (spec == nullptr && !argv.empty()) spec = strategy_->find_command(argv.front());
  REPLIKV_ASSERT(spec != nullptr && core::check_arity(*spec, argv.size()) == std::nullopt,
                 "a strategy's final read or merge is a command it answers");
  auto parsed = spec->handler == core::CommandSpec::Handler::strategy
                    ? strategy_->parse_command(*spec, argv)
                    : core::parse_request(*spec, argv);
  REPLIKV_ASSERT(std::holds_alternative<core::Request>(parsed), "the command parses");
  return std::get<core::Request>(std::move(parsed));
}

// Whether this operation goes as a data family's command (SimOptions::family_commands); a draw
// only when they are on, so runs without them draw as before.
bool Simulation::family_command(bool float_counter) {
  if (options_.family_commands == 0) return false;
  if (!traits_.family_commands || (float_counter && !traits_.float_increments)) return false;
  const bool chosen = rng_.below(100) < static_cast<uint64_t>(options_.family_commands);
  if (chosen) ++stats_.family_commands;
  return chosen;
}

// Whether this write, delete or CAS goes as a transaction over the key and its mirror
// (SimOptions::transactions): every one to a key of the transactional share of the keys (by the
// key's hash, no draw), so that the key and its mirror hold the same value at every moment.
bool Simulation::transaction(const PendingOp& op) {
  if (options_.transactions == 0 || op.final) return false;
  if (core::key_hash(op.key) % 100 >= static_cast<uint64_t>(options_.transactions)) return false;
  ++stats_.transactions;
  transaction_keys_.insert(op.key);
  return true;
}

// After every step of a node: each key a transaction wrote holds what its mirror holds — a
// transaction is all or nothing on every replica at every moment, whatever the faults.
void Simulation::check_transactions(Node& node) {
  if (transaction_keys_.empty() || !node.replica) return;
  for (const auto& key : transaction_keys_) {
    ++transaction_checks_;
    const auto value = node.replica->local_value(key);
    const auto mirror = node.replica->local_value(key + "~");
    std::string sizes;
    bool sizes_equal = true;
    if (options_.collections) {
      std::optional<uint64_t> first;
      for (size_t i = 0; i < std::size(collection_suffixes); ++i) {
        const auto size = node.replica->local_collection_size(key + collection_suffixes[i]);
        const uint64_t n = size.value_or(0);
        sizes += fmt::format("{}{}", i == 0 ? "" : "/", n);
        if (i == 0) first = n;
        sizes_equal &= n == *first && n != std::numeric_limits<uint64_t>::max();
      }
    }
    if (value == mirror && sizes_equal) continue;
    // A node moving a snapshot's records into place serves nothing from its state meanwhile.
    const auto status = node.replica->status();
    if (status.receiving_state) return;
    ++transaction_violations_;
    if (transaction_evidence_.size() < 10) {
      transaction_evidence_.push_back(
          fmt::format("node {} at {} ns ({}, {}, applied {}): {} = {}, {}~ = {}", node.id,
                      events_.now_ns(), status.role, status.state, status.applied_index.value(),
                      key, value.value_or("(none)"), key, mirror.value_or("(none)")) +
          (options_.collections ? fmt::format(", list/hash/set/zset sizes {}", sizes) : ""));
    }
  }
}

void Simulation::invoke(Client& client, PendingOp op) {
  op.sequence = client.next_sequence++;
  client.pending = op;
  client.busy = true;
  ++(op.final ? stats_.final_reads : stats_.invoked);
  if (op.f == check::Function::del) ++stats_.deletes;
  if (op.context) ++stats_.merges;
  record_invoke(client, op);
  core::Request request;
  switch (op.f) {
    case check::Function::read:
      if (merged_collections() && op.key.starts_with("c")) {
        request = parse_words(counter_read(op.key));
        break;
      }
      request = op.final || op.all_values ? parse_words(strategy_->final_read_arguments(op.key))
                                          : core::Request{core::GetRequest{op.key}};
      break;
    case check::Function::add:
      if (merged_collections()) {
        request = parse_words(counter_increment(op.key, op.value));
        break;
      }
      if (!op.with_id && family_command(true)) {
        request = parse_words({"incrbyfloat", op.key, std::to_string(op.value)});
        break;
      }
      request = core::IncrByRequest{
          op.key, op.value,
          op.with_id ? fmt::format("p{}s{}", client.process, op.sequence) : std::string()};
      break;
    case check::Function::del:
      if (transaction(op)) {
        core::TransactionRequest multi{{{"del", op.key}, {"del", op.key + "~"}}, {}, true};
        if (options_.collections) {
          for (const char* suffix : collection_suffixes)
            multi.commands.push_back({"del", op.key + suffix});
        }
        request = std::move(multi);
        break;
      }
      request = family_command(false) ? parse_words({"getdel", op.key})
                                      : core::Request{core::DelRequest{{op.key}}};
      break;
    case check::Function::cas:
      if (transaction(op)) {
        const std::string expected = op.expected ? std::to_string(*op.expected) : std::string();
        const std::string value = std::to_string(op.value);
        auto cas = [&](const std::string& key) {
          return op.expected ? std::vector<std::string>{"cas", key, expected, value}
                             : std::vector<std::string>{"cas", key, value};
        };
        request = core::TransactionRequest{{cas(op.key), cas(op.key + "~")}, {}, true};
        break;
      }
      request = core::CasRequest{
          op.key,
          op.expected ? std::optional<std::string>(std::to_string(*op.expected)) : std::nullopt,
          std::to_string(op.value)};
      break;
    default:
      if (!op.context && transaction(op)) {
        const std::string value = std::to_string(op.value);
        core::TransactionRequest multi{
            {{"set", op.key, value}, {"set", op.key + "~", value}}, {}, true};
        if (options_.collections) {
          // One element each, named by the operation (so each is new): the four grow together.
          const std::string name = fmt::format("p{}s{}", client.process, op.sequence);
          multi.commands.push_back({"rpush", op.key + collection_suffixes[0], name});
          multi.commands.push_back({"hset", op.key + collection_suffixes[1], name, value});
          multi.commands.push_back({"sadd", op.key + collection_suffixes[2], name});
          multi.commands.push_back({"zadd", op.key + collection_suffixes[3], value, name});
        }
        request = std::move(multi);
        break;
      }
      request =
          op.context
              ? parse_words(strategy_->context_write_arguments(op.key, *op.context,
                                                               std::to_string(op.value)))
              : core::Request{core::SetRequest{op.key, std::to_string(op.value), {}, {}, false}};
      break;
  }
  Node& node = *nodes_[static_cast<size_t>(op.node - 1)];
  const core::ConnectionId connection(static_cast<uint64_t>(client.index + 1));
  // A write's value, for the history's "made" event: what the node made of it, recorded when it
  // made it, whether or not the client ever hears back (a delete's: its id).
  std::optional<std::string> written;
  if (op.f != check::Function::read) written = std::to_string(op.value);  // (add: the delta)
  send(client_endpoint(client.index), op.node, false,
       [this, &node, connection, sequence = op.sequence, request = std::move(request),
        read = op.read, session = client.session, key = op.key, written] {
         input(node, [this, &node, connection, sequence, request, read, session, key, written] {
           node.replica->client_request({connection, sequence, request, read, session});
           if (!written) return;
           const core::HistoryFields made = node.replica->last_write_fields();
           if (!made.empty())
             check::write_made(history_, node.id, key, *written, made, events_.now_ns());
         });
       });
  const int64_t timeout_ns = options_.client_timeout_ms * ns_per_ms;
  events_.after(timeout_ns, [this, &client, sequence = op.sequence] {
    if (!client.busy || client.pending.sequence != sequence) return;
    if (client.pending.final) final_reads_.push_front(retarget(client.pending, 0));
    complete(client, check::EventType::info, value_json(client.pending));
  });
}

void Simulation::on_reply(int client_index, uint64_t sequence, const core::Reply& reply,
                          std::optional<core::SessionPosition> position) {
  Client& client = clients_[static_cast<size_t>(client_index)];
  if (!client.busy || client.pending.sequence != sequence) return;  // late: already timed out
  if (position) {
    client.session =
        client.session ? strategy_->merge_sessions(*client.session, *position) : *position;
  }
  switch (reply.outcome) {
    case core::Outcome::ok:
      break;
    case core::Outcome::not_leader:
      client.leader_hint = reply.leader ? static_cast<int>(reply.leader->value()) : 0;
      // A final read refused for not reaching the leader is asked again, of the leader.
      if (client.pending.final)
        final_reads_.push_front(retarget(client.pending, client.leader_hint));
      // A client that was told no leader is known waits a little before its next attempt.
      if (client.leader_hint == 0) client.backoff = true;
      complete(client, check::EventType::fail, value_json(client.pending));
      return;
    case core::Outcome::refused:
      complete(client, check::EventType::fail, value_json(client.pending));
      return;
    case core::Outcome::unknown:
      // The node cannot rule out that the write takes effect: unknown, not failed.
      complete(client, check::EventType::info, value_json(client.pending));
      return;
    case core::Outcome::several_values:
      break;  // a read's answer: every concurrent value (below)
  }
  // What the strategy records of an answered operation (the position a write took, say).
  const core::HistoryFields fields =
      strategy_->history_fields(reply, position, client.pending.f != check::Function::read);
  for (const auto& field : fields) {
    REPLIKV_ASSERT(!check::is_defined_member(field.first),
                   "a strategy's history field takes a name the format does not define");
  }
  if (client.pending.f == check::Function::read) {
    if (client.pending.all_values) {
      if (auto context = strategy_->read_context(reply))
        client.contexts[client.pending.key] = std::move(*context);
    }
    std::string read = reply.kind == core::Reply::Kind::bulk ? reply.text : "null";
    if (const auto values = strategy_->read_values(reply)) {
      // A strategy's own read (the final reads of one whose keys hold several values).
      if (values->empty()) {
        read = "null";
      } else if (values->size() == 1) {
        read = values->front();
      } else {
        read = "[";
        for (const auto& value : *values) read += (read.size() > 1 ? "," : "") + value;
        read += "]";
      }
    } else if (reply.outcome == core::Outcome::several_values) {
      read = "[";
      for (const auto& element : reply.elements) {
        read += (read.size() > 1 ? "," : "") +
                (element.kind == core::Reply::Kind::bulk ? element.text : std::string("null"));
      }
      read += "]";
    }
    complete(client, check::EventType::ok, read, &fields);
  } else if (client.pending.f == check::Function::cas) {
    // 0: the value did not match, nothing was written — a definite failure.
    // (A transaction's answer: its first command's, the CAS of the key itself.)
    const int64_t set = reply.kind == core::Reply::Kind::array && !reply.elements.empty()
                            ? reply.elements.front().integer
                            : reply.integer;
    complete(client, set == 1 ? check::EventType::ok : check::EventType::fail,
             value_json(client.pending), &fields);
  } else {
    complete(client, check::EventType::ok, std::to_string(client.pending.value), &fields);
  }
}

// Leaderless reads go at the cluster's R, one, quorum and all. Raft reads go at every consistency:
// the cluster's default (linearizable, or at the leader under async), session, bounded (a bound of
// a few heartbeat intervals, or a tight one that is often refused), and eventual. The checkers hold
// each to its promise.
void Simulation::choose_consistency(PendingOp& op) {
  const uint64_t pick = rng_.below(100);
  const auto& offered = traits_.read_consistencies;
  if (std::find(offered.begin(), offered.end(), core::ReadConsistency::replicas) != offered.end()) {
    // Leaderless reads name how many replicas answer: the cluster's R, one, a majority, all.
    if (pick < 40) {
      op.read = {};
      op.consistency = core::to_string(strategy_->read_default(settings_));
      return;
    }
    const uint32_t counts[] = {1, core::replicas_majority, core::replicas_all};
    op.read = {core::ReadConsistency::replicas, 0, counts[(pick - 40) / 20]};
    op.consistency = core::to_string(op.read);
    return;
  }
  if (pick < 40) {
    op.read = {};
    op.consistency = core::to_string(strategy_->read_default(settings_));
  } else if (pick < 65) {
    op.read = {core::ReadConsistency::session, 0};
    op.consistency = "session";
  } else if (pick < 85) {
    const int64_t lag_ms = traits_.lag_known_within_ms;
    op.read = {core::ReadConsistency::bounded, rng_.below(2) == 0 ? 4 * lag_ms : lag_ms};
    op.consistency = core::to_string(op.read);
  } else {
    op.read = {core::ReadConsistency::eventual, 0};
    op.consistency = "eventual";
  }
}

PendingOp Simulation::retarget(PendingOp op, int leader_hint) {
  op.node = leader_hint != 0 ? leader_hint : static_cast<int>(rng_.between(1, options_.nodes));
  return op;
}

void Simulation::next_operation(Client& client) {
  if (client.busy) return;
  if (final_phase_) {
    if (client.index != 0 || final_reads_.empty()) return;
    PendingOp op = final_reads_.front();
    final_reads_.pop_front();
    invoke(client, op);
    return;
  }
  if (stats_.invoked >= options_.ops) return;
  PendingOp op;
  if (!options_.pbs_read_delays_us.empty()) {
    // The PBS experiment: a write of the client's own key, then (after the delay complete() drew)
    // a read of it, each at a node drawn uniformly.
    op.node = static_cast<int>(rng_.between(1, options_.nodes));
    op.key = "p" + std::to_string(client.index);
    if (std::exchange(client.pbs_read_next, false)) {
      op.f = check::Function::read;
    } else {
      op.f = check::Function::write;
      op.value = static_cast<int64_t>(next_value_++);
      const auto index = static_cast<size_t>(client.index);
      if (index < options_.pbs_write_nodes.size()) op.node = options_.pbs_write_nodes[index];
    }
    invoke(client, op);
    return;
  }
  // Half the operations go to any node (a follower forwards them), half to the leader a refusal
  // last named.
  const bool anywhere = client.leader_hint == 0 || rng_.below(2) == 0;
  op.node = anywhere ? static_cast<int>(rng_.between(1, options_.nodes)) : client.leader_hint;
  const uint64_t choice = rng_.below(100);
  // A read, delete or write's key: a register's, or now and then a counter's (resets: the
  // counter's increments that a SET, DEL or VSET had seen go; convergence judges those keys).
  if (merged_collections() && rng_.below(3) == 0) send_collection_churn();
  if (queue_ops() && rng_.below(4) == 0) send_queue_op();
  const auto register_key = [&] {
    if (options_.counters > 0 && options_.counter_resets > 0 && !merged_collections() &&
        rng_.below(100) < static_cast<uint64_t>(options_.counter_resets)) {
      return "c" + std::to_string(rng_.below(static_cast<uint64_t>(options_.counters)));
    }
    return "k" + std::to_string(rng_.below(static_cast<uint64_t>(options_.keys)));
  };
  if (options_.counters > 0 && choice < 8) {
    op.f = check::Function::add;
    op.key = "c" + std::to_string(rng_.below(static_cast<uint64_t>(options_.counters)));
    op.value = rng_.between(1, 5);
    op.with_id = rng_.below(2) == 0 && !merged_collections();
  } else if (choice < 45) {
    op.f = check::Function::read;
    op.key = register_key();
    if (options_.mixed_reads && !traits_.read_consistencies.empty()) choose_consistency(op);
    op.all_values = options_.merges > 0 && rng_.below(100) < static_cast<uint64_t>(options_.merges);
  } else if (choice < 45 + static_cast<uint64_t>(options_.deletes)) {
    op.f = check::Function::del;
    op.key = register_key();
    op.value = static_cast<int64_t>(next_value_++);  // its id
  } else if (choice < 78) {
    op.f = check::Function::write;
    op.key = register_key();
    op.value = static_cast<int64_t>(next_value_++);
    last_written_[op.key] = op.value;
    if (options_.merges > 0 && rng_.below(100) < static_cast<uint64_t>(options_.merges)) {
      if (const auto it = client.contexts.find(op.key); it != client.contexts.end())
        op.context = it->second;
    }
  } else if (choice < 85) {
    // A cas that expects the last value any client asked for (it may not have won), or absence.
    op.f = check::Function::cas;
    op.key = "k" + std::to_string(rng_.below(static_cast<uint64_t>(options_.keys)));
    const auto last = last_written_.find(op.key);
    if (last != last_written_.end() && rng_.below(5) != 0) op.expected = last->second;
    op.value = static_cast<int64_t>(next_value_++);
    last_written_[op.key] = op.value;
  } else {
    op.f = check::Function::insert;
    op.value = static_cast<int64_t>(next_insert_++);
    op.key = "i" + std::to_string(op.value);
    insert_keys_.push_back(op.key);
  }
  invoke(client, op);
}

std::vector<std::string> Simulation::counter_increment(const std::string& key,
                                                       int64_t delta) const {
  if (core::key_hash(key) % 2 == 0) return {"hincrby", key, "n", std::to_string(delta)};
  return {"zincrby", key, std::to_string(delta), "n"};
}

std::vector<std::string> Simulation::counter_read(const std::string& key) const {
  if (core::key_hash(key) % 2 == 0) return {"hget", key, "n"};
  return {"zscore", key, "n"};
}

void Simulation::send_collection_churn() {
  const std::string key = fmt::format("s{}", rng_.below(4));
  const std::string other = fmt::format("s{}", rng_.below(4));
  const std::string member = std::string(1, static_cast<char>('a' + rng_.below(5)));
  const std::string number = std::to_string(rng_.between(-3, 9));
  std::vector<std::string> words;
  switch (rng_.below(12)) {
    case 0:
    case 1:
      words = {"sadd", key, member};
      break;
    case 2:
      words = {"srem", key, member};
      break;
    case 3:
      words = {"hset", key, member, number};
      break;
    case 4:
      words = {"hincrby", key, member, number};
      break;
    case 5:
      words = {"hdel", key, member};
      break;
    case 6:
      words = {"zadd", key, number, member};
      break;
    case 7:
      words = {"zincrby", key, number, member};
      break;
    case 8:
      words = {"zrem", key, member};
      break;
    case 9:
      words = {"del", key};
      break;
    case 10:
      words = {"sunionstore", key, other, key};
      break;
    default:
      words = {"zremrangebyscore", key, "-inf", number};
      break;
  }
  ++stats_.collection_writes;
  const int to = static_cast<int>(rng_.between(1, options_.nodes));
  Node& node = *nodes_[static_cast<size_t>(to - 1)];
  core::Request request = parse_words(words);
  send(client_endpoint(0), to, false, [this, &node, request = std::move(request), key] {
    input(node, [this, &node, request, key] {
      node.replica->client_request(
          {core::ConnectionId(churn_connection), 0, request, {}, std::nullopt});
      // Every dot it took, in the history: a node that crashes before they are durable issues
      // them again, and the checkers tell which write a dot names by the last made under it.
      const core::HistoryFields made = node.replica->last_write_fields();
      std::string dot;
      uint64_t writes = 1;
      for (const auto& [name, value] : made) {
        if (name == "dot") dot = value;
        if (name == "writes") writes = std::stoull(value);
      }
      const size_t colon = dot.rfind(':');
      if (colon == std::string::npos) return;
      const uint64_t last = std::stoull(dot.substr(colon + 1));
      for (uint64_t counter = last + 1 - writes; counter <= last; ++counter) {
        core::HistoryFields fields = made;
        std::erase_if(fields, [](const auto& field) {
          return field.first == "dot" || field.first == "writes" || field.first == "increment" ||
                 field.first == "tombstone";
        });
        fields.emplace_back("dot", fmt::format("{}{}\"", dot.substr(0, colon + 1), counter));
        fields.emplace_back("element", "true");
        check::write_made(history_, node.id, key, fmt::format("{}", ++churn_made_), fields,
                          events_.now_ns());
      }
    });
  });
}

bool Simulation::queue_ops() const {
  return options_.collections && !traits_.collections_merge && traits_.family_commands &&
         traits_.transactions_refused.empty();
}

// The queue's key; its elements are "e<n>", each pushed once.
constexpr const char* queue_key = "queue";

void Simulation::send_queue_op() {
  QueueOp op;
  std::vector<std::string> words;
  const uint64_t pick = rng_.below(10);
  if (pick < 5) {
    op.push = true;
    op.element = ++queue_next_element_;
    queue_pushes_[op.element] = PushOutcome::unknown;
    words = {"rpush", queue_key, fmt::format("e{}", op.element)};
  } else {
    ++queue_pops_;
    // A blocking pop waits at the leader (a follower refuses it) for up to 50 ms.
    words = pick < 8 ? std::vector<std::string>{"lpop", queue_key}
                     : std::vector<std::string>{"blpop", queue_key, "0.05"};
  }
  const uint64_t sequence = ++queue_sequence_;
  queue_pending_.emplace(sequence, op);
  const int to = static_cast<int>(rng_.between(1, options_.nodes));
  Node& node = *nodes_[static_cast<size_t>(to - 1)];
  core::Request request = parse_words(words);
  send(client_endpoint(0), to, false, [this, &node, sequence, request = std::move(request)] {
    input(node, [&node, sequence, request] {
      node.replica->client_request(
          {core::ConnectionId(queue_connection), sequence, request, {}, std::nullopt});
    });
  });
}

void Simulation::on_queue_reply(uint64_t sequence, const core::Reply& reply) {
  const auto it = queue_pending_.find(sequence);
  if (it == queue_pending_.end()) return;
  const QueueOp op = it->second;
  queue_pending_.erase(it);
  const bool definite_failure =
      reply.outcome == core::Outcome::refused || reply.outcome == core::Outcome::not_leader;
  if (op.push) {
    if (reply.outcome == core::Outcome::ok && reply.kind == core::Reply::Kind::integer) {
      queue_pushes_[op.element] = PushOutcome::ok;
    } else if (definite_failure) {
      queue_pushes_[op.element] = PushOutcome::failed;
    }
    return;  // (unknown: it stays so)
  }
  if (reply.outcome == core::Outcome::unknown) {
    ++queue_unknown_pops_;
    return;
  }
  if (reply.outcome != core::Outcome::ok) return;  // refused: nothing popped
  // LPOP answers the element; BLPOP [key, element]; nil when the queue was empty.
  const core::Reply* element = &reply;
  if (reply.kind == core::Reply::Kind::array && reply.elements.size() == 2) {
    element = &reply.elements[1];
  }
  if (element->kind != core::Reply::Kind::bulk) return;
  const std::string& text = element->text;
  uint64_t id = 0;
  if (text.size() < 2 || text[0] != 'e' ||
      std::from_chars(text.data() + 1, text.data() + text.size(), id).ec != std::errc()) {
    if (queue_unexpected_.size() < 10) queue_unexpected_.push_back(text);
    return;
  }
  ++queue_popped_[id];
}

check::CheckResult Simulation::check_queue() {
  check::CheckResult result{"queue", check::Verdict::valid, "", {}, {}};
  // Pops never answered are unknown: each may have taken an element.
  uint64_t unknown_pops = queue_unknown_pops_;
  for (const auto& [sequence, op] : queue_pending_) {
    if (!op.push) ++unknown_pops;
  }
  // What is left, as every node that is up holds it (they have converged when the run passes;
  // when they differ, the queue is not judged on one of them).
  std::optional<std::vector<std::string>> left;
  bool nodes_differ = false;
  for (const auto& node : nodes_) {
    if (!node->up || !node->replica) continue;
    auto here = node->replica->local_list(queue_key);
    if (!here) continue;
    if (left && *left != *here) nodes_differ = true;
    if (!left) left = std::move(here);
  }
  if (nodes_differ) {
    result.verdict = check::Verdict::unknown;
    result.summary = "the nodes hold different queues (see convergence): not judged";
    return result;
  }
  std::map<uint64_t, int> in_queue;
  for (const auto& text : left.value_or(std::vector<std::string>{})) {
    uint64_t id = 0;
    if (text.size() >= 2 && text[0] == 'e' &&
        std::from_chars(text.data() + 1, text.data() + text.size(), id).ec == std::errc()) {
      ++in_queue[id];
    } else if (queue_unexpected_.size() < 10) {
      queue_unexpected_.push_back(text);
    }
  }
  uint64_t duplicated = 0, unpushed = 0, missing = 0, acknowledged = 0;
  for (const auto& [id, times] : queue_popped_) {
    const auto queued = in_queue.find(id);
    const int copies = times + (queued != in_queue.end() ? queued->second : 0);
    if (copies > 1) {
      ++duplicated;
      add_detail(result, fmt::format("e{} was popped {} time(s) and is in the queue {} time(s)", id,
                                     times, copies - times));
    }
    const auto pushed = queue_pushes_.find(id);
    if (pushed == queue_pushes_.end() || pushed->second == PushOutcome::failed) {
      ++unpushed;
      add_detail(result, fmt::format("e{} was popped but never pushed (or its push failed)", id));
    }
  }
  for (const auto& [id, times] : in_queue) {
    if (times > 1) {
      ++duplicated;
      add_detail(result, fmt::format("e{} is in the queue {} times", id, times));
    }
  }
  for (const auto& [id, outcome] : queue_pushes_) {
    if (outcome != PushOutcome::ok) continue;
    ++acknowledged;
    if (!queue_popped_.contains(id) && !in_queue.contains(id)) ++missing;
  }
  for (const auto& text : queue_unexpected_) {
    ++unpushed;
    add_detail(result, fmt::format("a pop or the queue held {:?}, no element pushed", text));
  }
  // An acknowledged element neither popped nor left may have gone to a pop whose outcome is
  // unknown — one each.
  const uint64_t lost = missing > unknown_pops ? missing - unknown_pops : 0;
  if (lost > 0) {
    add_detail(result, fmt::format("{} acknowledged element(s) neither popped nor in the queue, "
                                   "beyond the {} pop(s) of unknown outcome",
                                   missing, unknown_pops));
  }
  const bool valid = duplicated == 0 && unpushed == 0 && lost == 0 && left.has_value();
  result.verdict = valid ? check::Verdict::valid : check::Verdict::invalid;
  result.summary = fmt::format(
      "{} pushes ({} acknowledged), {} pops ({} of unknown outcome): {} popped twice, {} "
      "popped that were never pushed, {} lost; {} left in the queue{}",
      queue_pushes_.size(), acknowledged, queue_pops_, unknown_pops, duplicated, unpushed, lost,
      in_queue.size(), left ? "" : " (no node to read it from)");
  result.figures = {{"duplicated", static_cast<double>(duplicated)},
                    {"unpushed", static_cast<double>(unpushed)},
                    {"lost", static_cast<double>(lost)},
                    {"pops", static_cast<double>(queue_pops_)},
                    {"popped", static_cast<double>(queue_popped_.size())}};
  return result;
}

void Simulation::start_final_phase() {
  final_phase_ = true;
  // Every key, from every node: the registers and each insert.
  std::vector<std::string> keys;
  for (int k = 0; k < options_.keys; ++k) keys.push_back(fmt::format("k{}", k));
  for (int c = 0; c < options_.counters; ++c) keys.push_back(fmt::format("c{}", c));
  keys.insert(keys.end(), insert_keys_.begin(), insert_keys_.end());
  // Strategies that answer reads through a leader: one final read per key is enough (a refused
  // one is asked again of the leader). Others are read from every node.
  const int read_from = traits_.final_reads_at_leader ? 1 : options_.nodes;
  for (int node = 1; node <= read_from; ++node) {
    for (const auto& key : keys) {
      PendingOp op;
      op.f = check::Function::read;
      op.key = key;
      op.node = node;
      op.final = true;
      final_reads_.push_back(op);
    }
  }
  Client& reader = clients_[0];
  reader.process = next_process_++;
  next_operation(reader);
}

}  // namespace replikv::sim::detail
