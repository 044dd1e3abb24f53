// `replikv cluster`: a local cluster of real `replikv server` processes on loopback.
//
// Layout under DIR:
//   DIR/cluster.toml        what `start` was asked for (nodes, ports, strategy)
//   DIR/nK/node.toml        node K's configuration — every setting, so `replikv server -c` alone
//                           starts it the same way again
//   DIR/nK/data/            its storage
//   DIR/nK/replikv.log      its log (appended across restarts)
//   DIR/nK/replikv.pid      its process id while it runs
// Ports: node K serves clients on BASE+K-1, admin HTTP on BASE+100+K-1, peers on BASE+200+K-1.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

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
#include "core/leader/raft.h"

namespace replikv::cli {
namespace fs = std::filesystem;

namespace {

constexpr int admin_offset = 100;
constexpr int peer_offset = 200;

struct Layout {
  int nodes = 0;
  int port = 0;
  std::string strategy;
};

fs::path node_dir(const fs::path& dir, int node) { return dir / fmt::format("n{}", node); }

std::optional<Layout> read_layout(const fs::path& dir, std::string& error) {
  const fs::path file = dir / "cluster.toml";
  if (!fs::exists(file)) {
    error = fmt::format("no cluster in {} (no cluster.toml): start one with `replikv cluster start --dir {}`",
                        dir.string(), dir.string());
    return std::nullopt;
  }
  try {
    const toml::table table = toml::parse_file(file.string());
    Layout layout;
    layout.nodes = table["nodes"].value_or(0);
    layout.port = table["port"].value_or(0);
    layout.strategy = table["strategy"].value_or(std::string("leader"));
    if (layout.nodes < 1 || layout.port < 1) throw std::runtime_error("nodes and port must be positive");
    return layout;
  } catch (const std::exception& e) {
    error = fmt::format("{}: {}", file.string(), e.what());
    return std::nullopt;
  }
}

std::optional<pid_t> read_pid(const fs::path& dir, int node) {
  std::ifstream in(node_dir(dir, node) / "replikv.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

bool alive(pid_t pid) {
  // Reap it first if it is our own child that already exited (start/restart in this process).
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == pid) return false;
  return kill(pid, 0) == 0;
}

// Sends one RESP command to 127.0.0.1:port and returns the raw reply, or nullopt when the node
// does not answer within `timeout_ms`. Enough for PING and INFO; not a general client.
std::optional<std::string> ask(int port, const std::vector<std::string>& args, int timeout_ms = 1000) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::optional<std::string> reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    std::string request = fmt::format("*{}\r\n", args.size());
    for (const auto& arg : args) request += fmt::format("${}\r\n{}\r\n", arg.size(), arg);
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      std::string in;
      char chunk[4096];
      // A status line ends at its first CRLF; a bulk string once its length is in.
      while (true) {
        const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        in.append(chunk, static_cast<size_t>(n));
        const size_t line_end = in.find("\r\n");
        if (line_end == std::string::npos) continue;
        if (in[0] != '$') {
          reply = in.substr(0, line_end);
          break;
        }
        const long length = std::atol(in.c_str() + 1);
        if (length < 0) {
          reply = std::string();
          break;
        }
        if (in.size() >= line_end + 2 + static_cast<size_t>(length)) {
          reply = in.substr(line_end + 2, static_cast<size_t>(length));
          break;
        }
      }
    }
  }
  close(fd);
  return reply;
}

// A node's INFO replication as fields, or nullopt when it does not answer.
std::optional<std::map<std::string, std::string>> replication(int port, int timeout_ms = 1000) {
  const auto info = ask(port, {"INFO", "replication"}, timeout_ms);
  if (!info) return std::nullopt;
  std::map<std::string, std::string> fields;
  std::istringstream lines(*info);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon != std::string::npos && line[0] != '#') fields[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return fields;
}

std::string self_executable() {
  std::error_code ec;
  const fs::path path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("replikv") : path.string();
}

// Starts node `node` in the background, detached from this terminal; returns its pid. With
// `bootstrap` (only when this command creates the cluster) an empty data directory founds it;
// otherwise an empty one — a replaced disk — rejoins as a non-voter.
std::optional<pid_t> spawn(const fs::path& dir, int node, bool bootstrap, std::string& error) {
  const fs::path home = node_dir(dir, node);
  const std::string config = (home / "node.toml").string();
  const std::string log = (home / "replikv.log").string();
  const std::string executable = self_executable();
  const pid_t pid = fork();
  if (pid < 0) {
    error = "fork failed";
    return std::nullopt;
  }
  if (pid == 0) {
    setsid();
    const int null_fd = open("/dev/null", O_RDONLY);
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    if (chdir(home.c_str()) != 0) _exit(127);
    if (bootstrap) {
      execl(executable.c_str(), executable.c_str(), "server", "--config", config.c_str(), "--bootstrap",
            static_cast<char*>(nullptr));
    } else {
      execl(executable.c_str(), executable.c_str(), "server", "--config", config.c_str(), static_cast<char*>(nullptr));
    }
    _exit(127);
  }
  std::ofstream(home / "replikv.pid") << pid << "\n";
  return pid;
}

std::string tail(const fs::path& file, size_t lines_max) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > lines_max) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += "    " + l + "\n";
  return out;
}

// Waits until the node answers PING; false (with the log's tail in `error`) if it exits or the
// time runs out.
bool wait_ready(const fs::path& dir, int node, int port, pid_t pid, int timeout_s, std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto reply = ask(port, {"PING"}, 500); reply && *reply == "+PONG") return true;
    if (!alive(pid)) {
      error = fmt::format("node {} exited during start; the end of its log:\n{}", node,
                          tail(node_dir(dir, node) / "replikv.log", 10));
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  error = fmt::format("node {} did not answer on port {} within {} s", node, port, timeout_s);
  return false;
}

bool stop_node(const fs::path& dir, int node, int timeout_s) {
  const auto pid = read_pid(dir, node);
  if (!pid || !alive(*pid)) {
    fs::remove(node_dir(dir, node) / "replikv.pid");
    return false;
  }
  kill(*pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (alive(*pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (alive(*pid)) {
    std::cerr << fmt::format("replikv cluster: node {} (pid {}) did not stop within {} s; killing it\n", node, *pid,
                             timeout_s);
    kill(*pid, SIGKILL);
    while (alive(*pid)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  fs::remove(node_dir(dir, node) / "replikv.pid");
  return true;
}

// Ports inside the kernel's range for outgoing connections' local ports can be taken while a node
// is down (a peer reconnecting to it gets one as its local port), so its restart fails to listen.
void warn_if_ephemeral(int first, int last) {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  if (!(range >> low >> high) || last < low || first > high) return;
  std::cerr << fmt::format(
      "replikv cluster: note: ports {}–{} overlap the kernel's ephemeral range {}–{}; a stopped node's port "
      "may be taken by an outgoing connection before it restarts — a --port below {} avoids that\n",
      first, last, low, high, low - (last - first) - 1);
}

// The keys node.toml always holds: set through the launcher's own flags, not --set.
const std::set<std::string> launcher_keys = {"node_id", "bind", "port", "admin_port", "peer_port", "data_dir",
                                             "fsync", "engine", "strategy", "ack", "failover", "cluster_id",
                                             "peers", "client_addresses", "election_timeout_ms",
                                             "heartbeat_interval_ms", "redirect", "test_faults"};

// --set KEY=VALUE pairs as TOML: integers and booleans as they are, anything else quoted.
std::vector<std::pair<std::string, std::string>> parse_settings(const std::vector<std::string>& settings) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& setting : settings) {
    const size_t equals = setting.find('=');
    const std::string key = setting.substr(0, equals), value = setting.substr(equals + 1);
    const bool integer = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
    if (integer || value == "true" || value == "false") {
      out.emplace_back(key, value);
      continue;
    }
    std::string quoted = "\"";
    for (const char c : value) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    out.emplace_back(key, quoted + "\"");
  }
  return out;
}

// Empty when every --set is KEY=VALUE with a key the launcher does not write itself.
std::string check_settings(const std::vector<std::string>& settings) {
  for (const auto& setting : settings) {
    const size_t equals = setting.find('=');
    if (equals == std::string::npos || equals == 0) return fmt::format("--set '{}': expected KEY=VALUE", setting);
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

void write_node_config(const ClusterOptions& options, const fs::path& dir, int node) {
  std::string peers, clients;
  for (int k = 1; k <= options.nodes; ++k) {
    peers += fmt::format("{}{}=127.0.0.1:{}", k == 1 ? "" : ",", k, options.port + peer_offset + k - 1);
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
  if (options.strategy == "leader") {
    out << fmt::format("strategy = \"leader\"\nack = \"{}\"\nfailover = \"{}\"\n", options.ack, options.failover);
    out << fmt::format("cluster_id = \"{}\"\n", options.cluster_id);
    out << fmt::format("peers = \"{}\"\nclient_addresses = \"{}\"\n", peers, clients);
    out << fmt::format("election_timeout_ms = {}\nheartbeat_interval_ms = {}\n", options.election_timeout_ms,
                       std::max<int64_t>(1, options.election_timeout_ms / 10));
    out << fmt::format("redirect = {}\n", options.redirect ? "true" : "false");
  }
  out << fmt::format("test_faults = {}\n", options.test_faults ? "true" : "false");
  for (const auto& [key, value] : parse_settings(options.settings)) out << fmt::format("{} = {}\n", key, value);
}

int print_status(const fs::path& dir, const Layout& layout) {
  std::cout << fmt::format("{:<5} {:<8} {:<8} {:<6} {:<10} {:<6} {:<7} {:<8} {:<8} {}\n", "node", "pid", "state",
                           "port", "role", "term", "leader", "commit", "applied", "lag");
  int down = 0;
  for (int node = 1; node <= layout.nodes; ++node) {
    const int port = layout.port + node - 1;
    const auto pid = read_pid(dir, node);
    if (!pid || !alive(*pid)) {
      ++down;
      std::cout << fmt::format("{:<5} {:<8} {:<8} {:<6}\n", fmt::format("n{}", node), "-", "stopped", port);
      continue;
    }
    auto info = replication(port);
    if (!info) {
      ++down;
      std::cout << fmt::format("{:<5} {:<8} {:<8} {:<6}\n", fmt::format("n{}", node), *pid, "silent", port);
      continue;
    }
    auto& fields = *info;
    std::string lag;
    for (int i = 0; fields.contains(fmt::format("slave{}", i)); ++i) {
      const std::string& line = fields[fmt::format("slave{}", i)];
      const auto node_at = line.find("node=");
      const auto lag_at = line.find("lag_entries=");
      if (node_at != std::string::npos && lag_at != std::string::npos) {
        lag += fmt::format("{}n{}:{}", lag.empty() ? "" : " ", std::atoi(line.c_str() + node_at + 5),
                           std::atoll(line.c_str() + lag_at + 12));
      }
    }
    std::string role = fields.contains("replikv_raft_role") ? fields["replikv_raft_role"] : "standalone";
    if (fields["replikv_voter"] == "0") role = "non-voter";  // a follower that counts toward no quorum
    if (fields["replikv_snapshot_installing"] == "1") role += "+snap";  // receiving or installing one
    const std::string leader = fields["replikv_leader_id"];
    std::cout << fmt::format("{:<5} {:<8} {:<8} {:<6} {:<10} {:<6} {:<7} {:<8} {:<8} {}\n", fmt::format("n{}", node),
                             *pid, "running", port, role, fields["replikv_term"],
                             leader.empty() || leader == "0" ? "-" : "n" + leader, fields["replikv_commit_index"],
                             fields["replikv_applied_index"], lag);
  }
  return down == 0 ? 0 : 3;
}

// Waits until some node says it leads (strategy leader); its number, or 0 on timeout.
int wait_for_leader(const Layout& layout, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    for (int node = 1; node <= layout.nodes; ++node) {
      auto info = replication(layout.port + node - 1, 300);
      if (info && (*info)["replikv_raft_role"] == "leader") return node;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

int start_nodes(const fs::path& dir, const Layout& layout, const std::vector<int>& nodes, int timeout_s,
                bool bootstrap = false) {
  std::map<int, pid_t> started;
  for (const int node : nodes) {
    if (const auto pid = read_pid(dir, node); pid && alive(*pid)) {
      std::cerr << fmt::format("replikv cluster: node {} is already running (pid {})\n", node, *pid);
      return 1;
    }
    std::string error;
    const auto pid = spawn(dir, node, bootstrap, error);
    if (!pid) {
      std::cerr << "replikv cluster: " << error << "\n";
      return 1;
    }
    started[node] = *pid;
  }
  for (const auto& [node, pid] : started) {
    std::string error;
    if (!wait_ready(dir, node, layout.port + node - 1, pid, timeout_s, error)) {
      std::cerr << "replikv cluster: " << error << "\n";
      // Leave nothing half-started behind.
      for (const auto& [other, other_pid] : started) stop_node(dir, other, 5);
      return 1;
    }
  }
  return 0;
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
      std::cout << fmt::format("starting the existing {}-node cluster in {} (its settings are in {}/nK/node.toml)\n",
                               layout.nodes, dir.string(), dir.string());
    } else {
      if (const std::string bad = check_settings(options.settings); !bad.empty()) {
        std::cerr << "replikv cluster: " << bad << "\n";
        return 2;
      }
      warn_if_ephemeral(options.port, options.port + peer_offset + options.nodes - 1);
      if (!core::parse_ack(options.ack, static_cast<size_t>(options.nodes))) {
        std::cerr << fmt::format("replikv cluster: --ack takes majority, async, sync or a follower count from 1 to {}\n",
                                 options.nodes - 1);
        return 2;
      }
      if (options.strategy != "leader" && options.strategy != "standalone") {
        std::cerr << "replikv cluster: --strategy takes leader (standalone nodes do not form a cluster)\n";
        return 2;
      }
      if (options.port + peer_offset + options.nodes - 1 > 65535) {
        std::cerr << fmt::format("replikv cluster: --port {} leaves no room for {} nodes' ports (up to BASE+{})\n",
                                 options.port, options.nodes, peer_offset + options.nodes - 1);
        return 2;
      }
      layout = {options.nodes, options.port, options.strategy};
      for (int node = 1; node <= options.nodes; ++node) {
        fs::create_directories(node_dir(dir, node));
        write_node_config(options, dir, node);
      }
      std::ofstream(dir / "cluster.toml") << fmt::format(
          "# Written by `replikv cluster start`.\nnodes = {}\nport = {}\nstrategy = \"{}\"\n", options.nodes,
          options.port, options.strategy);
    }
    std::vector<int> nodes;
    for (int node = 1; node <= layout.nodes; ++node) nodes.push_back(node);
    if (const int code = start_nodes(dir, layout, nodes, options.timeout_s, creating); code != 0) return code;
    if (layout.strategy == "leader") {
      const int leader = wait_for_leader(layout, options.timeout_s);
      if (leader == 0) {
        std::cerr << fmt::format("replikv cluster: every node answers, but no leader was elected within {} s\n",
                                 options.timeout_s);
        print_status(dir, layout);
        return 1;
      }
    }
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
      std::cerr << fmt::format("replikv cluster: no node '{}' (this cluster has n1 to n{})\n", options.node,
                               layout->nodes);
      return 2;
    }
    nodes.push_back(node);
  }
  if (options.action == "status") return print_status(dir, *layout);
  if (options.action == "stop") {
    for (const int node : nodes) {
      if (stop_node(dir, node, options.timeout_s)) std::cout << fmt::format("stopped n{}\n", node);
    }
    return 0;
  }
  if (options.action == "restart") {
    for (const int node : nodes) stop_node(dir, node, options.timeout_s);
    if (const int code = start_nodes(dir, *layout, nodes, options.timeout_s); code != 0) return code;
    if (layout->strategy == "leader") {
      // Back when it follows a leader again (or the time runs out: the status says so).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
      for (const int node : nodes) {
        while (std::chrono::steady_clock::now() < deadline) {
          auto info = replication(layout->port + node - 1, 300);
          if (info && !(*info)["replikv_leader_id"].empty() && (*info)["replikv_leader_id"] != "0") break;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    }
    return print_status(dir, *layout);
  }
  std::cerr << fmt::format("replikv cluster: unknown action '{}' (start, status, stop, restart)\n", options.action);
  return 2;
}

int run_failover(const FailoverOptions& options) {
  std::string error;
  const auto layout = read_layout(options.dir, error);
  if (!layout) {
    std::cerr << "replikv failover: " << error << "\n";
    return 2;
  }
  const std::string id = !options.to.empty() && (options.to[0] == 'n' || options.to[0] == 'N') ? options.to.substr(1) : options.to;
  const int target = std::atoi(id.c_str());
  if (target < 1 || target > layout->nodes || std::to_string(target) != id) {
    std::cerr << fmt::format("replikv failover: --to takes a node of this cluster, n1 to n{} (got '{}')\n",
                             layout->nodes, options.to);
    return 2;
  }
  const int wait_ms = static_cast<int>(options.timeout_ms) + 2000;
  std::optional<std::string> reply;
  if (options.force) {
    std::vector<std::string> args{"FAILOVER", "TO", std::to_string(target), "FORCE"};
    if (options.accept_data_loss) args.emplace_back("ACCEPT-DATA-LOSS");
    args.insert(args.end(), {"TIMEOUT", std::to_string(options.timeout_ms)});
    std::cout << fmt::format("promoting n{} without the leader ({}) …\n", target,
                             options.accept_data_loss ? "accepting data loss" : "FAILOVER TO … FORCE");
    reply = ask(layout->port + target - 1, args, wait_ms);
  } else {
    int leader = 0;
    for (int node = 1; node <= layout->nodes && leader == 0; ++node) {
      const auto fields = replication(layout->port + node - 1);
      if (fields && fields->count("replikv_raft_role") != 0 && fields->at("replikv_raft_role") == "leader") leader = node;
    }
    if (leader == 0) {
      std::cerr << "replikv failover: no node answers as the leader; if it is unreachable, use --force\n";
      return 1;
    }
    if (leader == target) {
      std::cout << fmt::format("n{} already leads\n", target);
      return 0;
    }
    std::cout << fmt::format("handing leadership from n{} to n{} …\n", leader, target);
    reply = ask(layout->port + leader - 1, {"FAILOVER", "TO", std::to_string(target), "TIMEOUT", std::to_string(options.timeout_ms)},
                wait_ms);
  }
  if (!reply) {
    std::cerr << "replikv failover: no answer\n";
    return 1;
  }
  if (reply->empty() || (*reply)[0] == '-') {
    std::cerr << "replikv failover: " << (reply->empty() ? *reply : reply->substr(1)) << "\n";
    return 1;
  }
  std::cout << fmt::format("n{} leads\n", target);
  return 0;
}

}  // namespace replikv::cli
