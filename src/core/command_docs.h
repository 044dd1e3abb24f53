// COMMAND DOCS: what each command replikv answers is for and how it is called, in the shape Redis 7
// gives it — redis-cli builds its hints and HELP from this reply, so they show exactly the
// commands and arguments that exist here.
//
// Each command's arguments are written as a compact syntax and turned into Redis's argument tree:
//
//   name         an argument (type "key" when the name ends in "key", "destination" or
//                "source"; "string" otherwise — the type only changes how a client shows it)
//   NAME         a pure token (an option word)
//   NAME:value   a token followed by its value (EX seconds)
//   [ … ]        optional
//   ( a | b )    one of
//   { a b }      a block: arguments that go together
//   item+        one or more (a trailing + on a name, a token or a closing bracket)
//
// e.g. SET's "key value [(NX|XX)] [GET] [(EX:seconds|PX:milliseconds|KEEPTTL)]".
#pragma once

#include <optional>
#include <string_view>

#include "core/reply.h"

namespace replikv::core {

struct CommandDoc {
  std::string_view name;  // lower case, as in the command table
  std::string_view group;
  std::string_view summary;
  std::string_view syntax;
};

// The doc of `name` (lower case), or nullopt when it has none.
std::optional<CommandDoc> find_command_doc(std::string_view name);
// Its COMMAND DOCS entry: summary, since, group, complexity-free, and the arguments.
Reply command_doc_reply(const CommandDoc& doc);
// The argument tree of a syntax as COMMAND DOCS gives it (an array of argument maps, flattened
// in RESP2); nullopt when the syntax does not parse (a test holds every table entry to it).
std::optional<Reply> syntax_arguments(std::string_view syntax);

}  // namespace replikv::core
