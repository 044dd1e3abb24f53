#include "runtime/config.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace replikv::runtime {
namespace {

std::string underscored(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

template <typename T>
std::optional<std::string> parse_unsigned(const std::string& key, const std::string& text, T& out,
                                          uint64_t max) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > max) {
    return fmt::format("{}: expected an integer from 0 to {}, got '{}'", key, max, text);
  }
  out = static_cast<T>(value);
  return std::nullopt;
}

struct Setter {
  std::function<std::optional<std::string>(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"bind", {[](Config& c, const std::string& v) -> std::optional<std::string> {
                  if (v.empty()) return "bind: expected an address";
                  c.bind = v;
                  return std::nullopt;
                },
                [](const Config& c) { return c.bind; }}},
      {"port", {[](Config& c, const std::string& v) { return parse_unsigned("port", v, c.port, 65535); },
                [](const Config& c) { return std::to_string(c.port); }}},
      {"admin_port",
       {[](Config& c, const std::string& v) {
          return parse_unsigned("admin_port", v, c.admin_port, 65535);
        },
        [](const Config& c) { return std::to_string(c.admin_port); }}},
      {"data_dir", {[](Config& c, const std::string& v) -> std::optional<std::string> {
                      if (v.empty()) return "data_dir: expected a directory";
                      c.data_dir = v;
                      return std::nullopt;
                    },
                    [](const Config& c) { return c.data_dir; }}},
      {"fsync", {[](Config& c, const std::string& v) -> std::optional<std::string> {
                   if (v == "always") c.fsync = FsyncPolicy::always;
                   else if (v == "never") c.fsync = FsyncPolicy::never;
                   else return fmt::format("fsync: expected \"always\" or \"never\", got '{}'", v);
                   return std::nullopt;
                 },
                 [](const Config& c) { return std::string(to_string(c.fsync)); }}},
      {"engine", {[](Config& c, const std::string& v) -> std::optional<std::string> {
                    if (v == "rocksdb") c.engine = EngineKind::rocksdb;
                    else if (v == "memory") c.engine = EngineKind::memory;
                    else return fmt::format("engine: expected \"rocksdb\" or \"memory\", got '{}'", v);
                    return std::nullopt;
                  },
                  [](const Config& c) { return std::string(to_string(c.engine)); }}},
      {"node_id", {[](Config& c, const std::string& v) -> std::optional<std::string> {
                     auto error = parse_unsigned("node_id", v, c.node_id, UINT32_MAX);
                     if (!error && c.node_id == 0) return "node_id: must be at least 1";
                     return error;
                   },
                   [](const Config& c) { return std::to_string(c.node_id); }}},
      {"max_clients",
       {[](Config& c, const std::string& v) {
          return parse_unsigned("max_clients", v, c.max_clients, 1000000);
        },
        [](const Config& c) { return std::to_string(c.max_clients); }}},
      {"max_bulk_bytes",
       {[](Config& c, const std::string& v) {
          return parse_unsigned("max_bulk_bytes", v, c.max_bulk_bytes, 1ull << 32);
        },
        [](const Config& c) { return std::to_string(c.max_bulk_bytes); }}},
      {"max_array_length",
       {[](Config& c, const std::string& v) {
          return parse_unsigned("max_array_length", v, c.max_array_length, 1ull << 30);
        },
        [](const Config& c) { return std::to_string(c.max_array_length); }}},
      {"max_query_buffer_bytes",
       {[](Config& c, const std::string& v) {
          return parse_unsigned("max_query_buffer_bytes", v, c.max_query_buffer_bytes, 1ull << 34);
        },
        [](const Config& c) { return std::to_string(c.max_query_buffer_bytes); }}},
      {"client_output_pause_bytes",
       {[](Config& c, const std::string& v) {
          return parse_unsigned("client_output_pause_bytes", v, c.client_output_pause_bytes,
                                1ull << 34);
        },
        [](const Config& c) { return std::to_string(c.client_output_pause_bytes); }}},
      {"log_level", {[](Config& c, const std::string& v) -> std::optional<std::string> {
                       static const char* levels[] = {"trace", "debug", "info", "warn", "error", "off"};
                       if (std::find(std::begin(levels), std::end(levels), v) == std::end(levels)) {
                         return fmt::format("log_level: expected trace|debug|info|warn|error|off, got '{}'", v);
                       }
                       c.log_level = v;
                       return std::nullopt;
                     },
                     [](const Config& c) { return c.log_level; }}},
      {"test_faults", {[](Config& c, const std::string& v) -> std::optional<std::string> {
                         if (v == "true") c.test_faults = true;
                         else if (v == "false") c.test_faults = false;
                         else return fmt::format("test_faults: expected true or false, got '{}'", v);
                         return std::nullopt;
                       },
                       [](const Config& c) { return std::string(c.test_faults ? "true" : "false"); }}},
  };
  return table;
}

std::optional<std::string> toml_text(const toml::node& node) {
  if (auto s = node.value<std::string>()) return *s;
  if (node.is_integer()) return std::to_string(*node.value<int64_t>());
  if (node.is_boolean()) return std::string(*node.value<bool>() ? "true" : "false");
  return std::nullopt;
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = {
      {"bind", "address to listen on for clients and the admin port (default 127.0.0.1)"},
      {"port", "RESP port for clients (default 7379; 0 picks a free port)"},
      {"admin_port", "HTTP port for /metrics, /status, /healthz (default 7380; 0 disables)"},
      {"data_dir", "directory for the node's data (default ./replikv-data)"},
      {"fsync", "\"always\": a write is acknowledged after it is on disk; \"never\": after the OS has it"},
      {"engine", "storage engine: \"rocksdb\" (default) or \"memory\" (tests; nothing survives a restart)"},
      {"node_id", "this node's id, from 1 (default 1)"},
      {"max_clients", "client connections at most (default 10000)"},
      {"max_bulk_bytes", "largest string argument in bytes (default 536870912, as Redis)"},
      {"max_array_length", "most arguments in one request (default 1048576)"},
      {"max_query_buffer_bytes", "most unparsed input bytes per client (default 1 GiB)"},
      {"client_output_pause_bytes", "pending reply bytes at which a client is no longer read (default 64 MiB)"},
      {"log_level", "trace | debug | info | warn | error | off (default info)"},
      {"test_faults", "accept fault-injection admin commands (tests and chaos only; default false)"},
  };
  return keys;
}

std::optional<std::string> load_config(const std::optional<std::string>& path,
                                       const std::map<std::string, std::string>& overrides,
                                       Config& config) {
  const auto& table = setters();
  auto apply = [&](const std::string& raw_key, const std::string& value,
                   const char* source) -> std::optional<std::string> {
    const std::string key = underscored(raw_key);
    const auto it = table.find(key);
    if (it == table.end()) return fmt::format("{}: unknown configuration key '{}'", source, raw_key);
    if (auto error = it->second.set(config, value)) return fmt::format("{}: {}", source, *error);
    return std::nullopt;
  };
  if (path) {
    toml::table file;
    try {
      file = toml::parse_file(*path);
    } catch (const toml::parse_error& error) {
      return fmt::format("{}:{}:{}: {}", *path, error.source().begin.line,
                         error.source().begin.column, error.description());
    }
    for (const auto& [key, node] : file) {
      const auto text = toml_text(node);
      if (!text) return fmt::format("{}: '{}' must be a string, integer or boolean", *path, key.str());
      if (auto error = apply(std::string(key.str()), *text, path->c_str())) return error;
    }
    config.config_file = *path;
  }
  for (const auto& [key, value] : overrides) {
    if (auto error = apply(key, value, "command line")) return error;
  }
  return std::nullopt;
}

std::optional<std::string> config_value(const Config& config, const std::string& name) {
  const auto& table = setters();
  const auto it = table.find(underscored(name));
  if (it == table.end()) return std::nullopt;
  return it->second.get(config);
}

const char* to_string(FsyncPolicy policy) {
  return policy == FsyncPolicy::always ? "always" : "never";
}
const char* to_string(EngineKind engine) {
  return engine == EngineKind::rocksdb ? "rocksdb" : "memory";
}

}  // namespace replikv::runtime
