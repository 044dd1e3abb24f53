// Connection and server commands: answered by the runtime, never by the replica.
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/command.h"
#include "core/glob.h"
#include "runtime/server_impl.h"

namespace replikv::runtime {

namespace {

using core::Reply;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
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
  return Reply::error(fmt::format("ERR unknown subcommand '{}'. Try {} HELP.", sub.substr(0, 128),
                                  command));
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
  if (name == "appendfsync") return std::string(config.fsync == FsyncPolicy::always ? "always" : "no");
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
    if (argv.size() > 2) return *core::check_arity({"ping", 2, false, {}, 0, 0, 0, {}}, argv.size());
    return argv.size() == 2 ? Reply::bulk(std::string(argv[1])) : Reply::status("PONG");
  }
  if (name == "echo") return Reply::bulk(std::string(argv[1]));
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
  if (name == "role") {
    return Reply::array({Reply::bulk("master"),
                         Reply::number(static_cast<int64_t>(replica->status().applied_index.value())),
                         Reply::array()});
  }
  if (name == "hello") {
    if (argv.size() > 1) {
      const auto version = core::parse_int64(argv[1]);
      if (!version) return Reply::error("ERR Protocol version is not an integer or out of range");
      if (*version != 2) return Reply::error("NOPROTO sorry, this protocol version is not supported");
      for (size_t i = 2; i < argv.size(); ++i) {
        if (iequals(argv[i], "setname") && i + 1 < argv.size()) {
          if (!valid_client_name(argv[i + 1])) {
            return Reply::error("ERR Client names cannot contain spaces, newlines or special characters.");
          }
          c.name = std::string(argv[++i]);
        } else if (iequals(argv[i], "auth") && i + 2 < argv.size()) {
          return Reply::error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
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
      return Reply::array(std::move(entries));
    }
    if (iequals(argv[1], "count")) {
      return Reply::number(static_cast<int64_t>(core::all_commands().size()));
    }
    if (iequals(argv[1], "info")) {
      std::vector<Reply> entries;
      for (size_t i = 2; i < argv.size(); ++i) {
        const auto* spec = core::find_command(argv[i]);
        entries.push_back(spec ? command_entry(*spec) : Reply::null_array());
      }
      return Reply::array(std::move(entries));
    }
    if (iequals(argv[1], "docs")) return Reply::array();  // clients fall back to their own help
    return unknown_subcommand("COMMAND", argv[1]);
  }
  if (name == "config") {
    if (iequals(argv[1], "get")) {
      if (argv.size() < 3) return Reply::error("ERR wrong number of arguments for 'config|get' command");
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
          if (core::glob_match(pattern, key.name) || core::glob_match(pattern, dashed)) {
            add(key.name, *config_value(config, key.name));
          }
        }
        for (const char* redis_name : {"save", "appendonly", "appendfsync", "dir", "maxclients",
                                       "proto-max-bulk-len", "databases"}) {
          if (core::glob_match(pattern, redis_name)) add(redis_name, *redis_config_value(config, redis_name));
        }
      }
      return Reply::array(std::move(pairs));
    }
    if (iequals(argv[1], "resetstat")) {
      counters = Counters{.group_commits = counters.group_commits,
                          .replies_before_durable = counters.replies_before_durable};
      return Reply::ok();
    }
    if (iequals(argv[1], "set")) {
      return Reply::error("ERR CONFIG SET is not supported: change the configuration file or flag and restart the node");
    }
    return unknown_subcommand("CONFIG", argv[1]);
  }
  if (name == "client") {
    if (iequals(argv[1], "id")) return Reply::number(static_cast<int64_t>(c.id.value()));
    if (iequals(argv[1], "getname")) return c.name.empty() ? Reply::nil() : Reply::bulk(c.name);
    if (iequals(argv[1], "setname")) {
      if (argv.size() != 3) return Reply::error("ERR wrong number of arguments for 'client|setname' command");
      if (!valid_client_name(argv[2])) {
        return Reply::error("ERR Client names cannot contain spaces, newlines or special characters.");
      }
      c.name = std::string(argv[2]);
      return Reply::ok();
    }
    if (iequals(argv[1], "setinfo")) {
      if (argv.size() != 4) return Reply::error("ERR wrong number of arguments for 'client|setinfo' command");
      return Reply::ok();
    }
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
    out += fmt::format("connected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:0\r\n",
                       connections.size(), config.max_clients);
  }
  if (wants("persistence")) {
    header("Persistence");
    out += fmt::format(
        "loading:0\r\nreplikv_engine:{}\r\nreplikv_fsync:{}\r\nreplikv_group_commits:{}\r\n"
        "replikv_wal_syncs:{}\r\nreplikv_replies_released_before_durable:{}\r\n"
        "replikv_batches_written:{}\r\nreplikv_bytes_written:{}\r\nreplikv_data_dir:{}\r\n",
        to_string(config.engine), to_string(config.fsync), counters.group_commits,
        storage_stats.wal_syncs_total, counters.replies_before_durable,
        storage_stats.batches_written_total, storage_stats.bytes_written_total, config.data_dir);
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
        counters.protocol_errors,
        counters.unknown_commands, status.writes_applied_total, status.cache_hits_total,
        status.cache_misses_total, status.cache_bytes);
  }
  if (wants("replication")) {
    header("Replication");
    out += fmt::format(
        "role:{}\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
        "master_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
        "master_repl_offset:{}\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
        "replikv_strategy:standalone\r\nreplikv_node_id:{}\r\nreplikv_applied_index:{}\r\n",
        status.role, run_id, status.applied_index.value(), status.node_id.value(),
        status.applied_index.value());
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

}  // namespace replikv::runtime
