#include "runtime/memory_info.h"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>

namespace replikv::runtime {
namespace {

using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);

Mallctl find_mallctl() {
  static const Mallctl found = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  return found;
}

uint64_t resident_bytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long size_pages = 0;
  unsigned long resident_pages = 0;
  const int read = std::fscanf(statm, "%lu %lu", &size_pages, &resident_pages);
  std::fclose(statm);
  if (read != 2) return 0;
  return static_cast<uint64_t>(resident_pages) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

MemoryInfo memory_info() {
  MemoryInfo info{"libc", 0, resident_bytes()};
  if (const Mallctl mallctl = find_mallctl()) {
    const char* version = nullptr;
    size_t length = sizeof(version);
    if (mallctl("version", &version, &length, nullptr, 0) == 0 && version != nullptr) {
      info.allocator = std::string("jemalloc-") + version;
    } else {
      info.allocator = "jemalloc";
    }
    // jemalloc's statistics are refreshed when the epoch is advanced.
    uint64_t epoch = 1;
    length = sizeof(epoch);
    mallctl("epoch", &epoch, &length, &epoch, sizeof(epoch));
    size_t allocated = 0;
    length = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &length, nullptr, 0) == 0) {
      info.allocated_bytes = allocated;
    }
    return info;
  }
  // Under AddressSanitizer its allocator serves malloc, and glibc's counters stay near zero.
  using AllocatedBytes = size_t (*)();
  static const auto sanitizer_allocated = reinterpret_cast<AllocatedBytes>(
      dlsym(RTLD_DEFAULT, "__sanitizer_get_current_allocated_bytes"));
  if (sanitizer_allocated != nullptr) {
    info.allocator = "sanitizer";
    info.allocated_bytes = sanitizer_allocated();
    return info;
  }
  const struct mallinfo2 usage = mallinfo2();
  info.allocated_bytes = usage.uordblks + usage.hblkhd;
  return info;
}

}  // namespace replikv::runtime
