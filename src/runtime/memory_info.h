// What INFO memory reports: the allocator the process runs on and what it holds.
//
// The `replikv` binary is linked with jemalloc (CMake option REPLIKV_JEMALLOC); sanitizer builds,
// tests and embedders run on the C library's malloc. Which one is live is found at run time, by
// looking up jemalloc's `mallctl`, so this library does not link jemalloc itself.
#pragma once

#include <cstdint>
#include <string>

namespace replikv::runtime {

struct MemoryInfo {
  std::string allocator;     // "jemalloc-5.3.0-…", "libc", or "sanitizer" (ASan's allocator)
  uint64_t allocated_bytes;  // bytes the program holds from the allocator
  uint64_t resident_bytes;   // the process's resident set, as the kernel counts it
};

MemoryInfo memory_info();

}  // namespace replikv::runtime
