#include "runtime/config.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/leader/raft.h"

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
                   "memory for the record cache in front of storage (default 64 MiB; 0 disables)",
                   &Config::cache_bytes, 0, 1ull << 40),
      choice_key("log_level", "trace | debug | info | warn | error | off (default info)",
                 &Config::log_level,
                 {{"trace", std::string("trace")},
                  {"debug", std::string("debug")},
                  {"info", std::string("info")},
                  {"warn", std::string("warn")},
                  {"error", std::string("error")},
                  {"off", std::string("off")}}),
      choice_key(
          "bootstrap",
          "leader: an empty data directory founds a new cluster (true), or (false, the default) "
          "rejoins one that exists as a non-voter — a replaced disk; ignored once the directory "
          "has run. `replikv cluster start` passes it when it creates a cluster",
          &Config::bootstrap, {{"true", true}, {"false", false}}),
      choice_key("test_faults",
                 "accept the FAULT command (fault injection: tests and chaos only; default false)",
                 &Config::test_faults, {{"true", true}, {"false", false}}),
      choice_key("strategy",
                 "\"standalone\" (default: one node) or \"leader\" (single leader, replicated log)",
                 &Config::strategy,
                 {{"standalone", Strategy::standalone}, {"leader", Strategy::leader}}),
      text_key("ack",
               "leader: when a write is acknowledged — \"majority\" (default: a majority holds it "
               "durably), "
               "\"async\" (the leader does), \"sync\" (every follower does too), or k (the leader "
               "and k followers)",
               &Config::ack),
      choice_key("failover", "leader: \"auto\" — the followers elect a new leader (Raft)",
                 &Config::failover, {{"auto", std::string("auto")}}),
      text_key("cluster_id",
               "the cluster's name; peers with another one are refused (default replikv)",
               &Config::cluster_id),
      unsigned_key("peer_port", "TCP port for the other nodes (default 7381)", &Config::peer_port,
                   0, 65535),
      text_key(
          "peers",
          "leader: every member, this node too, as id=host:peer_port,… (e.g. 1=127.0.0.1:7381,2=…)",
          &Config::peers),
      text_key("client_addresses",
               "leader: members' client addresses as id=host:port,…, named in redirects and ROLE",
               &Config::client_addresses),
      choice_key("redirect",
                 "leader: a follower refuses writes and reads naming the leader (true) instead of "
                 "forwarding "
                 "them (false, default)",
                 &Config::redirect, {{"true", true}, {"false", false}}),
      unsigned_key(
          "election_timeout_ms",
          "leader: a follower that hears no leader for this long (to twice this, at random) starts "
          "an election (default 1000)",
          &Config::election_timeout_ms, 10, 600000),
      unsigned_key("heartbeat_interval_ms",
                   "leader: how often the leader tells followers it is alive (default 100)",
                   &Config::heartbeat_interval_ms, 1, 60000),
      unsigned_key("request_timeout_ms",
                   "leader: how long a write waits to be confirmed before -TIMEOUT (default 5000)",
                   &Config::request_timeout_ms, 10, 3600000),
      text_key(
          "read_consistency",
          "leader: the consistency of reads that name none — \"linearizable\", \"leader\", "
          "\"session\", "
          "\"bounded:<ms>\" or \"eventual\" (default: linearizable, or leader under ack async)",
          &Config::read_consistency),
      unsigned_key("max_clock_drift_ppm",
                   "leader: how far a node's clock may run fast or slow, in parts per million; "
                   "bounded reads "
                   "allow for it (default 10000, 1%)",
                   &Config::max_clock_drift_ppm, 0, 500000),
      choice_key(
          "lease_reads",
          "leader: the leader answers linearizable reads under its lease, without a confirmation "
          "round — safe while clocks drift by at most max_clock_drift_ppm (default false)",
          &Config::lease_reads, {{"true", true}, {"false", false}}),
      unsigned_key(
          "min_replicas",
          "leader: refuse writes (-NOREPLICAS, nothing written) while fewer followers than this "
          "answered within min_replicas_max_lag_ms (default 0: never)",
          &Config::min_replicas, 0, 1000),
      unsigned_key("min_replicas_max_lag_ms", "leader: see min_replicas (default 10000)",
                   &Config::min_replicas_max_lag_ms, 1, 3600000),
      unsigned_key("log_compact_entries",
                   "leader: compact the log once it holds more entries than this (default 20000)",
                   &Config::log_compact_entries, 2, 1000000000),
      unsigned_key(
          "checkpoint_entries",
          "leader: write the applied state to storage once this many log entries were applied "
          "since the last checkpoint (default 65536); a restart applies the entries after it again",
          &Config::checkpoint_entries, 1, 1000000000),
      unsigned_key(
          "checkpoint_bytes",
          "leader: … or once the records written since hold this many bytes in memory (key, value "
          "and "
          "the cache's per-entry overhead; default 16777216; at most a quarter of cache_bytes "
          "counts, the cache holds them meanwhile)",
          &Config::checkpoint_bytes, 1, 1ull << 40),
      unsigned_key(
          "checkpoint_interval_ms",
          "leader: … or this long after the first write since the last checkpoint (default 1000)",
          &Config::checkpoint_interval_ms, 1, 3600000),
      unsigned_key("log_keep_entries",
                   "leader: applied entries a compaction keeps, for followers a little behind "
                   "(default 5000)",
                   &Config::log_keep_entries, 1, 1000000000),
      unsigned_key(
          "log_compact_bytes",
          "leader: compact the log once its entries take more bytes than this (default 67108864); "
          "the tail kept is then at most a quarter of it",
          &Config::log_compact_bytes, 4096, 1ull << 40),
      unsigned_key(
          "snapshot_chunk_bytes",
          "leader: record bytes in one snapshot chunk sent to a follower (default 1048576)",
          &Config::snapshot_chunk_bytes, 1, 256ull << 20),
      unsigned_key("snapshot_chunks_inflight",
                   "leader: snapshot chunks in flight to one follower at most (default 4)",
                   &Config::snapshot_chunks_inflight, 1, 1024),
      unsigned_key("snapshot_move_bytes",
                   "leader: record bytes a follower moves into place per step of an install "
                   "(default 4194304)",
                   &Config::snapshot_move_bytes, 1, 1ull << 30),
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
    for (const auto& spec : key_specs()) out.push_back(spec.key);
    return out;
  }();
  return keys;
}

std::optional<std::string> load_config(const std::optional<std::string>& path,
                                       const std::map<std::string, std::string>& overrides,
                                       Config& config) {
  auto apply = [&](const std::string& key, const std::string& value,
                   const std::string& source) -> Error {
    const KeySpec* spec = find_spec(key);
    if (spec == nullptr) return fmt::format("{}: unknown configuration key '{}'", source, key);
    if (auto error = spec->set(config, value)) return fmt::format("{}: {}", source, *error);
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
      if (!text)
        return fmt::format("{}: '{}' must be a string, integer or boolean", *path, key.str());
      if (auto error = apply(std::string(key.str()), *text, *path)) return error;
    }
    config.config_file = *path;
  }
  for (const auto& [key, value] : overrides) {
    if (auto error = apply(key, value, "command line")) return error;
  }
  if (config.strategy == Strategy::leader) {
    std::map<uint32_t, std::string> members;
    if (config.peers.empty())
      return "peers: strategy \"leader\" needs the member list (id=host:peer_port,…)";
    if (auto error = parse_members(config.peers, members)) return fmt::format("peers: {}", *error);
    if (!members.contains(config.node_id)) {
      return fmt::format("peers: this node (node_id {}) is not in the member list", config.node_id);
    }
    std::map<uint32_t, std::string> clients;
    if (!config.client_addresses.empty()) {
      if (auto error = parse_members(config.client_addresses, clients))
        return fmt::format("client_addresses: {}", *error);
    }
    if (!core::parse_ack(config.ack, members.size())) {
      return fmt::format(
          "ack: expected \"majority\", \"async\", \"sync\" or a follower count from 1 to {}, got "
          "'{}'",
          members.size() - 1, config.ack);
    }
    if (config.read_consistency != "default") {
      const auto read = core::parse_read_options(config.read_consistency);
      if (!read) {
        return fmt::format(
            "read_consistency: expected \"linearizable\", \"leader\", \"session\", "
            "\"bounded:<ms>\" or \"eventual\", got '{}'",
            config.read_consistency);
      }
      if (read->consistency == core::ReadConsistency::linearizable && config.ack == "async") {
        return "read_consistency: linearizable reads are not offered with ack \"async\" (a "
               "failover may lose "
               "acknowledged writes); choose leader, session, bounded:<ms> or eventual";
      }
    }
    if (config.min_replicas >= members.size()) {
      return fmt::format("min_replicas: at most {} (the followers there are), got {}",
                         members.size() - 1, config.min_replicas);
    }
    if (config.heartbeat_interval_ms * 2 > config.election_timeout_ms) {
      return "heartbeat_interval_ms: must be at most half of election_timeout_ms";
    }
    if (config.log_keep_entries >= config.log_compact_entries) {
      return "log_keep_entries: must be below log_compact_entries (a compaction would erase "
             "nothing)";
    }
  }
  return std::nullopt;
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
  if (spec == nullptr) return std::nullopt;
  return spec->get(config);
}

const char* to_string(FsyncPolicy policy) {
  return policy == FsyncPolicy::always ? "always" : "never";
}
const char* to_string(Strategy strategy) {
  return strategy == Strategy::standalone ? "standalone" : "leader";
}
const char* to_string(EngineKind engine) {
  return engine == EngineKind::rocksdb ? "rocksdb" : "memory";
}

}  // namespace replikv::runtime
