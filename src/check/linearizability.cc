#include "check/linearizability.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace replikv::check {
namespace {

// One operation as the search sees it.
struct RegisterOp {
  const Operation* source;
  bool optional;        // outcome unknown: may be left out
  int64_t complete_ns;  // when it had taken effect at the latest (may be earlier than the source's)
};

// The call and return events of the search's doubly linked list.
struct Entry {
  bool is_call;
  size_t op;  // index into the key's ops
  int64_t time;
  Entry* prev = nullptr;
  Entry* next = nullptr;
  Entry* match = nullptr;  // call <-> return
};

// The memo's key: which operations are linearized, and the register's state — kept as 128-bit
// Zobrist hashes (each operation has a random 128-bit key; a set is the XOR of its members'
// keys), so adding or removing an operation costs O(1) and a memo entry is 32 bytes however long
// the history. Two different (set, state) pairs collide with probability about 2^-128 per pair;
// a collision could only make the search skip a state, never accept a wrong order.
struct Hash128 {
  uint64_t low = 0, high = 0;
  void toggle(const Hash128& key) {
    low ^= key.low;
    high ^= key.high;
  }
  bool operator==(const Hash128&) const = default;
};

struct Memo {
  Hash128 linearized;
  Hash128 state;
  bool operator==(const Memo&) const = default;
};
struct MemoHash {
  size_t operator()(const Memo& memo) const {
    return static_cast<size_t>(memo.linearized.low ^ (memo.state.low * 0x9e3779b97f4a7c15ULL));
  }
};

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Hash128 hash_value(const Value& value) {
  uint64_t seed = ValueHash{}(value) ^ 0x5851f42d4c957f2dULL;
  return {splitmix64(seed), splitmix64(seed)};
}

// Applies `op` to the register: false when it cannot take effect in `state`.
bool step(const Operation& op, const Value& state, Value& next) {
  switch (op.f) {
    case Function::read:
      next = state;
      return op.value == state;
    case Function::write:
    case Function::insert:
    case Function::del:  // (its value is null)
      next = op.value;
      return true;
    case Function::cas:
      if (!(state == op.expected)) return false;
      next = op.value;
      return true;
    case Function::add: {
      // A counter: absent counts as 0; a register that is not an integer takes no increment.
      const auto* delta = std::get_if<int64_t>(&op.value.data);
      const auto* total = std::get_if<int64_t>(&state.data);
      if (delta == nullptr || (!state.is_null() && total == nullptr)) return false;
      next = Value{(total != nullptr ? *total : 0) + *delta};
      return true;
    }
  }
  return false;
}

std::string describe(const Operation& op) {
  std::string value = op.f == Function::cas
                          ? fmt::format("[{}, {}]", op.expected.to_string(), op.value.to_string())
                          : (op.f == Function::del ? op.id : op.value).to_string();
  std::string completed = op.complete_ns == time_never ? "unknown" : std::to_string(op.complete_ns);
  return fmt::format("line {}: process {} {} {} -> {} (invoked {} ns, completed {})", op.line,
                     op.process, to_string(op.f), value, to_string(op.outcome), op.invoke_ns,
                     completed);
}

// Keys whose violation a report describes; the rest are counted.
constexpr size_t reported_keys_max = 5;

// What one memo entry costs: the 32-byte key plus the hash set's node and bucket.
constexpr uint64_t memo_entry_bytes = 64;

// Operations completed before the stuck one that a violation report shows, at most.
constexpr size_t window_before_max = 4;

enum class SearchResult { linearizable, not_linearizable, out_of_budget };

struct KeySearch {
  std::vector<RegisterOp> ops;
  // Where the search got stuck deepest: the op it could not place, and how many were placed.
  size_t stuck_op = 0;
  size_t deepest = 0;
};

SearchResult search(KeySearch& key, const std::chrono::steady_clock::time_point deadline,
                    uint64_t& memory_bytes, uint64_t memory_bytes_max) {
  const size_t n = key.ops.size();
  std::vector<Entry> entries;
  entries.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    entries.push_back({true, i, key.ops[i].source->invoke_ns});
    entries.push_back({false, i, key.ops[i].complete_ns});
  }
  // Real-time order; at equal times calls come first, so touching operations count as
  // concurrent (the generous reading: a checker must not invent violations).
  std::vector<Entry*> order;
  for (auto& entry : entries) order.push_back(&entry);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    if (a->time != b->time) return a->time < b->time;
    return a->is_call && !b->is_call;
  });
  for (size_t i = 0; i < n; ++i) {
    entries[2 * i].match = &entries[2 * i + 1];
    entries[2 * i + 1].match = &entries[2 * i];
  }
  Entry head{false, 0, 0};
  Entry* previous = &head;
  for (Entry* entry : order) {
    previous->next = entry;
    entry->prev = previous;
    previous = entry;
  }

  auto lift = [](Entry* call) {
    call->prev->next = call->next;
    if (call->next) call->next->prev = call->prev;
    Entry* ret = call->match;
    ret->prev->next = ret->next;
    if (ret->next) ret->next->prev = ret->prev;
  };
  auto unlift = [](Entry* call) {
    Entry* ret = call->match;
    ret->prev->next = ret;
    if (ret->next) ret->next->prev = ret;
    call->prev->next = call;
    if (call->next) call->next->prev = call;
  };

  // Fixed keys per operation, from a fixed seed: the same history always searches the same way.
  std::vector<Hash128> op_keys(n);
  uint64_t seed = 0x2545f4914f6cdd1dULL;
  for (auto& op_key : op_keys) op_key = {splitmix64(seed), splitmix64(seed)};

  std::unordered_set<Memo, MemoHash> memo;
  std::vector<std::pair<Entry*, Value>> stack;
  Hash128 linearized;
  Value state = Value::null();
  Entry* entry = head.next;
  uint64_t steps = 0;
  while (true) {
    if (entry == nullptr) return SearchResult::linearizable;
    if ((++steps & 1023) == 0 && std::chrono::steady_clock::now() > deadline) {
      return SearchResult::out_of_budget;
    }
    const RegisterOp& op = key.ops[entry->op];
    if (entry->is_call) {
      Value next;
      if (step(*op.source, state, next)) {
        Hash128 candidate = linearized;
        candidate.toggle(op_keys[entry->op]);
        Memo remembered{candidate, hash_value(next)};
        if (!memo.contains(remembered)) {
          memory_bytes += memo_entry_bytes;
          if (memory_bytes > memory_bytes_max) return SearchResult::out_of_budget;
          memo.insert(remembered);
          stack.emplace_back(entry, state);
          state = std::move(next);
          linearized = candidate;
          lift(entry);
          if (stack.size() > key.deepest) key.deepest = stack.size();
          entry = head.next;
          continue;
        }
      }
      entry = entry->next;
      continue;
    }
    // A return whose operation is not linearized yet. An optional one returns "at infinity",
    // after every required operation: reaching it means they are all placed.
    if (op.optional) return SearchResult::linearizable;
    if (stack.size() >= key.deepest) key.stuck_op = entry->op;
    if (stack.empty()) return SearchResult::not_linearizable;
    auto [call, previous_state] = std::move(stack.back());
    stack.pop_back();
    linearized.toggle(op_keys[call->op]);
    state = std::move(previous_state);
    unlift(call);
    entry = call->next;
  }
}

bool takes_part(const Operation& op) {
  if (op.outcome == Outcome::fail) return false;
  if (op.f == Function::read) {
    return op.outcome == Outcome::ok &&
           (op.consistency.empty() || op.consistency == "linearizable");
  }
  return true;
}

}  // namespace

void add_detail(CheckResult& result, std::string line, size_t max) {
  if (result.details.size() < max) {
    result.details.push_back(std::move(line));
  } else if (result.details.size() == max) {
    result.details.push_back("…");
  }
}

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::valid:
      return "valid";
    case Verdict::invalid:
      return "INVALID";
    case Verdict::unknown:
      return "unknown";
  }
  return "?";
}

CheckResult check_linearizability(const History& history, const LinearizabilityBudget& budget) {
  CheckResult result{"linearizable", Verdict::valid, "", {}, {}};
  // A read that returned several concurrent values has no place in one order of a register's
  // operations: a history with one is not linearizable as it stands.
  for (const auto& op : history.operations) {
    if (op.values.empty()) continue;
    result.verdict = Verdict::invalid;
    result.summary = "a read returned several concurrent values (no single order explains it)";
    result.details.push_back(fmt::format("line {}: process {} read {} values of key {}", op.line,
                                         op.process, op.values.size(), op.key));
    return result;
  }
  std::map<std::string, KeySearch> keys;
  // Pre-checks: every value a read returns must have been written by an operation that did not
  // fail (or be the initial absence).
  std::map<std::string, std::unordered_set<Value, ValueHash>> written, failed;
  for (const auto& op : history.operations) {
    if (op.f == Function::read) continue;
    (op.outcome == Outcome::fail ? failed : written)[op.key].insert(op.value);
  }
  // Unknown-outcome writes and CASes are what makes the search expensive: each may take effect
  // at any later point, or never. Two rules, sound when the written value is unique to the
  // operation, shrink them before the search:
  //   - nobody observed the value (no read returned it, no CAS expected it): leave the operation
  //     out — had it taken effect, no read could have seen it before it was overwritten, so
  //     every order that includes it also works without it;
  //   - somebody observed it: it did take effect, before the earliest such observation
  //     completed — so it becomes a required operation with that completion time.
  //   A CAS of unknown outcome shown by the second rule to have taken effect also observed its
  //   expected value (it matched), so the rules run to a fixed point: that can show the write
  //   of the expected value took effect too.
  std::map<std::string, std::unordered_map<Value, int64_t, ValueHash>>
      first_observed;  // -> complete
  std::map<std::string, std::unordered_map<Value, int, ValueHash>> writers;
  const auto observe = [&](const std::string& key, const Value& seen, int64_t at_ns) {
    auto [it, inserted] = first_observed[key].emplace(seen, at_ns);
    if (!inserted && at_ns < it->second) {
      it->second = at_ns;
      return true;
    }
    return inserted;
  };
  // Counters (keys some operation adds to): their reads return sums no single write produced, so
  // the register shortcuts below — reads of values no write made, unknown writes placed where
  // their value was first seen — do not apply to them; the search alone judges them.
  std::set<std::string> counter_keys;
  for (const auto& op : history.operations) {
    if (op.f == Function::add) counter_keys.insert(op.key);
  }
  for (const auto& op : history.operations) {
    if (op.f != Function::read && op.outcome != Outcome::fail) ++writers[op.key][op.value];
    if (op.f == Function::read && op.outcome == Outcome::ok)
      observe(op.key, op.value, op.complete_ns);
    if (op.f == Function::cas && op.outcome == Outcome::ok)
      observe(op.key, op.expected, op.complete_ns);
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& op : history.operations) {
      if (op.f != Function::cas || op.outcome != Outcome::info || op.value.is_null() ||
          writers[op.key][op.value] != 1) {
        continue;
      }
      const auto& seen = first_observed[op.key];
      const auto it = seen.find(op.value);
      if (it == seen.end() || it->second < op.invoke_ns) continue;
      changed |= observe(op.key, op.expected, it->second);
    }
  }
  size_t operations = 0, unknown_set_aside = 0, unknown_resolved = 0;
  for (const auto& op : history.operations) {
    if (!takes_part(op)) continue;
    RegisterOp register_op{&op, op.outcome == Outcome::info, op.complete_ns};
    // (Null is left alone: the initial absence also produces it.)
    const bool counter = counter_keys.contains(op.key);
    if (register_op.optional && op.f != Function::read && !op.value.is_null() && !counter &&
        writers[op.key][op.value] == 1) {
      const auto& seen = first_observed[op.key];
      const auto it = seen.find(op.value);
      if (it == seen.end()) {
        ++unknown_set_aside;
        continue;
      }
      if (it->second < op.invoke_ns) {
        // Observed before it was even invoked: impossible; keep it optional and let the
        // search (or the pre-check) report it.
      } else {
        register_op.optional = false;
        register_op.complete_ns = it->second;
        ++unknown_resolved;
      }
    }
    ++operations;
    if (op.f == Function::read && !op.value.is_null() && !counter &&
        !written[op.key].contains(op.value)) {
      result.verdict = Verdict::invalid;
      result.details.push_back(fmt::format(
          "key {}: read a value {} — {}", op.key,
          failed[op.key].contains(op.value) ? "whose write failed" : "that no write produced",
          describe(op)));
    }
    keys[op.key].ops.push_back(register_op);
  }
  if (result.verdict == Verdict::invalid) {
    result.figures["violating_keys"] = static_cast<double>(result.details.size());
    result.summary =
        fmt::format("{} impossible read(s), found before any search", result.details.size());
    return result;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(budget.time_ms_max);
  uint64_t memory_bytes = 0;
  size_t unknown_keys = 0, violating_keys = 0;
  for (auto& [key, search_state] : keys) {
    const SearchResult outcome =
        search(search_state, deadline, memory_bytes, budget.memory_bytes_max);
    if (outcome == SearchResult::out_of_budget) {
      ++unknown_keys;
      result.details.push_back(
          fmt::format("key {}: budget ran out ({} operations)", key, search_state.ops.size()));
      continue;
    }
    if (outcome == SearchResult::linearizable) continue;
    result.verdict = Verdict::invalid;
    if (++violating_keys > reported_keys_max) continue;  // counted in the summary
    const Operation& stuck = *search_state.ops[search_state.stuck_op].source;
    if (violating_keys == 1) {  // the first failing window, for tools that tabulate it
      result.figures["window_from_ns"] = static_cast<double>(stuck.invoke_ns);
      result.figures["window_to_ns"] = static_cast<double>(stuck.complete_ns);
    }
    result.details.push_back(fmt::format(
        "key {}: no order explains {} ({} of {} operations placed); the window around it:", key,
        describe(stuck), search_state.deepest, search_state.ops.size()));
    // The window: what ran concurrently with the stuck operation, and the few operations that
    // completed just before it began (the ones whose order it contradicts).
    std::vector<const Operation*> window, before;
    for (const auto& other : search_state.ops) {
      const Operation& o = *other.source;
      if (&o == &stuck) continue;
      if (o.invoke_ns <= stuck.complete_ns && stuck.invoke_ns <= o.complete_ns) {
        window.push_back(&o);
      } else if (o.complete_ns < stuck.invoke_ns) {
        before.push_back(&o);
      }
    }
    std::sort(before.begin(), before.end(), [](const Operation* a, const Operation* b) {
      return a->complete_ns > b->complete_ns;
    });
    if (before.size() > window_before_max) before.resize(window_before_max);
    window.insert(window.end(), before.begin(), before.end());
    std::sort(window.begin(), window.end(),
              [](const Operation* a, const Operation* b) { return a->invoke_ns < b->invoke_ns; });
    for (const Operation* o : window) result.details.push_back("  " + describe(*o));
  }
  result.figures["violating_keys"] = static_cast<double>(violating_keys);
  if (result.verdict == Verdict::invalid) {
    result.summary = fmt::format("not linearizable: {} of {} keys{}", violating_keys, keys.size(),
                                 violating_keys > reported_keys_max
                                     ? fmt::format(" (the first {} shown)", reported_keys_max)
                                     : "");
  } else if (unknown_keys > 0) {
    result.verdict = Verdict::unknown;
    result.summary = fmt::format("budget ran out on {} of {} keys", unknown_keys, keys.size());
  } else {
    result.summary = fmt::format(
        "linearizable: {} operations on {} keys ({} unknown outcomes resolved by a read, {} never "
        "observed and set aside)",
        operations, keys.size(), unknown_resolved, unknown_set_aside);
  }
  return result;
}

}  // namespace replikv::check
