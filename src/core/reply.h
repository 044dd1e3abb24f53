// Reply: what a client is answered, independent of the wire protocol, with its outcome as a type.
//
// The core builds replies; the runtime encodes them as RESP2 (runtime/resp.h). Error texts start
// with Redis's error code word ("ERR", "WRONGTYPE", "TIMEOUT", …) so Redis clients classify them
// the way they classify Redis's own. Beside the text, every reply carries its Outcome — what a
// client, the simulator or a checker may conclude about the request — set where the reply is
// made: the factories say it (ok() and the values: ok; error(): refused; not_leader(); unknown()).
// Nothing in the project learns an outcome from the words, except from_error_text(), the one
// reader of error texts that arrive over a wire (a peer's refusal, a RESP client's reply).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/assert.h"
#include "core/types.h"

namespace replikv::core {

// What a reply says about its request.
enum class Outcome : uint8_t {
  ok,          // done as answered: a value read, a write applied (or a condition that did not hold)
  refused,     // certainly not done: bad arguments, or refused before anything was logged
  not_leader,  // certainly not done here: this node does not take it; Reply::leader names who does
  unknown,     // not known: it may still take effect (a timeout; fewer acknowledgements than asked)
  several_values,  // done: a read that found several concurrent values (siblings), every one given
};
const char* to_string(Outcome outcome);
struct Reply;
// A reply as one line, RESP-like ("+OK", "-ERR …", ":3", "$value", "(nil)", "[…]"), with its
// outcome: for logs and test failures.
std::string describe(const Reply& reply);
std::ostream& operator<<(std::ostream& out, const Reply& reply);

struct Reply {
  enum class Kind : uint8_t { status, error, integer, bulk, null, array, null_array };

  Kind kind = Kind::null;
  int64_t integer = 0;
  std::string text;             // status, error, bulk
  std::vector<Reply> elements;  // array
  Outcome outcome = Outcome::ok;
  std::optional<NodeId> leader;  // not_leader: the leader this node knows of, if any

  static Reply ok() { return status("OK"); }
  static Reply status(std::string text) { return make(Kind::status, 0, std::move(text)); }
  // A definite refusal; `text` starts with its code word.
  static Reply error(std::string text) {
    return make(Kind::error, 0, std::move(text), {}, Outcome::refused);
  }
  // "NOTLEADER …": not taken here; `leader` is who leads, when this node knows.
  static Reply not_leader(std::optional<NodeId> leader, std::string text) {
    return make(Kind::error, 0, std::move(text), {}, Outcome::not_leader, leader);
  }
  // "TIMEOUT …": the outcome is not known; the request may still take effect.
  static Reply unknown(std::string text) {
    return make(Kind::error, 0, std::move(text), {}, Outcome::unknown);
  }
  // An error reply from its text alone, as it arrived over a wire: the code word decides —
  // NOTLEADER (with the leader from "the leader is node <id>"), TIMEOUT, or any other (refused).
  static Reply from_error_text(std::string text);
  static Reply number(int64_t value) { return make(Kind::integer, value, {}); }
  static Reply bulk(std::string bytes) { return make(Kind::bulk, 0, std::move(bytes)); }
  static Reply nil() { return {}; }
  static Reply null_array() { return make(Kind::null_array, 0, {}); }
  static Reply array(std::vector<Reply> elements = {}) {
    return make(Kind::array, 0, {}, std::move(elements));
  }
  // A read's concurrent values (siblings) as an array of bulk strings, for the client to merge:
  // two or more (one value is a plain bulk reply).
  static Reply several_values(const std::vector<std::string>& values) {
    REPLIKV_ASSERT(values.size() >= 2, "several values are two or more");
    std::vector<Reply> elements;
    elements.reserve(values.size());
    for (const auto& value : values) elements.push_back(bulk(value));
    return make(Kind::array, 0, {}, std::move(elements), Outcome::several_values);
  }

  bool is_error() const { return kind == Kind::error; }
  bool operator==(const Reply&) const = default;

 private:
  static Reply make(Kind kind, int64_t integer, std::string text, std::vector<Reply> elements = {},
                    Outcome outcome = Outcome::ok, std::optional<NodeId> leader = std::nullopt) {
    Reply reply;
    reply.kind = kind;
    reply.integer = integer;
    reply.text = std::move(text);
    reply.elements = std::move(elements);
    reply.outcome = outcome;
    reply.leader = leader;
    return reply;
  }
};

}  // namespace replikv::core
