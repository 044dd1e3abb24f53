#include "core/leaderless/key_state.h"

#include <algorithm>
#include <tuple>

#include "core/assert.h"
#include "proto/replikv.pb.h"

namespace replikv::core::leaderless {

bool KeyState::deleted() const {
  return !registers.empty() && std::all_of(registers.begin(), registers.end(),
                                           [](const auto& e) { return e.second.tombstone; });
}

void KeyState::write(const CausalContext& replaces, const Dot& dot, Register value) {
  REPLIKV_ASSERT(!covers(context, dot), "a write's dot is new to the key");
  std::erase_if(registers, [&](const auto& entry) { return covers(replaces, entry.first); });
  seen_hlc = std::max(seen_hlc, value.hlc);
  registers.emplace(dot, std::move(value));
  context = core::join(context, replaces);
  auto& slot = context[dot.actor];
  slot = std::max(slot, dot.counter);
}

HlcTimestamp KeyState::highest_hlc() const {
  HlcTimestamp highest;
  for (const auto& [dot, value] : registers) highest = std::max(highest, value.hlc);
  return highest;
}

std::vector<Dot> KeyState::resolve_lww() { return keep_highest(registers); }

KeyState KeyState::join(const KeyState& a, const KeyState& b) {
  KeyState out;
  for (const auto& [dot, value] : a.registers) {
    const auto other = b.registers.find(dot);
    if (other != b.registers.end()) {
      // (Two registers under one dot: an expiry made one a tombstone — it wins — or a dot
      // issued twice, which no replica does; the choice is still the same on either side.)
      const Register& theirs = other->second;
      const bool take_mine = value.tombstone != theirs.tombstone
                                 ? value.tombstone
                                 : std::tie(value.hlc, value.value, value.deadline_ms) >=
                                       std::tie(theirs.hlc, theirs.value, theirs.deadline_ms);
      out.registers.emplace(dot, take_mine ? value : theirs);
    } else if (!covers(b.context, dot)) {
      out.registers.emplace(dot, value);
    }
  }
  for (const auto& [dot, value] : b.registers) {
    if (!a.registers.contains(dot) && !covers(a.context, dot)) out.registers.emplace(dot, value);
  }
  out.context = core::join(a.context, b.context);
  out.seen_hlc = std::max(a.seen_hlc, b.seen_hlc);
  return out;
}

KeyState KeyState::join_highest(const KeyState& a, const KeyState& b) {
  KeyState out;
  out.registers = a.registers;
  for (const auto& [dot, value] : b.registers) {
    const auto [it, fresh] = out.registers.emplace(dot, value);
    // (One dot, two registers: a tombstone an expiry made wins, as in join.)
    if (!fresh && value.tombstone && !it->second.tombstone) it->second = value;
  }
  keep_highest(out.registers);
  out.context = core::join(a.context, b.context);
  out.seen_hlc = std::max(a.seen_hlc, b.seen_hlc);
  return out;
}

bool KeyState::includes(const KeyState& other) const {
  if (seen_hlc < other.seen_hlc) return false;
  for (const auto& [actor, counter] : other.context) {
    if (counter_in(context, actor) < counter) return false;
  }
  for (const auto& [dot, value] : other.registers) {
    const auto mine = registers.find(dot);
    if (mine == registers.end()) {
      if (!covers(context, dot)) return false;
      continue;  // superseded here
    }
    if (value.tombstone && !mine->second.tombstone) return false;
  }
  return true;
}

const std::pair<const Dot, Register>* KeyState::winner(TimeMs now_ms) const {
  return highest_live(registers, now_ms);
}

std::vector<const std::pair<const Dot, Register>*> KeyState::live(TimeMs now_ms) const {
  return live_registers(registers, now_ms);
}

std::optional<Rendered> KeyState::render(TimeMs now_ms) const {
  const auto* best = winner(now_ms);
  if (best == nullptr) return std::nullopt;
  // The record lives while any live register does: a sibling may outlive the winner.
  TimeMs deadline = best->second.deadline_ms;
  for (const auto* sibling : live(now_ms)) {
    if (deadline == 0) break;
    deadline =
        sibling->second.deadline_ms == 0 ? 0 : std::max(deadline, sibling->second.deadline_ms);
  }
  return Rendered{best->second.value, deadline};
}

size_t KeyState::expire(TimeMs now_ms) { return expire_registers(registers, now_ms); }

std::string KeyState::encode() const {
  proto::LlKeyState message;
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
  message.set_seen_hlc_wall_ms(seen_hlc.wall_ms);
  message.set_seen_hlc_logical(seen_hlc.logical);
  for (const auto& [actor, counter] : context) {
    auto& out = *message.add_context();
    out.set_node(actor.node);
    out.set_incarnation(actor.incarnation);
    out.set_counter(counter);
  }
  std::string bytes;
  message.SerializeToString(&bytes);
  return bytes;
}

std::optional<KeyState> KeyState::decode(std::string_view bytes) {
  proto::LlKeyState message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  KeyState state;
  state.seen_hlc = {message.seen_hlc_wall_ms(), message.seen_hlc_logical()};
  for (const auto& position : message.context()) {
    if (position.counter() == 0) return std::nullopt;
    auto& slot = state.context[Actor{position.node(), position.incarnation()}];
    slot = std::max(slot, position.counter());
  }
  for (const auto& in : message.registers()) {
    const Dot dot{{in.node(), in.incarnation()}, in.counter()};
    // A register outside its own context, or twice: not a state any replica writes.
    if (dot.counter == 0 || !covers(state.context, dot)) return std::nullopt;
    Register value{
        {in.hlc_wall_ms(), in.hlc_logical()}, in.tombstone(), in.value(), in.deadline_ms()};
    if (value.hlc > state.seen_hlc) return std::nullopt;  // seen_hlc is above every register
    if (!state.registers.emplace(dot, std::move(value)).second) return std::nullopt;
  }
  return state;
}

}  // namespace replikv::core::leaderless
