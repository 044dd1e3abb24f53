// MULTI, EXEC, DISCARD, WATCH and UNWATCH, as Redis defines them. Between MULTI and EXEC the
// connection queues commands (each answered QUEUED, or refused — which makes EXEC answer
// EXECABORT); EXEC hands the queued data commands to the replica as one TransactionRequest, run
// as one step (in the single-leader strategies one log entry), and splices the answers of the
// runtime's own commands (PING, ECHO, TIME, INFO …, answered when EXEC arrives) into theirs.
// WATCH asks the replica what it holds of the keys now — the write version and whether each is
// live — and EXEC carries that back: the transaction runs only if none of them changed since
// (core/keyspace.h, watch_changed). After EXEC or DISCARD nothing is watched.
#include <fmt/format.h>

#include "core/command.h"
#include "runtime/server_impl.h"

namespace replikv::runtime {

using core::Reply;

bool Server::Impl::transaction_command(Connection& c, uint64_t sequence,
                                       const core::CommandSpec& spec,
                                       const std::vector<std::string_view>& argv) {
  const std::string_view name = spec.name;
  const auto refusal = [&](std::string_view command) -> std::optional<Reply> {
    const std::string text = strategy->traits(config.strategy_settings).transactions_refused;
    if (text.empty()) return std::nullopt;
    std::string named(text);
    if (command != "MULTI" && named.starts_with("MULTI")) named.replace(0, 5, command);
    return Reply::error("ERR " + named);
  };
  if (name == "multi") {
    if (c.queued) {
      deliver(c, sequence, Reply::error("ERR MULTI calls can not be nested"));
    } else if (auto refused = refusal("MULTI")) {
      // Queued all the same, and refused: what a client pipelined after MULTI must not run on
      // its own, so EXEC answers EXECABORT and none of it runs.
      c.queued.emplace();
      c.queue_refused = true;
      deliver(c, sequence, *refused);
    } else {
      c.queued.emplace();
      c.queue_refused = false;
      deliver(c, sequence, Reply::ok());
    }
    return true;
  }
  if (name == "discard") {
    if (!c.queued) {
      deliver(c, sequence, Reply::error("ERR DISCARD without MULTI"));
      return true;
    }
    c.queued.reset();
    c.queue_refused = false;
    c.watched.clear();
    deliver(c, sequence, Reply::ok());
    return true;
  }
  if (name == "watch") {
    if (c.queued) {
      deliver(c, sequence, Reply::error("ERR WATCH inside MULTI is not allowed"));
      return true;
    }
    if (auto refused = refusal("WATCH")) {
      deliver(c, sequence, *refused);
      return true;
    }
    core::WatchRequest watch;
    for (size_t i = 1; i < argv.size(); ++i) watch.keys.emplace_back(argv[i]);
    // What the replica holds now is what EXEC compares with: its own state, no read round. The
    // connection reads nothing more until the answer is in (client_over_limits), so a MULTI …
    // EXEC pipelined behind the WATCH carries what it saw.
    ++c.watches_in_flight;
    c.reply_hooks[sequence] = [this, id = c.id, keys = watch.keys](Reply reply) -> Reply {
      const auto found = connections.find(id);
      if (found == connections.end()) return reply;
      Connection& watcher = *found->second;
      --watcher.watches_in_flight;
      watcher.resume.cancel();  // the reader goes on
      if (reply.kind != Reply::Kind::array || reply.elements.size() != keys.size() + 1)
        return reply;
      const auto version = static_cast<uint64_t>(reply.elements[0].integer);
      for (size_t i = 0; i < keys.size(); ++i) {
        bool seen = false;  // a key watched twice keeps what the first WATCH saw
        for (const auto& watched : watcher.watched) seen |= watched.key == keys[i];
        if (!seen)
          watcher.watched.push_back({keys[i], version, reply.elements[i + 1].integer != 0});
      }
      return Reply::ok();
    };
    submit_request(c, sequence, core::Request{std::move(watch)},
                   core::ReadOptions{core::ReadConsistency::eventual});
    return true;
  }
  if (name == "unwatch" && !c.queued) {
    c.watched.clear();
    deliver(c, sequence, Reply::ok());
    return true;
  }
  if (name == "exec") {
    if (!c.queued) {
      deliver(c, sequence, Reply::error("ERR EXEC without MULTI"));
      return true;
    }
    auto queued = std::move(*c.queued);
    c.queued.reset();
    auto watched = std::move(c.watched);
    c.watched.clear();
    if (c.queue_refused) {
      c.queue_refused = false;
      deliver(c, sequence,
              Reply::error("EXECABORT Transaction discarded because of previous errors."));
      return true;
    }
    core::TransactionRequest transaction;
    transaction.watched = std::move(watched);
    // The data commands answer from the replica; the runtime's own (PING, ECHO, TIME, CLIENT …)
    // run once the replica's answer says the transaction ran — never when it was aborted or
    // refused — and answer in their places.
    std::vector<std::optional<std::vector<std::string>>> own(queued.size());
    for (size_t i = 0; i < queued.size(); ++i) {
      const core::CommandSpec* inner = core::find_command(queued[i][0]);
      if (inner->handler == core::CommandSpec::Handler::server) {
        own[i] = std::move(queued[i]);
      } else {
        transaction.write |= inner->write;
        transaction.commands.push_back(std::move(queued[i]));
      }
    }
    const auto splice = [this, id = c.id, own = std::move(own)](Reply reply) -> Reply {
      if (reply.kind != Reply::Kind::array) return reply;  // aborted (null), or refused
      const auto found = connections.find(id);
      std::vector<Reply> out;
      out.reserve(own.size());
      size_t next = 0;
      for (const auto& words : own) {
        if (!words) {
          if (next < reply.elements.size()) out.push_back(std::move(reply.elements[next++]));
          continue;
        }
        const core::CommandSpec* inner = core::find_command((*words)[0]);
        if (inner->name == "unwatch" || found == connections.end()) {
          out.push_back(Reply::ok());  // (nothing is watched after EXEC anyway)
          continue;
        }
        const std::vector<std::string_view> argv_of(words->begin(), words->end());
        out.push_back(server_command(*found->second, inner->name, argv_of));
      }
      return Reply::array(std::move(out));
    };
    if (transaction.commands.empty() && transaction.watched.empty()) {
      deliver(c, sequence, splice(Reply::array()));
      return true;
    }
    c.reply_hooks[sequence] = splice;
    submit_request(c, sequence, core::Request{std::move(transaction)}, c.read);
    return true;
  }
  if (!c.queued) return false;
  // Queueing.
  std::optional<Reply> refused = core::refuse_in_transaction(spec);
  if (!refused && spec.handler == core::CommandSpec::Handler::strategy) {
    refused = Reply::error("ERR Command not allowed inside a transaction");
  }
  if (refused) {
    c.queue_refused = true;
    deliver(c, sequence, *refused);
    return true;
  }
  std::vector<std::string> words;
  words.reserve(argv.size());
  for (const auto& word : argv) words.emplace_back(word);
  c.queued->push_back(std::move(words));
  deliver(c, sequence, Reply::status("QUEUED"));
  return true;
}

}  // namespace replikv::runtime
