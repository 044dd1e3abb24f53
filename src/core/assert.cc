#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace replikv::core {

void assertion_failed(const char* condition, const char* file, int line, const char* message) {
  std::fprintf(stderr, "replikv: invariant broken at %s:%d: %s (%s)\n", file, line, message,
               condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace replikv::core
