#include "core/glob.h"

#include <cstddef>

namespace replikv::core {
namespace {

// Matches one character class starting at pattern[p] == '['. Sets `next` to the index after the
// closing ']' (or the end of the pattern when it is unterminated, as Redis does).
bool match_class(std::string_view pattern, size_t p, char c, size_t& next) {
  ++p;
  bool negate = false;
  if (p < pattern.size() && pattern[p] == '^') {
    negate = true;
    ++p;
  }
  bool matched = false;
  while (p < pattern.size() && pattern[p] != ']') {
    if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      if (pattern[p + 1] == c) matched = true;
      p += 2;
    } else if (p + 2 < pattern.size() && pattern[p + 1] == '-' && pattern[p + 2] != ']') {
      char low = pattern[p], high = pattern[p + 2];
      if (low > high) std::swap(low, high);
      if (c >= low && c <= high) matched = true;
      p += 3;
    } else {
      if (pattern[p] == c) matched = true;
      ++p;
    }
  }
  next = p < pattern.size() ? p + 1 : p;
  return matched != negate;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        while (p < pattern.size() && pattern[p] == '*') ++p;
        if (p == pattern.size()) return true;
        star_p = p;
        star_t = t;
        continue;
      }
      size_t next = p + 1;
      bool ok = false;
      if (pc == '?') {
        ok = true;
      } else if (pc == '[') {
        ok = match_class(pattern, p, text[t], next);
      } else if (pc == '\\' && p + 1 < pattern.size()) {
        ok = pattern[p + 1] == text[t];
        next = p + 2;
      } else {
        ok = pc == text[t];
      }
      if (ok) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace replikv::core
