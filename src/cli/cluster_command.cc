// `replikv cluster`: a local cluster of real `replikv server` processes on loopback — start,
// status, stop, restart. The layout under DIR, the ports, and starting and stopping nodes are in
// cli/local_cluster.h; this file writes each node's configuration and carries out the actions.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "cli/commands.h"
#include "cli/local_cluster.h"
#include "core/strategy.h"

namespace replikv::cli {
namespace fs = std::filesystem;
using namespace local;

namespace {

// Ports inside the kernel's range for outgoing connections' local ports can be taken while a node
// is down (a peer reconnecting to it gets one as its local port), so its restart fails to listen.
void warn_if_ephemeral(int first, int last) {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  if (!(range >> low >> high) || last < low || first > high) return;
  std::cerr << fmt::format(
      "replikv cluster: note: ports {}–{} overlap the kernel's ephemeral range {}–{}; a stopped "
      "node's port "
      "may be taken by an outgoing connection before it restarts — a --port below {} avoids that\n",
      first, last, low, high, low - (last - first) - 1);
}

// The keys node.toml always holds: set through the launcher's own flags, not --set.
const std::set<std::string> launcher_keys = {
    "node_id", "bind",     "port",       "admin_port", "peer_port",        "data_dir",   "fsync",
    "engine",  "strategy", "cluster_id", "peers",      "client_addresses", "test_faults"};

// A value as TOML: integers and booleans as they are, anything else quoted.
std::string toml_value(const std::string& value) {
  const bool integer = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
  if (integer || value == "true" || value == "false") return value;
  std::string quoted = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

// --set KEY=VALUE pairs, in order.
std::vector<std::pair<std::string, std::string>> parse_settings(
    const std::vector<std::string>& settings) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& setting : settings) {
    const size_t equals = setting.find('=');
    out.emplace_back(setting.substr(0, equals), setting.substr(equals + 1));
  }
  return out;
}

// Empty when every --set is KEY=VALUE with a key the launcher does not write itself.
std::string check_settings(const std::vector<std::string>& settings) {
  for (const auto& setting : settings) {
    const size_t equals = setting.find('=');
    if (equals == std::string::npos || equals == 0)
      return fmt::format("--set '{}': expected KEY=VALUE", setting);
    const std::string key = setting.substr(0, equals);
    if (key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
      return fmt::format("--set '{}': a key is lower case letters, digits and _", setting);
    }
    if (launcher_keys.contains(key)) {
      return fmt::format("--set {}: the launcher writes this key itself; use its flag", key);
    }
  }
  return {};
}

// Empty when the strategy exists, runs on this many nodes, and takes the settings given (as
// flags, or --set with one of its keys); otherwise the error, naming the setting.
std::string check_strategy(const ClusterOptions& options) {
  const core::Strategy* strategy = core::find_strategy(options.strategy);
  if (strategy == nullptr) {
    return fmt::format("--strategy: expected one of {}, got '{}'", core::strategy_names(),
                       options.strategy);
  }
  core::Settings settings = strategy->default_settings();
  if (auto error = settings.set_all(options.strategy_settings, options.strategy, "--")) {
    return *error;
  }
  for (const auto& [key, value] : parse_settings(options.settings)) {
    if (!settings.declares(key)) continue;  // a node key: the node checks it when it starts
    if (auto error = settings.set(key, value)) return *error;
  }
  if (strategy->traits(settings).single_node && options.nodes > 1) {
    return fmt::format("the {} strategy runs one node; it does not form a cluster of {}",
                       options.strategy, options.nodes);
  }
  core::NodeContext node;
  node.members = core::numbered_members(options.nodes);
  if (auto error = strategy->validate(settings, node)) return *error;
  return {};
}

void write_node_config(const ClusterOptions& options, const fs::path& dir, int node) {
  std::string peers, clients;
  for (int k = 1; k <= options.nodes; ++k) {
    peers +=
        fmt::format("{}{}=127.0.0.1:{}", k == 1 ? "" : ",", k, options.port + peer_offset + k - 1);
    clients += fmt::format("{}{}=127.0.0.1:{}", k == 1 ? "" : ",", k, options.port + k - 1);
  }
  std::ofstream out(node_dir(dir, node) / "node.toml");
  out << "# Written by `replikv cluster start`; `replikv server -c node.toml` runs this node.\n";
  out << fmt::format("node_id = {}\n", node);
  out << "bind = \"127.0.0.1\"\n";
  out << fmt::format("port = {}\nadmin_port = {}\npeer_port = {}\n", options.port + node - 1,
                     options.port + admin_offset + node - 1, options.port + peer_offset + node - 1);
  out << fmt::format("data_dir = \"{}\"\n", (fs::absolute(node_dir(dir, node)) / "data").string());
  out << fmt::format("fsync = \"{}\"\nengine = \"{}\"\n", options.fsync, options.engine);
  out << fmt::format("strategy = \"{}\"\n", options.strategy);
  const core::Strategy* strategy = core::find_strategy(options.strategy);
  if (!strategy->traits(strategy->default_settings()).single_node) {
    out << fmt::format("cluster_id = \"{}\"\n", options.cluster_id);
    out << fmt::format("peers = \"{}\"\nclient_addresses = \"{}\"\n", peers, clients);
  }
  out << fmt::format("test_faults = {}\n", options.test_faults ? "true" : "false");
  // The strategy's settings given as flags, then every --set (a key given both ways: --set's).
  std::map<std::string, std::string> keys(options.strategy_settings.begin(),
                                          options.strategy_settings.end());
  for (auto& [key, value] : parse_settings(options.settings)) keys[key] = std::move(value);
  for (const auto& [key, value] : keys) out << fmt::format("{} = {}\n", key, toml_value(value));
}

int print_status(const fs::path& dir, const Layout& layout) {
  std::cout << fmt::format("{:<5} {:<8} {:<8} {:<6} {:<10} {:<6} {:<7} {:<8} {:<8} {}\n", "node",
                           "pid", "state", "port", "role", "epoch", "leader", "commit", "applied",
                           "lag");
  int down = 0;
  for (int node = 1; node <= layout.nodes; ++node) {
    const int port = layout.port + node - 1;
    const auto pid = read_pid(dir, node);
    if (!pid || !alive(*pid)) {
      ++down;
      std::cout << fmt::format("{:<5} {:<8} {:<8} {:<6}\n", fmt::format("n{}", node), "-",
                               "stopped", port);
      continue;
    }
    auto info = replication(port);
    if (!info) {
      ++down;
      std::cout << fmt::format("{:<5} {:<8} {:<8} {:<6}\n", fmt::format("n{}", node), *pid,
                               "silent", port);
      continue;
    }
    auto& fields = *info;
    std::string lag;
    for (int i = 0; fields.contains(fmt::format("slave{}", i)); ++i) {
      const std::string& line = fields[fmt::format("slave{}", i)];
      const auto node_at = line.find("node=");
      const auto lag_at = line.find("lag_entries=");
      if (node_at != std::string::npos && lag_at != std::string::npos) {
        lag +=
            fmt::format("{}n{}:{}", lag.empty() ? "" : " ", std::atoi(line.c_str() + node_at + 5),
                        std::atoll(line.c_str() + lag_at + 12));
      }
    }
    // The strategy's word for the node's part, marked when it counts toward no quorum (a
    // strategy that reports voters) or receives state in bulk (a snapshot).
    std::string role = fields["replikv_state"];
    if (fields.contains("replikv_voter") && fields["replikv_voter"] == "0") role = "non-voter";
    if (fields["replikv_receiving_state"] == "1") role += "+snap";
    const std::string leader = fields["replikv_leader_id"];
    std::cout << fmt::format(
        "{:<5} {:<8} {:<8} {:<6} {:<10} {:<6} {:<7} {:<8} {:<8} {}\n", fmt::format("n{}", node),
        *pid, "running", port, role, fields["replikv_epoch"],
        leader.empty() || leader == "0" ? "-" : "n" + leader,
        fields.contains("replikv_commit_index") ? fields["replikv_commit_index"] : std::string("-"),
        fields["replikv_applied_index"], lag);
  }
  return down == 0 ? 0 : 3;
}

}  // namespace

int run_cluster(const ClusterOptions& options) {
  const fs::path dir = fs::absolute(options.dir);
  std::string error;
  if (options.action == "start") {
    Layout layout;
    const bool creating = !fs::exists(dir / "cluster.toml");
    if (!creating) {
      auto existing = read_layout(dir, error);
      if (!existing) {
        std::cerr << "replikv cluster: " << error << "\n";
        return 1;
      }
      layout = *existing;
      if (!options.quiet)
        std::cout << fmt::format(
            "starting the existing {}-node cluster in {} (its settings are in {}/nK/node.toml)\n",
            layout.nodes, dir.string(), dir.string());
    } else {
      if (const std::string bad = check_settings(options.settings); !bad.empty()) {
        std::cerr << "replikv cluster: " << bad << "\n";
        return 2;
      }
      warn_if_ephemeral(options.port, options.port + peer_offset + options.nodes - 1);
      if (const std::string bad = check_strategy(options); !bad.empty()) {
        std::cerr << "replikv cluster: " << bad << "\n";
        return 2;
      }
      if (options.port + peer_offset + options.nodes - 1 > 65535) {
        std::cerr << fmt::format(
            "replikv cluster: --port {} leaves no room for {} nodes' ports (up to BASE+{})\n",
            options.port, options.nodes, peer_offset + options.nodes - 1);
        return 2;
      }
      layout = {options.nodes, options.port, options.strategy};
      for (int node = 1; node <= options.nodes; ++node) {
        fs::create_directories(node_dir(dir, node));
        write_node_config(options, dir, node);
      }
      std::ofstream(dir / "cluster.toml") << fmt::format(
          "# Written by `replikv cluster start`.\nnodes = {}\nport = {}\nstrategy = \"{}\"\n",
          options.nodes, options.port, options.strategy);
    }
    std::vector<int> nodes;
    for (int node = 1; node <= layout.nodes; ++node) nodes.push_back(node);
    if (const int code = start_nodes(dir, layout, nodes, options.timeout_s, creating); code != 0)
      return code;
    const core::Strategy* strategy = core::find_strategy(layout.strategy);
    if (strategy != nullptr && strategy->traits(strategy->default_settings()).has_leader) {
      const int leader = wait_for_leader(layout, options.timeout_s);
      if (leader == 0) {
        std::cerr << fmt::format(
            "replikv cluster: every node answers, but no leader was elected within {} s\n",
            options.timeout_s);
        print_status(dir, layout);
        return 1;
      }
    }
    if (options.quiet) return 0;
    return print_status(dir, layout);
  }

  auto layout = read_layout(dir, error);
  if (!layout) {
    std::cerr << "replikv cluster: " << error << "\n";
    return 1;
  }
  std::vector<int> nodes;
  if (options.node.empty()) {
    for (int node = 1; node <= layout->nodes; ++node) nodes.push_back(node);
  } else {
    const std::string name = options.node[0] == 'n' ? options.node.substr(1) : options.node;
    const int node = std::atoi(name.c_str());
    if (node < 1 || node > layout->nodes || std::to_string(node) != name) {
      std::cerr << fmt::format("replikv cluster: no node '{}' (this cluster has n1 to n{})\n",
                               options.node, layout->nodes);
      return 2;
    }
    nodes.push_back(node);
  }
  if (options.action == "status") return print_status(dir, *layout);
  if (options.action == "stop") {
    for (const int node : stop_nodes(dir, nodes, options.timeout_s)) {
      std::cout << fmt::format("stopped n{}\n", node);
    }
    return 0;
  }
  if (options.action == "restart") {
    stop_nodes(dir, nodes, options.timeout_s);
    if (const int code = start_nodes(dir, *layout, nodes, options.timeout_s); code != 0)
      return code;
    const core::Strategy* strategy = core::find_strategy(layout->strategy);
    if (strategy != nullptr && strategy->traits(strategy->default_settings()).has_leader) {
      // Back when it follows a leader again (or the time runs out: the status says so).
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
      for (const int node : nodes) {
        while (std::chrono::steady_clock::now() < deadline) {
          auto info = replication(layout->port + node - 1, 300);
          if (info && !(*info)["replikv_leader_id"].empty() && (*info)["replikv_leader_id"] != "0")
            break;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    }
    // Restarting one node answers for that node (start_nodes saw it answer); another node that is
    // stopped shows in the status, and is not this command's failure.
    const int code = print_status(dir, *layout);
    return options.node.empty() ? code : 0;
  }
  std::cerr << fmt::format("replikv cluster: unknown action '{}' (start, status, stop, restart)\n",
                           options.action);
  return 2;
}

}  // namespace replikv::cli
