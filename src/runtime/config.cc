#include "runtime/config.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/assert.h"

namespace replikv::runtime {
namespace {

using Error = std::optional<std::string>;

std::string underscored(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// One configuration key: its name, its help text, and how to set and read it as text.
struct KeySpec {
  ConfigKey key;
  std::function<Error(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

template <typename T>
KeySpec unsigned_key(std::string name, std::string help, T Config::*field, uint64_t min,
                     uint64_t max) {
  auto set = [name, field, min, max](Config& c, const std::string& text) -> Error {
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
        value > max) {
      return fmt::format("{}: expected an integer from {} to {}, got '{}'", name, min, max, text);
    }
    c.*field = static_cast<T>(value);
    return std::nullopt;
  };
  auto get = [field](const Config& c) { return std::to_string(c.*field); };
  return {{std::move(name), std::move(help)}, set, get};
}

KeySpec text_key(std::string name, std::string help, std::string Config::*field) {
  auto set = [name, field](Config& c, const std::string& text) -> Error {
    if (text.empty()) return fmt::format("{}: must not be empty", name);
    c.*field = text;
    return std::nullopt;
  };
  return {{std::move(name), std::move(help)}, set, [field](const Config& c) { return c.*field; }};
}

// A key whose value is one of a few words.
template <typename T>
KeySpec choice_key(std::string name, std::string help, T Config::*field,
                   std::vector<std::pair<std::string, T>> choices) {
  auto set = [name, field, choices](Config& c, const std::string& text) -> Error {
    std::string allowed;
    for (const auto& [word, value] : choices) {
      if (word == text) {
        c.*field = value;
        return std::nullopt;
      }
      allowed += (allowed.empty() ? "" : " or ") + fmt::format("\"{}\"", word);
    }
    return fmt::format("{}: expected {}, got '{}'", name, allowed, text);
  };
  auto get = [field, choices](const Config& c) {
    for (const auto& [word, value] : choices) {
      if (c.*field == value) return word;
    }
    return std::string("?");
  };
  return {{std::move(name), std::move(help)}, set, get};
}

// `strategy`: a registered strategy's name. Choosing one starts its settings at their defaults
// (load_config applies the strategy before any of its keys).
KeySpec strategy_key() {
  std::string help = "the replication strategy:";
  for (const core::Strategy* strategy : core::strategies()) {
    help += fmt::format(" \"{}\" ({}{})", strategy->name(), strategy->summary(),
                        strategy->name() == "standalone" ? ", the default" : "");
  }
  auto set = [](Config& c, const std::string& text) -> Error {
    const core::Strategy* strategy = core::find_strategy(text);
    if (strategy == nullptr) {
      return fmt::format("strategy: expected one of {}, got '{}'", core::strategy_names(), text);
    }
    if (c.strategy != text) {
      c.strategy = text;
      c.strategy_settings = strategy->default_settings();
    }
    return std::nullopt;
  };
  return {{"strategy", std::move(help)}, set, [](const Config& c) { return c.strategy; }};
}

const std::vector<KeySpec>& key_specs() {
  static const std::vector<KeySpec> specs = {
      text_key("bind", "address to listen on for clients and the admin port (default 127.0.0.1)",
               &Config::bind),
      unsigned_key("port", "RESP port for clients (default 7379; 0 picks a free port)",
                   &Config::port, 0, 65535),
      unsigned_key("admin_port",
                   "HTTP port for /metrics, /status, /healthz (default 7380; 0 disables)",
                   &Config::admin_port, 0, 65535),
      text_key("data_dir", "directory for the node's data (default ./replikv-data)",
               &Config::data_dir),
      choice_key("fsync",
                 "\"always\": a write is acknowledged after it is on disk (default); \"never\": "
                 "after the OS has it",
                 &Config::fsync, {{"always", FsyncPolicy::always}, {"never", FsyncPolicy::never}}),
      choice_key("engine",
                 "storage engine: \"rocksdb\" (default) or \"memory\" (nothing survives a restart)",
                 &Config::engine,
                 {{"rocksdb", EngineKind::rocksdb}, {"memory", EngineKind::memory}}),
      choice_key("log_store",
                 "where the leader strategy keeps its replication log: \"segments\" (default: "
                 "append-only segment files, one write and one fdatasync per group commit) or "
                 "\"rocksdb\" (a RocksDB column, as before)",
                 &Config::log_store,
                 {{"segments", LogStore::segments}, {"rocksdb", LogStore::rocksdb}}),
      unsigned_key("log_segment_bytes",
                   "size of each log segment file, made ahead of use (default 67108864)",
                   &Config::log_segment_bytes, 1ull << 20, 1ull << 30),
      unsigned_key("node_id", "this node's id, from 1 (default 1)", &Config::node_id, 1,
                   UINT32_MAX),
      unsigned_key("max_clients", "client connections at most (default 10000)",
                   &Config::max_clients, 1, 1000000),
      unsigned_key("max_bulk_bytes",
                   "largest string argument in bytes (default 536870912, as Redis)",
                   &Config::max_bulk_bytes, 1, 1ull << 32),
      unsigned_key("max_array_length", "most arguments in one request (default 1048576)",
                   &Config::max_array_length, 1, 1ull << 30),
      unsigned_key("max_query_buffer_bytes", "most unparsed input bytes per client (default 1 GiB)",
                   &Config::max_query_buffer_bytes, 1024, 1ull << 34),
      unsigned_key("client_output_pause_bytes",
                   "pending reply bytes at which a client is no longer read (default 64 MiB)",
                   &Config::client_output_pause_bytes, 1024, 1ull << 34),
      unsigned_key("cache_bytes",
                   "memory for the record cache in front of storage, and a quarter as much again "
                   "for the collections' clean elements (default 256 MiB; 0 disables both)",
                   &Config::cache_bytes, 0, 1ull << 40),
      choice_key("log_level", "trace | debug | info | warn | error | off (default info)",
                 &Config::log_level,
                 {{"trace", std::string("trace")},
                  {"debug", std::string("debug")},
                  {"info", std::string("info")},
                  {"warn", std::string("warn")},
                  {"error", std::string("error")},
                  {"off", std::string("off")}}),
      choice_key("bootstrap",
                 "an empty data directory founds a new cluster (true), or (false, the default) "
                 "rejoins one that exists — a replaced disk: as a non-voter under the single "
                 "leader, as a recovering node that replaces no value until it has caught up "
                 "under multi-leader; ignored once the directory has run. `replikv cluster "
                 "start` passes it when it creates a cluster",
                 &Config::bootstrap, {{"true", true}, {"false", false}}),
      choice_key("test_faults",
                 "accept the FAULT command (fault injection: tests and chaos only; default false)",
                 &Config::test_faults, {{"true", true}, {"false", false}}),
      strategy_key(),
      text_key("cluster_id",
               "the cluster's name; peers with another one are refused (default replikv)",
               &Config::cluster_id),
      unsigned_key("peer_port", "TCP port for the other nodes (default 7381)", &Config::peer_port,
                   0, 65535),
      text_key("peers",
               "every member, this node too, as id=host:peer_port,… (e.g. 1=127.0.0.1:7381,2=…); "
               "needed by every strategy but standalone",
               &Config::peers),
      text_key("client_addresses",
               "members' client addresses as id=host:port,…, named in redirects and ROLE",
               &Config::client_addresses),
  };
  return specs;
}

const KeySpec* find_spec(const std::string& name) {
  const std::string key = underscored(name);
  for (const auto& spec : key_specs()) {
    if (spec.key.name == key) return &spec;
  }
  return nullptr;
}

std::optional<std::string> toml_text(const toml::node& node) {
  if (auto s = node.value<std::string>()) return *s;
  if (node.is_integer()) return std::to_string(*node.value<int64_t>());
  if (node.is_boolean()) return std::string(*node.value<bool>() ? "true" : "false");
  return std::nullopt;
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> out;
    for (const auto& spec : key_specs()) {
      const bool flag = spec.key.name == "test_faults" || spec.key.name == "bootstrap";
      out.push_back({spec.key.name, spec.key.help, flag});
    }
    for (const core::Strategy* strategy : core::strategies()) {
      for (const auto& setting : strategy->setting_specs()) {
        const auto same = [&](const ConfigKey& key) { return key.name == setting.name; };
        if (std::any_of(out.begin(), out.end(), same)) continue;  // one flag serves every strategy
        out.push_back({setting.name, fmt::format("{}: {}", strategy->name(), setting.help),
                       setting.kind == core::SettingSpec::Kind::boolean});
      }
    }
    return out;
  }();
  return keys;
}

const core::Strategy& strategy_of(const Config& config) {
  const core::Strategy* strategy = core::find_strategy(config.strategy);
  REPLIKV_ASSERT(strategy != nullptr, "load_config checked the strategy");
  return *strategy;
}

std::optional<std::string> node_context(const Config& config, core::NodeContext& out) {
  out = core::NodeContext{};
  out.node = core::NodeId(config.node_id);
  out.fsync_always = config.fsync == FsyncPolicy::always;
  out.bootstrap = config.bootstrap;
  out.cache_bytes_max = config.cache_bytes;
  std::map<uint32_t, std::string> members;
  if (config.peers.empty()) {
    if (!strategy_of(config).traits(config.strategy_settings).single_node) {
      return fmt::format("peers: strategy \"{}\" needs the member list (id=host:peer_port,…)",
                         config.strategy);
    }
    members.emplace(config.node_id, "");
  } else if (auto error = parse_members(config.peers, members)) {
    return fmt::format("peers: {}", *error);
  }
  if (!members.contains(config.node_id)) {
    return fmt::format("peers: this node (node_id {}) is not in the member list", config.node_id);
  }
  for (const auto& [id, address] : members) out.members.push_back(core::NodeId(id));
  if (!config.client_addresses.empty()) {
    if (auto error = parse_members(config.client_addresses, out.client_addresses)) {
      return fmt::format("client_addresses: {}", *error);
    }
  }
  return std::nullopt;
}

std::optional<std::string> load_config(const std::optional<std::string>& path,
                                       const std::map<std::string, std::string>& overrides,
                                       Config& config) {
  // Every key and value in the order given (the file, then the command line). The strategy is
  // chosen first, so that its keys are known whatever their order.
  struct Entry {
    std::string key, value, source;
  };
  std::vector<Entry> entries;
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
      if (!text)
        return fmt::format("{}: '{}' must be a string, integer or boolean", *path, key.str());
      entries.push_back({underscored(std::string(key.str())), *text, *path});
    }
    config.config_file = *path;
  }
  for (const auto& [key, value] : overrides) {
    entries.push_back({underscored(key), value, "command line"});
  }
  for (const auto& entry : entries) {
    if (entry.key != "strategy") continue;
    if (auto error = find_spec("strategy")->set(config, entry.value)) {
      return fmt::format("{}: {}", entry.source, *error);
    }
  }
  for (const auto& entry : entries) {
    if (entry.key == "strategy") continue;  // chosen above: the last one given wins
    if (const KeySpec* spec = find_spec(entry.key)) {
      if (auto error = spec->set(config, entry.value)) {
        return fmt::format("{}: {}", entry.source, *error);
      }
      continue;
    }
    if (config.strategy_settings.declares(entry.key)) {
      if (auto error = config.strategy_settings.set(entry.key, entry.value)) {
        return fmt::format("{}: {}", entry.source, *error);
      }
      continue;
    }
    for (const core::Strategy* other : core::strategies()) {
      for (const auto& setting : other->setting_specs()) {
        if (setting.name == entry.key) {
          return fmt::format(
              "{}: '{}' is a setting of strategy \"{}\", and this node's strategy is "
              "\"{}\"",
              entry.source, entry.key, other->name(), config.strategy);
        }
      }
    }
    return fmt::format("{}: unknown configuration key '{}'", entry.source, entry.key);
  }
  core::NodeContext node;
  if (auto error = node_context(config, node)) return error;
  return strategy_of(config).validate(config.strategy_settings, node);
}

std::optional<std::string> parse_members(const std::string& text,
                                         std::map<uint32_t, std::string>& out) {
  out.clear();
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const size_t equals = item.find('=');
    const size_t colon = item.rfind(':');
    uint32_t id = 0;
    const auto [ptr, ec] =
        std::from_chars(item.data(), item.data() + (equals == std::string::npos ? 0 : equals), id);
    if (equals == std::string::npos || ec != std::errc() || ptr != item.data() + equals ||
        id == 0 || colon == std::string::npos || colon < equals || colon + 1 == item.size() ||
        colon == equals + 1) {
      return fmt::format("expected id=host:port, got '{}'", item);
    }
    uint32_t port = 0;
    const auto [pend, pec] =
        std::from_chars(item.data() + colon + 1, item.data() + item.size(), port);
    if (pec != std::errc() || pend != item.data() + item.size() || port == 0 || port > 65535) {
      return fmt::format("bad port in '{}'", item);
    }
    if (!out.emplace(id, item.substr(equals + 1)).second)
      return fmt::format("node {} is listed twice", id);
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string> config_value(const Config& config, const std::string& name) {
  const KeySpec* spec = find_spec(name);
  if (spec != nullptr) return spec->get(config);
  const std::string key = underscored(name);
  if (config.strategy_settings.declares(key)) return config.strategy_settings.text(key);
  return std::nullopt;
}

const char* to_string(FsyncPolicy policy) {
  return policy == FsyncPolicy::always ? "always" : "never";
}
const char* to_string(EngineKind engine) {
  return engine == EngineKind::rocksdb ? "rocksdb" : "memory";
}

const char* to_string(LogStore store) {
  return store == LogStore::segments ? "segments" : "rocksdb";
}

}  // namespace replikv::runtime
