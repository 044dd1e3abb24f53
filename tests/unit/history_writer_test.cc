// The history writer (check/history.h) and the parser agree: what any tool writes, every checker
// reads back as written — keys that need escaping, optional fields, and the other event types.
#include <sstream>

#include <gtest/gtest.h>

#include "check/history.h"
#include "check/linearizability.h"

namespace replikv::check {
namespace {

std::variant<History, ParseError> parse_written(const fmt::memory_buffer& out) {
  std::istringstream in(fmt::to_string(out));
  return parse_history(in);
}

TEST(HistoryWriter, WhatIsWrittenParsesBackAsWritten) {
  fmt::memory_buffer out;
  write_event(out, {1, EventType::invoke, Function::write, "k1", "7", 2, false, ""}, 10);
  write_event(out, {1, EventType::ok, Function::write, "k1", "7", 2, false, ""}, 20);
  write_event(
      out,
      {2, EventType::invoke, Function::read, "a \"quoted\" key", "null", 3, true, "bounded:200"},
      30);
  write_event(
      out, {2, EventType::ok, Function::read, "a \"quoted\" key", "7", 3, true, "bounded:200"}, 40);
  write_event(out, {3, EventType::invoke, Function::cas, "k1", "[7,8]", std::nullopt, false, ""},
              50);
  write_event(out, {3, EventType::info, Function::cas, "k1", "[7,8]", std::nullopt, false, ""}, 60);
  write_nemesis(out, "kill n1", 65);
  write_heal(out, 70);
  write_digest(out, 1, json_string("00ff"), 80);
  const auto parsed = parse_written(out);
  ASSERT_TRUE(std::holds_alternative<History>(parsed))
      << std::get<ParseError>(parsed).message << "\n"
      << fmt::to_string(out);
  const History& history = std::get<History>(parsed);
  ASSERT_EQ(history.operations.size(), 3u);
  const Operation& write = history.operations[0];
  EXPECT_EQ(write.outcome, Outcome::ok);
  EXPECT_EQ(write.value, Value{int64_t{7}});
  EXPECT_EQ(write.node, "2");
  EXPECT_EQ(write.invoke_ns, 10);
  EXPECT_EQ(write.complete_ns, 20);
  const Operation& read = history.operations[1];
  EXPECT_EQ(read.key, "a \"quoted\" key");
  EXPECT_TRUE(read.final);
  EXPECT_EQ(read.consistency, "bounded:200");
  const Operation& cas = history.operations[2];
  EXPECT_EQ(cas.outcome, Outcome::info);
  EXPECT_EQ(cas.expected, Value{int64_t{7}});
  EXPECT_EQ(cas.value, Value{int64_t{8}});
  EXPECT_EQ(history.last_heal_ns, 70);
  ASSERT_EQ(history.nemesis.size(), 1u);
  EXPECT_EQ(history.nemesis[0].what, "kill n1");
  ASSERT_EQ(history.digests.size(), 1u);
  EXPECT_EQ(history.digests[0].value, Value{std::string("00ff")});
}

// A strategy's own members ride on any event and come back as JSON text; a read's several
// concurrent values come back as values, and the linearizability checker refuses them.
TEST(HistoryWriter, AStrategysFieldsAndSeveralValuesParseBack) {
  fmt::memory_buffer out;
  const std::vector<std::pair<std::string, std::string>> write_fields = {{"position", "\"3:120\""},
                                                                         {"context", "{\"n1\":4}"}};
  const std::vector<std::pair<std::string, std::string>> read_fields = {{"quorum", "[2,3]"}};
  write_event(out, {1, EventType::invoke, Function::write, "k", "5", 1, false, ""}, 10);
  write_event(out, {1, EventType::ok, Function::write, "k", "5", 1, false, "", &write_fields}, 20);
  write_event(out, {2, EventType::invoke, Function::read, "k", "null", 2, false, ""}, 30);
  write_event(
      out, {2, EventType::ok, Function::read, "k", "[5,\"six\"]", 2, false, "", &read_fields}, 40);
  const auto parsed = parse_written(out);
  ASSERT_TRUE(std::holds_alternative<History>(parsed))
      << std::get<ParseError>(parsed).message << "\n"
      << fmt::to_string(out);
  const History& history = std::get<History>(parsed);
  ASSERT_EQ(history.operations.size(), 2u);
  const Operation& write = history.operations[0];
  EXPECT_EQ(write.fields.at("position"), "\"3:120\"");
  EXPECT_EQ(write.fields.at("context"), "{\"n1\":4}");
  EXPECT_EQ(write.fields.count("node"), 0u) << "the format's own members are not a strategy's";
  const Operation& read = history.operations[1];
  EXPECT_EQ(read.fields.at("quorum"), "[2,3]");
  EXPECT_TRUE(read.value.is_null());
  EXPECT_EQ(read.values, (std::vector<Value>{Value{int64_t{5}}, Value{std::string("six")}}));
  EXPECT_EQ(check_linearizability(history).verdict, Verdict::invalid);

  // One value in an array is not several; an array of arrays is not values.
  for (const char* bad : {"[5]", "[[5],6]"}) {
    fmt::memory_buffer one;
    write_event(one, {1, EventType::invoke, Function::read, "k", "null", 1, false, ""}, 10);
    write_event(one, {1, EventType::ok, Function::read, "k", bad, 1, false, ""}, 20);
    EXPECT_TRUE(std::holds_alternative<ParseError>(parse_written(one))) << bad;
  }
}

}  // namespace
}  // namespace replikv::check
