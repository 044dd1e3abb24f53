#include "core/leader/commit_rule.h"

#include <algorithm>
#include <charconv>
#include <functional>

namespace replikv::core {

std::optional<std::pair<AckPolicy, uint32_t>> parse_ack(std::string_view text, size_t members) {
  if (text == "majority") return std::pair{AckPolicy::majority, 0u};
  if (text == "async") return std::pair{AckPolicy::async, 0u};
  if (text == "sync") return std::pair{AckPolicy::sync, 0u};
  uint32_t k = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), k);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || k < 1 ||
      k + 1 > members) {
    return std::nullopt;
  }
  return std::pair{AckPolicy::count, k};
}

std::optional<LogIndex> acknowledged_index(AckPolicy ack, uint32_t ack_followers, size_t majority,
                                           LogIndex leader_durable,
                                           std::vector<uint64_t>& voter_matches) {
  // The k-th highest of `values` (k from 1), moving them.
  const auto kth_highest = [](std::vector<uint64_t>& values, size_t k) {
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k - 1),
                     values.end(), std::greater<>());
    return values[k - 1];
  };
  if (ack == AckPolicy::majority) {
    voter_matches.push_back(leader_durable.value());
    if (voter_matches.size() < majority) return std::nullopt;
    return LogIndex(kth_highest(voter_matches, majority));
  }
  const size_t k = ack == AckPolicy::async   ? 0
                   : ack == AckPolicy::count ? ack_followers
                                             : voter_matches.size();
  if (voter_matches.size() < k) return std::nullopt;
  if (k == 0) return leader_durable;
  return std::min(leader_durable, LogIndex(kth_highest(voter_matches, k)));
}

size_t election_quorum(AckPolicy ack, uint32_t ack_followers, size_t nodes) {
  const size_t majority = nodes / 2 + 1;
  if (ack != AckPolicy::count) return majority;
  return std::max(majority, nodes - std::min<size_t>(ack_followers, nodes));
}

}  // namespace replikv::core
