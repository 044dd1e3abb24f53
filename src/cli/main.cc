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

  CLI11_PARSE(app, argc, argv);

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
