// `replikv chaos`: one run of a real local cluster under a recorded workload and a seeded nemesis,
// judged by the checkers over the history it recorded. `replikv demo` runs it once per preset.
// The design and the meaning of every figure: docs/chaos.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace replikv::cli {

// A strategy preset: a strategy and the settings that make it this preset (what it promises
// comes from the strategy: Strategy::expected_violations, core/strategy.h).
struct Preset {
  std::string name;
  std::string strategy;
  std::vector<std::pair<std::string, std::string>> settings;  // what sets it apart, e.g. ack
  int nodes = 3;
  std::string read;     // the consistency the workload reads at
  std::string summary;  // one line for --help and the demo's table
};
// The preset's settings as "key=value, …".
std::string settings_text(const Preset& preset);

const std::vector<Preset>& presets();
const Preset* find_preset(const std::string& name);

struct ChaosOptions {
  std::string preset = "majority";
  std::string read;  // empty: the preset's
  int64_t duration_ms = 20'000;
  int clients = 10;
  int keys = 5;
  std::string nemesis = "crash";  // none, crash, partition, strand, pause, demo, random
  std::string schedule_file;      // overrides --nemesis
  uint64_t seed = 1;
  int port = 0;     // 0: a free base port below the kernel's ephemeral range
  std::string dir;  // empty: a fresh temporary directory, removed afterwards
  bool keep = false;
  std::string history_file;
  std::string json_file;
  // Strategy settings given on the command line, over the preset's and the run's defaults
  // (request_timeout_ms 1500, so a write cut off answers -TIMEOUT before the client gives up).
  std::map<std::string, std::string> settings;
  int64_t client_timeout_ms = 3000;
  int64_t converge_timeout_ms = 30'000;
  std::string fsync = "always";
  int64_t check_time_limit_s = 60;
  bool progress = true;  // a live line on standard error
};

// The names of the nemesis schedules built in, and what each does.
const std::vector<std::pair<std::string, std::string>>& nemesis_schedules();

struct ChaosRun {
  nlohmann::json result;  // the figures (docs/chaos.md "The result")
  std::string error;      // non-empty: the run could not be made (bad usage or a start failure)
  bool usage_error = false;
};

// Set by SIGINT/SIGTERM handlers: a run ends early, cleans up, and reports what it has.
extern std::atomic<bool> chaos_interrupted;
void install_interrupt_handlers();

// One run. `progress` gets a short status line now and then (for a live display).
ChaosRun chaos_run(const ChaosOptions& options,
                   const std::function<void(const std::string&)>& progress);

// The figures of a result as the lines `replikv chaos` prints.
std::string describe_result(const nlohmann::json& result);

// `replikv chaos`. Exit status: 0 the preset's promises held, 1 a promise was broken, 2 bad
// usage or the cluster could not be run.
int run_chaos(const ChaosOptions& options);

struct DemoOptions {
  std::vector<std::string> presets;  // empty: every preset
  ChaosOptions run;                  // the scenario every preset goes through
  std::string report = "report.html";
  std::string json_file;  // empty: beside the report, .json
};

// `replikv demo`. Exit status: 0 done (the table tells what held), 2 bad usage or a run failed.
int run_demo(const DemoOptions& options);

// report.html: self-contained, its charts drawn by the page's own script from the embedded results.
std::string render_report(const nlohmann::json& demo);

}  // namespace replikv::cli
