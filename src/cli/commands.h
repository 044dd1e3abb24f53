// The subcommands of the `replikv` binary, each a function from parsed options to an exit code.
// main.cc parses the command line (CLI11 lives there alone: it is slow to compile).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/pbs.h"
#include "sim/simulator.h"

namespace replikv::cli {

struct CheckOptions {
  std::string file;                   // "-" for standard input
  std::vector<std::string> checkers;  // empty: linearizable
  int64_t time_limit_s = 60;
  uint64_t memory_limit_mb = 1024;
};

// Exit codes of `replikv check`.
inline constexpr int check_exit_valid = 0;
inline constexpr int check_exit_violation = 1;
inline constexpr int check_exit_unknown = 2;
inline constexpr int check_exit_unreadable = 3;  // the file cannot be opened or parsed
inline constexpr int check_exit_usage = 4;

int run_check(const CheckOptions& options);

// The numeric settings go straight into sim::SimOptions; these are the ones given as words.
struct SimCommandOptions {
  sim::SimOptions run;
  std::string fsync = "always";
  std::string faults = "all";
  std::string history_file;
  std::string schedule_file;
  bool print_schedule = false;
  std::string shrink_file;
  bool nodes_given = false;  // on failure, write the smallest failing schedule here
  std::string broken;        // test only
};

// Exit status: 0 no unexpected violation, 1 a violation, 2 bad usage.
int run_sim(const SimCommandOptions& options);

struct PbsCommandOptions {
  sim::PbsOptions run;
  std::string json_file;  // every figure, as JSON (the demo's report plots them)
};

// `replikv pbs`: the PBS experiment (sim/pbs.h), its table. Exit status: 0 the miss rate lies
// in the 99% interval around the closed form (or --write-to-all: measured only), 1 it does not,
// 2 bad usage.
int run_pbs_command(const PbsCommandOptions& options);
// One PBS run's figures as `replikv pbs --json` writes them (the demo embeds them for its report).
nlohmann::json pbs_json(const sim::PbsOptions& options, const sim::PbsResult& result);

struct FailoverOptions {
  std::string dir = "replikv-cluster";
  std::string to;  // n2 or 2
  bool force = false;
  bool accept_data_loss = false;
  int64_t timeout_ms = 5000;
};

// Exit status: 0 the target leads, 1 refused or failed, 2 bad usage.
int run_failover(const FailoverOptions& options);

struct ClusterOptions {
  std::string action;  // start, status, stop, restart
  std::string dir = "replikv-cluster";
  int nodes = 3;
  int port = 7379;
  std::string strategy = "leader";
  // start: the strategy's settings given as flags (--ack async, …); --set adds any key.
  std::map<std::string, std::string> strategy_settings;
  std::string fsync = "always";
  std::string engine = "rocksdb";
  std::string cluster_id = "replikv";
  bool test_faults = false;
  std::vector<std::string> settings;  // start: KEY=VALUE lines added to every node.toml
  std::string node;                   // restart/stop/status: one node (n2 or 2); empty: all
  int timeout_s = 30;
  bool quiet = false;  // start: no status table (the chaos and demo commands print their own)
};

// Exit status: 0 done (status: every node running), 1 failed, 2 bad usage, 3 (status) a node down.
int run_cluster(const ClusterOptions& options);

struct BenchOptions {
  std::string protocol = "resp";  // resp (replikv, Redis) or etcd (its v3 JSON gateway)
  int port = 7379;
  int clients = 16;
  int64_t duration_ms = 5000;  // measured, after the warm-up
  int64_t warmup_ms = 1000;
  std::string op = "set";  // set, get, set-wait (SET then WAIT n timeout, one operation)
  int wait_replicas = 2;
  int64_t wait_timeout_ms = 1000;
  int value_size = 100;
  int keys = 100000;
  bool json = false;
};

// Exit status: 0 measured, 1 nothing could be measured (no connection, every request failed),
// 2 bad usage.
int run_bench(const BenchOptions& options);

}  // namespace replikv::cli
