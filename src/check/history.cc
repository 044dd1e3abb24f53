#include "check/history.h"

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace replikv::check {
namespace {

using nlohmann::json;

std::optional<Value> to_value(const json& node) {
  if (node.is_null()) return Value::null();
  if (node.is_number_integer()) return Value{node.get<int64_t>()};
  if (node.is_string()) return Value{node.get<std::string>()};
  return std::nullopt;
}

std::optional<Function> to_function(const std::string& name) {
  if (name == "read") return Function::read;
  if (name == "write") return Function::write;
  if (name == "cas") return Function::cas;
  if (name == "insert") return Function::insert;
  if (name == "add") return Function::add;
  if (name == "delete") return Function::del;
  return std::nullopt;
}

// The members a strategy adds, kept as JSON text (parse_history reads the ones this format
// defines).
void keep_other_members(const json& event, Operation& op) {
  for (auto it = event.begin(); it != event.end(); ++it) {
    if (is_defined_member(it.key())) continue;
    op.fields.insert_or_assign(it.key(), it.value().dump());
  }
}

std::string node_name(const json& node) {
  return node.is_string() ? node.get<std::string>() : node.dump();
}

}  // namespace

std::string Value::to_string() const {
  if (is_null()) return "null";
  if (const auto* i = std::get_if<int64_t>(&data)) return std::to_string(*i);
  return json(std::get<std::string>(data)).dump();
}

size_t ValueHash::operator()(const Value& value) const {
  if (value.is_null()) return 0x9e3779b9;
  if (const auto* i = std::get_if<int64_t>(&value.data)) return std::hash<int64_t>{}(*i);
  return std::hash<std::string>{}(std::get<std::string>(value.data)) ^ 0x5bd1e995;
}

const char* to_string(Function f) {
  switch (f) {
    case Function::read:
      return "read";
    case Function::write:
      return "write";
    case Function::cas:
      return "cas";
    case Function::insert:
      return "insert";
    case Function::add:
      return "add";
    case Function::del:
      return "delete";
  }
  return "?";
}

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::fail:
      return "fail";
    case Outcome::info:
      return "info";
  }
  return "?";
}

std::variant<History, ParseError> parse_history(std::istream& input) {
  History history;
  std::map<int64_t, size_t> open;  // process -> index of its pending operation
  std::string text;
  size_t line = 0;
  int64_t last_time = std::numeric_limits<int64_t>::min();
  auto error = [&](std::string message) { return ParseError{line, std::move(message)}; };
  while (std::getline(input, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    json event = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (event.is_discarded() || !event.is_object()) return error("not a JSON object");
    if (!event.contains("type") || !event["type"].is_string()) return error("no \"type\"");
    if (!event.contains("time") || !event["time"].is_number_integer()) {
      return error("no integer \"time\"");
    }
    const std::string type = event["type"].get<std::string>();
    const int64_t time = event["time"].get<int64_t>();
    if (time < last_time) return error("events are not in time order");
    last_time = time;
    if (type == "digest") {
      if (!event.contains("node")) return error("a digest needs a \"node\"");
      const auto value = to_value(event.value("value", json()));
      if (!value) return error("a digest value must be a JSON scalar");
      history.digests.push_back({node_name(event["node"]), *value, time});
      continue;
    }
    if (type == "heal") {
      history.last_heal_ns = time;
      continue;
    }
    if (type == "made") {
      if (!event.contains("key") || !event["key"].is_string())
        return error("a made event needs a string \"key\"");
      const auto value = to_value(event.value("value", json()));
      if (!value) return error("a made event's value must be a JSON scalar");
      MadeEvent made{event.contains("node") ? node_name(event["node"]) : std::string(),
                     event["key"].get<std::string>(),
                     *value,
                     {},
                     time};
      for (const auto& [name, member] : event.items()) {
        if (!is_defined_member(name)) made.fields.emplace(name, member.dump());
      }
      history.made.push_back(std::move(made));
      continue;
    }
    if (type == "replica") {
      if (!event.contains("event") || !event["event"].is_string())
        return error("a replica event needs a string \"event\"");
      ReplicaEvent replica{event.contains("node") ? node_name(event["node"]) : std::string(),
                           event["event"].get<std::string>(),
                           {},
                           time};
      for (const auto& [name, member] : event.items()) {
        if (!is_defined_member(name) && name != "event")
          replica.fields.emplace(name, member.dump());
      }
      history.replica_events.push_back(std::move(replica));
      continue;
    }
    if (type == "counter") {
      if (!event.contains("name") || !event["name"].is_string() || !event.contains("value") ||
          !event["value"].is_number_integer())
        return error("a counter event needs a string \"name\" and an integer \"value\"");
      history.counters[event["name"].get<std::string>()] = event["value"].get<int64_t>();
      continue;
    }
    if (type == "nemesis") {
      if (!event.contains("value") || !event["value"].is_string())
        return error("a nemesis event needs a string \"value\"");
      history.nemesis.push_back({event["value"].get<std::string>(), time});
      continue;
    }
    if (!event.contains("process") || !event["process"].is_number_integer()) {
      return error("no integer \"process\"");
    }
    const int64_t process = event["process"].get<int64_t>();
    if (type == "invoke") {
      if (open.count(process) != 0) {
        return error(
            fmt::format("process {} invokes again before its last operation completed", process));
      }
      if (!event.contains("f") || !event["f"].is_string()) return error("no \"f\"");
      const auto f = to_function(event["f"].get<std::string>());
      if (!f) return error(fmt::format("unknown \"f\": {}", event["f"].dump()));
      Operation op;
      op.process = process;
      op.f = *f;
      op.key = event.contains("key") ? node_name(event["key"]) : std::string();
      op.invoke_ns = time;
      op.line = line;
      op.index = history.operations.size();
      op.final = event.value("final", false);
      if (event.contains("node")) op.node = node_name(event["node"]);
      if (event.contains("consistency") && event["consistency"].is_string()) {
        op.consistency = event["consistency"].get<std::string>();
      }
      keep_other_members(event, op);
      const json value = event.value("value", json());
      if (op.f == Function::cas) {
        if (!value.is_array() || value.size() != 2) return error("a cas value is [expected, new]");
        const auto expected = to_value(value[0]);
        const auto replacement = to_value(value[1]);
        if (!expected || !replacement) return error("cas values must be JSON scalars");
        op.expected = *expected;
        op.value = *replacement;
      } else if (op.f == Function::del) {
        const auto id = to_value(value);
        if (!id || id->is_null()) return error("a delete's value is its id, a JSON scalar");
        op.id = *id;
      } else if (op.f != Function::read) {
        const auto written = to_value(value);
        if (!written) return error("a value must be a JSON scalar");
        op.value = *written;
      }
      open[process] = op.index;
      history.operations.push_back(std::move(op));
      continue;
    }
    if (type != "ok" && type != "fail" && type != "info") {
      return error(fmt::format("unknown \"type\": \"{}\"", type));
    }
    const auto it = open.find(process);
    if (it == open.end())
      return error(fmt::format("process {} completes an operation it never invoked", process));
    Operation& op = history.operations[it->second];
    open.erase(it);
    op.outcome = type == "ok" ? Outcome::ok : type == "fail" ? Outcome::fail : Outcome::info;
    op.complete_ns = op.outcome == Outcome::info ? time_never : time;
    if (op.f == Function::read && op.outcome == Outcome::ok) {
      const json value = event.value("value", json());
      if (value.is_array()) {
        for (const auto& element : value) {
          const auto one = to_value(element);
          if (!one) return error("a read's several values must be JSON scalars");
          op.values.push_back(*one);
        }
        if (op.values.size() < 2) return error("a read's several values are two or more");
      } else {
        const auto read = to_value(value);
        if (!read) return error("a read's value must be a JSON scalar or an array of them");
        op.value = *read;
      }
    }
    keep_other_members(event, op);
    if (event.contains("node") && !op.node) op.node = node_name(event["node"]);
  }
  return history;
}

std::map<std::string, std::vector<int64_t>> crash_times(const History& history) {
  std::map<std::string, std::vector<int64_t>> crashes;
  for (const auto& event : history.nemesis) {
    for (const std::string_view prefix : {"kill n", "wipe n"}) {
      if (event.what.starts_with(prefix)) {
        crashes[event.what.substr(prefix.size())].push_back(event.time_ns);
      }
    }
  }
  return crashes;
}

std::map<std::string, std::vector<int64_t>> lossy_crash_times(const History& history) {
  const bool unsynced =
      std::any_of(history.nemesis.begin(), history.nemesis.end(),
                  [](const auto& event) { return event.what == fsync_never_event; });
  std::map<std::string, std::vector<int64_t>> crashes;
  for (const auto& event : history.nemesis) {
    if (event.what.starts_with("wipe n")) {
      crashes[event.what.substr(6)].push_back(event.time_ns);
    } else if (unsynced && event.what.starts_with("kill n")) {
      crashes[event.what.substr(6)].push_back(event.time_ns);
    }
  }
  return crashes;
}

bool is_defined_member(std::string_view name) {
  static constexpr std::string_view defined[] = {"process", "type", "f",     "key",        "value",
                                                 "time",    "node", "final", "consistency"};
  return std::find(std::begin(defined), std::end(defined), name) != std::end(defined);
}

const char* to_string(EventType type) {
  switch (type) {
    case EventType::invoke:
      return "invoke";
    case EventType::ok:
      return "ok";
    case EventType::fail:
      return "fail";
    case EventType::info:
      return "info";
  }
  return "info";
}

std::string json_string(std::string_view text) { return nlohmann::json(std::string(text)).dump(); }

std::optional<std::string> parse_json_string(std::string_view text) {
  const json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_string()) return std::nullopt;
  return parsed.get<std::string>();
}

namespace {

// Keys are plain in every tool's workload ("k3", "i12"): they go as they are; anything a JSON
// string cannot hold as is goes through the escaper.
bool plain(std::string_view text) {
  for (const char c : text) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

}  // namespace

void write_event(fmt::memory_buffer& out, const OperationEvent& event, int64_t time_ns) {
  const auto appender = fmt::appender(out);
  if (plain(event.key)) {
    fmt::format_to(appender,
                   FMT_COMPILE("{{\"process\":{},\"type\":\"{}\",\"f\":\"{}\",\"key\":\"{}\","
                               "\"value\":{},\"time\":{}"),
                   event.process, to_string(event.type), to_string(event.f), event.key, event.value,
                   time_ns);
  } else {
    fmt::format_to(appender,
                   FMT_COMPILE("{{\"process\":{},\"type\":\"{}\",\"f\":\"{}\",\"key\":{},"
                               "\"value\":{},\"time\":{}"),
                   event.process, to_string(event.type), to_string(event.f), json_string(event.key),
                   event.value, time_ns);
  }
  if (event.node) fmt::format_to(appender, FMT_COMPILE(",\"node\":{}"), *event.node);
  if (event.final) fmt::format_to(appender, FMT_COMPILE(",\"final\":true"));
  if (!event.consistency.empty()) {
    if (plain(event.consistency)) {
      fmt::format_to(appender, FMT_COMPILE(",\"consistency\":\"{}\""), event.consistency);
    } else {
      fmt::format_to(appender, FMT_COMPILE(",\"consistency\":{}"), json_string(event.consistency));
    }
  }
  if (event.fields != nullptr) {
    for (const auto& [name, json] : *event.fields) {
      fmt::format_to(appender, FMT_COMPILE(",{}:{}"), json_string(name), json);
    }
  }
  fmt::format_to(appender, FMT_COMPILE("}}\n"));
}

void write_digest(fmt::memory_buffer& out, int64_t node, std::string_view value, int64_t time_ns) {
  fmt::format_to(fmt::appender(out),
                 FMT_COMPILE("{{\"type\":\"digest\",\"node\":{},\"value\":{},\"time\":{}}}\n"),
                 node, value, time_ns);
}

void write_made(fmt::memory_buffer& out, int64_t node, std::string_view key, std::string_view value,
                const std::vector<std::pair<std::string, std::string>>& fields, int64_t time_ns) {
  fmt::format_to(fmt::appender(out),
                 FMT_COMPILE("{{\"type\":\"made\",\"node\":{},\"key\":{},\"value\":{}"), node,
                 json_string(key), value);
  for (const auto& [name, json] : fields) {
    fmt::format_to(fmt::appender(out), FMT_COMPILE(",{}:{}"), json_string(name), json);
  }
  fmt::format_to(fmt::appender(out), FMT_COMPILE(",\"time\":{}}}\n"), time_ns);
}

void write_replica_event(fmt::memory_buffer& out, int64_t node,
                         const std::vector<std::pair<std::string, std::string>>& fields,
                         int64_t time_ns) {
  fmt::format_to(fmt::appender(out), FMT_COMPILE("{{\"type\":\"replica\",\"node\":{}"), node);
  for (const auto& [name, json] : fields) {
    fmt::format_to(fmt::appender(out), FMT_COMPILE(",{}:{}"), json_string(name), json);
  }
  fmt::format_to(fmt::appender(out), FMT_COMPILE(",\"time\":{}}}\n"), time_ns);
}

void write_counter(fmt::memory_buffer& out, std::string_view name, int64_t value, int64_t time_ns) {
  fmt::format_to(fmt::appender(out),
                 FMT_COMPILE("{{\"type\":\"counter\",\"name\":{},\"value\":{},\"time\":{}}}\n"),
                 json_string(name), value, time_ns);
}

void write_heal(fmt::memory_buffer& out, int64_t time_ns) {
  fmt::format_to(fmt::appender(out), FMT_COMPILE("{{\"type\":\"heal\",\"time\":{}}}\n"), time_ns);
}

void write_nemesis(fmt::memory_buffer& out, std::string_view what, int64_t time_ns) {
  fmt::format_to(fmt::appender(out),
                 FMT_COMPILE("{{\"type\":\"nemesis\",\"value\":{},\"time\":{}}}\n"),
                 json_string(what), time_ns);
}

}  // namespace replikv::check
