#include "cli/local_cluster.h"

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
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "cli/resp_client.h"

namespace replikv::cli::local {
namespace fs = std::filesystem;

fs::path node_dir(const fs::path& dir, int node) { return dir / fmt::format("n{}", node); }

std::optional<Layout> read_layout(const fs::path& dir, std::string& error) {
  const fs::path file = dir / "cluster.toml";
  if (!fs::exists(file)) {
    error = fmt::format(
        "no cluster in {} (no cluster.toml): start one with `replikv cluster start --dir {}`",
        dir.string(), dir.string());
    return std::nullopt;
  }
  try {
    const toml::table table = toml::parse_file(file.string());
    Layout layout;
    layout.nodes = table["nodes"].value_or(0);
    layout.port = table["port"].value_or(0);
    layout.strategy = table["strategy"].value_or(std::string("leader"));
    if (layout.nodes < 1 || layout.port < 1)
      throw std::runtime_error("nodes and port must be positive");
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
  if (kill(pid, 0) != 0) return false;
  // Someone else's child that exited is a zombie until its parent (often init, which may reap
  // only now and then) collects it: it is gone, whatever kill(0) says.
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

std::optional<std::string> ask(int port, const std::vector<std::string>& args, int timeout_ms) {
  RespClient client;
  if (!client.connect(port, timeout_ms)) return std::nullopt;
  auto reply = client.call(args, timeout_ms);
  if (!reply) return std::nullopt;
  if (reply->kind == RespValue::Kind::nil) return std::string();
  return reply->to_string();
}

std::optional<std::map<std::string, std::string>> replication(int port, int timeout_ms) {
  const auto info = ask(port, {"INFO", "replication"}, timeout_ms);
  if (!info) return std::nullopt;
  std::map<std::string, std::string> fields;
  std::istringstream lines(*info);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon != std::string::npos && line[0] != '#')
      fields[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return fields;
}

bool port_free(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return free;
}

std::string self_executable() {
  std::error_code ec;
  const fs::path path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("replikv") : path.string();
}

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
      execl(executable.c_str(), executable.c_str(), "server", "--config", config.c_str(),
            "--bootstrap", static_cast<char*>(nullptr));
    } else {
      execl(executable.c_str(), executable.c_str(), "server", "--config", config.c_str(),
            static_cast<char*>(nullptr));
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

bool wait_ready(const fs::path& dir, int node, int port, pid_t pid, int timeout_s,
                std::string& error) {
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

std::vector<int> stop_nodes(const fs::path& dir, const std::vector<int>& nodes, int timeout_s) {
  // Every node is asked first, then each is waited for: they shut down side by side.
  std::vector<std::pair<int, pid_t>> running;
  for (const int node : nodes) {
    const auto pid = read_pid(dir, node);
    if (!pid || !alive(*pid)) {
      fs::remove(node_dir(dir, node) / "replikv.pid");
      continue;
    }
    kill(*pid, SIGTERM);
    running.emplace_back(node, *pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::vector<int> stopped;
  for (const auto& [node, pid] : running) {
    while (alive(pid) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (alive(pid)) {
      std::cerr << fmt::format(
          "replikv cluster: node {} (pid {}) did not stop within {} s; killing it\n", node, pid,
          timeout_s);
      kill(pid, SIGKILL);
      while (alive(pid)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    fs::remove(node_dir(dir, node) / "replikv.pid");
    stopped.push_back(node);
  }
  return stopped;
}

bool stop_node(const fs::path& dir, int node, int timeout_s) {
  return !stop_nodes(dir, {node}, timeout_s).empty();
}

int wait_for_leader(const Layout& layout, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    for (int node = 1; node <= layout.nodes; ++node) {
      auto info = replication(layout.port + node - 1, 300);
      if (info && (*info)["replikv_state"] == "leader") return node;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

int start_nodes(const fs::path& dir, const Layout& layout, const std::vector<int>& nodes,
                int timeout_s, bool bootstrap) {
  std::map<int, pid_t> started;
  for (const int node : nodes) {
    if (const auto pid = read_pid(dir, node); pid && alive(*pid)) {
      std::cerr << fmt::format("replikv cluster: node {} is already running (pid {})\n", node,
                               *pid);
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
}  // namespace replikv::cli::local
