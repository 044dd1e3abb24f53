// Fuzz target for the RESP parser.
//
// Beyond "does not crash": the input is parsed twice — whole, and in pieces whose sizes come from
// the input — and both must yield the same commands and the same error; every command is
// re-encoded as a multibulk request and must parse back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/resp.h"

namespace {

using replikv::runtime::ParseStatus;
using replikv::runtime::RespLimits;
using replikv::runtime::RespParser;

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  std::string error;
};

void check(bool condition) {
  if (!condition) std::abort();
}

RespLimits small_limits() {
  RespLimits limits;
  limits.bulk_bytes_max = 4096;
  limits.array_length_max = 64;
  limits.inline_bytes_max = 512;
  return limits;
}

// Feeds `input` to a parser `step` bytes at a time (all at once when step is 0).
Outcome parse_all(std::string_view input, size_t step) {
  Outcome outcome;
  RespParser parser(small_limits());
  std::string buffer;
  size_t fed = 0;
  while (true) {
    const ParseStatus status = parser.parse(buffer);
    if (status == ParseStatus::command) {
      check(parser.consumed() > 0 && parser.consumed() <= buffer.size());
      if (!parser.argv().empty()) {
        outcome.commands.emplace_back(parser.argv().begin(), parser.argv().end());
      }
      buffer.erase(0, parser.consumed());
      continue;
    }
    if (status == ParseStatus::error) {
      check(!parser.error().empty());
      outcome.error = parser.error();
      return outcome;
    }
    if (fed == input.size()) return outcome;
    const size_t n = step == 0 ? input.size() - fed : std::min(step, input.size() - fed);
    buffer.append(input.substr(fed, n));
    fed += n;
  }
}

std::string encode_multibulk(const std::vector<std::string>& argv) {
  std::string out = "*" + std::to_string(argv.size()) + "\r\n";
  for (const auto& arg : argv) out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 17;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = parse_all(input, 0);
  const Outcome pieces = parse_all(input, step);
  check(whole.commands == pieces.commands);
  // The parser judges limits the same way whatever the split, so the errors agree too.
  check(whole.error == pieces.error);
  for (const auto& argv : whole.commands) {
    RespParser parser(small_limits());
    const std::string encoded = encode_multibulk(argv);
    check(parser.parse(encoded) == ParseStatus::command);
    check(std::vector<std::string>(parser.argv().begin(), parser.argv().end()) == argv);
    check(parser.consumed() == encoded.size());
  }
  return 0;
}
