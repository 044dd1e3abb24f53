// RESP2: the parser for client requests and the encoder for replies.
//
// Requests come as multibulk arrays (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or as inline commands
// (`GET k\r\n`, with Redis's quoting rules), any number per read (pipelining). The parser keeps
// its progress between reads, so a large value arriving in many pieces is scanned once, not once
// per piece. Every malformed input is a `ParseStatus::error` with Redis's message; the caller
// replies `-ERR <message>` and closes the connection, as Redis does.
//
// Limits (RespLimits) bound memory per connection: the length of one bulk string, the number of
// elements of one array, the length of an inline command.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/reply.h"

namespace replikv::runtime {

struct RespLimits {
  uint64_t bulk_bytes_max = 512ull << 20;   // Redis's proto-max-bulk-len
  uint64_t array_length_max = 1ull << 20;   // elements of one request
  uint64_t inline_bytes_max = 64ull << 10;  // one inline command, and one length line
};

enum class ParseStatus : uint8_t { command, need_more, error };

class RespParser {
 public:
  explicit RespParser(RespLimits limits = {}) : limits_(limits) {}

  // Parses the next request from `input` (the unconsumed bytes; the caller keeps them in place
  // between calls, or passes the same bytes again after moving them). On `command`, `argv()`
  // holds the arguments (views into `input` or into the parser, valid until the next call) and
  // `consumed()` says how many bytes of `input` it used; empty requests (`*0`, blank inline
  // lines) are skipped. On `need_more`, call again with more bytes appended. On `error`,
  // `error()` holds the message; the parser must not be used again.
  ParseStatus parse(std::string_view input);

  const std::vector<std::string_view>& argv() const { return argv_; }
  size_t consumed() const { return consumed_; }
  const std::string& error() const { return error_; }
  // Bytes the current request needs at least before it can complete (a hint for the reader).
  size_t bytes_needed() const { return bytes_needed_; }

 private:
  ParseStatus parse_multibulk(std::string_view input);
  ParseStatus parse_inline(std::string_view input);
  ParseStatus fail(std::string message);
  void reset_request();

  RespLimits limits_;
  // Progress through the current multibulk request, relative to its first byte.
  bool in_multibulk_ = false;
  int64_t elements_expected_ = 0;
  size_t position_ = 0;
  std::vector<std::pair<size_t, size_t>> spans_;  // offset and length of each parsed element
  std::vector<std::string> inline_args_;
  std::vector<std::string_view> argv_;
  size_t consumed_ = 0;
  size_t bytes_needed_ = 0;
  std::string error_;
};

// Splits an inline command line into arguments with Redis's rules: whitespace separates; "…"
// allows \n \r \t \b \a \\ \" and \xHH escapes; '…' allows \'. Returns false on unbalanced quotes
// (or a closing quote not followed by a space).
bool split_inline_arguments(std::string_view line, std::vector<std::string>& out);

// Appends the RESP2 encoding of `reply` to `out`.
void encode_reply(const core::Reply& reply, std::string& out);

}  // namespace replikv::runtime
