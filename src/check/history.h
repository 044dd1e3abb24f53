// History: the operations a test observed, in the JSON Lines format every checker reads.
//
// One event per line, in real-time order:
//   {"process": 3, "type": "invoke"|"ok"|"fail"|"info", "f": "read"|"write"|"cas"|"insert"|"add",
//    "key": "k1", "value": …, "time": <ns>}
// Values are JSON scalars — integers or strings, null for absent; a cas carries
// [expected, new]. `info` means the outcome is unknown: the operation may or may not have taken
// effect, at any point after its invocation. A missing key means the single register "". Optional
// fields: "final": true (reads of the final phase), "node", "consistency" ("linearizable",
// "session", "bounded:<ms>", "eventual"). A read's completion may carry an array of scalars: the
// several concurrent values (siblings) it found. Any other member is a strategy's own (the
// position a write took, the context it carried, quorum sizes: core/strategy.h, history_fields):
// kept as JSON text in Operation::fields for the checkers that know it. Other event types:
//   {"type": "digest", "node": …, "value": …, "time": …}   a replica's state digest
//   {"type": "heal", "time": …}                              the nemesis healed every fault
//   {"type": "nemesis", "value": "kill n1", "time": …}       a fault the nemesis began or ended
//   {"type": "made", "node": …, "key": …, "value": …, "time": …, …}
//                                                            a node made the write of `value` (the
//                                                            strategy's fields: its dot, the
//                                                            context it carried), whether or not
//                                                            its client heard back
//   {"type": "replica", "node": …, "event": …, "time": …, …}  what a replica reported (an lww
//                                                            discard: "event": "discarded",
//                                                            "dot": …)
//   {"type": "counter", "name": …, "value": <int>, "time": …} a strategy counter's total over the
//                                                            run (every node, every crash)
// This is the shape of Jepsen's and Porcupine's histories, so theirs can be checked too.
//
// parse_history pairs each invocation with its completion (by process) into Operations. An
// invocation with no completion is treated as `info`. Errors name the line.
#pragma once

#include <cstdint>
#include <istream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

namespace replikv::check {

// A register value: absent (null), an integer, or a string.
struct Value {
  std::variant<std::monostate, int64_t, std::string> data;

  static Value null() { return {}; }
  bool is_null() const { return std::holds_alternative<std::monostate>(data); }
  bool operator==(const Value&) const = default;
  std::string to_string() const;  // as JSON
};

struct ValueHash {
  size_t operator()(const Value& value) const;
};

// add: a counter's increment by `value` (INCRBY); a read of a counter returns its total.
// del: a DEL, which writes absence; its history value is an id naming this delete among the
// history's writes (so a strategy's "made" event can say which delete it made), kept in
// Operation::id — Operation::value is null, what it writes.
enum class Function : uint8_t { read, write, cas, insert, add, del };
enum class Outcome : uint8_t { ok, fail, info };

inline constexpr int64_t time_never = std::numeric_limits<int64_t>::max();

struct Operation {
  int64_t process = 0;
  Function f = Function::read;
  std::string key;
  Value value;     // read: the value returned (on ok); write/insert: the value written
  Value expected;  // cas only
  Value id;        // del only: the history's value, which names the delete
  Outcome outcome = Outcome::info;
  int64_t invoke_ns = 0;
  int64_t complete_ns = time_never;  // time_never when the outcome is unknown
  bool final = false;
  std::optional<std::string> node;
  std::string consistency;    // empty when not given
  std::vector<Value> values;  // a read that found several concurrent values: each (value: null)
  std::map<std::string, std::string, std::less<>> fields;  // other members, as JSON text
  size_t line = 0;                                         // of the invocation, for reports
  size_t index = 0;                                        // position in History::operations
};

struct DigestEvent {
  std::string node;
  Value value;
  int64_t time_ns = 0;
};

struct MadeEvent {
  std::string node;
  std::string key;
  Value value;
  std::map<std::string, std::string, std::less<>> fields;  // the strategy's, as JSON text
  int64_t time_ns = 0;
};

struct ReplicaEvent {
  std::string node;
  std::string event;
  std::map<std::string, std::string, std::less<>> fields;  // the others, as JSON text
  int64_t time_ns = 0;
};

struct NemesisEvent {
  std::string what;
  int64_t time_ns = 0;
};

struct History {
  std::vector<Operation> operations;  // in invocation order
  std::vector<DigestEvent> digests;   // in time order
  std::optional<int64_t> last_heal_ns;
  std::vector<NemesisEvent> nemesis;  // in time order
  std::vector<MadeEvent> made;        // in time order
  std::vector<ReplicaEvent> replica_events;
  std::map<std::string, int64_t, std::less<>> counters;
};

// The nodes the nemesis crashed or whose disk it wiped ("kill n1", "wipe n1"), each with when.
std::map<std::string, std::vector<int64_t>> crash_times(const History& history);
// The nemesis event a run whose nodes do not sync every write begins with (the simulator's and
// chaos's histories): only then can a crash take a write its node acknowledged.
inline constexpr std::string_view fsync_never_event = "fsync never";
// The crashes that may have taken acknowledged writes: every disk wiped, and under fsync "never"
// every kill.
std::map<std::string, std::vector<int64_t>> lossy_crash_times(const History& history);

struct ParseError {
  size_t line = 0;
  std::string message;
};

// Reads a JSONL history. Returns the history, or the first error with its line number.
std::variant<History, ParseError> parse_history(std::istream& input);

// The writer: every history line any tool records (the simulator, chaos, the nemesis) is written
// here, beside the parser that reads it, so the two cannot drift apart.

// An operation's event as written: its invocation, or its completion.
enum class EventType : uint8_t { invoke, ok, fail, info };
struct OperationEvent {
  int64_t process = 0;
  EventType type = EventType::invoke;
  Function f = Function::read;
  std::string_view key;
  std::string_view value = "null";  // JSON text: an integer, a string, null, or [expected, new]
  std::optional<int64_t> node;      // the node asked
  bool final = false;               // a read of the final phase
  std::string_view consistency;     // a read's consistency; empty: none given
  // More members, name → JSON text (a strategy's own: history_fields); names other than the ones
  // above.
  const std::vector<std::pair<std::string, std::string>>* fields = nullptr;
};
// Each appends one line, stamped `time_ns`, to `out`.
void write_event(fmt::memory_buffer& out, const OperationEvent& event, int64_t time_ns);
// `value` is JSON text (a digest as a string, or null when the node did not answer).
void write_digest(fmt::memory_buffer& out, int64_t node, std::string_view value, int64_t time_ns);
void write_heal(fmt::memory_buffer& out, int64_t time_ns);
void write_nemesis(fmt::memory_buffer& out, std::string_view what, int64_t time_ns);
// `value` is JSON text; `fields` the strategy's members (name → JSON text).
void write_made(fmt::memory_buffer& out, int64_t node, std::string_view key, std::string_view value,
                const std::vector<std::pair<std::string, std::string>>& fields, int64_t time_ns);
void write_replica_event(fmt::memory_buffer& out, int64_t node,
                         const std::vector<std::pair<std::string, std::string>>& fields,
                         int64_t time_ns);
void write_counter(fmt::memory_buffer& out, std::string_view name, int64_t value, int64_t time_ns);
// Whether `name` is a member this format defines ("process", "value", "node", …): a strategy's
// own fields take other names.
bool is_defined_member(std::string_view name);
// `text` as a JSON string (quoted and escaped).
std::string json_string(std::string_view text);
// The contents of a JSON string (`json_string`'s inverse), or nullopt for any other JSON text.
std::optional<std::string> parse_json_string(std::string_view json);
const char* to_string(EventType type);

const char* to_string(Function f);
const char* to_string(Outcome outcome);

}  // namespace replikv::check
