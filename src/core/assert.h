// REPLIKV_ASSERT: invariant checks that stay on in every build, release included.
//
// A broken invariant is a bug, not an operating condition: the process prints where and why, then
// aborts, so a simulator run or a test stops at the first wrong step instead of carrying a corrupt
// state forward. Bad input from clients or peers is never asserted on; it is answered with an
// error.
#pragma once

namespace replikv::core {

[[noreturn]] void assertion_failed(const char* condition, const char* file, int line,
                                   const char* message);

}  // namespace replikv::core

#define REPLIKV_ASSERT(condition, message)                                          \
  do {                                                                              \
    if (!(condition)) [[unlikely]] {                                                \
      ::replikv::core::assertion_failed(#condition, __FILE__, __LINE__, (message)); \
    }                                                                               \
  } while (false)
