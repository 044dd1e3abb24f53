// The data commands of the families beyond the first few typed ones (core/command.h): strings
// (data/strings.cc) and the keyspace (data/keys.cc) so far, each family's commands parsed and
// executed in its own file.
//
// A family command travels as its arguments (CommandRequest, core/command.h): the node that takes
// it checks them (`check`: the error Redis gives, before anything is replicated), the log carries
// them (`absolute` first turns a relative time into an instant from the accepting node's clock, as
// every log entry's times are), and every replica runs them (`run`) against its keyspace at the
// entry's time. Parsing is pure, so `run` parses again rather than keeping a typed copy beside
// the arguments: one representation, the one the log holds.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/reply.h"
#include "core/types.h"

namespace replikv::core {

class Keyspace;

using CommandArgs = std::span<const std::string_view>;  // argv[0]: the command's name

struct DataCommand {
  std::string_view name;  // lower case, as in the command table
  // nullopt when the arguments are good; otherwise the error Redis answers them with.
  std::optional<Reply> (*check)(CommandArgs argv);
  // Executes the (checked) command as of `now_ms`.
  Reply (*run)(Keyspace& keyspace, CommandArgs argv, TimeMs now_ms);
  // Rewrites relative times in `argv` as instants from `now_ms`; nullptr when it has none.
  void (*absolute)(std::vector<std::string>& argv, TimeMs now_ms) = nullptr;
};

// The family command called `lower_name`, or nullptr.
const DataCommand* find_data_command(std::string_view lower_name);
// Whether `command` is of a collection family (hashes, sets, sorted sets, lists).
bool is_collection_command(const DataCommand& command);

// A blocking pop (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP): the lists that may serve it, its
// timeout (0: none), and what it answers when the timeout comes first. Its command, run, is one
// try: the pop, or `timeout_reply` when every list is empty (core/blocked_pops.h).
struct BlockingPop {
  std::vector<std::string> keys;
  int64_t timeout_ms = 0;
  Reply timeout_reply;
};
// The blocking pop `argv` (a checked family command, the name in lower case), or nullopt when it
// is not one.
std::optional<BlockingPop> blocking_pop_of(const std::vector<std::string>& argv);

// Each family's commands (the registry above joins them).
std::span<const DataCommand> string_commands();
std::span<const DataCommand> key_commands();
std::span<const DataCommand> hash_commands();
std::span<const DataCommand> set_commands();
std::span<const DataCommand> sorted_set_commands();
std::span<const DataCommand> sorted_set_algebra_commands();  // ZUNION, ZINTER, ZDIFF …
std::span<const DataCommand> list_commands();

// Wraps a command type with `static std::variant<T, Reply> parse(CommandArgs)` and
// `Reply run(Keyspace&, TimeMs) const` into its table row: one parser serves the check and the
// run, so they cannot disagree.
template <typename T>
constexpr DataCommand data_command(std::string_view name,
                                   void (*absolute)(std::vector<std::string>&, TimeMs) = nullptr) {
  return {name,
          [](CommandArgs argv) -> std::optional<Reply> {
            auto parsed = T::parse(argv);
            if (auto* error = std::get_if<Reply>(&parsed)) return std::move(*error);
            return std::nullopt;
          },
          [](Keyspace& keyspace, CommandArgs argv, TimeMs now_ms) -> Reply {
            auto parsed = T::parse(argv);
            if (auto* error = std::get_if<Reply>(&parsed)) return std::move(*error);
            return std::get<T>(parsed).run(keyspace, now_ms);
          },
          absolute};
}

}  // namespace replikv::core
