// Parsing commands: arity, options, and Redis's error words.
#include <gtest/gtest.h>

#include "core/command.h"
#include "core/command_docs.h"
#include "core/strategy.h"

namespace replikv::core {
namespace {

std::variant<Request, Reply> parse(std::vector<std::string_view> argv) {
  const CommandSpec* spec = find_command(argv[0]);
  EXPECT_NE(spec, nullptr);
  if (auto error = check_arity(*spec, argv.size())) return *error;
  return parse_request(*spec, argv);
}

std::string error_of(std::vector<std::string_view> argv) {
  auto parsed = parse(std::move(argv));
  const auto* reply = std::get_if<Reply>(&parsed);
  return reply ? reply->text : "(parsed)";
}

TEST(Command, LookupIgnoresCase) {
  ASSERT_NE(find_command("gEt"), nullptr);
  EXPECT_EQ(find_command("GET")->name, "get");
  EXPECT_EQ(find_command("nosuch"), nullptr);
  EXPECT_EQ(find_command("ge"), nullptr);
}

TEST(Command, Arity) {
  EXPECT_EQ(error_of({"GET"}), "ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(error_of({"GET", "a", "b"}), "ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(error_of({"MSET", "a", "1", "b"}), "ERR wrong number of arguments for 'mset' command");
  EXPECT_EQ(error_of({"DEL"}), "ERR wrong number of arguments for 'del' command");
}

TEST(Command, Cas) {
  const auto with = std::get<CasRequest>(std::get<Request>(parse({"CAS", "k", "old", "new"})));
  EXPECT_EQ(with.expected, std::optional<std::string>("old"));
  EXPECT_EQ(with.value, "new");
  const auto absent = std::get<CasRequest>(std::get<Request>(parse({"cas", "k", "new"})));
  EXPECT_FALSE(absent.expected.has_value());
  EXPECT_EQ(error_of({"CAS", "k"}), "ERR wrong number of arguments for 'cas' command");
  EXPECT_EQ(error_of({"CAS", "k", "a", "b", "c"}),
            "ERR wrong number of arguments for 'cas' command");
  EXPECT_TRUE(find_command("cas")->write);
}

TEST(Command, ExpireOptions) {
  EXPECT_EQ(error_of({"EXPIRE", "a", "10", "NX", "XX"}),
            "ERR NX and XX, GT or LT options at the same time are not compatible");
  EXPECT_EQ(error_of({"EXPIRE", "a", "10", "BOGUS"}), "ERR Unsupported option BOGUS");
  EXPECT_EQ(error_of({"EXPIRE", "a", "x"}), "ERR value is not an integer or out of range");
  EXPECT_EQ(error_of({"EXPIRE", "a", "9223372036854775807"}),
            "ERR invalid expire time in 'expire' command");
  EXPECT_EQ(error_of({"PERSIST"}), "ERR wrong number of arguments for 'persist' command");
  const auto at =
      std::get<ExpireRequest>(std::get<Request>(parse({"pexpireat", "k", "1234", "gt"})));
  EXPECT_EQ(at.expiry.kind, Expiry::Kind::absolute_ms);
  EXPECT_EQ(at.expiry.ms, 1234);
  EXPECT_EQ(at.condition, ExpireRequest::Condition::if_greater);
}

TEST(Command, SetOptions) {
  auto parsed = parse({"set", "k", "v", "px", "1500", "nx", "get"});
  const auto& set = std::get<SetRequest>(std::get<Request>(parsed));
  EXPECT_EQ(set.expiry.kind, Expiry::Kind::relative_ms);
  EXPECT_EQ(set.expiry.ms, 1500);
  EXPECT_EQ(set.condition, SetRequest::Condition::if_absent);
  EXPECT_TRUE(set.return_old);
  auto exat = parse({"SET", "k", "v", "EXAT", "2"});
  EXPECT_EQ(std::get<SetRequest>(std::get<Request>(exat)).expiry.ms, 2000);
}

TEST(Command, SetBadOptions) {
  EXPECT_EQ(error_of({"SET", "k", "v", "NX", "XX"}), "ERR syntax error");
  EXPECT_EQ(error_of({"SET", "k", "v", "EX", "1", "PX", "1"}), "ERR syntax error");
  EXPECT_EQ(error_of({"SET", "k", "v", "EX"}), "ERR syntax error");
  EXPECT_EQ(error_of({"SET", "k", "v", "BOGUS"}), "ERR syntax error");
  EXPECT_EQ(error_of({"SET", "k", "v", "EX", "x"}), "ERR value is not an integer or out of range");
  EXPECT_EQ(error_of({"SET", "k", "v", "EX", "0"}), "ERR invalid expire time in 'set' command");
  EXPECT_EQ(error_of({"SET", "k", "v", "PX", "-5"}), "ERR invalid expire time in 'set' command");
  EXPECT_EQ(error_of({"SET", "k", "v", "EX", "9223372036854775807"}),
            "ERR invalid expire time in 'set' command");
  EXPECT_EQ(error_of({"SET", "k", "v", "KEEPTTL", "EX", "1"}), "ERR syntax error");
}

TEST(Command, IntegerArguments) {
  EXPECT_EQ(error_of({"INCRBY", "k", "1.5"}), "ERR value is not an integer or out of range");
  EXPECT_EQ(error_of({"INCRBY", "k", "99999999999999999999"}),
            "ERR value is not an integer or out of range");
  EXPECT_EQ(error_of({"DECRBY", "k", "-9223372036854775808"}), "ERR decrement would overflow");
  EXPECT_EQ(parse_int64("-12"), -12);
  EXPECT_EQ(parse_int64("+1"), std::nullopt);
  EXPECT_EQ(parse_int64(" 1"), std::nullopt);
  EXPECT_EQ(parse_int64("01"), std::nullopt);
  EXPECT_EQ(parse_int64(""), std::nullopt);
}

TEST(Command, ScanArguments) {
  EXPECT_EQ(error_of({"SCAN", "x"}), "ERR invalid cursor");
  EXPECT_EQ(error_of({"SCAN", "0", "COUNT", "0"}), "ERR syntax error");
  EXPECT_EQ(error_of({"SCAN", "0", "COUNT"}), "ERR syntax error");
  EXPECT_EQ(error_of({"SCAN", "0", "WHAT", "1"}), "ERR syntax error");
  auto parsed = parse({"SCAN", "18446744073709551615", "MATCH", "a*", "COUNT", "5"});
  const auto& scan = std::get<ScanRequest>(std::get<Request>(parsed));
  EXPECT_EQ(scan.cursor, 18446744073709551615ull);
  EXPECT_EQ(scan.pattern, "a*");
  EXPECT_EQ(scan.count, 5u);
}

TEST(Command, WritesAreKnown) {
  EXPECT_TRUE(is_write(std::get<Request>(parse({"SET", "k", "v"}))));
  EXPECT_TRUE(is_write(std::get<Request>(parse({"INCR", "k"}))));
  EXPECT_FALSE(is_write(std::get<Request>(parse({"GET", "k"}))));
  for (const auto& spec : all_commands()) {
    EXPECT_EQ(find_command(spec.name), &spec);
  }
}

// COMMAND DOCS (core/command_docs.h): redis-cli turns each command's arguments into the hint it
// shows; rendered here by redis-cli 7.0's rules (a token, then the name or the children joined by
// '|' for one-of and ' ' for a block; "[…]" when optional; " [… ...]" again when multiple).
std::string hint_of(const Reply& argument) {
  std::string name, type, token;
  bool optional = false, multiple = false;
  const Reply* children = nullptr;
  for (size_t i = 0; i + 1 < argument.elements.size(); i += 2) {
    const std::string& field = argument.elements[i].text;
    const Reply& value = argument.elements[i + 1];
    if (field == "name") name = value.text;
    if (field == "type") type = value.text;
    if (field == "token") token = value.text;
    if (field == "arguments") children = &value;
    if (field == "flags") {
      for (const auto& flag : value.elements) {
        EXPECT_EQ(flag.kind, Reply::Kind::status) << "redis-cli asserts flags are status replies";
        optional |= flag.text == "optional";
        multiple |= flag.text == "multiple";
      }
    }
  }
  std::string repeat;
  if (type == "oneof" || type == "block") {
    EXPECT_NE(children, nullptr);
    for (const auto& child : children->elements) {
      repeat += (repeat.empty() ? "" : (type == "oneof" ? "|" : " ")) + hint_of(child);
    }
  } else if (type != "pure-token") {
    EXPECT_TRUE(type == "key" || type == "string") << type;
    repeat = name;
  }
  if (!token.empty() && type != "pure-token") token += " ";
  std::string out = (optional ? "[" : "") + token + repeat;
  if (multiple) out += " [" + repeat + " ...]";
  return out + (optional ? "]" : "");
}

std::string hint(std::string_view name) {
  const auto doc = find_command_doc(name);
  EXPECT_TRUE(doc.has_value()) << name;
  if (!doc) return {};
  const auto arguments = syntax_arguments(doc->syntax);
  EXPECT_TRUE(arguments.has_value()) << name;
  if (!arguments) return {};
  std::string out;
  for (const auto& argument : arguments->elements)
    out += (out.empty() ? "" : " ") + hint_of(argument);
  return out;
}

TEST(CommandDocs, EveryCommandOfEveryStrategyHasDocsWhoseSyntaxParses) {
  size_t documented = 0;
  const auto check = [&](const CommandSpec& spec) {
    const auto doc = find_command_doc(spec.name);
    ASSERT_TRUE(doc.has_value()) << spec.name << " has no COMMAND DOCS entry";
    EXPECT_TRUE(syntax_arguments(doc->syntax).has_value()) << spec.name << ": " << doc->syntax;
    EXPECT_FALSE(doc->summary.empty()) << spec.name;
    ++documented;
  };
  for (const auto& spec : all_commands()) check(spec);
  for (const char* strategy : {"standalone", "leader", "multi-leader", "leaderless"}) {
    const Strategy* found = find_strategy(strategy);
    ASSERT_NE(found, nullptr) << strategy;
    for (const auto& spec : found->commands()) check(spec);
  }
  EXPECT_GT(documented, all_commands().size());
  // A syntax that does not parse is caught.
  for (const char* bad : {"[key", "key]", "(A|)", "{}", "EX:", "key|"}) {
    EXPECT_FALSE(syntax_arguments(bad).has_value()) << bad;
  }
}

TEST(CommandDocs, HintsReadAsRedisWritesThem) {
  EXPECT_EQ(hint("get"), "key");
  EXPECT_EQ(hint("set"),
            "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT "
            "unix-time-milliseconds|KEEPTTL]");
  EXPECT_EQ(hint("del"), "key [key ...]");
  EXPECT_EQ(hint("hset"), "key field value [field value ...]");
  EXPECT_EQ(hint("zadd"), "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]");
  EXPECT_EQ(hint("zrange"),
            "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]");
  EXPECT_EQ(hint("scan"), "cursor [MATCH pattern] [COUNT count] [TYPE type]");
  EXPECT_EQ(hint("info"), "[section]");
  EXPECT_EQ(
      hint("command"),
      "[COUNT|INFO [command-name [command-name ...]]|DOCS [command-name [command-name ...]]]");
  EXPECT_EQ(hint("ping"), "[message]");
  EXPECT_EQ(hint("dbsize"), "");
}

}  // namespace
}  // namespace replikv::core
