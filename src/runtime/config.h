// Config: everything a node is started with, from a TOML file, flags, or defaults.
//
// With no file and no flags a node runs alone on loopback with durable writes: bind 127.0.0.1,
// RESP on 7379 (Redis's 6379 stays free), admin HTTP on 7380, data in ./replikv-data, RocksDB,
// fsync "always". Every TOML key can be overridden by a flag of the same name with dashes
// (`data_dir` ↔ `--data-dir`); TOML accepts either spelling. Unknown keys are refused, so a typo
// is an error at start, not a silently ignored setting.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/settings.h"
#include "core/strategy.h"

namespace replikv::runtime {

enum class FsyncPolicy : uint8_t { always, never };
enum class EngineKind : uint8_t { rocksdb, memory };
// Where the single-leader strategy keeps its replication log (with engine = "rocksdb").
enum class LogStore : uint8_t { segments, rocksdb };

struct Config {
  std::string bind = "127.0.0.1";
  uint16_t port = 7379;
  uint16_t admin_port = 7380;  // 0: no admin HTTP server
  std::string data_dir = "replikv-data";
  FsyncPolicy fsync = FsyncPolicy::always;
  EngineKind engine = EngineKind::rocksdb;
  LogStore log_store = LogStore::segments;
  uint64_t log_segment_bytes = 64ull << 20;
  uint32_t node_id = 1;
  uint64_t max_clients = 10000;
  uint64_t max_bulk_bytes = 512ull << 20;
  uint64_t max_array_length = 1ull << 20;
  uint64_t max_query_buffer_bytes = 1ull << 30;
  uint64_t client_output_pause_bytes = 64ull << 20;  // stop reading a client that reads too slowly
  uint64_t cache_bytes = 256ull << 20;               // record cache in front of storage
  std::string log_level = "info";
  bool test_faults = false;
  bool bootstrap =
      false;  // an empty data directory founds a cluster (else: rejoins as a non-voter)
  // Replication: the strategy (core/strategy.h), by name, and its own keys.
  std::string strategy = "standalone";
  core::Settings strategy_settings = core::find_strategy("standalone")->default_settings();
  std::string cluster_id = "replikv";
  uint16_t peer_port = 7381;
  std::string peers;  // "1=127.0.0.1:7381,2=127.0.0.1:7382,…": every member, this one too
  std::string
      client_addresses;     // "1=127.0.0.1:7379,…": members' client ports, for redirects and ROLE
  std::string config_file;  // where it came from, for INFO; empty when none
};

// "1=host:port,2=host:port" → {1: "host:port", 2: …}; the error text on bad input.
std::optional<std::string> parse_members(const std::string& text,
                                         std::map<uint32_t, std::string>& out);

// One configuration key: its name (underscored) and a help text. The node's own keys, then every
// registered strategy's (each once, its help prefixed with the strategy's name).
struct ConfigKey {
  std::string name;
  std::string help;
  bool flag = false;  // a boolean: on the command line, --name alone sets it true
};
const std::vector<ConfigKey>& config_keys();

// The strategy the configuration names (load_config checked that it exists).
const core::Strategy& strategy_of(const Config& config);
// What the replica is started with besides its strategy's settings (the member list parsed).
std::optional<std::string> node_context(const Config& config, core::NodeContext& out);

// Builds a Config from defaults, then the TOML file (when `path` is set), then `overrides`
// (key → value text, as given on the command line). Returns the error text on failure.
std::optional<std::string> load_config(const std::optional<std::string>& path,
                                       const std::map<std::string, std::string>& overrides,
                                       Config& config);

// The value of one key as text (CONFIG GET, INFO), or nullopt for an unknown key.
std::optional<std::string> config_value(const Config& config, const std::string& name);

const char* to_string(FsyncPolicy policy);
const char* to_string(EngineKind engine);
const char* to_string(LogStore store);

}  // namespace replikv::runtime
