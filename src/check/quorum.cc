#include "check/quorum.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "check/vectors.h"

namespace replikv::check {
namespace {

std::optional<std::string_view> string_field(const Operation& op, std::string_view name) {
  const auto it = op.fields.find(name);
  return it == op.fields.end() ? std::nullopt : unquote(it->second);
}

std::optional<uint64_t> number_field(const Operation& op, std::string_view name) {
  const auto it = op.fields.find(name);
  if (it == op.fields.end()) return std::nullopt;
  uint64_t value = 0;
  const auto [end, error] =
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  if (error != std::errc() || end != it->second.data() + it->second.size()) return std::nullopt;
  return value;
}

// An answered operation a later read must have seen (when their quorums meet).
struct Known {
  const Operation* op = nullptr;
  Vector vector;        // a write's dot, or what a read saw
  uint64_t quorum = 0;  // the replicas that held it when it was answered
  uint64_t n = 0;
};

struct Read {
  const Operation* op = nullptr;
  Vector seen;
  uint64_t asked = 0;
  uint64_t n = 0;
  std::optional<std::vector<Dot>> registers;  // the dots of the registers it returned from
  bool lww = false;   // concurrent versions resolved by lww's order (its "order" field)
  std::string shown;  // what the reply showed of the copy: "one" value, "all" or "none"
};

// A write as the node that made it reported it (a "made" replica event).
struct Made {
  Vector context;          // what it superseded
  bool tombstone = false;  // a delete
  std::optional<Hlc> hlc;  // its timestamp
  // The value it wrote, where reported: a node's "made" event's "written", or the answered
  // write's own value (a value may take two dots — a forwarded write its node coordinated twice
  // — of which the answer names one). What ties a read's values to the versions it names.
  std::optional<std::string> written;
};

// A write as a "made" event or an answer's fields describe it ("dot", "context", "tombstone",
// "hlc"), or nullopt.
template <typename Fields>
std::optional<std::pair<Dot, Made>> made_of(const Fields& fields);

// "a:1,b:2,a:3" — one dot per item, an actor may come twice ("-": none), or nullopt.
std::optional<std::vector<Dot>> parse_dots(std::string_view text) {
  std::vector<Dot> out;
  if (text == "-") return out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    auto one = parse_vector(text.substr(0, comma));
    if (!one || one->size() != 1) return std::nullopt;
    out.push_back({one->begin()->first, one->begin()->second});
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

std::string dot_text(const Dot& dot) { return fmt::format("{}:{}", dot.actor, dot.counter); }

template <typename Fields>
std::optional<std::pair<Dot, Made>> made_of(const Fields& fields) {
  const auto field = [&](std::string_view name) -> std::optional<std::string_view> {
    const auto it = fields.find(name);
    return it == fields.end() ? std::nullopt : unquote(it->second);
  };
  const auto dot = field("dot");
  const auto context = field("context");
  auto dots = dot ? parse_dots(*dot) : std::nullopt;
  auto vector = context ? parse_vector(*context) : std::nullopt;
  if (!dots || dots->size() != 1 || !vector) return std::nullopt;
  const auto tombstone = fields.find("tombstone");
  const auto hlc = field("hlc");
  const auto written = fields.find("written");
  return std::pair{
      dots->front(),
      Made{std::move(*vector), tombstone != fields.end() && tombstone->second == "true",
           hlc ? parse_hlc(*hlc) : std::nullopt,
           written == fields.end() ? std::nullopt : parse_json_string(written->second)}};
}

}  // namespace

CheckResult check_quorum_reads(const History& history) {
  CheckResult result;
  result.checker = "quorum-reads";
  std::map<std::string, std::vector<Known>> known;  // by key, in completion order (sorted below)
  std::map<std::string, std::vector<Read>> reads;   // by key
  uint64_t unreadable = 0;
  uint64_t positions_lost = 0;  // answered, but the node went down before its position was asked
  for (const auto& op : history.operations) {
    if (op.outcome != Outcome::ok) continue;
    if (const auto position = string_field(op, position_lost_field);
        position && position_lost_json == "\"" + std::string(*position) + "\"") {
      ++positions_lost;
      continue;
    }
    const auto n = number_field(op, "n");
    if (!n) continue;
    if (op.f == Function::read) {
      const auto seen_text = string_field(op, "seen");
      const auto asked = number_field(op, "asked");
      const auto written_back = number_field(op, "written_back");
      auto seen = seen_text ? parse_vector(*seen_text) : std::nullopt;
      if (!seen || !asked || !written_back) {
        ++unreadable;
        continue;
      }
      std::optional<std::vector<Dot>> registers;
      if (const auto text = string_field(op, "registers")) registers = parse_dots(*text);
      const auto order = string_field(op, "order");
      const auto shown = string_field(op, "shown");
      reads[op.key].push_back({&op, *seen, *asked, *n, std::move(registers),
                               order && *order == "lww", std::string(shown.value_or(""))});
      if (*written_back > 0) known[op.key].push_back({&op, std::move(*seen), *written_back, *n});
    } else {
      const auto dot_text = string_field(op, "dot");
      const auto acks = number_field(op, "acks");
      auto dot = dot_text ? parse_vector(*dot_text) : std::nullopt;
      if (!dot || dot->size() != 1 || !acks) {
        ++unreadable;
        continue;
      }
      known[op.key].push_back({&op, std::move(*dot), *acks, *n});
    }
  }
  // What the nodes reported of every write they made: a read's values are judged by them.
  std::map<Dot, Made> made;  // by dot: a dot names one write of one key
  for (const auto& event : history.replica_events) {
    if (event.event != "made") continue;
    if (auto one = made_of(event.fields)) made[one->first] = std::move(one->second);
  }
  // And what the answers said of the writes they acknowledged (a write's position names the
  // context it superseded; the operation, the value): on real processes no node reports "made"
  // events, and the values of a read are judged by these alone — a version whose write was never
  // answered stays unknown.
  const auto raw = [](const Value& value) {
    if (const auto* text = std::get_if<std::string>(&value.data)) return *text;
    return value.to_string();
  };
  for (const auto& op : history.operations) {
    if (op.outcome != Outcome::ok || op.f == Function::read) continue;
    auto one = made_of(op.fields);
    if (!one) continue;
    // (A SET can delete — an expiry already past — and then wrote no value.)
    if (!one->second.tombstone && !op.value.is_null()) one->second.written = raw(op.value);
    made.try_emplace(one->first, std::move(one->second));
  }
  // Deletes collected ("reaped" replica events): by key, when and the context of the tombstone
  // removed. A read that begins after may find none of the versions it covers — and must not
  // return one (a zombie).
  std::map<std::string, std::vector<std::pair<int64_t, Vector>>, std::less<>> reaped;
  for (const auto& event : history.replica_events) {
    if (event.event != "reaped") continue;
    const auto key = event.fields.find("reaped_key");
    const auto context = event.fields.find("context");
    if (key == event.fields.end() || context == event.fields.end()) continue;
    const auto key_text = unquote(key->second);
    const auto context_text = unquote(context->second);
    auto vector = context_text ? parse_vector(*context_text) : std::nullopt;
    if (!key_text || !vector) continue;
    reaped[std::string(*key_text)].emplace_back(event.time_ns, std::move(*vector));
  }
  std::vector<std::pair<std::string, int64_t>> wipes;  // node, when
  for (const auto& event : history.nemesis) {
    if (event.what.starts_with("wipe n")) wipes.emplace_back(event.what.substr(6), event.time_ns);
  }
  // Whether a replica of the key (its "replicas" field: node ids joined by '.') lost its disk in
  // the window: what it held of the earlier answer may be gone.
  const auto wiped_between = [&](const Operation& op, int64_t from_ns, int64_t to_ns) {
    const auto replicas = string_field(op, "replicas");
    return std::any_of(wipes.begin(), wipes.end(), [&](const auto& wipe) {
      if (wipe.second <= from_ns || wipe.second >= to_ns) return false;
      if (!replicas) return true;  // (an older history: any node's wipe excuses)
      std::string_view rest = *replicas;
      while (!rest.empty()) {
        const size_t dot = rest.find('.');
        if (rest.substr(0, dot) == wipe.first) return true;
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
      }
      return false;
    });
  };

  uint64_t judged = 0, constraints = 0, missed = 0, excused = 0;
  uint64_t unpromised = 0, missed_unpromised = 0;
  uint64_t values_judged = 0, returned_older = 0, values_unknown = 0, zombies = 0, collected = 0;
  uint64_t older_by_timestamp = 0;  // of returned_older: a concurrent version lww orders before
  // Reads whose values were checked against the versions their position names.
  uint64_t values_checked = 0, values_unclaimed = 0, values_unverified = 0;
  for (auto& [key, key_reads] : reads) {
    auto& key_known = known[key];
    std::sort(key_known.begin(), key_known.end(),
              [](const Known& a, const Known& b) { return a.op->complete_ns < b.op->complete_ns; });
    std::sort(key_reads.begin(), key_reads.end(),
              [](const Read& a, const Read& b) { return a.op->invoke_ns < b.op->invoke_ns; });
    // A sweep in time: per quorum size, per actor, the highest counter answered so far and the
    // operation that carried it.
    std::map<uint64_t, std::map<std::string, std::pair<uint64_t, const Known*>, std::less<>>>
        answered;
    size_t next = 0;
    for (const Read& read : key_reads) {
      while (next < key_known.size() && key_known[next].op->complete_ns < read.op->invoke_ns) {
        const Known& item = key_known[next++];
        auto& slots = answered[item.quorum];
        for (const auto& [actor, counter] : item.vector) {
          auto& slot = slots[actor];
          if (counter > slot.first) slot = {counter, &item};
        }
      }
      ++judged;
      // What the client got is what the versions its position names hold: VGET every live one's
      // value, GET one of them, either nothing when they are all deletes — so the versions judged
      // below are what the client was answered, not another copy's. (A version that nothing
      // reported — no value, no delete — could hold anything: the read is then not checked.)
      if (read.registers && (read.shown == "one" || read.shown == "all")) {
        std::vector<std::string> returned, held;
        for (const Value& value : read.op->values) returned.push_back(raw(value));
        if (returned.empty() && !read.op->value.is_null()) returned.push_back(raw(read.op->value));
        bool all_reported = true;
        for (const Dot& dot : *read.registers) {
          const auto info = made.find(dot);
          if (info != made.end() && info->second.tombstone) continue;  // a delete: no value
          if (info != made.end() && info->second.written) {
            held.push_back(*info->second.written);
          } else {
            all_reported = false;
          }
        }
        if (!all_reported) {
          ++values_unverified;
        } else {
          ++values_checked;
          std::sort(returned.begin(), returned.end());
          std::sort(held.begin(), held.end());
          const bool right =
              read.shown == "all"
                  ? returned == held
                  : (held.empty() ? returned.empty()
                                  : returned.size() == 1 &&
                                        std::binary_search(held.begin(), held.end(), returned[0]));
          if (!right) {
            ++values_unclaimed;
            add_detail(result,
                       fmt::format("key {}: the read of line {} returned {{{}}} ({}), but the "
                                   "versions its position names hold {{{}}}",
                                   key, read.op->line, fmt::join(returned, ","),
                                   read.shown == "all" ? "every value" : "one value",
                                   fmt::join(held, ",")));
          }
        }
      }
      // The versions deleted and collected: before the read began, none may come back (a
      // zombie); before it ended, it may find none of them (its replicas removed them meanwhile).
      Vector gone, gone_by_end;
      if (const auto it = reaped.find(key); it != reaped.end()) {
        for (const auto& [at_ns, context] : it->second) {
          if (at_ns >= read.op->complete_ns) continue;
          for (const auto& [actor, counter] : context) {
            gone_by_end[actor] = std::max(gone_by_end[actor], counter);
            if (at_ns < read.op->invoke_ns) gone[actor] = std::max(gone[actor], counter);
          }
        }
      }
      if (read.registers && !gone.empty()) {
        for (const Dot& returned : *read.registers) {
          if (!covers(gone, returned)) continue;
          // A tombstone a replica still keeps (it missed the collection) is no zombie: what it
          // returns is the deletion.
          const auto info = made.find(returned);
          if (info == made.end() || info->second.tombstone) continue;
          ++zombies;
          add_detail(result,
                     fmt::format("key {}: the read of line {} returned {}, a version deleted "
                                 "and collected before it began (a zombie)",
                                 key, read.op->line, dot_text(returned)));
        }
      }
      // What it returned, against every write answered before it began whose quorum meets its
      // own: that write, or a version that dominates it or is concurrent with it — never only
      // versions it superseded (a read's registers, each judged by what its node reported).
      if (read.registers && !made.empty()) {
        for (size_t i = 0; i < next; ++i) {
          const Known& before = key_known[i];
          if (before.op->f == Function::read || before.quorum + read.asked <= read.n) continue;
          const Dot written{before.vector.begin()->first, before.vector.begin()->second};
          if (covers(gone_by_end, written)) {
            ++collected;  // deleted, and the delete's tombstone collected: nothing to return
            continue;
          }
          const auto info = made.find(written);
          if (info == made.end()) {
            ++values_unknown;
            continue;
          }
          bool answered_for = false, unknown = false, lww_older = false;
          for (const Dot& returned : *read.registers) {
            if (returned == written) {
              answered_for = true;
              break;
            }
            // Superseded by the earlier write: no answer for it. (Known from the write's own
            // context, whether or not anything reported the returned version.)
            if (covers(info->second.context, returned)) continue;
            // Otherwise it dominates the write or is concurrent with it — and, under lww, a
            // concurrent one answers for it only if lww orders it after it ("older" is by
            // timestamp: lww's resolution kept the earlier write over it).
            if (read.lww) {
              const auto other = made.find(returned);
              if (other == made.end() || !other->second.hlc || !info->second.hlc) {
                unknown = true;  // (its context and timestamp unreported)
                continue;
              }
              if (!covers(other->second.context, written) &&
                  !lww_after(*other->second.hlc, returned, *info->second.hlc, written)) {
                lww_older = true;
                continue;
              }
            }
            answered_for = true;
            break;
          }
          if (answered_for) {
            ++values_judged;
            continue;
          }
          if (unknown) {
            ++values_unknown;  // (a version whose write no node and no answer reported)
            continue;
          }
          if (wiped_between(*read.op, before.op->invoke_ns, read.op->complete_ns)) {
            ++excused;
            continue;
          }
          ++values_judged;
          ++returned_older;
          if (lww_older) ++older_by_timestamp;
          add_detail(result,
                     fmt::format("key {}: the read of line {} returned only versions the write {} "
                                 "of line {} had superseded (or none), though it began after that "
                                 "write was answered",
                                 key, read.op->line, dot_text(written), before.op->line));
        }
      }
      for (const auto& [quorum, slots] : answered) {
        if (quorum + read.asked <= read.n) {
          // The quorums need not meet: a miss is what the choice of R and W costs (R + W <= N,
          // or a sloppy write held by fewer of the key's replicas) — measured, not a violation.
          for (const auto& [actor, slot] : slots) {
            ++unpromised;
            const auto seen = read.seen.find(actor);
            if (seen != read.seen.end() && seen->second >= slot.first) continue;
            if (covers(gone_by_end, Dot{actor, slot.first})) continue;
            ++missed_unpromised;
          }
          continue;
        }
        for (const auto& [actor, slot] : slots) {
          ++constraints;
          const auto seen = read.seen.find(actor);
          if (seen != read.seen.end() && seen->second >= slot.first) continue;
          if (covers(gone_by_end, Dot{actor, slot.first})) continue;  // deleted, collected
          const Known& before = *slot.second;
          if (wiped_between(*read.op, before.op->invoke_ns, read.op->complete_ns)) {
            ++excused;
            continue;
          }
          ++missed;
          add_detail(result,
                     fmt::format("key {}: the read of line {} (asked {} of {}) missed {}:{}, which "
                                 "the {} of line {} had made {} replicas hold before it began",
                                 key, read.op->line, read.asked, read.n, actor, slot.first,
                                 before.op->f == Function::read ? "read" : "write", before.op->line,
                                 before.quorum));
        }
      }
    }
  }
  if (missed > 0 || returned_older > 0 || zombies > 0 || values_unclaimed > 0) {
    result.verdict = Verdict::invalid;
  }
  result.figures = {{"judged", static_cast<double>(judged)},
                    {"values_judged", static_cast<double>(values_judged)},
                    {"returned_older", static_cast<double>(returned_older)},
                    {"older_by_timestamp", static_cast<double>(older_by_timestamp)},
                    {"values_checked", static_cast<double>(values_checked)},
                    {"values_unclaimed", static_cast<double>(values_unclaimed)},
                    {"values_unverified", static_cast<double>(values_unverified)},
                    {"values_unknown", static_cast<double>(values_unknown)},
                    {"constraints", static_cast<double>(constraints)},
                    {"missed", static_cast<double>(missed)},
                    {"excused_disk_loss", static_cast<double>(excused)},
                    {"unreadable", static_cast<double>(unreadable)},
                    {"positions_lost", static_cast<double>(positions_lost)},
                    {"zombies", static_cast<double>(zombies)},
                    {"unpromised", static_cast<double>(unpromised)},
                    {"missed_unpromised", static_cast<double>(missed_unpromised)},
                    {"collected", static_cast<double>(collected)}};
  result.summary =
      judged == 0
          ? std::string("no reads with quorum positions: nothing to judge")
          : fmt::format(
                "{} reads judged against {} earlier answers whose quorums they meet: {} "
                "missed, {} of {} returned only versions an earlier write had superseded "
                "({} more after a disk loss, excused; {} not judged: a version no node "
                "and no answer reported); {} returned a version deleted and collected before they "
                "began; {} of {} reads answered other values than the versions they named hold "
                "({} not checked: a version nothing reported); where the quorums need not meet, "
                "{} of {} earlier answers missed (measured); {} answers not judged: their node "
                "went down before their position was asked",
                judged, constraints, missed, returned_older, values_judged, excused, values_unknown,
                zombies, values_unclaimed, values_checked, values_unverified, missed_unpromised,
                unpromised, positions_lost);
  return result;
}

}  // namespace replikv::check
