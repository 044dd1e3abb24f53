#include "core/write_codec.h"

#include <cstdint>
#include <utility>

#include "core/assert.h"

namespace replikv::core {
namespace {

proto::Set::Condition to_proto(SetRequest::Condition condition) {
  switch (condition) {
    case SetRequest::Condition::always:
      return proto::Set::ALWAYS;
    case SetRequest::Condition::if_absent:
      return proto::Set::IF_ABSENT;
    case SetRequest::Condition::if_present:
      return proto::Set::IF_PRESENT;
  }
  return proto::Set::ALWAYS;
}

SetRequest::Condition from_proto(proto::Set::Condition condition) {
  switch (condition) {
    case proto::Set::IF_ABSENT:
      return SetRequest::Condition::if_absent;
    case proto::Set::IF_PRESENT:
      return SetRequest::Condition::if_present;
    default:
      return SetRequest::Condition::always;
  }
}

}  // namespace

std::optional<proto::Write> to_log_write(Request&& request, std::optional<TimeMs> now_ms) {
  auto* set = std::get_if<SetRequest>(&request);
  if (set == nullptr) return to_log_write(std::as_const(request), now_ms);
  // The key's and the value's buffers move into the entry (protobuf takes a string by move).
  std::string key = std::move(set->key), value = std::move(set->value);
  set->key.clear();
  set->value.clear();
  auto write = to_log_write(std::as_const(request), now_ms);
  write->mutable_set()->set_key(std::move(key));
  write->mutable_set()->set_value(std::move(value));
  return write;
}

std::optional<proto::Write> to_log_write(const Request& request, std::optional<TimeMs> now_ms) {
  proto::Write write;
  if (const auto* set = std::get_if<SetRequest>(&request)) {
    proto::Set* out = write.mutable_set();
    out->set_key(set->key);
    out->set_value(set->value);
    out->set_condition(to_proto(set->condition));
    out->set_return_old(set->return_old);
    switch (set->expiry.kind) {
      case Expiry::Kind::none:
        break;
      case Expiry::Kind::relative_ms:
        if (now_ms) {
          out->set_expire_at_ms(*now_ms + set->expiry.ms);
        } else {
          out->set_expire_in_ms(set->expiry.ms);
        }
        break;
      case Expiry::Kind::absolute_ms:
        out->set_expire_at_ms(set->expiry.ms);
        break;
      case Expiry::Kind::keep:
        out->set_keep_ttl(true);
        break;
    }
    return write;
  }
  if (const auto* del = std::get_if<DelRequest>(&request)) {
    for (const auto& key : del->keys) write.mutable_del()->add_keys(key);
    return write;
  }
  if (const auto* mset = std::get_if<MSetRequest>(&request)) {
    for (const auto& [key, value] : mset->pairs) {
      proto::KeyValue* pair = write.mutable_mset()->add_pairs();
      pair->set_key(key);
      pair->set_value(value);
    }
    return write;
  }
  if (const auto* incr = std::get_if<IncrByRequest>(&request)) {
    write.mutable_incr_by()->set_key(incr->key);
    write.mutable_incr_by()->set_delta(incr->delta);
    return write;
  }
  if (const auto* cas = std::get_if<CasRequest>(&request)) {
    proto::CompareAndSet* out = write.mutable_cas();
    out->set_key(cas->key);
    out->set_has_expected(cas->expected.has_value());
    if (cas->expected) out->set_expected(*cas->expected);
    out->set_value(cas->value);
    return write;
  }
  if (const auto* expire = std::get_if<ExpireRequest>(&request)) {
    proto::SetExpiry* out = write.mutable_set_expiry();
    out->set_key(expire->key);
    out->set_condition(static_cast<proto::SetExpiry::Condition>(expire->condition));
    switch (expire->expiry.kind) {
      case Expiry::Kind::relative_ms:
        if (now_ms) {
          out->set_expire_at_ms(*now_ms + expire->expiry.ms);
        } else {
          out->set_expire_in_ms(expire->expiry.ms);
        }
        break;
      case Expiry::Kind::absolute_ms:
        out->set_expire_at_ms(expire->expiry.ms);
        break;
      default:
        out->set_persist(true);
        break;
    }
    return write;
  }
  if (const auto* command = std::get_if<CommandRequest>(&request); command && is_write(request)) {
    std::vector<std::string> argv = command->argv;
    if (now_ms && command->command->absolute) command->command->absolute(argv, *now_ms);
    for (auto& argument : argv) write.mutable_command()->add_argv(std::move(argument));
    return write;
  }
  if (const auto* transaction = std::get_if<TransactionRequest>(&request);
      transaction && transaction->write) {
    proto::Transaction* out = write.mutable_transaction();
    for (const auto& words : transaction->commands) {
      proto::Command* command = out->add_commands();
      for (const auto& word : words) command->add_argv(word);
    }
    for (const auto& watched : transaction->watched) {
      proto::WatchedKey* key = out->add_watched();
      key->set_key(watched.key);
      key->set_version(watched.version);
      key->set_live(watched.live);
    }
    return write;
  }
  REPLIKV_ASSERT(!is_write(request), "every write request has a log form");
  return std::nullopt;
}

namespace {

// now + in, stopped at the largest instant (a relative expiry from a peer is not trusted to fit).
int64_t deadline_after(TimeMs now_ms, int64_t in_ms) {
  int64_t out = 0;
  return __builtin_add_overflow(now_ms, in_ms, &out) ? INT64_MAX : out;
}

}  // namespace

void resolve_expiry(proto::Write& write, TimeMs now_ms) {
  if (write.has_command()) {
    // (A peer's entry: the name is checked, not trusted.)
    const auto& in = write.command().argv();
    const DataCommand* command = in.empty() ? nullptr : find_data_command(in[0]);
    if (command == nullptr || command->absolute == nullptr) return;
    std::vector<std::string> argv(in.begin(), in.end());
    command->absolute(argv, now_ms);
    write.mutable_command()->clear_argv();
    for (auto& argument : argv) write.mutable_command()->add_argv(std::move(argument));
    return;
  }
  if (write.has_set_expiry() && !write.set_expiry().persist() &&
      write.set_expiry().expire_at_ms() == 0) {
    proto::SetExpiry* expire = write.mutable_set_expiry();
    expire->set_expire_at_ms(deadline_after(now_ms, expire->expire_in_ms()));
    expire->set_expire_in_ms(0);
    return;
  }
  if (!write.has_set() || write.set().expire_in_ms() == 0) return;
  proto::Set* set = write.mutable_set();
  set->set_expire_at_ms(deadline_after(now_ms, set->expire_in_ms()));
  set->set_expire_in_ms(0);
}

bool is_valid_transaction_write(const proto::Write& write) {
  if (write.transaction().commands().empty()) return false;
  for (const auto& command : write.transaction().commands()) {
    if (command.argv().empty()) return false;
    const CommandSpec* spec = find_command(command.argv(0));
    if (spec == nullptr || refuse_in_transaction(*spec) ||
        spec->handler != CommandSpec::Handler::core || check_arity(*spec, command.argv_size()))
      return false;
  }
  return true;
}

bool is_valid_command_write(const proto::Write& write) {
  const auto& in = write.command().argv();
  if (in.empty()) return false;
  std::vector<std::string_view> argv(in.begin(), in.end());
  const auto parsed = parse_data_command(argv);
  return parsed && std::holds_alternative<Request>(*parsed) && is_write(std::get<Request>(*parsed));
}

Request from_log_write(const proto::Write& write) {
  switch (write.op_case()) {
    case proto::Write::kSet: {
      const proto::Set& set = write.set();
      SetRequest out{set.key(), set.value(), {}, from_proto(set.condition()), set.return_old()};
      if (set.keep_ttl()) {
        out.expiry.kind = Expiry::Kind::keep;
      } else if (set.expire_at_ms() != 0) {
        out.expiry = {Expiry::Kind::absolute_ms, set.expire_at_ms()};
      }
      return out;
    }
    case proto::Write::kDel:
      return DelRequest{{write.del().keys().begin(), write.del().keys().end()}};
    case proto::Write::kMset: {
      MSetRequest out;
      for (const auto& pair : write.mset().pairs())
        out.pairs.emplace_back(pair.key(), pair.value());
      return out;
    }
    case proto::Write::kIncrBy:
      return IncrByRequest{write.incr_by().key(), write.incr_by().delta()};
    case proto::Write::kCas: {
      const proto::CompareAndSet& cas = write.cas();
      return CasRequest{
          cas.key(), cas.has_expected() ? std::optional<std::string>(cas.expected()) : std::nullopt,
          cas.value()};
    }
    case proto::Write::kSetExpiry: {
      const proto::SetExpiry& expire = write.set_expiry();
      ExpireRequest out{
          expire.key(), {}, static_cast<ExpireRequest::Condition>(expire.condition())};
      if (!expire.persist()) out.expiry = {Expiry::Kind::absolute_ms, expire.expire_at_ms()};
      return out;
    }
    case proto::Write::kCommand: {
      // Not checked again here: a command whose arguments no longer parse (a time that grew
      // past its range, a peer's bug) answers its error when it runs, on every replica alike —
      // never a node stopped on an entry it cannot take back.
      const auto& in = write.command().argv();
      const CommandSpec* spec = in.empty() ? nullptr : find_command(in[0]);
      const DataCommand* command = spec != nullptr && spec->handler == CommandSpec::Handler::core
                                       ? find_data_command(spec->name)
                                       : nullptr;
      REPLIKV_ASSERT(command != nullptr, "a log entry's command is one this version runs");
      CommandRequest out{spec, command, {in.begin(), in.end()}};
      out.argv[0] = std::string(spec->name);
      return out;
    }
    case proto::Write::kTransaction: {
      TransactionRequest out;
      out.write = true;
      for (const auto& command : write.transaction().commands())
        out.commands.emplace_back(command.argv().begin(), command.argv().end());
      for (const auto& watched : write.transaction().watched())
        out.watched.push_back({watched.key(), watched.version(), watched.live()});
      return out;
    }
    case proto::Write::kExpire:
      break;  // not a client request: the replica applies it itself
    case proto::Write::OP_NOT_SET:
      break;
  }
  REPLIKV_ASSERT(false, "a log write with no operation");
  return DelRequest{};
}

}  // namespace replikv::core
