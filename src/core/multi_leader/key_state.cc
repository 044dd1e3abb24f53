#include "core/multi_leader/key_state.h"

#include <algorithm>
#include <limits>
#include <tuple>
#include <type_traits>

#include "core/command.h"
#include "proto/replikv.pb.h"

namespace replikv::core::multi_leader {

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

bool KeyState::deleted() const {
  if (!increments.empty() || !folds.empty() || registers.empty()) return false;
  return std::all_of(registers.begin(), registers.end(),
                     [](const auto& entry) { return entry.second.tombstone; });
}

void KeyState::write(const CausalContext& replaces, const Dot& dot, Register value) {
  remove(replaces);
  registers.insert_or_assign(dot, std::move(value));
}

void KeyState::remove(const CausalContext& replaces) {
  std::erase_if(registers, [&](const auto& entry) { return covers(replaces, entry.first); });
  std::erase_if(increments, [&](const auto& entry) { return covers(replaces, entry.first); });
  // A fold is reset whole: every write made after it was folded covers all of it.
  std::erase_if(folds, [&](const auto& entry) {
    return covers(replaces, Dot{entry.first, entry.second.upto});
  });
}

HlcTimestamp KeyState::superseded_hlc(const CausalContext& replaces) const {
  HlcTimestamp highest;
  for (const auto& [dot, value] : registers) {
    if (covers(replaces, dot)) highest = std::max(highest, value.hlc);
  }
  return highest;
}

void KeyState::increment(const Dot& dot, Increment increment) {
  increments.insert_or_assign(dot, increment);
}

void KeyState::fold(const CausalContext& stable) {
  for (auto it = increments.begin(); it != increments.end();) {
    const Dot& dot = it->first;
    if (!covers(stable, dot) || it->second.deadline_ms != 0) {
      // An actor's increments fold in counter order: one that cannot stops the rest of its own
      // (skipped at once: a hot counter's unfolded increments are many).
      it = increments.upper_bound(Dot{dot.actor, std::numeric_limits<uint64_t>::max()});
      continue;
    }
    Fold& folded = folds[dot.actor];
    folded.sum = saturating_add(folded.sum, it->second.delta);
    folded.float_sum += it->second.float_delta;
    folded.upto = std::max(folded.upto, dot.counter);
    it = increments.erase(it);
  }
}

std::vector<Dot> KeyState::resolve_lww() { return keep_highest(registers); }

size_t KeyState::expire(TimeMs now_ms) {
  const auto expired = [&](const auto& entry) {
    return entry.second.deadline_ms != 0 && now_ms > entry.second.deadline_ms;
  };
  return expire_registers(registers, now_ms) + std::erase_if(increments, expired);
}

size_t KeyState::collect(const CausalContext& stable) {
  return std::erase_if(registers, [&](const auto& entry) {
    return entry.second.tombstone && covers(stable, entry.first);
  });
}

const std::pair<const Dot, Register>* KeyState::winner(TimeMs now_ms) const {
  return highest_live(registers, now_ms);
}

std::vector<const std::pair<const Dot, Register>*> KeyState::live(TimeMs now_ms) const {
  return live_registers(registers, now_ms);
}

bool KeyState::has_increment(std::string_view request_id, TimeMs now_ms) const {
  return std::any_of(increments.begin(), increments.end(), [&](const auto& entry) {
    return entry.second.live(now_ms) && entry.second.request_id == request_id;
  });
}

int64_t KeyState::increments_total(TimeMs now_ms) const {
  int64_t total = 0;
  for (const auto& [actor, folded] : folds) total = saturating_add(total, folded.sum);
  for (const auto& [dot, increment] : increments) {
    if (increment.live(now_ms)) total = saturating_add(total, increment.delta);
  }
  return total;
}

double KeyState::float_total(TimeMs now_ms) const {
  std::map<Actor, double> sums;
  for (const auto& [actor, folded] : folds) sums[actor] = folded.float_sum;
  for (const auto& [dot, increment] : increments) {
    if (increment.live(now_ms)) sums[dot.actor] += increment.float_delta;
  }
  double total = 0;
  for (const auto& [actor, sum] : sums) total += sum;
  return total;
}

std::optional<Rendered> KeyState::render(TimeMs now_ms) const {
  // The record lives while anything of it does: its expiry is the last deadline, or none.
  TimeMs deadline_ms = 0;
  bool forever = false;
  bool counting = false;
  const auto extend = [&](TimeMs deadline) {
    if (deadline == 0) forever = true;
    deadline_ms = std::max(deadline_ms, deadline);
  };
  for (const auto& [dot, value] : registers) {
    if (value.live(now_ms)) extend(value.deadline_ms);
  }
  // The folds' and the live increments' total, in increments_total's order (one walk: a hot
  // counter has many).
  int64_t total = 0;
  for (const auto& [actor, folded] : folds) total = saturating_add(total, folded.sum);
  for (const auto& [dot, increment] : increments) {
    if (increment.live(now_ms)) {
      extend(increment.deadline_ms);
      counting = true;
      total = saturating_add(total, increment.delta);
    }
  }
  if (!folds.empty()) {
    extend(0);  // a fold has no deadline
    counting = true;
  }
  if (forever) deadline_ms = 0;
  const auto* best = winner(now_ms);
  if (!counting) {
    if (best == nullptr) return std::nullopt;
    return Rendered{best->second.value, deadline_ms};
  }
  // A counter: the register read as an integer, plus every increment.
  int64_t base = 0;
  if (best != nullptr) {
    const auto parsed = parse_int64(best->second.value);
    if (!parsed) return Rendered{best->second.value, deadline_ms};
    base = *parsed;
  }
  return Rendered{std::to_string(saturating_add(base, total)), deadline_ms};
}

namespace {

// Keeps what both hold, and what one holds that the other's vector does not cover.
template <typename Value>
std::map<Dot, Value> join_dots(const std::map<Dot, Value>& a, const CausalContext& seen_a,
                               const std::map<Dot, Value>& b, const CausalContext& seen_b) {
  std::map<Dot, Value> out;
  for (const auto& [dot, value] : a) {
    const auto theirs = b.find(dot);
    if (theirs == b.end()) {
      if (!covers(seen_b, dot)) out.emplace(dot, value);
      continue;
    }
    // Both hold it: one of them may have expired it since (a register turns into a tombstone by
    // its own node's clock, never back) — the expired form is the later one.
    if constexpr (std::is_same_v<Value, Register>) {
      out.emplace(dot, theirs->second.tombstone ? theirs->second : value);
    } else {
      out.emplace(dot, value);
    }
  }
  for (const auto& [dot, value] : b) {
    if (!a.contains(dot) && !covers(seen_a, dot)) out.emplace(dot, value);
  }
  return out;
}

}  // namespace

// Whether `state` holds an increment of `actor` at or below counter `upto`.
bool holds_increment(const KeyState& state, const Actor& actor, uint64_t upto) {
  const auto it = state.increments.lower_bound(Dot{actor, 0});
  return it != state.increments.end() && it->first.actor == actor && it->first.counter <= upto;
}

KeyState KeyState::join(const KeyState& a, const CausalContext& seen_a, const KeyState& b,
                        const CausalContext& seen_b) {
  KeyState out;
  out.registers = join_dots(a.registers, seen_a, b.registers, seen_b);
  out.increments = join_dots(a.increments, seen_a, b.increments, seen_b);
  // Folds: of two the higher (it sums the other's, or comes after a reset of it); one only one
  // side holds goes when the other has applied all it sums and holds none of it — it reset them.
  const auto one_side = [&](const KeyState& mine, const KeyState& other,
                            const CausalContext& other_seen) {
    for (const auto& [actor, folded] : mine.folds) {
      if (other.folds.contains(actor)) continue;
      if (covers(other_seen, Dot{actor, folded.upto}) &&
          !holds_increment(other, actor, folded.upto)) {
        continue;
      }
      out.folds.emplace(actor, folded);
    }
  };
  one_side(a, b, seen_b);
  one_side(b, a, seen_a);
  for (const auto& [actor, folded] : a.folds) {
    const auto theirs = b.folds.find(actor);
    if (theirs == b.folds.end()) continue;
    const Fold& higher =
        std::tie(folded.upto, folded.sum) >= std::tie(theirs->second.upto, theirs->second.sum)
            ? folded
            : theirs->second;
    out.folds.emplace(actor, higher);
  }
  // What a fold sums is not kept apart as well.
  std::erase_if(out.increments, [&](const auto& entry) {
    const auto folded = out.folds.find(entry.first.actor);
    return folded != out.folds.end() && entry.first.counter <= folded->second.upto;
  });
  return out;
}

std::string KeyState::canonical() const {
  KeyState view;
  view.registers = registers;
  for (const auto& [actor, folded] : folds)
    view.folds[actor] = Fold{0, folded.sum, folded.float_sum};
  for (const auto& [dot, increment] : increments) {
    Fold& sum = view.folds[dot.actor];
    sum.sum = saturating_add(sum.sum, increment.delta);
    sum.float_sum += increment.float_delta;
  }
  return view.encode();
}

std::string KeyState::encode() const {
  proto::MlKeyState message;
  for (const auto& [dot, value] : registers) {
    auto& out = *message.add_registers();
    out.set_node(dot.actor.node);
    out.set_incarnation(dot.actor.incarnation);
    out.set_counter(dot.counter);
    out.set_hlc_wall_ms(value.hlc.wall_ms);
    out.set_hlc_logical(value.hlc.logical);
    out.set_tombstone(value.tombstone);
    out.set_value(value.value);
    out.set_deadline_ms(value.deadline_ms);
  }
  for (const auto& [dot, increment] : increments) {
    auto& out = *message.add_increments();
    out.set_node(dot.actor.node);
    out.set_incarnation(dot.actor.incarnation);
    out.set_counter(dot.counter);
    out.set_delta(increment.delta);
    out.set_deadline_ms(increment.deadline_ms);
    out.set_request_id(increment.request_id);
    out.set_float_delta(increment.float_delta);
  }
  for (const auto& [actor, folded] : folds) {
    auto& out = *message.add_folds();
    out.set_node(actor.node);
    out.set_incarnation(actor.incarnation);
    out.set_upto(folded.upto);
    out.set_sum(folded.sum);
    out.set_float_sum(folded.float_sum);
  }
  for (const auto& [kind, count] : element_counts) {
    auto& out = *message.add_element_counts();
    out.set_kind(static_cast<uint8_t>(kind));
    out.set_count(count);
  }
  return message.SerializeAsString();
}

std::optional<KeyState> KeyState::decode(std::string_view bytes) {
  proto::MlKeyState message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  KeyState state;
  for (const auto& in : message.registers()) {
    const Dot dot{{in.node(), in.incarnation()}, in.counter()};
    state.registers.insert_or_assign(
        dot,
        Register{
            {in.hlc_wall_ms(), in.hlc_logical()}, in.tombstone(), in.value(), in.deadline_ms()});
  }
  for (const auto& in : message.increments()) {
    state.increments.insert_or_assign(
        Dot{{in.node(), in.incarnation()}, in.counter()},
        Increment{in.delta(), in.deadline_ms(), in.request_id(), in.float_delta()});
  }
  for (const auto& in : message.folds()) {
    state.folds.insert_or_assign(Actor{in.node(), in.incarnation()},
                                 Fold{in.upto(), in.sum(), in.float_sum()});
  }
  for (const auto& in : message.element_counts()) {
    if (in.count() != 0 && in.kind() < 256) {
      state.element_counts[static_cast<char>(in.kind())] = in.count();
    }
  }
  return state;
}

}  // namespace replikv::core::multi_leader
