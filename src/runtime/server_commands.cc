// Connection and server commands: answered by the runtime, never by the replica.
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "core/command.h"
#include "core/command_docs.h"
#include "core/glob.h"
#include "runtime/memory_info.h"
#include "runtime/metrics_render.h"
#include "runtime/server_impl.h"

namespace replikv::runtime {

namespace {

using core::Reply;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Reply unknown_subcommand(std::string_view command, std::string_view sub) {
  return Reply::error(
      fmt::format("ERR unknown subcommand '{}'. Try {} HELP.", sub.substr(0, 128), command));
}

Reply command_entry(const core::CommandSpec& spec) {
  std::vector<Reply> flags;
  std::string_view rest = spec.flags;
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    flags.push_back(Reply::status(std::string(rest.substr(0, space))));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return Reply::array({Reply::bulk(std::string(spec.name)), Reply::number(spec.arity),
                       Reply::array(std::move(flags)), Reply::number(spec.first_key),
                       Reply::number(spec.last_key), Reply::number(spec.key_step), Reply::array(),
                       Reply::array(), Reply::array(), Reply::array()});
}

// Redis configuration names that clients and tools ask for, and what replikv answers.
std::optional<std::string> redis_config_value(const Config& config, const std::string& name) {
  if (name == "save") return std::string();
  if (name == "appendonly") return std::string("yes");
  if (name == "appendfsync")
    return std::string(config.fsync == FsyncPolicy::always ? "always" : "no");
  if (name == "dir") return config.data_dir;
  if (name == "maxclients") return std::to_string(config.max_clients);
  if (name == "proto-max-bulk-len") return std::to_string(config.max_bulk_bytes);
  if (name == "databases") return std::string("1");
  return std::nullopt;
}

bool valid_client_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '!' && c <= '~'; });
}

}  // namespace

Reply Server::Impl::server_command(Connection& c, std::string_view name,
                                   const std::vector<std::string_view>& argv) {
  if (name == "ping") {
    if (argv.size() > 2)
      return *core::check_arity({"ping", 2, false, {}, 0, 0, 0, {}}, argv.size());
    return argv.size() == 2 ? Reply::bulk(std::string(argv[1])) : Reply::status("PONG");
  }
  if (name == "echo") return Reply::bulk(std::string(argv[1]));
  if (name == "time") {
    // The node's clock: seconds and microseconds since the Unix epoch, as Redis answers.
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    return Reply::array(
        {Reply::bulk(std::to_string(us / 1000000)), Reply::bulk(std::to_string(us % 1000000))});
  }
  if (name == "quit") {
    c.closing = true;
    return Reply::ok();
  }
  if (name == "select") {
    const auto index = core::parse_int64(argv[1]);
    if (!index) return Reply::error("ERR value is not an integer or out of range");
    if (*index != 0) return Reply::error("ERR DB index is out of range");
    return Reply::ok();
  }
  if (name == "info") {
    return Reply::bulk(info(argv.size() > 1 ? argv[1] : std::string_view("default")));
  }
  if (name == "role") return role_reply();
  if (name == "fault") return fault_command(argv);
  if (name == "debug") {
    // DEBUG DIGEST: this node's own state (no leader involved), to compare replicas.
    if (iequals(argv[1], "digest") && argv.size() == 2)
      return Reply::status(replica->state_digest());
    // DEBUG POSITION: where the strategy says this connection's last answered request stands
    // (nil before any), as the simulator records it in its histories: what `replikv chaos`
    // records for the checkers that judge positions (quorum-reads).
    if (iequals(argv[1], "position") && argv.size() == 2)
      return c.last_position ? Reply::bulk(c.last_position->bytes) : Reply::nil();
    return unknown_subcommand("DEBUG", argv[1]);
  }
  if (name == "hello") {
    if (argv.size() > 1) {
      const auto version = core::parse_int64(argv[1]);
      if (!version) return Reply::error("ERR Protocol version is not an integer or out of range");
      if (*version != 2)
        return Reply::error("NOPROTO sorry, this protocol version is not supported");
      for (size_t i = 2; i < argv.size(); ++i) {
        if (iequals(argv[i], "setname") && i + 1 < argv.size()) {
          if (!valid_client_name(argv[i + 1])) {
            return Reply::error(
                "ERR Client names cannot contain spaces, newlines or special characters.");
          }
          c.name = std::string(argv[++i]);
        } else if (iequals(argv[i], "auth") && i + 2 < argv.size()) {
          return Reply::error(
              "ERR AUTH <password> called without any password configured for the default user. "
              "Are you sure your configuration is correct?");
        } else {
          return Reply::error(fmt::format("ERR Syntax error in HELLO option '{}'", argv[i]));
        }
      }
    }
    return Reply::array({Reply::bulk("server"), Reply::bulk("redis"), Reply::bulk("version"),
                         Reply::bulk("7.0.0"), Reply::bulk("proto"), Reply::number(2),
                         Reply::bulk("id"), Reply::number(static_cast<int64_t>(c.id.value())),
                         Reply::bulk("mode"), Reply::bulk("standalone"), Reply::bulk("role"),
                         Reply::bulk("master"), Reply::bulk("modules"), Reply::array()});
  }
  if (name == "command") {
    if (argv.size() == 1) {
      std::vector<Reply> entries;
      for (const auto& spec : core::all_commands()) entries.push_back(command_entry(spec));
      for (const auto& spec : strategy_of(config).commands())
        entries.push_back(command_entry(spec));
      return Reply::array(std::move(entries));
    }
    if (iequals(argv[1], "count")) {
      return Reply::number(static_cast<int64_t>(core::all_commands().size() +
                                                strategy_of(config).commands().size()));
    }
    if (iequals(argv[1], "info")) {
      std::vector<Reply> entries;
      for (size_t i = 2; i < argv.size(); ++i) {
        const auto* spec = core::find_command(argv[i]);
        if (spec == nullptr) spec = strategy_of(config).find_command(argv[i]);
        entries.push_back(spec ? command_entry(*spec) : Reply::null_array());
      }
      return Reply::array(std::move(entries));
    }
    if (iequals(argv[1], "docs")) {
      // What each command is for and its arguments (core/command_docs.h): redis-cli's hints.
      std::vector<Reply> docs;
      const auto add = [&](const core::CommandSpec& spec) {
        if (const auto doc = core::find_command_doc(spec.name)) {
          docs.push_back(Reply::bulk(std::string(spec.name)));
          docs.push_back(core::command_doc_reply(*doc));
        }
      };
      if (argv.size() == 2) {
        for (const auto& spec : core::all_commands()) add(spec);
        for (const auto& spec : strategy_of(config).commands()) add(spec);
      }
      for (size_t i = 2; i < argv.size(); ++i) {
        const auto* spec = core::find_command(argv[i]);
        if (spec == nullptr) spec = strategy_of(config).find_command(argv[i]);
        if (spec != nullptr) add(*spec);  // (an unknown name is left out, as Redis does)
      }
      return Reply::array(std::move(docs));
    }
    return unknown_subcommand("COMMAND", argv[1]);
  }
  if (name == "config") {
    if (iequals(argv[1], "get")) {
      if (argv.size() < 3)
        return Reply::error("ERR wrong number of arguments for 'config|get' command");
      std::vector<Reply> pairs;
      auto add = [&](const std::string& key, const std::string& value) {
        pairs.push_back(Reply::bulk(key));
        pairs.push_back(Reply::bulk(value));
      };
      for (size_t i = 2; i < argv.size(); ++i) {
        const std::string pattern = lower(argv[i]);
        for (const auto& key : config_keys()) {
          std::string dashed = key.name;
          std::replace(dashed.begin(), dashed.end(), '_', '-');
          const auto value = config_value(config, key.name);  // none: another strategy's key
          if (value && (core::glob_match(pattern, key.name) || core::glob_match(pattern, dashed))) {
            add(key.name, *value);
          }
        }
        for (const char* redis_name : {"save", "appendonly", "appendfsync", "dir", "maxclients",
                                       "proto-max-bulk-len", "databases"}) {
          if (core::glob_match(pattern, redis_name))
            add(redis_name, *redis_config_value(config, redis_name));
        }
      }
      return Reply::array(std::move(pairs));
    }
    if (iequals(argv[1], "resetstat")) {
      counters = Counters{};  // the ledger's counts (syncs, early releases) are kept
      return Reply::ok();
    }
    if (iequals(argv[1], "set")) {
      return Reply::error(
          "ERR CONFIG SET is not supported: change the configuration file or flag and restart the "
          "node");
    }
    return unknown_subcommand("CONFIG", argv[1]);
  }
  if (name == "consistency") {
    // CONSISTENCY: this connection's read consistency; CONSISTENCY <level>|DEFAULT sets it.
    if (argv.size() == 1) {
      return Reply::bulk(
          c.read.consistency == core::ReadConsistency::cluster_default
              ? fmt::format("default ({})", core::to_string(strategy_of(config).read_default(
                                                config.strategy_settings)))
              : core::to_string(c.read));
    }
    if (argv.size() != 2)
      return Reply::error("ERR wrong number of arguments for 'consistency' command");
    if (iequals(argv[1], "default")) {
      c.read = core::ReadOptions{};
      return Reply::ok();
    }
    const auto read = core::parse_read_options(argv[1]);
    if (!read) {
      return Reply::error(fmt::format("ERR unknown consistency '{}': expected {}, or default",
                                      argv[1].substr(0, 64), core::read_options_expected));
    }
    if (auto refused = strategy_of(config).refuse_read(*read, config.strategy_settings)) {
      return Reply::error("ERR " + *refused);
    }
    c.read = *read;
    return Reply::ok();
  }
  if (name == "wconsistency") {
    // WCONSISTENCY: how many replicas this connection's writes wait for (leaderless);
    // WCONSISTENCY <one|quorum|all|n>|DEFAULT sets it.
    if (argv.size() == 1) {
      return Reply::bulk(c.write_replicas ? core::replica_count_text(*c.write_replicas)
                                          : std::string("default"));
    }
    if (argv.size() != 2)
      return Reply::error("ERR wrong number of arguments for 'wconsistency' command");
    if (iequals(argv[1], "default")) {
      c.write_replicas.reset();
      return Reply::ok();
    }
    const auto replicas = core::parse_replica_count(argv[1]);
    if (!replicas) {
      return Reply::error(fmt::format(
          "ERR unknown write consistency '{}': expected one, quorum, all, 1 to 1000, or default",
          argv[1].substr(0, 64)));
    }
    if (auto refused =
            strategy_of(config).refuse_write_replicas(*replicas, config.strategy_settings)) {
      return Reply::error("ERR " + *refused);
    }
    c.write_replicas = *replicas;
    return Reply::ok();
  }
  if (name == "session") {
    // SESSION: the connection's token (nil before any); SESSION <term>:<index> carries a session
    // over from another connection; SESSION RESET starts a new one.
    if (argv.size() == 1)
      return c.session ? Reply::bulk(strategy_of(config).session_text(*c.session)) : Reply::nil();
    if (argv.size() != 2)
      return Reply::error("ERR wrong number of arguments for 'session' command");
    if (iequals(argv[1], "reset")) {
      c.session.reset();
      c.last_write.reset();
      return Reply::ok();
    }
    const core::Strategy& strategy = strategy_of(config);
    const auto token = strategy.parse_session(argv[1]);
    if (!token) {
      const auto offered = strategy.traits(config.strategy_settings).read_consistencies;
      if (std::find(offered.begin(), offered.end(), core::ReadConsistency::session) ==
          offered.end()) {
        return Reply::error(fmt::format(
            "ERR invalid session token '{}': the {} strategy has no sessions (every read sees "
            "every write before it)",
            argv[1].substr(0, 64), config.strategy));
      }
      return Reply::error(
          fmt::format("ERR invalid session token '{}': expected a position as SESSION returns it "
                      "(<term>:<index> for the leader strategy), or RESET",
                      argv[1].substr(0, 64)));
    }
    c.session = c.session ? strategy.merge_sessions(*c.session, *token) : *token;
    return Reply::ok();
  }
  if (name == "client") {
    if (iequals(argv[1], "id")) return Reply::number(static_cast<int64_t>(c.id.value()));
    if (iequals(argv[1], "getname")) return c.name.empty() ? Reply::nil() : Reply::bulk(c.name);
    if (iequals(argv[1], "setname")) {
      if (argv.size() != 3)
        return Reply::error("ERR wrong number of arguments for 'client|setname' command");
      if (!valid_client_name(argv[2])) {
        return Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.");
      }
      c.name = std::string(argv[2]);
      return Reply::ok();
    }
    if (iequals(argv[1], "setinfo")) {
      if (argv.size() != 4)
        return Reply::error("ERR wrong number of arguments for 'client|setinfo' command");
      return Reply::ok();
    }
    if (iequals(argv[1], "kill")) return client_kill(c, argv);
    if (iequals(argv[1], "list")) {
      std::string list;
      const int64_t now = now_ms();
      for (const auto& [id, other] : connections) {
        list += fmt::format("id={} addr={} name={} age={} qbuf={} omem={}\n", id.value(),
                            other->address, other->name, (now - other->created_ms) / 1000,
                            other->input.size(), other->output.size() + other->sending.size());
      }
      return Reply::bulk(std::move(list));
    }
    return unknown_subcommand("CLIENT", argv[1]);
  }
  return Reply::error(fmt::format("ERR unknown command '{}'", name));
}

// CLIENT KILL ip:port (the old form: OK, or an error when no connection has that address), or
// CLIENT KILL <filter> <value> … with Redis's filters — ID, ADDR, LADDR, TYPE, USER, MAXAGE,
// SKIPME — answered with how many connections it closed. The caller's own connection, when it
// matches and SKIPME is no, closes once this reply is written.
Reply Server::Impl::client_kill(Connection& c, const std::vector<std::string_view>& argv) {
  const auto local_address = [](const Connection& other) {
    asio::error_code ec;
    const auto endpoint = other.socket.local_endpoint(ec);
    return ec ? std::string()
              : fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
  };
  std::vector<Connection*> matched;
  if (argv.size() < 3)
    return Reply::error("ERR wrong number of arguments for 'client|kill' command");
  if (argv.size() == 3) {
    for (const auto& [id, other] : connections) {
      if (other->address == argv[2]) matched.push_back(other.get());
    }
    if (matched.empty()) return Reply::error("ERR No such client");
  } else {
    if (argv.size() % 2 != 0) return Reply::error("ERR syntax error");
    std::optional<uint64_t> id;
    std::optional<std::string_view> addr, laddr;
    std::optional<int64_t> max_age_s;
    bool skip_me = true, none_of_type = false, no_such_user = false;
    for (size_t i = 2; i + 1 < argv.size(); i += 2) {
      const std::string_view filter = argv[i], value = argv[i + 1];
      if (iequals(filter, "id")) {
        const auto parsed = core::parse_int64(value);
        if (!parsed || *parsed <= 0) return Reply::error("ERR client-id should be greater than 0");
        id = static_cast<uint64_t>(*parsed);
      } else if (iequals(filter, "addr")) {
        addr = value;
      } else if (iequals(filter, "laddr")) {
        laddr = value;
      } else if (iequals(filter, "type")) {
        // Every replikv client is a "normal" one: no replica or pub/sub connections.
        if (iequals(value, "normal")) continue;
        if (!iequals(value, "master") && !iequals(value, "slave") && !iequals(value, "replica") &&
            !iequals(value, "pubsub")) {
          return Reply::error(fmt::format("ERR Unknown client type '{}'", value.substr(0, 64)));
        }
        none_of_type = true;
      } else if (iequals(filter, "user")) {
        no_such_user = value != "default";  // the one user every connection is
        if (no_such_user)
          return Reply::error(fmt::format("ERR No such user '{}'", value.substr(0, 64)));
      } else if (iequals(filter, "skipme")) {
        if (!iequals(value, "yes") && !iequals(value, "no"))
          return Reply::error("ERR syntax error");
        skip_me = iequals(value, "yes");
      } else if (iequals(filter, "maxage")) {
        const auto parsed = core::parse_int64(value);
        if (!parsed) return Reply::error("ERR value is not an integer or out of range");
        max_age_s = *parsed;
      } else {
        return Reply::error("ERR syntax error");
      }
    }
    const int64_t now = now_ms();
    for (const auto& [other_id, other] : connections) {
      if (none_of_type || (skip_me && other.get() == &c)) continue;
      if (id && other_id.value() != *id) continue;
      if (addr && other->address != *addr) continue;
      if (laddr && local_address(*other) != *laddr) continue;
      if (max_age_s && (now - other->created_ms) / 1000 < *max_age_s) continue;
      matched.push_back(other.get());
    }
  }
  const auto killed = static_cast<int64_t>(matched.size());
  for (Connection* other : matched) {
    if (other == &c) {
      c.closing = true;  // after this reply
    } else {
      close(*other);
    }
  }
  return argv.size() == 3 ? Reply::ok() : Reply::number(killed);
}

std::string Server::Impl::info(std::string_view section_arg) const {
  const std::string section = lower(section_arg);
  const bool all = section == "all" || section == "everything" || section == "default";
  const auto status = replica->status();
  const auto storage_stats = engine->stats();
  const int64_t uptime_s = (now_ms() - started_ms) / 1000;
  std::string out;
  auto wants = [&](std::string_view name) { return all || section == name; };
  auto header = [&](std::string_view name) {
    if (!out.empty()) out += "\r\n";
    out += fmt::format("# {}\r\n", name);
  };
  if (wants("server")) {
    header("Server");
    out += fmt::format(
        "redis_version:7.0.0\r\nreplikv_version:0.1.0\r\nredis_mode:standalone\r\n"
        "arch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\n"
        "uptime_in_seconds:{}\r\nuptime_in_days:{}\r\nconfig_file:{}\r\n",
        getpid(), run_id, client_acceptor.is_open() ? client_acceptor.local_endpoint().port() : 0,
        uptime_s, uptime_s / 86400, config.config_file);
  }
  if (wants("clients")) {
    header("Clients");
    out += fmt::format("connected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\n",
                       connections.size(), config.max_clients, status.blocked_clients);
  }
  if (wants("memory")) {
    header("Memory");
    const MemoryInfo memory = memory_info();
    out += fmt::format(
        "used_memory:{}\r\nused_memory_human:{:.2f}M\r\nused_memory_rss:{}\r\n"
        "used_memory_rss_human:{:.2f}M\r\nmem_allocator:{}\r\nreplikv_cache_bytes:{}\r\n"
        "replikv_cache_bytes_max:{}\r\n",
        memory.allocated_bytes, static_cast<double>(memory.allocated_bytes) / (1 << 20),
        memory.resident_bytes, static_cast<double>(memory.resident_bytes) / (1 << 20),
        memory.allocator, status.cache_bytes, config.cache_bytes);
  }
  if (wants("persistence")) {
    header("Persistence");
    out += fmt::format(
        "loading:0\r\nreplikv_engine:{}\r\nreplikv_fsync:{}\r\nreplikv_group_commits:{}\r\n"
        "replikv_wal_syncs:{}\r\nreplikv_replies_released_before_durable:{}\r\n"
        "replikv_batches_written:{}\r\nreplikv_bytes_written:{}\r\nreplikv_data_dir:{}\r\n"
        "replikv_checkpoint_index:{}\r\nreplikv_checkpoints:{}\r\nreplikv_dirty_records:{}\r\n"
        "replikv_dirty_bytes:{}\r\nreplikv_checkpoint_in_flight:{}\r\nreplikv_checkpoint_last_ms:{:"
        ".3f}\r\n"
        "replikv_checkpoint_bytes:{}\r\n",
        engine->name(), to_string(config.fsync), ledger->syncs_total(),
        storage_stats.wal_syncs_total, ledger->replies_released_before_durable(),
        storage_stats.batches_written_total, storage_stats.bytes_written_total, config.data_dir,
        status.checkpoint_index.value(), status.checkpoints_total, status.dirty_records,
        status.dirty_bytes, status.checkpoint_in_flight ? 1 : 0,
        static_cast<double>(counters.checkpoint_last_us) / 1e3,
        storage_stats.checkpoint_bytes_total);
    if (engine->name() == "segments") {
      out += fmt::format(
          "replikv_log_frames:{}\r\nreplikv_log_frame_bytes:{}\r\nreplikv_log_segments_created:{}"
          "\r\nreplikv_log_segments_removed:{}\r\nreplikv_log_rollover_waits:{}\r\n"
          "replikv_log_torn_bytes_cut_at_start:{}\r\nreplikv_log_replay_seconds:{:.3f}\r\n"
          "replikv_log_clean_stop_before_start:{}\r\n",
          storage_stats.log_frames_total, storage_stats.log_frame_bytes_total,
          storage_stats.log_segments_created_total, storage_stats.log_segments_removed_total,
          storage_stats.log_rollover_waits_total, log_recovery.log.torn_bytes_cut,
          log_recovery.seconds, log_recovery.clean_stop ? 1 : 0);
    }
  }
  if (wants("stats")) {
    header("Stats");
    out += fmt::format(
        "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n"
        "total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n"
        "expired_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n"
        "total_error_replies:{}\r\nreplikv_protocol_errors:{}\r\nreplikv_unknown_commands:{}\r\n"
        "replikv_writes_applied:{}\r\nreplikv_cache_hits:{}\r\nreplikv_cache_misses:{}\r\n"
        "replikv_cache_bytes:{}\r\n",
        counters.connections_received, counters.commands_processed, counters.net_input_bytes,
        counters.net_output_bytes, counters.connections_rejected, status.expired_keys_total,
        status.keyspace_hits_total, status.keyspace_misses_total, counters.error_replies,
        counters.protocol_errors, counters.unknown_commands, status.writes_applied_total,
        status.cache_hits_total, status.cache_misses_total, status.cache_bytes);
  }
  if (wants("replication")) {
    header("Replication");
    out += info_replication();
  }
  if (wants("keyspace")) {
    header("Keyspace");
    if (status.key_count > 0) {
      out += fmt::format("db0:keys={},expires={},avg_ttl=0\r\n", status.key_count,
                         status.keys_with_expiry);
    }
  }
  return out;
}

// A member's client address as (host, port), from `client_addresses`; ("", "0") when unknown.
std::pair<std::string, std::string> Server::Impl::client_address_of(uint32_t node) const {
  const auto it = client_addresses.find(node);
  if (it == client_addresses.end()) return {"", "0"};
  const size_t colon = it->second.rfind(':');
  return {it->second.substr(0, colon), it->second.substr(colon + 1)};
}

// INFO replication, in Redis's layout. Offsets are log indexes (Redis counts bytes): a follower's
// `offset` is what it holds durably, and `lag` is seconds since it last answered, as in Redis.
std::string Server::Impl::info_replication() const {
  const auto status = replica->status();
  const core::TimeMs peer_silence_ms_max =
      strategy_of(config).traits(config.strategy_settings).peer_silence_ms_max;
  std::string out = fmt::format("role:{}\r\n", status.role);
  if (!peers) {
    out += "connected_slaves:0\r\n";
  } else if (status.role == "master") {
    out += fmt::format("connected_slaves:{}\r\n", status.followers.size());
    size_t i = 0;
    for (const auto& follower : status.followers) {
      const auto [ip, port] = client_address_of(follower.node.value());
      const bool online = follower.heard_ms_ago <= peer_silence_ms_max;
      out += fmt::format(
          "slave{}:ip={},port={},state={},offset={},lag={},node={},lag_entries={},lag_ms={}\r\n",
          i++, ip, port, online ? "online" : "offline", follower.match.value(),
          follower.heard_ms_ago / 1000, follower.node.value(), follower.lag_entries,
          follower.heard_ms_ago);
    }
  } else {
    const uint32_t leader = status.leader ? status.leader->value() : 0;
    const auto [ip, port] = client_address_of(leader);
    const auto heard = leader != 0 ? peers->last_received_ms(leader) : std::nullopt;
    const int64_t steady_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count();
    out += fmt::format(
        "master_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}"
        "\r\n"
        "master_sync_in_progress:0\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n"
        "slave_priority:100\r\nslave_read_only:0\r\nconnected_slaves:0\r\n",
        ip, port, leader != 0 && peers->connected(leader) ? "up" : "down",
        heard ? (steady_now - *heard) / 1000 : -1, status.replication_offset.value(),
        status.applied_index.value());
  }
  out += fmt::format(
      "master_failover_state:no-failover\r\nmaster_replid:{}\r\n"
      "master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:{}\r\n"
      "second_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
      "replikv_strategy:{}\r\nreplikv_node_id:{}\r\nreplikv_applied_index:{}\r\n"
      "replikv_state:{}\r\nreplikv_epoch:{}\r\nreplikv_leader_id:{}\r\n"
      "replikv_receiving_state:{}\r\n",
      run_id, status.replication_offset.value(), config.strategy, status.node_id.value(),
      status.applied_index.value(), status.state, status.epoch,
      status.leader ? status.leader->value() : 0, status.receiving_state ? 1 : 0);
  // The strategy's settings, each as replikv_<key>.
  for (const auto& [key, value] : config.strategy_settings.values()) {
    out += fmt::format("replikv_{}:{}\r\n", key, value);
  }
  // The strategy's own metrics, then what came in from peers and the transport's counters.
  append_info(out, status.metrics);
  if (peers) {
    append_info(out, core::peer_input_metrics(status));
    append_info(out, peer_transport_metrics(peers->counters()));
  }
  return out;
}

// ROLE, in Redis's shape: ["master", offset, [[ip, port, offset], …]] at the leader (or a single
// node), ["slave", leader ip, leader port, "connected" | "connect", offset] elsewhere.
core::Reply Server::Impl::role_reply() const {
  using core::Reply;
  const auto status = replica->status();
  if (!peers) {
    return Reply::array({Reply::bulk("master"),
                         Reply::number(static_cast<int64_t>(status.applied_index.value())),
                         Reply::array()});
  }
  if (status.role == "master") {
    std::vector<Reply> followers;
    for (const auto& follower : status.followers) {
      const auto [ip, port] = client_address_of(follower.node.value());
      followers.push_back(Reply::array({Reply::bulk(ip), Reply::bulk(port),
                                        Reply::bulk(std::to_string(follower.match.value()))}));
    }
    return Reply::array({Reply::bulk("master"),
                         Reply::number(static_cast<int64_t>(status.replication_offset.value())),
                         Reply::array(std::move(followers))});
  }
  const uint32_t leader = status.leader ? status.leader->value() : 0;
  const auto [ip, port] = client_address_of(leader);
  return Reply::array(
      {Reply::bulk("slave"), Reply::bulk(ip), Reply::number(core::parse_int64(port).value_or(0)),
       Reply::bulk(leader != 0 && peers->connected(leader) ? "connected" : "connect"),
       Reply::number(static_cast<int64_t>(status.applied_index.value()))});
}

// FAULT: fault injection for tests and the chaos tool, refused unless the node was started with
// --test-faults. Links are this node's: CUT/DELAY/LOSS act on what it sends to or receives from
// a peer; SKEW/DRIFT on the clock its replica sees.
core::Reply Server::Impl::fault_command(const std::vector<std::string_view>& argv) {
  using core::Reply;
  if (!config.test_faults) {
    return Reply::error(
        "ERR fault injection is off: start the node with --test-faults to use FAULT");
  }
  const std::string sub = lower(argv[1]);
  const auto integer = [&](size_t i) {
    return i < argv.size() ? core::parse_int64(argv[i]) : std::nullopt;
  };
  const auto usage = Reply::error(
      "ERR usage: FAULT CUT <node|*> [IN|OUT|BOTH] | HEAL [<node|*>] | DELAY <node|*> <ms> | "
      "LOSS <node|*> <percent> | SKEW <ms> | DRIFT <ppm> | STATUS");
  if (sub == "skew" || sub == "drift") {
    const auto value = integer(2);
    if (argv.size() != 3 || !value || *value < -86'400'000'000 || *value > 86'400'000'000)
      return usage;
    if (sub == "skew") {
      clock_skew_ms = *value;
    } else {
      clock_drift_ms = drift_ms();  // both clocks stay continuous
      clock_drift_since_ms = steady_ms();
      clock_drift_ppm = *value;
    }
    return Reply::ok();
  }
  if (sub == "status") {
    std::vector<Reply> lines;
    lines.push_back(
        Reply::bulk(fmt::format("clock skew_ms={} drift_ppm={}", clock_skew_ms, clock_drift_ppm)));
    if (peers) {
      for (const auto& [node, link] : peers->all_faults()) {
        if (!link.any()) continue;
        lines.push_back(Reply::bulk(fmt::format(
            "node {} cut_out={} cut_in={} delay_ms={} loss_percent={}", node, link.cut_out ? 1 : 0,
            link.cut_in ? 1 : 0, link.delay_ms, link.loss_permille / 10)));
      }
    }
    return Reply::array(std::move(lines));
  }
  if (sub != "cut" && sub != "heal" && sub != "delay" && sub != "loss") return usage;
  if (!peers)
    return Reply::error("ERR this node has no peers: link faults need strategy \"leader\"");
  // The peers named: one node id, or * (every peer); HEAL without one means every peer.
  std::vector<uint32_t> targets;
  if (argv.size() < 3 || argv[2] == "*") {
    if (argv.size() < 3 && sub != "heal") return usage;
    targets = peers->peer_ids();
  } else {
    const auto node = integer(2);
    if (!node || *node <= 0 || *node > UINT32_MAX ||
        !peers->is_member(static_cast<uint32_t>(*node))) {
      return Reply::error(fmt::format("ERR no peer '{}' in this cluster", argv[2]));
    }
    targets.push_back(static_cast<uint32_t>(*node));
  }
  for (const uint32_t node : targets) {
    LinkFaults& link = peers->faults(node);
    if (sub == "heal") {
      link = LinkFaults{};
    } else if (sub == "cut") {
      const std::string direction = argv.size() > 3 ? lower(argv[3]) : "both";
      if (argv.size() > 4 || (direction != "in" && direction != "out" && direction != "both"))
        return usage;
      if (direction != "in") link.cut_out = true;
      if (direction != "out") link.cut_in = true;
    } else if (sub == "delay") {
      const auto ms = integer(3);
      if (argv.size() != 4 || !ms || *ms < 0 || *ms > 3'600'000) return usage;
      link.delay_ms = *ms;
    } else {
      const auto percent = integer(3);
      if (argv.size() != 4 || !percent || *percent < 0 || *percent > 100) return usage;
      link.loss_permille = static_cast<uint32_t>(*percent * 10);
    }
  }
  spdlog::warn("fault injected: {}", fmt::join(argv, " "));
  return Reply::ok();
}

}  // namespace replikv::runtime
