// replikv: the one binary. Subcommands: server, cluster, failover, chaos, demo, sim, check.
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/chaos.h"
#include "cli/commands.h"
#include "core/strategy.h"
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

// Every registered strategy's settings (core/strategy.h) as options of `command`, in the group
// "Strategy settings": --ack majority, --election-timeout-ms 500, … (a boolean is a flag:
// --redirect). The values land in `values`; given_settings() picks out those on the command line.
void add_strategy_flags(CLI::App* command, std::map<std::string, std::string>& values) {
  for (const replikv::core::Strategy* strategy : replikv::core::strategies()) {
    for (const auto& setting : strategy->setting_specs()) {
      std::string flag = setting.name;
      std::replace(flag.begin(), flag.end(), '_', '-');
      if (const CLI::Option* taken = command->get_option_no_throw("--" + flag)) {
        // One flag serves every strategy that declares the key; a flag of the command's own by
        // that name would take the setting's value for something else: a programming error.
        if (taken->get_group() == "Strategy settings") continue;
        std::cerr << "replikv: the setting " << setting.name << " of strategy " << strategy->name()
                  << " clashes with the command's own --" << flag << "\n";
        std::abort();
      }
      const std::string help = std::string(strategy->name()) + ": " + setting.help;
      if (setting.kind == replikv::core::SettingSpec::Kind::boolean) {
        // --name sets it true, --no-name false.
        const std::string name = setting.name;
        command
            ->add_flag_callback(
                "--" + flag, [&values, name] { values[name] = "true"; }, help)
            ->group("Strategy settings");
        command
            ->add_flag_callback(
                "--no-" + flag, [&values, name] { values[name] = "false"; },
                std::string(strategy->name()) + ": the opposite of --" + flag)
            ->group("Strategy settings");
      } else {
        command->add_option("--" + flag, values[setting.name], help)->group("Strategy settings");
      }
    }
  }
}

std::map<std::string, std::string> given_settings(
    CLI::App* command, const std::map<std::string, std::string>& values) {
  std::map<std::string, std::string> given;
  for (const auto& [name, value] : values) {
    std::string flag = name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    const CLI::Option* negated = command->get_option_no_throw("--no-" + flag);
    if (command->count("--" + flag) > 0 || (negated != nullptr && negated->count() > 0)) {
      given[name] = value;
    }
  }
  return given;
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
  server->add_option("-c,--config", config_path, "TOML configuration file")
      ->check(CLI::ExistingFile);
  // Every configuration key is also a flag; a flag overrides the file.
  std::map<std::string, std::string> values;
  for (const auto& key : replikv::runtime::config_keys()) {
    std::string flag = key.name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (key.flag) {
      // A boolean: --name sets it true; a strategy's also takes --no-name (as `cluster start`,
      // `sim`, `chaos` and `demo` do), over a configuration file that set it.
      const std::string name = key.name;
      server->add_flag_callback(
          "--" + flag, [&values, name] { values[name] = "true"; }, key.help);
      if (name != "test_faults" && name != "bootstrap") {
        server->add_flag_callback(
            "--no-" + flag, [&values, name] { values[name] = "false"; },
            "the opposite of --" + flag);
      }
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
  check->add_option("file", check_options.file, "history file, or - for standard input")
      ->required();
  check
      ->add_option("--checkers", check_options.checkers,
                   "linearizable (default), lost-writes, stale-reads, sessions, convergence, "
                   "availability, all")
      ->delimiter(',');
  check
      ->add_option("--time-limit-s", check_options.time_limit_s,
                   "linearizability search budget in seconds (default 60)")
      ->check(CLI::Range(1, 86400));
  check
      ->add_option("--memory-limit-mb", check_options.memory_limit_mb,
                   "linearizability search memory budget in MiB (default 1024)")
      ->check(CLI::Range(16, 1 << 20));

  auto* sim = app.add_subcommand(
      "sim",
      "Run one deterministic simulation (virtual time, one seed) and judge its history.\n"
      "Every flag has a default: `replikv sim --seed S` alone is a full run.\n"
      "Exit status: 0 pass, 1 a violation (the replay command is printed), 2 bad usage.");
  replikv::cli::SimCommandOptions sim_options;
  sim->add_option(
      "--strategy", sim_options.run.strategy,
      "the replication strategy: " + replikv::core::strategy_names() + " (default standalone)");
  sim->add_option("--nodes", sim_options.run.nodes,
                  "nodes (standalone: 1; a replicated strategy: default 3)");
  sim->add_option("--seed", sim_options.run.seed,
                  "the seed every random choice comes from (default 1)");
  sim->add_option("--ops", sim_options.run.ops, "client operations (default 2000)")
      ->check(CLI::Range(1, 100000000));
  sim->add_option("--clients", sim_options.run.clients, "concurrent clients (default 8)");
  sim->add_option("--keys", sim_options.run.keys, "register keys (default 8)");
  sim->add_option("--counters", sim_options.run.counters,
                  "counter keys the workload increments (INCRBY, half with an ID), judged by the "
                  "counters checker (default 0: none)")
      ->check(CLI::Range(0, 1000));
  sim->add_option("--deletes", sim_options.run.deletes,
                  "this percentage of the operations are DELs, taken from the register writes "
                  "(default 0: none)")
      ->check(CLI::Range(0, 33));
  sim->add_option("--family-commands", sim_options.run.family_commands,
                  "this percentage of the DELs go as GETDEL, and of the increments without an ID "
                  "as INCRBYFLOAT (single leader, standalone): the data families' log entries "
                  "under every fault (default 0: none)")
      ->check(CLI::Range(0, 100));
  sim->add_option("--transactions", sim_options.run.transactions,
                  "this percentage of the register writes and deletes go as MULTI … EXEC that "
                  "also writes the key's mirror; every node's state is checked after every step "
                  "(single leader, standalone; default 0: none)")
      ->check(CLI::Range(0, 100));
  sim->add_flag("--collections", sim_options.run.collections,
                "with --transactions: a transactional write also adds an element to a list, a "
                "hash, a set and a sorted set of its key, a delete deletes them; every node's "
                "four collections are checked equal in size after every step, and a queue (RPUSH, "
                "LPOP, BLPOP at any node) is held to popping each element at most once and "
                "losing none (the queue check). Multi-leader: the "
                "counters are hash fields and sorted-set scores (HINCRBY, ZINCRBY), and writes of "
                "every kind go to sets, hashes and sorted sets, judged by convergence");
  sim->add_option("--counter-resets", sim_options.run.counter_resets,
                  "with --counters: this percentage of the reads, deletes and writes go to a "
                  "counter key (resets of its increments; the counters checker then judges only "
                  "the counters no reset touched; default 0)")
      ->check(CLI::Range(0, 100));
  sim->add_option("--merges", sim_options.run.merges,
                  "for a strategy whose writes carry a context (multi-leader): this percentage of "
                  "the reads read every value and the context (VGET), and of the writes write back "
                  "with the context the client read last (VSET; default 0: none)")
      ->check(CLI::Range(0, 100));
  sim->add_option("--timeout-ms", sim_options.run.client_timeout_ms,
                  "client timeout in virtual ms (default 200)");
  sim->add_flag("!--linearizable-reads-only", sim_options.run.mixed_reads,
                "every read at the strategy's default consistency (default: reads at every "
                "consistency it offers — linearizable, session, bounded, eventual)");
  std::map<std::string, std::string> sim_settings;
  add_strategy_flags(sim, sim_settings);
  sim->add_flag(
      "--reorder-all", sim_options.run.reorder_all,
      "every message takes its own latency, so any two may swap (default: links between nodes "
      "keep order, as TCP does, except a 1% tail)");
  sim->add_option("--fsync", sim_options.fsync, "always (default) or never");
  sim->add_option("--faults", sim_options.faults,
                  "kill,pause,partition,drop,dup,skew,disk,failover (disk loss and operator "
                  "failovers: where the strategy has them, as leader does) — or all (default), "
                  "none");
  sim->add_option("--history", sim_options.history_file, "write the history (JSON Lines) here");
  sim->add_option(
      "--schedule", sim_options.schedule_file,
      "replay this fault schedule (text, see --print-schedule) instead of a random one");
  sim->add_flag("--print-schedule", sim_options.print_schedule, "print the fault schedule");
  sim->add_option(
      "--shrink", sim_options.shrink_file,
      "on a violation, shrink the fault schedule and write the smallest failing one here");
  sim->add_option(
         "--broken", sim_options.broken,
         "test only: run a deliberately broken replica: ack-before-sync (acknowledges before its "
         "sync) or messages-early (every message leaves before its Ready is durable)")
      ->group("");

  auto* pbs = app.add_subcommand(
      "pbs",
      "Measure leaderless staleness in the simulator against Probabilistically Bounded\n"
      "Staleness (Bailis et al., VLDB 2012): under PBS's assumptions — each write delivered to\n"
      "exactly W replicas drawn uniformly, each read asking R drawn uniformly, repair, hints and\n"
      "anti-entropy off, no faults — how often a read started t ms after a write's\n"
      "acknowledgement misses it, and how many versions behind reads are, against the closed\n"
      "form C(N-W,R)/C(N,R) and its powers. Deterministic per seed.\n"
      "Exit status: 0 the miss rate lies in the 99% binomial interval around the closed form\n"
      "(--write-to-all: measured only), 1 it does not, 2 bad usage.");
  replikv::cli::PbsCommandOptions pbs_options;
  pbs->add_option("--n", pbs_options.run.n, "replicas per key (default 3)")
      ->check(CLI::Range(1, 64));
  pbs->add_option("--w", pbs_options.run.w, "replicas a write goes to (default 1)")
      ->check(CLI::Range(1, 64));
  pbs->add_option("--r", pbs_options.run.r, "replicas a read asks (default 1)")
      ->check(CLI::Range(1, 64));
  pbs->add_option("--nodes", pbs_options.run.nodes, "cluster members (default 5)")
      ->check(CLI::Range(2, 64));
  pbs->add_option("--reads", pbs_options.run.reads, "reads to measure (default 10000)")
      ->check(CLI::Range(1, 10000000));
  pbs->add_option("--seed", pbs_options.run.seed, "the seed (default 1)");
  pbs->add_option("--clients", pbs_options.run.clients, "concurrent clients (default 8)")
      ->check(CLI::Range(1, 256));
  pbs->add_flag("--write-to-all", pbs_options.run.write_to_all,
                "deliver each write to every replica, answered after W (Dynamo's way and PBS's "
                "WARS model): the closed form is then an upper bound; measured only");
  pbs->add_option("--json", pbs_options.json_file, "write every figure here as JSON");

  auto* cluster = app.add_subcommand(
      "cluster",
      "Run a local cluster of real `replikv server` processes on loopback.\n"
      "  replikv cluster start --nodes 3 --dir DIR --port BASE --strategy leader --ack majority\n"
      "  replikv cluster status --dir DIR\n"
      "  replikv cluster stop --dir DIR [--node n2]\n"
      "  replikv cluster restart --dir DIR [--node n2]\n"
      "Node K serves clients on BASE+K-1, admin HTTP on BASE+100+K-1, peers on BASE+200+K-1; its\n"
      "configuration, data, log and pid file are under DIR/nK. `start` returns once every node\n"
      "answers and a leader is elected.\n"
      "Exit status: 0 done, 1 failed, 2 bad usage, 3 (status) a node is not running.");
  replikv::cli::ClusterOptions cluster_options;
  cluster->add_option("action", cluster_options.action, "start, status, stop or restart")
      ->required()
      ->check(CLI::IsMember({"start", "status", "stop", "restart"}));
  cluster->add_option("--dir", cluster_options.dir,
                      "the cluster's directory (default ./replikv-cluster)");
  cluster->add_option("--nodes", cluster_options.nodes, "start: how many nodes (default 3)")
      ->check(CLI::Range(1, 99));
  cluster
      ->add_option("--port", cluster_options.port,
                   "start: the first node's client port (default 7379)")
      ->check(CLI::Range(1, 65535));
  cluster->add_option("--strategy", cluster_options.strategy,
                      "start: the replication strategy (default leader; registered: " +
                          replikv::core::strategy_names() + ")");
  cluster->add_option("--fsync", cluster_options.fsync, "start: always (default) or never")
      ->check(CLI::IsMember({"always", "never"}));
  cluster->add_option("--engine", cluster_options.engine, "start: rocksdb (default) or memory")
      ->check(CLI::IsMember({"rocksdb", "memory"}));
  cluster->add_option("--cluster-id", cluster_options.cluster_id,
                      "start: the cluster's name (default replikv)");
  cluster->add_option("--set", cluster_options.settings,
                      "start: KEY=VALUE, a configuration key for every node (repeatable), e.g. "
                      "--set log_compact_entries=1000");
  cluster->add_flag("--test-faults", cluster_options.test_faults,
                    "start: nodes accept the FAULT command");
  std::map<std::string, std::string> cluster_settings;
  add_strategy_flags(cluster, cluster_settings);
  cluster->add_option("--node", cluster_options.node, "stop/restart: only this node (n2 or 2)");
  cluster
      ->add_option("--timeout-s", cluster_options.timeout_s,
                   "how long to wait for nodes to answer or stop (default 30)")
      ->check(CLI::Range(1, 3600));

  auto* failover = app.add_subcommand(
      "failover",
      "Move leadership in a local cluster (one `replikv cluster start` made).\n"
      "  replikv failover --to n2 [--dir DIR]           handover: the leader stops taking writes, "
      "n2 catches\n"
      "                                                 up and takes over; no acknowledged write "
      "is lost\n"
      "  replikv failover --to n2 --force [--dir DIR]   the leader is unreachable: n2 stands at "
      "once; it wins\n"
      "                                                 only if max(majority, n - k) nodes, n2 "
      "among them, are\n"
      "                                                 reachable and none has a newer log "
      "(refused under async)\n"
      "  replikv failover --to n2 --force --accept-data-loss\n"
      "                                                 n2 leads at once, in a new term, without "
      "votes: the\n"
      "                                                 others roll back what it lacks — "
      "acknowledged writes\n"
      "                                                 may be lost, and an old leader that still "
      "hears a\n"
      "                                                 majority is not stopped until it meets n2\n"
      "Exit status: 0 the target leads, 1 refused or failed, 2 bad usage.");
  replikv::cli::FailoverOptions failover_options;
  failover->add_option("--to", failover_options.to, "the node to lead (n2 or 2)")->required();
  failover->add_option("--dir", failover_options.dir,
                       "the cluster's directory (default ./replikv-cluster)");
  failover->add_flag("--force", failover_options.force,
                     "promote the target without the leader (it is unreachable); see above");
  failover
      ->add_flag("--accept-data-loss", failover_options.accept_data_loss,
                 "with --force: take leadership without a quorum (see above)")
      ->needs("--force");
  failover
      ->add_option("--timeout-ms", failover_options.timeout_ms,
                   "how long the failover may take (default 5000)")
      ->check(CLI::Range(1, 600000));

  // The knobs chaos and demo share: the workload, the cluster, the nemesis.
  const auto run_flags = [](CLI::App* command, replikv::cli::ChaosOptions& o) {
    std::string nemeses;
    for (const auto& [name, what] : replikv::cli::nemesis_schedules())
      nemeses += "\n  " + name + ": " + what;
    command->add_option("--nemesis", o.nemesis, "the fault schedule:" + nemeses);
    command->add_option("--schedule", o.schedule_file,
                        "a fault schedule file instead, a step per line: '<ms> "
                        "kill|restart|stop|cont|isolate|strand T', "
                        "'<ms> cut T PEER|* [in|out|both]', '<ms> delay T MS [PEER]', '<ms> loss T "
                        "PERCENT [PEER]', "
                        "'<ms> skew T MS', '<ms> drift T PPM', '<ms> heal'; T is leader, follower, "
                        "random, last or nK "
                        "(docs/chaos.md)");
    command->add_option("--duration-ms", o.duration_ms, "how long the workload runs")
        ->check(CLI::Range(1000, 3600000));
    command->add_option("--clients", o.clients, "concurrent clients, one connection each")
        ->check(CLI::Range(1, 256));
    command->add_option("--keys", o.keys, "register keys (besides the unique inserts)")
        ->check(CLI::Range(1, 1000));
    command->add_option("--seed", o.seed, "seeds the workload and the nemesis");
    command->add_option("--port", o.port, "the first node's client port (default: a free range)")
        ->check(CLI::Range(1, 65000));
    command->add_option("--fsync", o.fsync, "always or never, on every node")
        ->check(CLI::IsMember({"always", "never"}));
    command
        ->add_option("--client-timeout-ms", o.client_timeout_ms,
                     "a client gives up on an answer after this (the outcome is then unknown)")
        ->check(CLI::Range(100, 600000));
    command
        ->add_option("--converge-timeout-ms", o.converge_timeout_ms,
                     "how long to wait for the replicas to agree after the final heal")
        ->check(CLI::Range(1000, 3600000));
    command
        ->add_option("--check-time-limit-s", o.check_time_limit_s,
                     "the linearizability checker's budget")
        ->check(CLI::Range(1, 86400));
    command->add_option(
        "--read", o.read,
        "the consistency reads ask for: linearizable, leader, session, bounded:<ms>, eventual "
        "(default: the preset's)");
    command->add_flag("--keep", o.keep,
                      "keep the cluster's directory (kept anyway when a promise is broken)");
  };
  std::string preset_list;
  for (const auto& p : replikv::cli::presets()) preset_list += "\n  " + p.name + ": " + p.summary;

  auto* chaos = app.add_subcommand(
      "chaos",
      "Run a local cluster of real processes under a recorded workload and a seeded nemesis, then "
      "judge\n"
      "the history with the checkers: ops/s, latency, lost writes, stale reads, session "
      "violations,\n"
      "linearizability, leader changes, unavailability, convergence (docs/chaos.md).\n"
      "Exit status: 0 the preset's promises held, 1 a promise was broken, 2 bad usage or a failed "
      "start.");
  replikv::cli::ChaosOptions chaos_options;
  chaos->add_option("--preset", chaos_options.preset, "the strategy:" + preset_list);
  run_flags(chaos, chaos_options);
  chaos->add_option("--dir", chaos_options.dir,
                    "the cluster's directory (default: a temporary one)");
  chaos->add_option("--history", chaos_options.history_file,
                    "write the recorded history (JSON Lines) here");
  chaos->add_option("--json", chaos_options.json_file, "write the figures (JSON) here");
  chaos->add_flag("!--no-progress", chaos_options.progress, "no live progress line");
  std::map<std::string, std::string> chaos_settings;
  add_strategy_flags(chaos, chaos_settings);

  auto* demo = app.add_subcommand(
      "demo",
      "Every strategy preset through the same scenario (a crash of a stranded leader, a "
      "partition,\n"
      "a heal), one comparison table, a paragraph on what it means, report.html with charts and "
      "the\n"
      "raw JSON results. A few minutes in all.\n"
      "Exit status: 0 done (the table tells what held), 2 bad usage or a run could not be made.");
  replikv::cli::DemoOptions demo_options;
  demo_options.run.nemesis = "demo";
  demo_options.run.duration_ms = 20'000;
  demo->add_option("--presets", demo_options.presets, "which presets (default all):" + preset_list)
      ->delimiter(',');
  run_flags(demo, demo_options.run);
  std::map<std::string, std::string> demo_settings;
  add_strategy_flags(demo, demo_settings);
  demo->add_option("--report", demo_options.report,
                   "where report.html goes (default ./report.html)");
  demo->add_option("--json", demo_options.json_file,
                   "the raw results (default: the report's name, .json)");

  auto* bench = app.add_subcommand(
      "bench",
      "A closed-loop load client: N connections, each waiting for its answer before the next "
      "request,\n"
      "against replikv or Redis (RESP) or etcd (its v3 JSON gateway) on 127.0.0.1 — the same work "
      "for\n"
      "every system, latency measured here. bench/ drives it (docs/benchmarks.md).\n"
      "  replikv bench --port 7379 --clients 16 --op set-wait --wait-replicas 2\n"
      "  replikv bench --protocol etcd --port 2379 --clients 64\n"
      "Exit status: 0 measured, 1 nothing could be measured, 2 bad usage.");
  replikv::cli::BenchOptions bench_options;
  bench->add_option("--protocol", bench_options.protocol, "resp or etcd")
      ->check(CLI::IsMember({"resp", "etcd"}));
  bench->add_option("--port", bench_options.port, "the server's port on 127.0.0.1")
      ->check(CLI::Range(1, 65535));
  bench->add_option("--clients", bench_options.clients, "connections, one request in flight each")
      ->check(CLI::Range(1, 1024));
  bench->add_option("--duration-ms", bench_options.duration_ms, "how long to measure")
      ->check(CLI::Range(100, 3600000));
  bench->add_option("--warmup-ms", bench_options.warmup_ms, "load before measuring")
      ->check(CLI::Range(0, 600000));
  bench->add_option("--op", bench_options.op,
                    "set, get, or set-wait (SET then WAIT, timed as one operation)");
  bench->add_option("--wait-replicas", bench_options.wait_replicas, "set-wait: WAIT's numreplicas")
      ->check(CLI::Range(0, 100));
  bench->add_option("--wait-timeout-ms", bench_options.wait_timeout_ms, "set-wait: WAIT's timeout")
      ->check(CLI::Range(0, 600000));
  bench->add_option("--value-size", bench_options.value_size, "bytes per value")
      ->check(CLI::Range(1, 1 << 20));
  bench->add_option("--keys", bench_options.keys, "distinct keys, chosen at random")
      ->check(CLI::Range(1, 100000000));
  bench->add_flag("--json", bench_options.json, "one JSON line instead of text");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    if (code != 0 && check->parsed()) return replikv::cli::check_exit_usage;
    if (code != 0 && (sim->parsed() || pbs->parsed() || cluster->parsed() || failover->parsed() ||
                      chaos->parsed() || demo->parsed() || bench->parsed())) {
      return 2;
    }
    return code;
  }
  if (sim->parsed()) {
    sim_options.nodes_given = sim->count("--nodes") > 0;
    sim_options.run.settings = given_settings(sim, sim_settings);
    return replikv::cli::run_sim(sim_options);
  }
  if (check->parsed()) return replikv::cli::run_check(check_options);
  if (pbs->parsed()) return replikv::cli::run_pbs_command(pbs_options);
  if (cluster->parsed()) {
    cluster_options.strategy_settings = given_settings(cluster, cluster_settings);
    return replikv::cli::run_cluster(cluster_options);
  }
  if (failover->parsed()) return replikv::cli::run_failover(failover_options);
  if (chaos->parsed()) {
    chaos_options.settings = given_settings(chaos, chaos_settings);
    return replikv::cli::run_chaos(chaos_options);
  }
  if (demo->parsed()) {
    demo_options.run.settings = given_settings(demo, demo_settings);
    return replikv::cli::run_demo(demo_options);
  }
  if (bench->parsed()) return replikv::cli::run_bench(bench_options);

  if (server->parsed()) {
    std::map<std::string, std::string> overrides;
    for (const auto& key : replikv::runtime::config_keys()) {
      std::string flag = key.name;
      std::replace(flag.begin(), flag.end(), '_', '-');
      const CLI::Option* negated = server->get_option_no_throw("--no-" + flag);
      if (server->count("--" + flag) > 0 || (negated != nullptr && negated->count() > 0)) {
        overrides[key.name] = values[key.name];
      }
    }
    return run_server(config_path, overrides);
  }
  return 0;
}
