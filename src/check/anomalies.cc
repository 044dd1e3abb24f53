#include "check/anomalies.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

namespace replikv::check {
namespace {

bool is_write_like(const Operation& op) { return op.f != Function::read; }

// Per key: which operation wrote each value, for keys where every written value is unique.
struct Writers {
  // key -> value -> the writing operation; keys with a repeated value are left out.
  std::map<std::string, std::unordered_map<Value, const Operation*, ValueHash>> by_key;
  std::set<std::string> ambiguous;
};

Writers unique_writers(const History& history) {
  Writers writers;
  for (const auto& op : history.operations) {
    if (!is_write_like(op) || op.outcome == Outcome::fail) continue;
    auto [it, inserted] = writers.by_key[op.key].emplace(op.value, &op);
    if (!inserted || op.value.is_null()) writers.ambiguous.insert(op.key);
  }
  for (const auto& key : writers.ambiguous) writers.by_key.erase(key);
  return writers;
}

// The write that produced a read's value: nullptr for the initial absence, or when unknown.
// Returns false when the read cannot be judged (repeated values, a value no write produced, or
// several concurrent values: no one write produced them — these checkers leave such reads out).
bool writer_of(const Writers& writers, const Operation& read, const Operation*& writer) {
  if (!read.values.empty() || writers.ambiguous.count(read.key) != 0) return false;
  writer = nullptr;
  if (read.value.is_null()) return true;
  const auto key = writers.by_key.find(read.key);
  if (key == writers.by_key.end()) return false;
  const auto it = key->second.find(read.value);
  if (it == key->second.end()) return false;
  writer = it->second;
  return true;
}

// True when `a` is certainly older than `b` in real time: a completed before b was invoked.
// nullptr stands for the initial absence, older than every write.
bool certainly_older(const Operation* a, const Operation* b) {
  if (b == nullptr) return false;
  if (a == nullptr) return true;
  return a->complete_ns < b->invoke_ns;
}

int64_t percentile(std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t index =
      std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())));
  return sorted[index];
}

}  // namespace

CheckResult check_lost_writes(const History& history) {
  CheckResult result{"lost-writes", Verdict::valid, "", {}, {}};
  // key -> node ("" when not given) -> values its final reads returned
  std::map<std::string, std::map<std::string, std::set<std::string>>> final_reads;
  for (const auto& op : history.operations) {
    if (op.f == Function::read && op.final && op.outcome == Outcome::ok) {
      auto& seen = final_reads[op.key][op.node.value_or("")];
      // A read that found several concurrent values saw each of them.
      if (op.values.empty()) seen.insert(op.value.to_string());
      for (const auto& value : op.values) seen.insert(value.to_string());
    }
  }
  size_t acknowledged = 0, unchecked = 0, lost = 0;
  std::map<std::string, size_t> lost_per_node;
  for (const auto& op : history.operations) {
    if (op.f != Function::insert || op.outcome != Outcome::ok) continue;
    ++acknowledged;
    const auto reads = final_reads.find(op.key);
    if (reads == final_reads.end()) {
      ++unchecked;
      continue;
    }
    bool lost_somewhere = false;
    for (const auto& [node, values] : reads->second) {
      if (values.count(op.value.to_string()) == 0) {
        ++lost_per_node[node];
        lost_somewhere = true;
        add_detail(
            result,
            fmt::format(
                "key {}: acknowledged insert of {} (line {}) missing from the final reads{}",
                op.key, op.value.to_string(), op.line, node.empty() ? "" : " of node " + node));
      }
    }
    lost += lost_somewhere ? 1 : 0;
  }
  if (lost > 0) result.verdict = Verdict::invalid;
  std::string per_node;
  for (const auto& [node, count] : lost_per_node) {
    per_node += fmt::format(" {}={}", node.empty() ? "leader" : node, count);
  }
  result.figures = {{"acknowledged", static_cast<double>(acknowledged)},
                    {"lost", static_cast<double>(lost)},
                    {"unchecked", static_cast<double>(unchecked)}};
  result.summary =
      fmt::format("{} acknowledged inserts, {} lost{}{}", acknowledged, lost,
                  per_node.empty() ? "" : " (per node:" + per_node + ")",
                  unchecked ? fmt::format(", {} without a final read", unchecked) : "");
  return result;
}

CheckResult check_stale_reads(const History& history) {
  CheckResult result{"stale-reads", Verdict::valid, "", {}, {}};
  const Writers writers = unique_writers(history);
  // key -> acknowledged writes, by completion time
  std::map<std::string, std::vector<const Operation*>> acknowledged;
  for (const auto& op : history.operations) {
    if (is_write_like(op) && op.outcome == Outcome::ok) acknowledged[op.key].push_back(&op);
  }
  for (auto& [key, writes] : acknowledged) {
    std::sort(writes.begin(), writes.end(), [](const Operation* a, const Operation* b) {
      return a->complete_ns < b->complete_ns;
    });
  }
  size_t judged = 0, violations = 0;
  std::vector<int64_t> staleness_ns;
  for (const auto& read : history.operations) {
    if (read.f != Function::read || read.outcome != Outcome::ok) continue;
    const Operation* w1 = nullptr;
    if (!writer_of(writers, read, w1)) continue;
    ++judged;
    if (w1 != nullptr && w1->complete_ns == time_never) continue;  // unknown write: never stale
    // The latest-completing w2 that completed before r began and began after w1 completed:
    // walk back from the last write completed before r; once writes complete no later than w1,
    // none of them (nor anything earlier) began after w1 completed.
    int64_t latest = std::numeric_limits<int64_t>::min();
    const auto& writes = acknowledged[read.key];
    auto it = std::lower_bound(writes.begin(), writes.end(), read.invoke_ns,
                               [](const Operation* w, int64_t t) { return w->complete_ns < t; });
    while (it != writes.begin()) {
      const Operation* w2 = *--it;
      if (w1 != nullptr && w2->complete_ns <= w1->complete_ns) break;
      if (w2 != w1 && (w1 == nullptr || w1->complete_ns < w2->invoke_ns)) {
        latest = w2->complete_ns;
        break;
      }
    }
    if (latest == std::numeric_limits<int64_t>::min()) continue;
    const int64_t stale_ns = read.invoke_ns - latest;
    staleness_ns.push_back(stale_ns);
    if (read.consistency.rfind("bounded:", 0) == 0) {
      const int64_t bound_ms = std::atoll(read.consistency.c_str() + 8);
      if (stale_ns > bound_ms * 1'000'000) {
        ++violations;
        add_detail(result,
                   fmt::format("key {}: {} read (line {}) was {:.3f} ms stale", read.key,
                               read.consistency, read.line, static_cast<double>(stale_ns) / 1e6));
      }
    }
  }
  std::sort(staleness_ns.begin(), staleness_ns.end());
  if (violations > 0) result.verdict = Verdict::invalid;
  const double fraction =
      judged ? static_cast<double>(staleness_ns.size()) / static_cast<double>(judged) : 0;
  result.figures = {
      {"judged", static_cast<double>(judged)},
      {"stale", static_cast<double>(staleness_ns.size())},
      {"p50_ms", static_cast<double>(percentile(staleness_ns, 0.5)) / 1e6},
      {"p99_ms", static_cast<double>(percentile(staleness_ns, 0.99)) / 1e6},
      {"max_ms", staleness_ns.empty() ? 0.0 : static_cast<double>(staleness_ns.back()) / 1e6},
      {"bounded_violations", static_cast<double>(violations)}};
  result.summary = fmt::format(
      "{} stale of {} reads judged ({:.2f}%); staleness p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} "
      "ms; "
      "{} bounded-read violations",
      staleness_ns.size(), judged, 100 * fraction, percentile(staleness_ns, 0.5) / 1e6,
      percentile(staleness_ns, 0.99) / 1e6, staleness_ns.empty() ? 0.0 : staleness_ns.back() / 1e6,
      violations);
  return result;
}

CheckResult check_sessions(const History& history) {
  CheckResult result{"sessions", Verdict::valid, "", {}, {}};
  const Writers writers = unique_writers(history);
  // process -> key -> the newest write it knows of (its own acknowledged write or one it read)
  struct Known {
    const Operation* own_write = nullptr;
    bool has_own_write = false;
    const Operation* last_read = nullptr;
    bool has_read = false;
  };
  std::map<std::pair<int64_t, std::string>, Known> sessions;
  size_t judged = 0, read_your_writes = 0, monotonic = 0;
  // Completion order per process is invocation order (one operation at a time per process).
  for (const auto& op : history.operations) {
    Known& known = sessions[{op.process, op.key}];
    if (is_write_like(op)) {
      if (op.outcome == Outcome::ok) {
        known.own_write = &op;
        known.has_own_write = true;
      }
      continue;
    }
    if (op.outcome != Outcome::ok ||
        (op.consistency != "session" && op.consistency != "linearizable"))
      continue;
    const Operation* writer = nullptr;
    if (!writer_of(writers, op, writer)) continue;
    ++judged;
    if (known.has_own_write && writer != known.own_write &&
        certainly_older(writer, known.own_write)) {
      ++read_your_writes;
      add_detail(
          result,
          fmt::format("process {} key {}: read {} (line {}) after its own write of {} (line {})",
                      op.process, op.key, op.value.to_string(), op.line,
                      known.own_write->value.to_string(), known.own_write->line));
    }
    if (known.has_read && writer != known.last_read && certainly_older(writer, known.last_read)) {
      ++monotonic;
      add_detail(result,
                 fmt::format("process {} key {}: read {} (line {}) after reading a newer {}",
                             op.process, op.key, op.value.to_string(), op.line,
                             known.last_read ? known.last_read->value.to_string() : "null"));
    }
    known.last_read = writer;
    known.has_read = true;
  }
  if (read_your_writes + monotonic > 0) result.verdict = Verdict::invalid;
  result.figures = {{"judged", static_cast<double>(judged)},
                    {"read_your_writes", static_cast<double>(read_your_writes)},
                    {"monotonic", static_cast<double>(monotonic)}};
  result.summary =
      fmt::format("{} session reads judged; {} read-your-writes and {} monotonic-read violations",
                  judged, read_your_writes, monotonic);
  return result;
}

namespace {

// A pairwise digest ("peers 2:1f3a 3:09bc"), as peer -> root; nullopt for any other digest.
std::optional<std::map<std::string, std::string>> pairwise(const std::string& text) {
  constexpr std::string_view prefix = "peers";
  if (text.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::map<std::string, std::string> roots;
  std::istringstream in(text.substr(prefix.size()));
  std::string item;
  while (in >> item) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    roots[item.substr(0, colon)] = item.substr(colon + 1);
  }
  return roots;
}

std::string digest_text(const Value& value) {
  const auto* text = std::get_if<std::string>(&value.data);
  return text != nullptr ? *text : value.to_string();
}

}  // namespace

bool digests_agree(const std::map<std::string, std::string>& latest) {
  if (latest.empty()) return false;
  std::map<std::string, std::map<std::string, std::string>> roots;
  for (const auto& [node, text] : latest) {
    auto parsed = pairwise(text);
    if (!parsed) {
      return std::all_of(latest.begin(), latest.end(),
                         [&](const auto& entry) { return entry.second == text; });
    }
    roots[node] = std::move(*parsed);
  }
  for (const auto& [node, mine] : roots) {
    for (const auto& [peer, root] : mine) {
      const auto theirs = roots.find(peer);
      if (theirs == roots.end()) return false;  // a peer that gave no pairwise digest
      const auto back = theirs->second.find(node);
      if (back == theirs->second.end() || back->second != root) return false;
    }
  }
  return true;
}

CheckResult check_convergence(const History& history) {
  CheckResult result{"convergence", Verdict::valid, "", {}, {}};
  if (history.digests.empty()) {
    result.summary = "no digest events: nothing to judge";
    return result;
  }
  const int64_t since = history.last_heal_ns.value_or(history.digests.front().time_ns);
  std::map<std::string, std::string> latest;
  std::set<std::string> nodes;
  for (const auto& digest : history.digests) nodes.insert(digest.node);
  auto agree = [&] { return latest.size() == nodes.size() && digests_agree(latest); };
  std::optional<int64_t> converged_at;
  for (const auto& digest : history.digests) {
    latest[digest.node] = digest_text(digest.value);
    if (digest.time_ns >= since && !converged_at && agree()) converged_at = digest.time_ns;
  }
  const bool agree_at_end = agree();
  if (!converged_at) {
    result.verdict = Verdict::invalid;
    result.summary =
        fmt::format("{} nodes never agreed after the heal at {} ns", nodes.size(), since);
    for (const auto& [node, value] : latest)
      add_detail(result, fmt::format("node {}: last digest {}", node, value));
    return result;
  }
  result.figures = {{"converged_ms", static_cast<double>(*converged_at - since) / 1e6}};
  result.summary = fmt::format("{} nodes agreed {:.3f} ms after the heal{}", nodes.size(),
                               static_cast<double>(*converged_at - since) / 1e6,
                               agree_at_end ? "" : ", but disagree again at the end");
  return result;
}

CheckResult check_availability(const History& history) {
  CheckResult result{"availability", Verdict::valid, "", {}, {}};
  int64_t start = time_never, end = std::numeric_limits<int64_t>::min();
  std::vector<int64_t> acknowledged;
  for (const auto& op : history.operations) {
    if (op.final) continue;
    start = std::min(start, op.invoke_ns);
    if (op.complete_ns != time_never) end = std::max(end, op.complete_ns);
    if (is_write_like(op) && op.outcome == Outcome::ok) acknowledged.push_back(op.complete_ns);
  }
  if (start == time_never || end < start) {
    result.summary = "no operations: nothing to measure";
    return result;
  }
  std::sort(acknowledged.begin(), acknowledged.end());
  int64_t longest = 0, from = start, previous = start;
  acknowledged.push_back(end);
  for (const int64_t at : acknowledged) {
    if (at - previous > longest) {
      longest = at - previous;
      from = previous;
    }
    previous = std::max(previous, at);
  }
  result.figures = {{"longest_ms", static_cast<double>(longest) / 1e6},
                    {"from_ms", static_cast<double>(from - start) / 1e6},
                    {"acknowledged", static_cast<double>(acknowledged.size() - 1)}};
  result.summary = fmt::format(
      "{} writes acknowledged; the longest window without one: {:.1f} ms, from {:.1f} ms",
      acknowledged.size() - 1, static_cast<double>(longest) / 1e6,
      static_cast<double>(from - start) / 1e6);
  return result;
}

CheckResult check_counters(const History& history) {
  CheckResult result{"counters", Verdict::valid, "", {}, {}};
  struct Counter {
    int64_t acknowledged = 0;  // the increments acknowledged, summed
    int64_t unknown = 0;       // those with an unknown outcome: each may count once
    std::vector<const Operation*> final_reads;
  };
  std::map<std::string, Counter> counters;
  // Nodes that lost their disk, or crashed under fsync "never", and when: such a crash may take
  // an increment its node had acknowledged and not yet sent on — counted apart, not as lost.
  const auto crashes = lossy_crash_times(history);
  const auto crashed_after = [&](const Operation& op) {
    const auto it = op.node ? crashes.find(*op.node) : crashes.end();
    if (it == crashes.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](int64_t at) { return at >= op.invoke_ns; });
  };
  int64_t at_risk = 0;
  // A counter some write, delete or cas also touched had increments reset: what is left depends
  // on which increments each reset had seen (the strategy's own checkers judge that; convergence
  // holds the nodes to one answer). Judged here: counters only increments touched.
  std::set<std::string> reset;
  for (const auto& op : history.operations) {
    if (op.f != Function::add && op.f != Function::read) reset.insert(op.key);
  }
  std::set<std::string> reset_counters;  // counters a reset touched: not judged here
  for (const auto& op : history.operations) {
    if (op.f != Function::add) continue;
    if (reset.contains(op.key)) {
      reset_counters.insert(op.key);
      continue;
    }
    const auto* delta = std::get_if<int64_t>(&op.value.data);
    if (delta == nullptr) continue;
    Counter& counter = counters[op.key];
    if (op.outcome == Outcome::ok && crashed_after(op)) {
      counter.unknown += *delta;  // it may have gone with its node
      at_risk += *delta;
    } else if (op.outcome == Outcome::ok) {
      counter.acknowledged += *delta;
    }
    if (op.outcome == Outcome::info) counter.unknown += *delta;
  }
  for (const auto& op : history.operations) {
    if (!op.final || op.f != Function::read || op.outcome != Outcome::ok) continue;
    if (auto it = counters.find(op.key); it != counters.end())
      it->second.final_reads.push_back(&op);
  }
  // A read's position (a strategy's "position": "<vector>@…"), summed: of the final reads of a
  // key, those of the nodes furthest along are judged (one still catching up reads an older sum).
  const auto progress = [](const Operation& op) -> uint64_t {
    const auto it = op.fields.find("position");
    if (it == op.fields.end()) return 0;
    uint64_t total = 0;
    const std::string& text = it->second;
    size_t at = 0;
    while ((at = text.find(':', at)) != std::string::npos && at < text.find('@')) {
      total += std::strtoull(text.c_str() + at + 1, nullptr, 10);
      ++at;
    }
    return total;
  };
  int64_t lost = 0, doubled = 0, judged = 0;
  for (const auto& [key, counter] : counters) {
    uint64_t furthest = 0;
    for (const Operation* read : counter.final_reads)
      furthest = std::max(furthest, progress(*read));
    for (const Operation* read : counter.final_reads) {
      if (progress(*read) != furthest) continue;
      ++judged;
      const auto* total = std::get_if<int64_t>(&read->value.data);
      const int64_t value = total != nullptr ? *total : 0;
      if (value < counter.acknowledged) {
        lost += counter.acknowledged - value;
        add_detail(result, fmt::format("counter {}: the final read (line {}) found {}, below the "
                                       "{} acknowledged increments add up to",
                                       key, read->line, value, counter.acknowledged));
      } else if (value > counter.acknowledged + counter.unknown) {
        doubled += value - counter.acknowledged - counter.unknown;
        add_detail(result,
                   fmt::format("counter {}: the final read (line {}) found {}, above the "
                               "{} acknowledged and {} unknown increments add up to: "
                               "some counted twice",
                               key, read->line, value, counter.acknowledged, counter.unknown));
      }
    }
  }
  if (lost > 0 || doubled > 0) result.verdict = Verdict::invalid;
  result.figures = {{"counters", static_cast<double>(counters.size())},
                    {"final_reads_judged", static_cast<double>(judged)},
                    {"increments_lost", static_cast<double>(lost)},
                    {"increments_counted_twice", static_cast<double>(doubled)},
                    {"acknowledged_by_a_node_that_crashed", static_cast<double>(at_risk)},
                    {"counters_reset", static_cast<double>(reset_counters.size())}};
  result.summary =
      counters.empty()
          ? std::string("no counter increments: nothing to judge")
          : fmt::format(
                "{} counters, {} final reads judged: {} of the acknowledged "
                "increments lost, {} counted twice ({} acknowledged by a node that "
                "crashed later unsynced or lost its disk, which may have taken them; {} "
                "counters a write or "
                "delete reset, not judged here)",
                counters.size(), judged, lost, doubled, at_risk, reset_counters.size());
  return result;
}

}  // namespace replikv::check
