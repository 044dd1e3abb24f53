#include "runtime/resp.h"

#include <charconv>

#include <fmt/format.h>

namespace replikv::runtime {
namespace {

// Parses the decimal integer of a length line ("*3", "$10"): optional '-', digits, nothing else.
bool parse_length(std::string_view text, int64_t& value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// "+text\r\n" or "-text\r\n". Status and error lines cannot carry CR or LF; Redis replaces them
// with spaces too.
void append_line(std::string& out, char type, std::string_view text) {
  out.push_back(type);
  for (const char c : text) out.push_back((c == '\r' || c == '\n') ? ' ' : c);
  out.append("\r\n");
}

// ":42\r\n", "$5\r\n", "*3\r\n": a type byte, a decimal number, CRLF.
void append_number_line(std::string& out, char type, int64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.push_back(type);
  out.append(digits, end);
  out.append("\r\n");
}

}  // namespace

ParseStatus RespParser::fail(std::string message) {
  error_ = "Protocol error: " + std::move(message);
  return ParseStatus::error;
}

void RespParser::reset_request() {
  in_multibulk_ = false;
  elements_expected_ = 0;
  position_ = 0;
  spans_.clear();
  bytes_needed_ = 0;
}

ParseStatus RespParser::parse(std::string_view input) {
  argv_.clear();
  consumed_ = 0;
  if (!in_multibulk_) {
    if (input.empty()) return ParseStatus::need_more;
    if (input[0] != '*') return parse_inline(input);
    in_multibulk_ = true;
    elements_expected_ = -1;
    position_ = 0;
    spans_.clear();
  }
  return parse_multibulk(input);
}

ParseStatus RespParser::parse_multibulk(std::string_view input) {
  if (elements_expected_ < 0) {
    // Limits are judged the same whether the line arrived whole or in pieces, so the outcome
    // never depends on how TCP split the bytes.
    const size_t crlf = input.find("\r\n", 1);
    if ((crlf == std::string_view::npos ? input.size() : crlf) > limits_.inline_bytes_max) {
      return fail("too big mbulk count string");
    }
    if (crlf == std::string_view::npos) return ParseStatus::need_more;
    int64_t count = 0;
    if (!parse_length(input.substr(1, crlf - 1), count) ||
        count > static_cast<int64_t>(limits_.array_length_max)) {
      return fail("invalid multibulk length");
    }
    position_ = crlf + 2;
    if (count <= 0) {  // An empty request: nothing to run, as in Redis.
      consumed_ = position_;
      reset_request();
      return ParseStatus::command;
    }
    elements_expected_ = count;
    spans_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  }
  while (static_cast<int64_t>(spans_.size()) < elements_expected_) {
    if (position_ >= input.size()) {
      bytes_needed_ = position_ + 1;
      return ParseStatus::need_more;
    }
    if (input[position_] != '$') {
      return fail(fmt::format("expected '$', got '{}'", input[position_]));
    }
    const size_t crlf = input.find("\r\n", position_ + 1);
    if ((crlf == std::string_view::npos ? input.size() : crlf) - position_ >
        limits_.inline_bytes_max) {
      return fail("too big bulk count string");
    }
    if (crlf == std::string_view::npos) {
      bytes_needed_ = input.size() + 1;
      return ParseStatus::need_more;
    }
    int64_t length = 0;
    if (!parse_length(input.substr(position_ + 1, crlf - position_ - 1), length) || length < 0 ||
        static_cast<uint64_t>(length) > limits_.bulk_bytes_max) {
      return fail("invalid bulk length");
    }
    const size_t data_start = crlf + 2;
    const size_t end = data_start + static_cast<size_t>(length) + 2;
    if (input.size() < end) {
      bytes_needed_ = end;
      return ParseStatus::need_more;
    }
    if (input[end - 2] != '\r' || input[end - 1] != '\n') {
      return fail("bulk string not followed by CRLF");
    }
    spans_.emplace_back(data_start, static_cast<size_t>(length));
    position_ = end;
  }
  argv_.reserve(spans_.size());
  for (const auto& [offset, length] : spans_) argv_.push_back(input.substr(offset, length));
  consumed_ = position_;
  reset_request();
  return ParseStatus::command;
}

ParseStatus RespParser::parse_inline(std::string_view input) {
  const size_t newline = input.find('\n');
  if ((newline == std::string_view::npos ? input.size() : newline) > limits_.inline_bytes_max) {
    return fail("too big inline request");
  }
  if (newline == std::string_view::npos) {
    bytes_needed_ = input.size() + 1;
    return ParseStatus::need_more;
  }
  std::string_view line = input.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!split_inline_arguments(line, inline_args_)) return fail("unbalanced quotes in request");
  for (const auto& arg : inline_args_) argv_.push_back(arg);
  consumed_ = newline + 1;
  return ParseStatus::command;
}

bool split_inline_arguments(std::string_view line, std::vector<std::string>& out) {
  out.clear();
  size_t i = 0;
  while (true) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) return true;
    std::string current;
    bool in_double = false, in_single = false, done = false;
    while (!done) {
      if (in_double) {
        if (i >= line.size()) return false;
        if (line[i] == '\\' && i + 3 < line.size() && line[i + 1] == 'x' &&
            hex_digit(line[i + 2]) >= 0 && hex_digit(line[i + 3]) >= 0) {
          current.push_back(
              static_cast<char>(hex_digit(line[i + 2]) * 16 + hex_digit(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          switch (line[i]) {
            case 'n':
              current.push_back('\n');
              break;
            case 'r':
              current.push_back('\r');
              break;
            case 't':
              current.push_back('\t');
              break;
            case 'b':
              current.push_back('\b');
              break;
            case 'a':
              current.push_back('\a');
              break;
            default:
              current.push_back(line[i]);
              break;
          }
        } else if (line[i] == '"') {
          // The closing quote must be followed by a space or the end of the line.
          if (i + 1 < line.size() && !is_space(line[i + 1])) return false;
          done = true;
        } else {
          current.push_back(line[i]);
        }
      } else if (in_single) {
        if (i >= line.size()) return false;
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '\'') {
          ++i;
          current.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < line.size() && !is_space(line[i + 1])) return false;
          done = true;
        } else {
          current.push_back(line[i]);
        }
      } else {
        if (i >= line.size()) {
          done = true;
          break;
        }
        switch (line[i]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\v':
          case '\f':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current.push_back(line[i]);
            break;
        }
      }
      if (i < line.size()) ++i;
    }
    out.push_back(std::move(current));
  }
}

void encode_reply(const core::Reply& reply, std::string& out) {
  using Kind = core::Reply::Kind;
  switch (reply.kind) {
    case Kind::status:
      return append_line(out, '+', reply.text);
    case Kind::error:
      return append_line(out, '-', reply.text);
    case Kind::integer:
      return append_number_line(out, ':', reply.integer);
    case Kind::bulk:
      append_number_line(out, '$', static_cast<int64_t>(reply.text.size()));
      out.append(reply.text);
      out.append("\r\n");
      return;
    case Kind::null:
      out.append("$-1\r\n");
      return;
    case Kind::null_array:
      out.append("*-1\r\n");
      return;
    case Kind::array:
      append_number_line(out, '*', static_cast<int64_t>(reply.elements.size()));
      for (const auto& element : reply.elements) encode_reply(element, out);
      return;
  }
}

}  // namespace replikv::runtime
