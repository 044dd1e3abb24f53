// What a checker concludes about a history.
#pragma once

#include <map>
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
  // The summary's numbers by name (e.g. "lost", "p99_ms"), for tools that tabulate results.
  std::map<std::string, double> figures;
};

const char* to_string(Verdict verdict);

// Appends a line of evidence to `result`, up to `max` of them (then one "…").
void add_detail(CheckResult& result, std::string line, size_t max = 20);

}  // namespace replikv::check
