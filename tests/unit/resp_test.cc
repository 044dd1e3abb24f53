// The RESP codec, table-driven: every well-formed shape, every malformed one, and pieces.
#include <gtest/gtest.h>

#include "runtime/resp.h"

namespace replikv::runtime {
namespace {

struct ParseCase {
  const char* name;
  std::string input;
  ParseStatus status;
  std::vector<std::string> argv;  // for `command`
  std::string error;              // for `error`
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class RespParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(RespParseTest, ParsesAsExpected) {
  const ParseCase& c = GetParam();
  RespLimits limits;
  limits.bulk_bytes_max = 1024;
  limits.array_length_max = 8;
  limits.inline_bytes_max = 64;
  RespParser parser(limits);
  const ParseStatus status = parser.parse(c.input);
  ASSERT_EQ(status, c.status) << c.name << ": " << parser.error();
  if (status == ParseStatus::command) {
    std::vector<std::string> argv(parser.argv().begin(), parser.argv().end());
    EXPECT_EQ(argv, c.argv);
  }
  if (status == ParseStatus::error) {
    EXPECT_EQ(parser.error(), c.error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RespParseTest,
    ::testing::Values(
        ParseCase{
            "multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", ParseStatus::command, {"GET", "k"}, ""},
        ParseCase{
            "empty bulk", "*2\r\n$3\r\nSET\r\n$0\r\n\r\n", ParseStatus::command, {"SET", ""}, ""},
        ParseCase{"binary bulk",
                  std::string("*1\r\n$3\r\na\0\n\r\n", 13),
                  ParseStatus::command,
                  {std::string("a\0\n", 3)},
                  ""},
        ParseCase{"empty array is skipped", "*0\r\n", ParseStatus::command, {}, ""},
        ParseCase{"negative array is skipped", "*-1\r\n", ParseStatus::command, {}, ""},
        ParseCase{"inline", "PING\r\n", ParseStatus::command, {"PING"}, ""},
        ParseCase{"inline lf only", "SET a b\n", ParseStatus::command, {"SET", "a", "b"}, ""},
        ParseCase{"inline quotes",
                  "SET \"a b\" 'c d'\r\n",
                  ParseStatus::command,
                  {"SET", "a b", "c d"},
                  ""},
        ParseCase{"inline escapes",
                  "SET k \"\\x41\\n\"\r\n",
                  ParseStatus::command,
                  {"SET", "k", "A\n"},
                  ""},
        ParseCase{"blank inline", "\r\n", ParseStatus::command, {}, ""},
        ParseCase{"partial header", "*2\r", ParseStatus::need_more, {}, ""},
        ParseCase{"partial bulk", "*1\r\n$5\r\nab", ParseStatus::need_more, {}, ""},
        ParseCase{"missing element", "*2\r\n$1\r\na\r\n", ParseStatus::need_more, {}, ""},
        ParseCase{"partial inline", "GET k", ParseStatus::need_more, {}, ""},
        ParseCase{"bad count",
                  "*x\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: invalid multibulk length"},
        ParseCase{"count over limit",
                  "*9\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: invalid multibulk length"},
        ParseCase{"no dollar",
                  "*1\r\n:1\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: expected '$', got ':'"},
        ParseCase{"bad bulk length",
                  "*1\r\n$x\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: invalid bulk length"},
        ParseCase{"negative bulk length",
                  "*1\r\n$-2\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: invalid bulk length"},
        ParseCase{"bulk over limit",
                  "*1\r\n$1025\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: invalid bulk length"},
        ParseCase{"bulk without crlf",
                  "*1\r\n$1\r\nabc\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: bulk string not followed by CRLF"},
        ParseCase{"unbalanced quotes",
                  "SET \"a\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: unbalanced quotes in request"},
        ParseCase{"quote then text",
                  "SET \"a\"b\r\n",
                  ParseStatus::error,
                  {},
                  "Protocol error: unbalanced quotes in request"},
        ParseCase{"inline too long",
                  std::string(100, 'a'),
                  ParseStatus::error,
                  {},
                  "Protocol error: too big inline request"},
        ParseCase{"count line too long",
                  "*" + std::string(100, '1'),
                  ParseStatus::error,
                  {},
                  "Protocol error: too big mbulk count string"},
        ParseCase{"bulk line too long",
                  "*1\r\n$" + std::string(100, '1'),
                  ParseStatus::error,
                  {},
                  "Protocol error: too big bulk count string"}),
    [](const ::testing::TestParamInfo<ParseCase>& param_info) {
      std::string name = param_info.param.name;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

TEST(RespParser, PipelinedRequestsComeOneByOne) {
  RespParser parser;
  std::string input = "*1\r\n$4\r\nPING\r\nECHO hi\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  std::vector<std::vector<std::string>> seen;
  std::string_view rest = input;
  while (parser.parse(rest) == ParseStatus::command) {
    seen.emplace_back(parser.argv().begin(), parser.argv().end());
    rest.remove_prefix(parser.consumed());
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1], (std::vector<std::string>{"ECHO", "hi"}));
  EXPECT_EQ(seen[2], (std::vector<std::string>{"GET", "k"}));
  EXPECT_TRUE(rest.empty());
}

TEST(RespParser, ByteByByteGivesTheSameCommand) {
  const std::string input = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$5\r\nworld\r\n";
  RespParser parser;
  std::string buffer;
  for (size_t i = 0; i < input.size(); ++i) {
    buffer.push_back(input[i]);
    const ParseStatus status = parser.parse(buffer);
    if (i + 1 < input.size()) {
      ASSERT_EQ(status, ParseStatus::need_more) << "at byte " << i;
    } else {
      ASSERT_EQ(status, ParseStatus::command);
      EXPECT_EQ(parser.argv().size(), 3u);
      EXPECT_EQ(parser.argv()[2], "world");
      EXPECT_EQ(parser.consumed(), input.size());
    }
  }
}

TEST(RespParser, AskForTheRestOfALargeBulk) {
  RespParser parser;
  const std::string header = "*1\r\n$100000\r\n";
  ASSERT_EQ(parser.parse(header + "abc"), ParseStatus::need_more);
  EXPECT_EQ(parser.bytes_needed(), header.size() + 100000 + 2);
}

TEST(RespEncode, EveryKind) {
  using core::Reply;
  std::string out;
  encode_reply(Reply::ok(), out);
  encode_reply(Reply::error("ERR bad\r\nthing"), out);
  encode_reply(Reply::number(-42), out);
  encode_reply(Reply::bulk("hi"), out);
  encode_reply(Reply::nil(), out);
  encode_reply(Reply::null_array(), out);
  encode_reply(Reply::array({Reply::bulk(""), Reply::number(1)}), out);
  EXPECT_EQ(out,
            "+OK\r\n-ERR bad  thing\r\n:-42\r\n$2\r\nhi\r\n$-1\r\n*-1\r\n*2\r\n$0\r\n\r\n:1\r\n");
}

}  // namespace
}  // namespace replikv::runtime
