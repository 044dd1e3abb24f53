#include "core/leaderless/key_state.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "core/assert.h"
#include "core/command.h"
#include "core/data/collections.h"
#include "core/encoding.h"
#include "proto/replikv.pb.h"

namespace replikv::core::leaderless {
namespace {

// The registers of two copies joined: one both hold (a tombstone over a value under one dot: an
// expiry made it one), or one the other side's context does not cover (the other never saw it).
Registers join_registers(const Registers& a, const CausalContext& seen_a, const Registers& b,
                         const CausalContext& seen_b) {
  Registers out;
  for (const auto& [dot, value] : a) {
    const auto other = b.find(dot);
    if (other != b.end()) {
      // (Two registers under one dot: an expiry made one a tombstone — it wins — or a dot
      // issued twice, which no replica does; the choice is still the same on either side.)
      const Register& theirs = other->second;
      const bool take_mine = value.tombstone != theirs.tombstone
                                 ? value.tombstone
                                 : std::tie(value.hlc, value.value, value.deadline_ms) >=
                                       std::tie(theirs.hlc, theirs.value, theirs.deadline_ms);
      out.emplace(dot, take_mine ? value : theirs);
    } else if (!covers(seen_b, dot)) {
      out.emplace(dot, value);
    }
  }
  for (const auto& [dot, value] : b) {
    if (!a.contains(dot) && !covers(seen_a, dot)) out.emplace(dot, value);
  }
  return out;
}

// Per actor, the total with the higher counter (one actor's totals are ordered by it; equal
// counters name the same total, compared whole only to stay a function of the two sides).
std::map<Actor, Count> join_counts(const std::map<Actor, Count>& a,
                                   const std::map<Actor, Count>& b) {
  std::map<Actor, Count> out = a;
  for (const auto& [actor, count] : b) {
    const auto [it, fresh] = out.emplace(actor, count);
    if (fresh) continue;
    const Count& mine = it->second;
    if (std::tuple(count.counter, count.first, count.total,
                   std::bit_cast<uint64_t>(count.float_total)) >
        std::tuple(mine.counter, mine.first, mine.total,
                   std::bit_cast<uint64_t>(mine.float_total))) {
      it->second = count;
    }
  }
  return out;
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

constexpr char kinds_in_order[] = {element_field, element_member, element_scored};

}  // namespace

// ---- ElementState ----

void ElementState::write(const Dot& dot, Register value) {
  REPLIKV_ASSERT(!covers(context, dot), "an element write's dot is new to the element");
  registers.clear();  // the context covers every register held: all superseded
  registers.emplace(dot, std::move(value));
  auto& slot = context[dot.actor];
  slot = std::max(slot, dot.counter);
  resets = counts;
}

bool ElementState::fully_reset(const Actor& actor, const Count& count) const {
  const auto reset = resets.find(actor);
  return reset != resets.end() && reset->second.first == count.first &&
         reset->second.counter >= count.counter;
}

const Count* ElementState::continued(const Actor& actor) const {
  const auto count = counts.find(actor);
  if (count == counts.end() || fully_reset(actor, count->second)) return nullptr;
  return &count->second;
}

void ElementState::increment(const Dot& dot, int64_t delta, double float_delta) {
  const auto held = counts.find(dot.actor);
  REPLIKV_ASSERT(held == counts.end() || held->second.counter < dot.counter,
                 "an actor's increments go up in dots");
  // A run of its own begins when it holds none, or when its whole total was reset (a large total
  // taken away would otherwise cost the later increments their low bits).
  const Count* current = continued(dot.actor);
  Count next = current != nullptr ? *current : Count{dot.counter, dot.counter, 0, 0};
  next.counter = dot.counter;
  next.total = saturating_add(next.total, delta);
  next.float_total += float_delta;
  counts.insert_or_assign(dot.actor, next);
}

bool ElementState::can_increment(const Actor& actor, int64_t delta, double float_delta) const {
  const Count* current = continued(actor);
  if (current == nullptr) return !std::isnan(float_delta);
  int64_t total = 0;
  if (__builtin_add_overflow(current->total, delta, &total)) return false;
  return !std::isnan(current->float_total + float_delta);
}

bool ElementState::counting() const {
  return std::any_of(counts.begin(), counts.end(),
                     [&](const auto& entry) { return !fully_reset(entry.first, entry.second); });
}

int64_t ElementState::sum() const {
  int64_t out = 0;
  for (const auto& [actor, count] : counts) {
    const auto reset = resets.find(actor);
    const bool same_run = reset != resets.end() && reset->second.first == count.first;
    // (Saturated totals make the difference approximate; they are already past INT64's range.)
    int64_t part = count.total;
    if (same_run && __builtin_sub_overflow(count.total, reset->second.total, &part)) {
      part = count.total > 0 ? std::numeric_limits<int64_t>::max()
                             : std::numeric_limits<int64_t>::min();
    }
    out = saturating_add(out, part);
  }
  return out;
}

double ElementState::float_sum() const {
  double out = 0;
  for (const auto& [actor, count] : counts) {
    const auto reset = resets.find(actor);
    const bool same_run = reset != resets.end() && reset->second.first == count.first;
    out += same_run ? count.float_total - reset->second.float_total : count.float_total;
  }
  return out;
}

bool ElementState::present() const {
  return std::any_of(registers.begin(), registers.end(),
                     [](const auto& entry) { return !entry.second.tombstone; }) ||
         counting();
}

std::optional<std::string> ElementState::shown(char kind) const {
  if (!present()) return std::nullopt;
  const auto* best = highest_live(registers, 0);
  switch (kind) {
    case element_member:
      return std::string();
    case element_field: {
      if (!counting()) return best->second.value;
      int64_t base = 0;
      if (best != nullptr) {
        const auto parsed = parse_int64(best->second.value);
        if (!parsed) return best->second.value;  // not a number: the value as written
        base = *parsed;
      }
      return std::to_string(saturating_add(base, sum()));
    }
    default: {
      double base = 0;
      if (best != nullptr && best->second.value.size() == 8) {
        base = score_of_raw(best->second.value);
      }
      const double score = counting() ? base + float_sum() : base;
      return raw_score(std::isnan(score) ? 0 : score);
    }
  }
}

ElementState ElementState::join(const ElementState& a, const ElementState& b) {
  ElementState out;
  out.registers = join_registers(a.registers, a.context, b.registers, b.context);
  out.context = core::join(a.context, b.context);
  out.counts = join_counts(a.counts, b.counts);
  out.resets = join_counts(a.resets, b.resets);
  return out;
}

// ---- KeyState ----

bool KeyState::deleted() const {
  return !registers.empty() && std::all_of(registers.begin(), registers.end(), [](const auto& e) {
    return e.second.tombstone;
  }) && shown_kind() == 0;
}

char KeyState::shown_kind() const {
  for (const char kind : kinds_in_order) {
    for (auto it = elements.lower_bound({kind, {}});
         it != elements.end() && it->first.first == kind; ++it) {
      if (it->second.present()) return kind;
    }
  }
  return 0;
}

uint64_t KeyState::present_count(char kind) const {
  uint64_t count = 0;
  for (auto it = elements.lower_bound({kind, {}}); it != elements.end() && it->first.first == kind;
       ++it) {
    if (it->second.present()) ++count;
  }
  return count;
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
  out.registers = join_registers(a.registers, a.context, b.registers, b.context);
  out.context = core::join(a.context, b.context);
  out.seen_hlc = std::max(a.seen_hlc, b.seen_hlc);
  out.elements = a.elements;
  for (const auto& [name, theirs] : b.elements) {
    const auto [it, fresh] = out.elements.emplace(name, theirs);
    if (!fresh) it->second = ElementState::join(it->second, theirs);
  }
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
  for (const auto& [name, theirs] : other.elements) {
    const auto mine = elements.find(name);
    if (mine == elements.end() || !(ElementState::join(mine->second, theirs) == mine->second)) {
      return false;
    }
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

namespace {

template <typename Message>
void encode_registers(const Registers& registers, const CausalContext& context, Message& message) {
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
  for (const auto& [actor, counter] : context) {
    auto& out = *message.add_context();
    out.set_node(actor.node);
    out.set_incarnation(actor.incarnation);
    out.set_counter(counter);
  }
}

// The registers and context of `message`, or false when they are no state any replica writes: a
// register outside its own context, or twice, or stamped above `seen_hlc`.
template <typename Message>
bool decode_registers(const Message& message, const HlcTimestamp& seen_hlc, Registers& registers,
                      CausalContext& context) {
  for (const auto& position : message.context()) {
    if (position.counter() == 0 || position.counter() >= counter_max) return false;
    auto& slot = context[Actor{position.node(), position.incarnation()}];
    slot = std::max(slot, position.counter());
  }
  for (const auto& in : message.registers()) {
    const Dot dot{{in.node(), in.incarnation()}, in.counter()};
    if (dot.counter == 0 || !covers(context, dot)) return false;
    Register value{
        {in.hlc_wall_ms(), in.hlc_logical()}, in.tombstone(), in.value(), in.deadline_ms()};
    if (value.hlc > seen_hlc) return false;
    if (!registers.emplace(dot, std::move(value)).second) return false;
  }
  return true;
}

void encode_counts(const std::map<Actor, Count>& counts,
                   google::protobuf::RepeatedPtrField<proto::LlCount>& out) {
  for (const auto& [actor, count] : counts) {
    auto& message = *out.Add();
    message.set_node(actor.node);
    message.set_incarnation(actor.incarnation);
    message.set_counter(count.counter);
    message.set_first(count.first);
    message.set_total(count.total);
    message.set_float_total(count.float_total);
  }
}

bool decode_counts(const google::protobuf::RepeatedPtrField<proto::LlCount>& in,
                   std::map<Actor, Count>& counts) {
  for (const auto& message : in) {
    if (message.first() == 0 || message.first() > message.counter() ||
        message.counter() >= counter_max || std::isnan(message.float_total())) {
      return false;
    }
    const Count count{message.counter(), message.first(), message.total(), message.float_total()};
    if (!counts.emplace(Actor{message.node(), message.incarnation()}, count).second) return false;
  }
  return true;
}

}  // namespace

namespace {

template <typename Message>
void encode_element(const ElementState& state, Message& out) {
  encode_registers(state.registers, state.context, out);
  encode_counts(state.counts, *out.mutable_counts());
  encode_counts(state.resets, *out.mutable_resets());
}

template <typename Message>
std::optional<ElementState> decode_element(const Message& in, const HlcTimestamp& seen_hlc) {
  ElementState element;
  if (!decode_registers(in, seen_hlc, element.registers, element.context) ||
      !decode_counts(in.counts(), element.counts) || !decode_counts(in.resets(), element.resets) ||
      element.empty()) {
    return std::nullopt;
  }
  return element;
}

}  // namespace

std::string ElementState::encode() const {
  proto::LlElement message;
  encode_element(*this, message);
  std::string bytes;
  message.SerializeToString(&bytes);
  return bytes;
}

std::optional<ElementState> ElementState::decode(std::string_view bytes) {
  proto::LlElement message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  // (Stored alone, an element carries no copy's timestamp: its registers are bounded by none.)
  return decode_element(message, HlcTimestamp{INT64_MAX, UINT32_MAX});
}

void KeyState::to_proto(proto::LlKeyState& message) const {
  encode_registers(registers, context, message);
  message.set_seen_hlc_wall_ms(seen_hlc.wall_ms);
  message.set_seen_hlc_logical(seen_hlc.logical);
  for (const auto& [name, state] : elements) {
    auto& out = *message.add_elements();
    out.set_kind(static_cast<uint8_t>(name.first));
    out.set_name(name.second);
    encode_element(state, out);
  }
}

std::string KeyState::encode() const {
  proto::LlKeyState message;
  to_proto(message);
  std::string bytes;
  message.SerializeToString(&bytes);
  return bytes;
}

std::optional<KeyState> KeyState::from_proto(const proto::LlKeyState& message) {
  KeyState state;
  state.seen_hlc = {message.seen_hlc_wall_ms(), message.seen_hlc_logical()};
  if (!decode_registers(message, state.seen_hlc, state.registers, state.context)) {
    return std::nullopt;
  }
  for (const auto& in : message.elements()) {
    const char kind = static_cast<char>(in.kind());
    if (in.kind() > 0xff || std::find(std::begin(kinds_in_order), std::end(kinds_in_order), kind) ==
                                std::end(kinds_in_order)) {
      return std::nullopt;
    }
    auto element = decode_element(in, state.seen_hlc);
    if (!element ||
        !state.elements.emplace(ElementName{kind, in.name()}, std::move(*element)).second) {
      return std::nullopt;
    }
  }
  return state;
}

std::optional<KeyState> KeyState::decode(std::string_view bytes) {
  proto::LlKeyState message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  return from_proto(message);
}

}  // namespace replikv::core::leaderless
