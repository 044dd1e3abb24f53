// replikv: the one binary. Subcommands: server (more arrive with replication: cluster, demo,
// chaos, sim, check, bench, status, failover).
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "runtime/config.h"
#include "runtime/server.h"

namespace {

using replikv::runtime::Config;

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("replikv");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

int run_server(const std::optional<std::string>& config_path,
               const std::map<std::string, std::string>& overrides) {
  Config config;
  if (auto error = replikv::runtime::load_config(config_path, overrides, config)) {
    std::cerr << "replikv server: " << *error << "\n";
    return 2;
  }
  setup_logging(config.log_level);
  replikv::runtime::Server server(config);
  if (auto error = server.start()) {
    spdlog::error("cannot start: {}", *error);
    return 1;
  }
  return server.run();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "replikv — a replicated key-value store that speaks RESP (Redis's protocol).\n"
      "Every replication strategy in one engine, each measured for what it costs."};
  app.set_version_flag("--version", "replikv 0.1.0");
  app.require_subcommand(1);

  auto* server = app.add_subcommand(
      "server",
      "Run one node. With no options: loopback, RESP port 7379, admin HTTP port 7380,\n"
      "data in ./replikv-data, fsync always.");
  std::optional<std::string> config_path;
  server->add_option("-c,--config", config_path, "TOML configuration file")->check(CLI::ExistingFile);
  // Every configuration key is also a flag; a flag overrides the file.
  std::map<std::string, std::string> values;
  for (const auto& key : replikv::runtime::config_keys()) {
    std::string flag = key.name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (key.name == "test_faults") {
      server->add_flag_callback("--" + flag, [&values] { values["test_faults"] = "true"; }, key.help);
      continue;
    }
    server->add_option("--" + flag, values[key.name], key.help);
  }

  auto* check = app.add_subcommand(
      "check",
      "Judge a history (JSON Lines, one operation event per line; see docs/checking.md).\n"
      "Exit status: 0 no violation, 1 a violation, 2 unknown (budget ran out),\n"
      "3 unreadable file, 4 bad usage.");
  replikv::cli::CheckOptions check_options;
  check->add_option("file", check_options.file, "history file, or - for standard input")->required();
  check->add_option("--checkers", check_options.checkers,
                    "linearizable (default), lost-writes, stale-reads, sessions, convergence, all")
      ->delimiter(',');
  check->add_option("--time-limit-s", check_options.time_limit_s,
                    "linearizability search budget in seconds (default 60)")
      ->check(CLI::Range(1, 86400));
  check->add_option("--memory-limit-mb", check_options.memory_limit_mb,
                    "linearizability search memory budget in MiB (default 1024)")
      ->check(CLI::Range(16, 1 << 20));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return check->parsed() && code != 0 ? replikv::cli::check_exit_usage : code;
  }
  if (check->parsed()) return replikv::cli::run_check(check_options);

  if (server->parsed()) {
    std::map<std::string, std::string> overrides;
    for (const auto& key : replikv::runtime::config_keys()) {
      std::string flag = key.name;
      std::replace(flag.begin(), flag.end(), '_', '-');
      if (server->count("--" + flag) > 0) overrides[key.name] = values[key.name];
    }
    return run_server(config_path, overrides);
  }
  return 0;
}
