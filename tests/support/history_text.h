// Parses a JSON Lines history written inline in a test; a parse error fails the test.
#pragma once

#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "check/history.h"

namespace replikv::testing {

inline check::History parse_history_text(const std::string& jsonl) {
  std::istringstream input(jsonl);
  auto parsed = check::parse_history(input);
  if (auto* error = std::get_if<check::ParseError>(&parsed)) {
    ADD_FAILURE() << "line " << error->line << ": " << error->message;
    return {};
  }
  return std::get<check::History>(parsed);
}

}  // namespace replikv::testing
