// What a checker concludes about a history.
#pragma once

#include <string>
#include <vector>

namespace replikv::check {

enum class Verdict : uint8_t {
  valid,    // no violation
  invalid,  // a violation, described in `details`
  unknown,  // the checker's time or memory budget ran out first
};

struct CheckResult {
  std::string checker;
  Verdict verdict = Verdict::valid;
  std::string summary;               // one line
  std::vector<std::string> details;  // the evidence, a line each
};

const char* to_string(Verdict verdict);

}  // namespace replikv::check
