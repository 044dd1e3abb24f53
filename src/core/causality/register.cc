#include "core/causality/register.h"

#include <algorithm>
#include <iterator>

namespace replikv::core {

const RegisterEntry* highest_live(const Registers& registers, TimeMs now_ms) {
  const RegisterEntry* best = nullptr;
  for (const auto& entry : registers) {
    if (!entry.second.live(now_ms)) continue;
    if (best == nullptr || ordered_after(entry.first, entry.second, best->first, best->second)) {
      best = &entry;
    }
  }
  return best;
}

std::vector<const RegisterEntry*> live_registers(const Registers& registers, TimeMs now_ms) {
  std::vector<const RegisterEntry*> out;
  for (const auto& entry : registers) {
    if (entry.second.live(now_ms)) out.push_back(&entry);
  }
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return ordered_after(a->first, a->second, b->first, b->second);
  });
  return out;
}

std::vector<Dot> keep_highest(Registers& registers) {
  std::vector<Dot> discarded;
  if (registers.size() < 2) return discarded;
  auto best = registers.begin();
  for (auto it = std::next(registers.begin()); it != registers.end(); ++it) {
    if (ordered_after(it->first, it->second, best->first, best->second)) best = it;
  }
  for (auto it = registers.begin(); it != registers.end();) {
    if (it == best) {
      ++it;
      continue;
    }
    discarded.push_back(it->first);
    it = registers.erase(it);
  }
  return discarded;
}

size_t expire_registers(Registers& registers, TimeMs now_ms) {
  size_t count = 0;
  for (auto& [dot, value] : registers) {
    if (value.tombstone || value.deadline_ms == 0 || now_ms <= value.deadline_ms) continue;
    value.tombstone = true;
    value.value.clear();
    value.deadline_ms = 0;
    ++count;
  }
  return count;
}

}  // namespace replikv::core
