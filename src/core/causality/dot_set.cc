#include "core/causality/dot_set.h"

#include <algorithm>

namespace replikv::core {

uint64_t counter_in(const CausalContext& context, const Actor& actor) {
  const auto it = context.find(actor);
  return it == context.end() ? 0 : it->second;
}

bool covers(const CausalContext& context, const Dot& dot) {
  const auto it = context.find(dot.actor);
  return it != context.end() && dot.counter <= it->second;
}

CausalContext join(const CausalContext& a, const CausalContext& b) {
  CausalContext out = a;
  for (const auto& [actor, counter] : b) {
    auto& mine = out[actor];
    mine = std::max(mine, counter);
  }
  return out;
}

bool CausalSet::write(const CausalContext& seen, const Dot& dot, std::string value) {
  if (dot.counter == 0 || covers(context_, dot) || covers(seen, dot)) return false;
  std::erase_if(versions_, [&](const auto& version) { return covers(seen, version.first); });
  versions_.emplace(dot, std::move(value));
  context_ = join(context_, seen);
  auto& counter = context_[dot.actor];
  counter = std::max(counter, dot.counter);
  return true;
}

void CausalSet::merge(const CausalSet& other) {
  std::map<Dot, std::string> kept;
  for (const auto& [dot, value] : versions_) {
    if (other.versions_.contains(dot) || !covers(other.context_, dot)) kept.emplace(dot, value);
  }
  for (const auto& [dot, value] : other.versions_) {
    if (!versions_.contains(dot) && !covers(context_, dot)) kept.emplace(dot, value);
  }
  versions_ = std::move(kept);
  context_ = join(context_, other.context_);
}

}  // namespace replikv::core
