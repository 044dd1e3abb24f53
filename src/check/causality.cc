#include "check/causality.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "check/vectors.h"

namespace replikv::check {
namespace {

// The vector of an operation's "position" member ("<vector>@<hlc>"), or nullopt.
std::optional<Vector> position_vector(const Operation& op) {
  const auto field = op.fields.find("position");
  if (field == op.fields.end()) return std::nullopt;
  const auto text = unquote(field->second);
  const size_t at = text ? text->rfind('@') : std::string_view::npos;
  return at == std::string_view::npos ? std::nullopt : parse_vector(text->substr(0, at));
}

struct Write {
  std::string key;
  std::string value;  // JSON text
  std::string node;
  Dot dot;
  Vector context;
  Hlc hlc{0, 0};           // lww's order, then the dot
  bool increment = false;  // a counter's increment: it takes a dot, no register
  bool tombstone = false;  // a delete's: no read shows it
  // A merge's context as its client sent it, when its node added to it (the tombstones and
  // collected writes it no longer held): only tombstones may be superseded by what was added.
  std::optional<Vector> client_context;
  int64_t made_ns = 0;
  bool acknowledged = false;
};

// lww's order (check/vectors.h).
bool ordered_after(const Write& a, const Write& b) { return lww_after(a.hlc, a.dot, b.hlc, b.dot); }

// Whether `later` superseded `earlier`: its context covers it — through what the client had
// seen, when `later` is a merge its node added to, unless `earlier` is a tombstone (a merge
// supersedes the deletes its node held or had collected).
bool supersedes(const Write& later, const Write& earlier) {
  if (!covers(later.context, earlier.dot)) return false;
  return earlier.tombstone || !later.client_context || covers(*later.client_context, earlier.dot);
}

bool concurrent(const Write& a, const Write& b) {
  return !covers(a.context, b.dot) && !covers(b.context, a.dot);
}

struct Judged {
  CheckResult result;
  uint64_t made = 0, took_effect = 0, kept = 0, superseded = 0, discarded = 0,
           discarded_acknowledged = 0, lost_with_node = 0, frontier_mismatches = 0;
  // lww: writes that may have lost to a concurrent later one (a write that took effect, is not
  // kept, and has such a rival), and those that certainly did (no write that took effect had
  // seen them either).
  uint64_t may_have_lost = 0, unexplained = 0;
  // lww: the writes the nodes reported discarding, and how those reports compare.
  uint64_t reported = 0, reported_twice = 0, reported_not_lost = 0, lost_unreported = 0;
  // … and those gone unreported because the node that counts them (theirs) lost them — in a crash
  // (fsync "never"), with its disk, or in a state transfer it joined — after they had reached
  // another node.
  uint64_t discarded_uncounted_crashed = 0;
  uint64_t reported_again_after_crash = 0;
  bool unreadable = false;
};

Judged judge(const History& history, std::string name) {
  Judged out;
  CheckResult& result = out.result;
  result.checker = std::move(name);
  // Every write a node made, by key and value (the simulator writes each value once per key).
  std::map<std::pair<std::string, std::string>, Write> writes;
  for (const auto& made : history.made) {
    const auto dot_field = made.fields.find("dot");
    const auto context_field = made.fields.find("context");
    if (dot_field == made.fields.end() || context_field == made.fields.end()) continue;
    const auto dot = unquote(dot_field->second);
    const auto context_text = unquote(context_field->second);
    const auto dot_vector = dot ? parse_vector(*dot) : std::nullopt;
    const auto context = context_text ? parse_vector(*context_text) : std::nullopt;
    if (!dot_vector || dot_vector->size() != 1 || !context) {
      out.unreadable = true;
      add_detail(result,
                 fmt::format("key {}: a made event's dot or context does not parse", made.key));
      continue;
    }
    Write write;
    write.key = made.key;
    write.value = made.value.to_string();
    write.node = made.node;
    write.dot = {dot_vector->begin()->first, dot_vector->begin()->second};
    write.context = *context;
    write.made_ns = made.time_ns;
    if (const auto hlc_field = made.fields.find("hlc"); hlc_field != made.fields.end()) {
      const auto text = unquote(hlc_field->second);
      if (const auto hlc = text ? parse_hlc(*text) : std::nullopt) write.hlc = *hlc;
    }
    // An element's write (a collection's, judged by convergence) is, like an increment, not a
    // register's: it only holds its dot here (a crashed node's lost dots are issued again).
    write.increment = made.fields.contains("increment") || made.fields.contains("element");
    write.tombstone = made.fields.contains("tombstone");
    if (const auto field = made.fields.find("client_context"); field != made.fields.end()) {
      const auto text = unquote(field->second);
      write.client_context = text ? parse_vector(*text) : std::nullopt;
      if (!write.client_context) {
        out.unreadable = true;
        add_detail(result,
                   fmt::format("key {}: a made event's client context does not parse", made.key));
      }
    }
    if (write.increment) write.value = "+" + write.value + "@" + std::to_string(made.time_ns);
    writes[{made.key, write.value}] = std::move(write);
  }
  out.made = writes.size();
  // A node that crashed before a write was durable issues its dot again (nothing had seen it): of
  // several writes made under one dot, only the last can have taken effect.
  std::map<std::pair<std::string, uint64_t>, const Write*> latest;
  for (const auto& [id, write] : writes) {
    auto& slot = latest[{write.dot.actor, write.dot.counter}];
    if (slot == nullptr || slot->made_ns < write.made_ns) slot = &write;
  }

  // Which were acknowledged.
  for (const auto& op : history.operations) {
    if (op.f == Function::read || op.outcome != Outcome::ok) continue;
    const Value& named = op.f == Function::del ? op.id : op.value;
    const auto it = writes.find({op.key, named.to_string()});
    if (it != writes.end()) it->second.acknowledged = true;
  }
  // The final state: each key's values as the final read from the node furthest along found them
  // (a node still catching up when the final phase began read an older state: its vector is
  // covered by another's), and the vector of every write the reading nodes had applied.
  struct FinalRead {
    std::set<std::string> values;
    Vector position;
    uint64_t total = 0;  // the position's counters summed
  };
  std::map<std::string, std::vector<FinalRead>> reads_by_key;
  Vector final_vector;
  for (const auto& op : history.operations) {
    if (!op.final || op.f != Function::read || op.outcome != Outcome::ok) continue;
    FinalRead read;
    if (!op.values.empty()) {
      for (const auto& value : op.values) read.values.insert(value.to_string());
    } else if (!op.value.is_null()) {
      read.values.insert(op.value.to_string());
    }
    if (auto vector = position_vector(op)) {
      read.position = *vector;
      for (const auto& [actor, counter] : *vector) {
        auto& slot = final_vector[actor];
        slot = std::max(slot, counter);
        read.total += counter;
      }
    }
    reads_by_key[op.key].push_back(std::move(read));
  }
  std::map<std::string, std::set<std::string>> final_values;
  for (auto& [key, reads] : reads_by_key) {
    const uint64_t furthest =
        std::max_element(reads.begin(), reads.end(), [](const auto& a, const auto& b) {
          return a.total < b.total;
        })->total;
    std::set<std::set<std::string>> seen;
    for (const auto& read : reads) {
      if (read.total == furthest) seen.insert(read.values);
    }
    final_values.emplace(key, *seen.begin());
    if (seen.size() > 1) {
      ++out.frontier_mismatches;
      add_detail(result, fmt::format("key {}: nodes that had applied the same writes read it "
                                     "differently",
                                     key));
    }
  }
  // Nodes that crashed or lost their disk, and when.
  const auto crashes = crash_times(history);
  const auto crashed_after = [&](const Write& write) {
    const auto it = crashes.find(write.node);
    if (it == crashes.end()) return false;
    for (const int64_t at : it->second) {
      if (at >= write.made_ns) return true;
    }
    return false;
  };
  // Nodes that joined a state transfer, and when: a write of theirs that a peer had discarded
  // leaves them in the join, which cannot tell a discard from a write superseded there.
  std::map<std::string, std::vector<int64_t>> installs;
  for (const auto& event : history.replica_events) {
    if (event.event == "installed") installs[event.node].push_back(event.time_ns);
  }
  const auto lost_to_its_node = [&](const Write& write) {
    if (crashed_after(write)) return true;
    const auto it = installs.find(write.node);
    if (it == installs.end()) return false;
    for (const int64_t at : it->second) {
      if (at >= write.made_ns) return true;
    }
    return false;
  };
  // The writes the nodes reported discarding (lww), by dot, with when and where.
  std::map<std::pair<std::string, uint64_t>, std::vector<std::pair<std::string, int64_t>>> reported;
  for (const auto& event : history.replica_events) {
    if (event.event != "discarded") continue;
    const auto dot_field = event.fields.find("dot");
    const auto text = dot_field == event.fields.end() ? std::nullopt : unquote(dot_field->second);
    const auto vector = text ? parse_vector(*text) : std::nullopt;
    if (!vector || vector->size() != 1) {
      out.unreadable = true;
      continue;
    }
    reported[{vector->begin()->first, vector->begin()->second}].emplace_back(event.node,
                                                                             event.time_ns);
  }
  out.reported = 0;
  for (const auto& [dot, reports] : reported) {
    out.reported += reports.size();
    // A second report is sound only when its node crashed in between (fsync "never": the crash
    // took back the first discard, which happened again).
    for (size_t i = 1; i < reports.size(); ++i) {
      bool crashed_between = false;
      if (const auto it = crashes.find(reports[i].first); it != crashes.end()) {
        for (const int64_t at : it->second) {
          crashed_between |= at >= reports[i - 1].second && at <= reports[i].second;
        }
      }
      if (crashed_between) {
        ++out.reported_again_after_crash;
      } else {
        ++out.reported_twice;
        add_detail(result, fmt::format("write {}:{} was reported discarded twice by node {}",
                                       dot.first, dot.second, reports[i].first));
      }
    }
  }
  // Each key's writes that took effect, and what became of each.
  std::map<std::string, std::vector<const Write*>> by_key;
  std::map<std::string, std::vector<const Write*>> made_by_key;  // took effect or not
  for (const auto& [id, write] : writes) {
    if (!write.increment) made_by_key[write.key].push_back(&write);
  }
  for (const auto& [id, write] : writes) {
    if (write.increment) continue;  // the counters checker judges increments
    if (covers(final_vector, write.dot) &&
        latest.at({write.dot.actor, write.dot.counter}) == &write) {
      by_key[write.key].push_back(&write);
    } else if (write.acknowledged) {
      ++out.lost_with_node;
      if (!crashed_after(write)) {
        add_detail(result, fmt::format("key {}: acknowledged write {} ({}:{}) took effect nowhere, "
                                       "and node {} did not crash after making it",
                                       write.key, write.value, write.dot.actor, write.dot.counter,
                                       write.node));
        out.unreadable = true;  // a violation whatever the policy
      }
    }
  }
  // A counter's final read shows its register and increments summed: the registers of keys that
  // took increments are judged by convergence, not against the frontier here.
  std::set<std::string> counter_keys;
  for (const auto& [id, write] : writes) {
    if (write.increment) counter_keys.insert(write.key);
  }
  for (const auto& [key, effective] : by_key) {
    if (counter_keys.contains(key)) continue;
    const auto final_it = final_values.find(key);
    const std::set<std::string> empty;
    const std::set<std::string>& kept_values =
        final_it == final_values.end() ? empty : final_it->second;
    // The causal frontier: the writes that took effect and no other that took effect had seen.
    std::set<const Write*> frontier;
    for (const Write* write : effective) {
      bool superseded = false;
      for (const Write* other : effective) {
        superseded |= other != write && supersedes(*other, *write);
      }
      if (!superseded) frontier.insert(write);
    }
    // What the final state holds of it: under siblings every register of the frontier, under lww
    // one — and no read shows a tombstone, so the final reads see the live ones. (lww's one is
    // usually the frontier's highest, but not always: a write that superseded a tombstone its node
    // had already collected is stamped by its own clock, which may run behind the tombstone's —
    // and the tombstone had beaten a concurrent write of the frontier first. Each write lww
    // dropped is held to a concurrent later rival below, through the nodes' reports.)
    const bool keeps_all = result.checker == "superseded";
    const Write* lww_kept = nullptr;  // the value kept, or the frontier's highest tombstone
    for (const Write* write : frontier) {
      const bool candidate =
          kept_values.empty() ? write->tombstone : kept_values.contains(write->value);
      if (candidate && (lww_kept == nullptr || ordered_after(*write, *lww_kept))) lww_kept = write;
    }
    std::set<std::string> expected_values, frontier_values;
    for (const Write* write : frontier) {
      frontier_values.insert(write->tombstone ? "(deleted " + write->value + ")" : write->value);
      if (!write->tombstone && (keeps_all || write == lww_kept))
        expected_values.insert(write->value);
    }
    const auto in_final_state = [&](const Write* write) {
      if (!write->tombstone) return kept_values.contains(write->value);
      return frontier.contains(write) && (keeps_all || write == lww_kept);
    };
    for (const Write* write : effective) {
      ++out.took_effect;
      const bool superseded = !frontier.contains(write);
      bool has_rival = false;
      for (const Write* other : effective) {
        if (other != write && concurrent(*other, *write) && ordered_after(*other, *write)) {
          has_rival = true;
          break;
        }
      }
      const bool kept = in_final_state(write);
      if (!kept && has_rival) ++out.may_have_lost;
      // A node discards what a rival it holds beats; a crash (fsync "never") may then take the
      // rival — or the discard — back: a report needs some rival made, and a reported write kept
      // a crash of its node after the report.
      bool made_rival = has_rival;
      for (const Write* other : made_by_key[key]) {
        made_rival |= other != write && concurrent(*other, *write) && ordered_after(*other, *write);
      }
      const auto report = reported.find({write->dot.actor, write->dot.counter});
      const bool was_reported = report != reported.end();
      bool crash_took_it_back = false;
      if (was_reported) {
        if (const auto it = crashes.find(write->node); it != crashes.end()) {
          for (const int64_t at : it->second)
            crash_took_it_back |= at >= report->second.front().second;
        }
      }
      if (was_reported && ((kept && !crash_took_it_back) || !made_rival)) {
        ++out.reported_not_lost;
        if (result.checker != "superseded") {
          add_detail(result, fmt::format("key {}: write {} ({}:{}) was reported discarded, but {}",
                                         key, write->value, write->dot.actor, write->dot.counter,
                                         kept ? "it is in the final state"
                                              : "no concurrent write was ordered after it"));
        }
      }
      if (!was_reported && !kept && !superseded && lost_to_its_node(*write)) {
        ++out.discarded_uncounted_crashed;
      } else if (!was_reported && !kept && !superseded) {
        ++out.lost_unreported;
        if (result.checker != "superseded") {
          add_detail(result, fmt::format("key {}: write {} ({}:{}) is gone — nothing had seen it — "
                                         "and no node reported discarding it",
                                         key, write->value, write->dot.actor, write->dot.counter));
        }
      }
      if (!kept && !superseded && !has_rival) {
        ++out.unexplained;
        if (result.checker != "superseded") {
          add_detail(result, fmt::format("key {}: write {} ({}:{}) vanished: nothing had seen it "
                                         "and no concurrent write was ordered after it",
                                         key, write->value, write->dot.actor, write->dot.counter));
        }
      }
      if (kept) {
        ++out.kept;
      } else if (superseded) {
        ++out.superseded;
      } else {
        ++out.discarded;
        if (write->acknowledged) ++out.discarded_acknowledged;
        if (result.checker == "superseded") {
          add_detail(result,
                     fmt::format("key {}: write {} ({}:{}) took effect, is not in the final "
                                 "state, and no write that took effect had seen it",
                                 key, write->value, write->dot.actor, write->dot.counter));
        }
      }
    }
    if (kept_values != expected_values || (!keeps_all && lww_kept == nullptr)) {
      ++out.frontier_mismatches;
      add_detail(result,
                 fmt::format("key {}: final values {{{}}} but the causal frontier is {{{}}}: {}",
                             key, fmt::join(kept_values, ","), fmt::join(frontier_values, ","),
                             keeps_all ? "siblings keep every live one"
                                       : "lww keeps one value of it, or a tombstone of it"));
    }
  }
  result.figures = {{"made", static_cast<double>(out.made)},
                    {"took_effect", static_cast<double>(out.took_effect)},
                    {"kept", static_cast<double>(out.kept)},
                    {"superseded", static_cast<double>(out.superseded)},
                    {"discarded", static_cast<double>(out.discarded)},
                    {"discarded_acknowledged", static_cast<double>(out.discarded_acknowledged)},
                    {"lost_with_node", static_cast<double>(out.lost_with_node)},
                    {"frontier_mismatches", static_cast<double>(out.frontier_mismatches)}};
  return out;
}

}  // namespace

CheckResult check_superseded(const History& history) {
  Judged judged = judge(history, "superseded");
  CheckResult& result = judged.result;
  if (judged.made == 0) {
    result.summary = "no made events with dots: nothing to judge";
    return result;
  }
  if (judged.discarded > 0 || judged.frontier_mismatches > 0 || judged.unreadable) {
    result.verdict = Verdict::invalid;
  }
  result.summary = fmt::format(
      "{} writes took effect: {} kept, {} superseded by a write that had seen them, {} silently "
      "lost; {} acknowledged lost with their node; final siblings {} the causal frontier",
      judged.took_effect, judged.kept, judged.superseded, judged.discarded, judged.lost_with_node,
      judged.frontier_mismatches == 0 ? "equal" : "differ from");
  return result;
}

// Which writes lww discarded depends on the order each node received them in (a write another
// client overwrote having seen it was not discarded, though a later rival beat it elsewhere), so
// the history cannot say it alone: each node reports every write of its own it discarded (once,
// when durable), and the checker holds each report to the history — the write had a concurrent
// rival ordered after it and is not in the final state — and every write nothing saw that is gone
// to a report. The reports must add up to the nodes' counter.
CheckResult check_lww_discards(const History& history) {
  Judged judged = judge(history, "lww-discards");
  CheckResult& result = judged.result;
  if (judged.made == 0) {
    result.summary = "no made events with dots: nothing to judge";
    return result;
  }
  const auto counted_it = history.counters.find("conflicts_discarded_total");
  const int64_t counted = counted_it == history.counters.end() ? 0 : counted_it->second;
  result.figures["counted"] = static_cast<double>(counted);
  result.figures["reported"] = static_cast<double>(judged.reported);
  result.figures["may_have_lost"] = static_cast<double>(judged.may_have_lost);
  result.figures["unexplained"] = static_cast<double>(judged.unexplained);
  result.figures["reported_again_after_crash"] =
      static_cast<double>(judged.reported_again_after_crash);
  result.figures["discarded_uncounted_crashed"] =
      static_cast<double>(judged.discarded_uncounted_crashed);
  if (static_cast<int64_t>(judged.reported) != counted) {
    add_detail(result, fmt::format("the nodes counted {} discarded writes but reported {}", counted,
                                   judged.reported));
  }
  if (static_cast<int64_t>(judged.reported) != counted || judged.reported_twice > 0 ||
      judged.reported_not_lost > 0 || judged.lost_unreported > 0 || judged.unexplained > 0 ||
      judged.frontier_mismatches > 0 || judged.unreadable) {
    result.verdict = Verdict::invalid;
  }
  result.summary = fmt::format(
      "{} writes took effect: {} kept, {} superseded, {} discarded by lww — counted and reported "
      "by the nodes, each one a write a concurrent later one beat ({} reports wrong, {} lost "
      "unreported, {} more uncounted: lost in a crash or a state transfer of their node); {} "
      "acknowledged lost with their node",
      judged.took_effect, judged.kept,
      judged.superseded + judged.discarded - judged.reported - judged.discarded_uncounted_crashed,
      judged.reported, judged.reported_twice + judged.reported_not_lost, judged.lost_unreported,
      judged.discarded_uncounted_crashed, judged.lost_with_node);
  return result;
}

CheckResult check_session_vectors(const History& history) {
  CheckResult result;
  result.checker = "session-vectors";
  std::map<int64_t, Vector> seen;  // per process: the join of its replies' positions so far
  uint64_t judged = 0, behind = 0;
  for (const auto& op : history.operations) {  // (invocation order; a process runs one at a time)
    if (op.outcome != Outcome::ok || op.final) continue;
    const auto position = position_vector(op);
    if (!position) continue;
    Vector& session = seen[op.process];
    if (op.f == Function::read && op.consistency == "session") {
      ++judged;
      for (const auto& [actor, counter] : session) {
        const auto it = position->find(actor);
        if (it != position->end() && it->second >= counter) continue;
        ++behind;
        add_detail(result, fmt::format("key {}: a session read (line {}) was served from a state "
                                       "without {}:{}, which its session had seen",
                                       op.key, op.line, actor, counter));
        break;
      }
    }
    for (const auto& [actor, counter] : *position) {
      uint64_t& slot = session[actor];
      slot = std::max(slot, counter);
    }
  }
  if (behind > 0) result.verdict = Verdict::invalid;
  result.figures = {{"judged", static_cast<double>(judged)},
                    {"behind", static_cast<double>(behind)}};
  result.summary = judged == 0 ? std::string("no session reads with positions: nothing to judge")
                               : fmt::format(
                                     "{} session reads judged: {} served from a state "
                                     "that lacked what their session had seen",
                                     judged, behind);
  return result;
}

}  // namespace replikv::check
