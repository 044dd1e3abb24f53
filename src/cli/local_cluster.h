// The local cluster launcher's pieces, shared by `replikv cluster`, `replikv failover` and the
// commands that drive a cluster of real processes: the layout under DIR, starting and stopping
// nodes by pid, and a minimal RESP exchange with a node on loopback.
//
// Layout under DIR:
//   DIR/cluster.toml        what `start` was asked for (nodes, ports, strategy)
//   DIR/nK/node.toml        node K's configuration
//   DIR/nK/data/            its storage
//   DIR/nK/replikv.log      its log (appended across restarts)
//   DIR/nK/replikv.pid      its process id while it runs
// Ports: node K serves clients on BASE+K-1, admin HTTP on BASE+100+K-1, peers on BASE+200+K-1.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace replikv::cli::local {

constexpr int admin_offset = 100;
constexpr int peer_offset = 200;

struct Layout {
  int nodes = 0;
  int port = 0;
  std::string strategy;
};

std::filesystem::path node_dir(const std::filesystem::path& dir, int node);
std::optional<Layout> read_layout(const std::filesystem::path& dir, std::string& error);
std::optional<pid_t> read_pid(const std::filesystem::path& dir, int node);
bool alive(pid_t pid);
// Sends one RESP command to 127.0.0.1:port and returns the raw reply (a status or error line
// with its first byte, or a bulk string's contents), or nullopt when the node does not answer
// within `timeout_ms`. Enough for PING, INFO and admin commands; not a general client.
std::optional<std::string> ask(int port, const std::vector<std::string>& args,
                               int timeout_ms = 1000);
// A node's INFO replication as fields, or nullopt when it does not answer.
std::optional<std::map<std::string, std::string>> replication(int port, int timeout_ms = 1000);
std::string self_executable();
// True when 127.0.0.1:port can be bound now.
bool port_free(int port);
// Starts node `node` in the background, detached from this terminal; returns its pid. With
// `bootstrap` an empty data directory founds the cluster; otherwise an empty one — a replaced
// disk — rejoins as a non-voter.
std::optional<pid_t> spawn(const std::filesystem::path& dir, int node, bool bootstrap,
                           std::string& error);
// The last lines of a file (a node's log, for errors).
std::string tail(const std::filesystem::path& file, size_t lines_max);
// Waits until the node answers PING; false (with the log's tail in `error`) if it exits or the
// time runs out.
bool wait_ready(const std::filesystem::path& dir, int node, int port, pid_t pid, int timeout_s,
                std::string& error);
// SIGTERM, then SIGKILL after `timeout_s`; true once the node is gone (false: it was not running).
bool stop_node(const std::filesystem::path& dir, int node, int timeout_s);
// The same for several nodes, stopped side by side; the nodes that were running, now gone.
std::vector<int> stop_nodes(const std::filesystem::path& dir, const std::vector<int>& nodes,
                            int timeout_s);
// Waits until some node says it leads (strategy leader); its number, or 0 on timeout.
int wait_for_leader(const Layout& layout, int timeout_s);
// Starts `nodes` and waits until each answers; on a failure stops the ones it started. 0, or 1.
int start_nodes(const std::filesystem::path& dir, const Layout& layout,
                const std::vector<int>& nodes, int timeout_s, bool bootstrap = false);

}  // namespace replikv::cli::local
