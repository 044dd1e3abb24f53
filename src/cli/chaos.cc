// One chaos run: a local cluster of real `replikv server` processes, concurrent RESP clients that
// record every operation, a nemesis on a seeded schedule, a final heal, digests until the
// replicas agree, final reads from every node — then the checkers over the recorded history.
#include "cli/chaos.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "check/anomalies.h"
#include "check/history.h"
#include "check/linearizability.h"
#include "cli/commands.h"
#include "cli/local_cluster.h"
#include "cli/nemesis.h"
#include "cli/resp_client.h"
#include "core/assert.h"
#include "core/reply.h"
#include "core/strategy.h"

namespace replikv::cli {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace chaos;

std::atomic<bool> chaos_interrupted{false};

namespace {

void on_interrupt(int) { chaos_interrupted.store(true); }

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {
      {"async",
       "leader",
       {{"ack", "async"}},
       3,
       "leader",
       "single leader, acks after the leader's own fsync; a failover may lose what followers "
       "lacked"},
      {"sync",
       "leader",
       {{"ack", "sync"}},
       3,
       "linearizable",
       "single leader, acks once every follower has the write durably"},
      {"majority",
       "leader",
       {{"ack", "majority"}},
       3,
       "linearizable",
       "Raft: acks once a majority has the write durably; serves while a minority is down"},
      {"k1of5",
       "leader",
       {{"ack", "1"}},
       5,
       "linearizable",
       "5 nodes, acks once the leader and 1 follower have it (semi-sync, below a majority)"},
  };
  return all;
}

std::string settings_text(const Preset& preset) {
  std::string out;
  for (const auto& [key, value] : preset.settings) {
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", key, value);
  }
  return out;
}

const Preset* find_preset(const std::string& name) {
  for (const auto& preset : presets()) {
    if (preset.name == name) return &preset;
  }
  return nullptr;
}

namespace {

// A register value as the history records it: the integers the workload writes, else a string.
std::string value_json(const RespValue& reply) {
  if (reply.kind == RespValue::Kind::nil) return "null";
  const std::string& text = reply.text;
  if (!text.empty() && text.size() < 19 &&
      text.find_first_not_of("0123456789") == std::string::npos)
    return text;
  return check::json_string(text);
}

// ---------------------------------------------------------------------------------------------
// The workload: each client a thread with one connection, one operation at a time.

struct Workload {
  const ChaosOptions& options;
  Cluster& cluster;
  Recorder& recorder;
  std::string read;  // the consistency reads ask for
  std::atomic<bool> stop{false};
  std::atomic<int64_t> next_value{1};
  std::atomic<int64_t> next_insert{0};
  std::atomic<int64_t> next_process{0};
  std::atomic<int64_t> completed{0};
};

class Client {
 public:
  // Even clients insert unique keys (the lost-write count), odd ones read, write and CAS the
  // registers; both kinds spread evenly over the nodes, so a blocked read never holds up inserts.
  Client(Workload& workload, int index)
      : w_(workload),
        inserter_(index % 2 == 0),
        node_(index / 2 % workload.cluster.nodes + 1),
        process_(index),
        rng_(workload.options.seed * 1'000'003 + static_cast<uint64_t>(index)) {}

  void run() {
    while (!w_.stop.load() && !chaos_interrupted.load()) {
      if (!ensure_connected()) {
        sleep_ms(100);
        continue;
      }
      one_operation();
    }
  }

 private:
  bool ensure_connected() {
    if (connection_.connected()) return true;
    for (int attempt = 0; attempt < w_.cluster.nodes; ++attempt) {
      if (connection_.connect(w_.cluster.client_port(node_), 500)) {
        auto reply = connection_.call({"CONSISTENCY", w_.read}, 1000);
        if (reply && !reply->is_error()) return true;
        connection_.close();
      }
      node_ = node_ % w_.cluster.nodes + 1;
    }
    return false;
  }

  // After an outcome the client cannot know, it goes on as a new process (Jepsen's rule): the
  // old one's operation stays open-ended in the history.
  void lost_track() {
    connection_.close();
    node_ = node_ % w_.cluster.nodes + 1;
    process_ = w_.next_process.fetch_add(1);
  }

  int64_t uniform(int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng_);
  }

  void one_operation() {
    const int64_t draw = inserter_ ? 0 : uniform(0, 99) * 65 / 100 + 35;
    const std::string key = fmt::format("r{}", uniform(0, w_.options.keys - 1));
    using check::EventType;
    using check::Function;
    Function f = Function::read;
    std::string invoke_value = "null", op_key = key;
    std::vector<std::string> command;
    std::optional<int64_t> written;
    if (draw < 35) {
      f = Function::insert;
      written = w_.next_value.fetch_add(1);
      op_key = fmt::format("i{}", w_.next_insert.fetch_add(1));
      command = {"SET", op_key, std::to_string(*written)};
    } else if (draw < 60) {
      f = Function::write;
      written = w_.next_value.fetch_add(1);
      command = {"SET", key, std::to_string(*written)};
    } else if (draw < 90) {
      f = Function::read;
      command = {"GET", key};
    } else {
      f = Function::cas;
      written = w_.next_value.fetch_add(1);
      const auto seen = last_seen_.find(key);
      if (seen == last_seen_.end() || !seen->second) {
        command = {"CAS", key, std::to_string(*written)};
        invoke_value = fmt::format("[null,{}]", *written);
      } else {
        command = {"CAS", key, std::to_string(*seen->second), std::to_string(*written)};
        invoke_value = fmt::format("[{},{}]", *seen->second, *written);
      }
    }
    if (written && f != Function::cas) invoke_value = std::to_string(*written);
    const std::string_view consistency = f == Function::read ? w_.read : std::string_view();
    w_.recorder.operation(
        {process_, EventType::invoke, f, op_key, invoke_value, node_, false, consistency});
    const auto reply = connection_.call(command, static_cast<int>(w_.options.client_timeout_ms));
    EventType type = EventType::ok;
    std::string value = invoke_value;
    if (!reply) {
      type = EventType::info;
    } else if (reply->is_error()) {
      // An unknown outcome (-TIMEOUT: it may still take effect) is `info`; every other error is
      // a definite refusal (docs/replication.md "What an error means").
      const core::Outcome outcome = core::Reply::from_error_text(reply->text).outcome;
      type = outcome == core::Outcome::unknown ? EventType::info : EventType::fail;
    } else if (f == Function::read) {
      value = value_json(*reply);
      last_seen_[key] = reply->kind == RespValue::Kind::nil
                            ? std::nullopt
                            : std::optional<int64_t>(std::atoll(reply->text.c_str()));
    } else if (f == Function::cas) {
      type = reply->kind == RespValue::Kind::integer && reply->integer == 1 ? EventType::ok
                                                                            : EventType::fail;
    }
    if (type == EventType::ok && (f == Function::write || f == Function::cas)) {
      last_seen_[key] = written;
    }
    w_.recorder.operation({process_, type, f, op_key, value, node_, false, consistency});
    w_.completed.fetch_add(1);
    if (type == EventType::info) lost_track();
  }

  Workload& w_;
  bool inserter_;
  int node_;
  int64_t process_;
  std::mt19937_64 rng_;
  RespClient connection_;
  std::map<std::string, std::optional<int64_t>> last_seen_;
};

// ---------------------------------------------------------------------------------------------
// Observing leaders from outside: every 200 ms, which node says it leads, in which term.

struct LeaderSeen {
  int64_t at_ns = 0;
  int node = 0;
  long term = 0;
};

void watch_leaders(Cluster& cluster, Recorder& recorder, const std::atomic<bool>& stop,
                   std::vector<LeaderSeen>& seen) {
  std::set<std::pair<long, int>> known;
  while (!stop.load()) {
    std::set<int> skip;
    {
      std::lock_guard lock(cluster.mutex);
      skip.insert(cluster.killed.begin(), cluster.killed.end());
      skip.insert(cluster.paused.begin(), cluster.paused.end());
    }
    for (int node = 1; node <= cluster.nodes && !stop.load(); ++node) {
      if (skip.contains(node)) continue;
      auto info = local::replication(cluster.client_port(node), 200);
      if (!info || (*info)["replikv_raft_role"] != "leader") continue;
      const long term = std::atol((*info)["replikv_term"].c_str());
      if (known.insert({term, node}).second) seen.push_back({recorder.now(), node, term});
    }
    for (int i = 0; i < 20 && !stop.load(); ++i) sleep_ms(10);
  }
}

// ---------------------------------------------------------------------------------------------
// After the final heal: digests until every node agrees, then every key read from every node.

void await_convergence(Cluster& cluster, Recorder& recorder, int64_t timeout_ms) {
  const int64_t deadline = steady_ns() + timeout_ms * 1'000'000;
  while (steady_ns() < deadline && !chaos_interrupted.load()) {
    std::set<std::string> values;
    int answered = 0;
    for (int node = 1; node <= cluster.nodes; ++node) {
      const auto digest = local::ask(cluster.client_port(node), {"DEBUG", "DIGEST"}, 1000);
      if (!digest || digest->empty() || (*digest)[0] != '+') continue;
      ++answered;
      values.insert(digest->substr(1));
      recorder.digest(node, check::json_string(digest->substr(1)));
    }
    if (answered == cluster.nodes && values.size() == 1) return;
    sleep_ms(50);
  }
}

void final_reads(Cluster& cluster, Recorder& recorder, const std::vector<std::string>& keys) {
  constexpr size_t batch = 500;
  for (int node = 1; node <= cluster.nodes; ++node) {
    const int64_t process = 1'000'000'000 + node;
    RespClient client;
    const bool up = client.connect(cluster.client_port(node), 1000) &&
                    client.call({"CONSISTENCY", "eventual"}, 2000).has_value();
    for (size_t from = 0; from < keys.size(); from += batch) {
      std::vector<std::string> command = {"MGET"};
      const size_t to = std::min(keys.size(), from + batch);
      command.insert(command.end(), keys.begin() + static_cast<ptrdiff_t>(from),
                     keys.begin() + static_cast<ptrdiff_t>(to));
      const auto reply = up ? client.call(command, 5000) : std::nullopt;
      const bool ok =
          reply && reply->kind == RespValue::Kind::array && reply->items.size() == to - from;
      for (size_t i = from; i < to; ++i) {
        using check::EventType;
        recorder.operation({process, EventType::invoke, check::Function::read, keys[i], "null",
                            node, true, "eventual"});
        if (ok) {
          const std::string value = value_json(reply->items[i - from]);
          recorder.operation({process, EventType::ok, check::Function::read, keys[i], value, node,
                              true, "eventual"});
        } else {
          recorder.operation({process, EventType::fail, check::Function::read, keys[i], "null",
                              node, true, "eventual"});
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Figures from the history.

double ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

json latency_figures(std::vector<int64_t>& latencies) {
  std::sort(latencies.begin(), latencies.end());
  const auto at = [&](double q) {
    if (latencies.empty()) return 0.0;
    return ms(latencies[std::min(latencies.size() - 1,
                                 static_cast<size_t>(q * static_cast<double>(latencies.size())))]);
  };
  json cdf = json::array();
  for (const double q : {0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98,
                         0.99, 0.995, 0.999}) {
    cdf.push_back({q, at(q)});
  }
  cdf.push_back({1.0, latencies.empty() ? 0.0 : ms(latencies.back())});
  return {{"count", latencies.size()},
          {"p50", at(0.5)},
          {"p99", at(0.99)},
          {"max", latencies.empty() ? 0.0 : ms(latencies.back())},
          {"cdf", cdf}};
}

json check_json(const check::CheckResult& result) {
  json details = json::array();
  for (size_t i = 0; i < std::min<size_t>(result.details.size(), 12); ++i)
    details.push_back(result.details[i]);
  return {{"checker", result.checker},
          {"verdict", check::to_string(result.verdict)},
          {"summary", result.summary},
          {"details", details}};
}

double figure(const check::CheckResult& result, const std::string& name) {
  const auto it = result.figures.find(name);
  return it == result.figures.end() ? 0.0 : it->second;
}

// What a preset promises with the run's settings and fsync (its strategy says: core/strategy.h).
struct Promises {
  bool no_loss = false;       // no acknowledged write is ever lost
  bool linearizable = false;  // with reads at linearizable, every operation is linearizable
};

void judge(const check::History& history, const Promises& promises, const std::string& read,
           int64_t workload_ns, int64_t time_limit_s, json& out) {
  // What the clients observed, judged against the strongest promise whatever their reads asked
  // for: every read of the workload counts as a linearizable one (and a session read).
  // The final reads count too once the replicas agreed (they came after every write): an
  // acknowledged write they miss makes the history non-linearizable, as it is to a client.
  const auto convergence = check::check_convergence(history);
  const bool converged = convergence.verdict == check::Verdict::valid && !history.digests.empty();
  check::History observed = history;
  for (auto& op : observed.operations) {
    if (op.f == check::Function::read && (!op.final || converged)) op.consistency = "linearizable";
  }
  check::LinearizabilityBudget budget;
  budget.time_ms_max = time_limit_s * 1000;
  const auto linearizable = check::check_linearizability(observed, budget);
  const auto lost = check::check_lost_writes(history);
  // Staleness of the workload's reads (the final phase's are the lost-write check's business).
  check::History workload_reads = history;
  std::erase_if(workload_reads.operations, [](const check::Operation& op) {
    return op.final && op.f == check::Function::read;
  });
  const auto stale = check::check_stale_reads(workload_reads);
  const auto sessions = check::check_sessions(observed);
  const auto availability = check::check_availability(history);

  std::vector<int64_t> reads, writes;
  int64_t ok_ops = 0;
  constexpr int64_t bucket_ns = 250'000'000;
  const size_t buckets = static_cast<size_t>(workload_ns / bucket_ns + 1);
  std::vector<int64_t> read_series(buckets), write_series(buckets);
  for (const auto& op : history.operations) {
    if (op.final || op.outcome != check::Outcome::ok) continue;
    ++ok_ops;
    const int64_t latency = op.complete_ns - op.invoke_ns;
    const size_t bucket = std::min(
        buckets - 1, static_cast<size_t>(std::max<int64_t>(0, op.complete_ns) / bucket_ns));
    if (op.f == check::Function::read) {
      reads.push_back(latency);
      ++read_series[bucket];
    } else {
      writes.push_back(latency);
      ++write_series[bucket];
    }
  }
  int64_t info_ops = 0, failed_ops = 0;
  for (const auto& op : history.operations) {
    if (op.final) continue;
    info_ops += op.outcome == check::Outcome::info;
    failed_ops += op.outcome == check::Outcome::fail;
  }
  out["operations"] = {{"ok", ok_ops}, {"failed", failed_ops}, {"unknown", info_ops}};
  out["ops_per_s"] =
      static_cast<double>(ok_ops) / std::max(1e-9, static_cast<double>(workload_ns) / 1e9);
  out["read_latency_ms"] = latency_figures(reads);
  out["write_latency_ms"] = latency_figures(writes);
  out["throughput"] = {
      {"bucket_ms", bucket_ns / 1'000'000}, {"reads", read_series}, {"writes", write_series}};
  out["acknowledged_inserts"] = figure(lost, "acknowledged");
  out["lost_writes"] = figure(lost, "lost");
  out["stale_reads"] = figure(stale, "stale");
  out["reads_judged"] = figure(stale, "judged");
  out["staleness_ms"] = {{"p50", figure(stale, "p50_ms")},
                         {"p99", figure(stale, "p99_ms")},
                         {"max", figure(stale, "max_ms")}};
  out["session_violations"] = figure(sessions, "read_your_writes") + figure(sessions, "monotonic");
  out["linearizable"] = linearizable.verdict == check::Verdict::valid     ? json(true)
                        : linearizable.verdict == check::Verdict::invalid ? json(false)
                                                                          : json(nullptr);
  out["linearizable_window_ms"] = json(nullptr);
  if (linearizable.figures.contains("window_from_ns")) {
    const double to = figure(linearizable, "window_to_ns");
    out["linearizable_window_ms"] = {
        figure(linearizable, "window_from_ns") / 1e6,
        to >= static_cast<double>(check::time_never) ? json(nullptr) : json(to / 1e6)};
  }
  out["longest_unavailable_ms"] = figure(availability, "longest_ms");
  out["unavailable_from_ms"] = figure(availability, "from_ms");
  out["convergence_ms"] =
      convergence.verdict == check::Verdict::valid && convergence.figures.contains("converged_ms")
          ? json(figure(convergence, "converged_ms"))
          : json(nullptr);
  out["checks"] = {check_json(linearizable), check_json(lost),        check_json(stale),
                   check_json(sessions),     check_json(convergence), check_json(availability)};

  // The preset's own promises, judged on the history as recorded.
  std::vector<std::string> promised, broken;
  if (promises.no_loss) {
    promised.push_back("no acknowledged write lost");
    if (lost.verdict != check::Verdict::valid)
      broken.push_back(fmt::format("lost writes: {}", lost.summary));
  }
  if (promises.linearizable && read == "linearizable") {
    promised.push_back("linearizable");
    if (linearizable.verdict != check::Verdict::valid) {
      broken.push_back(fmt::format("linearizability: {}", linearizable.summary));
    }
  }
  promised.push_back("replicas converge after the heal");
  if (convergence.verdict != check::Verdict::valid)
    broken.push_back(fmt::format("convergence: {}", convergence.summary));
  out["promises"] = promised;
  out["broken"] = broken;
  out["promise_kept"] = broken.empty();
}

// A base port whose 3N ports (clients, admin, peers) can be bound now, below the kernel's
// ephemeral range: a restarted node must find its ports free, and inside that range an outgoing
// connection may take one as its local port meanwhile.
int pick_port(int nodes, uint64_t seed) {
  int low = 32768;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  range >> low;
  const int highest_base = std::max(10'001, low - local::peer_offset - nodes - 1);
  std::mt19937_64 rng(seed ^ static_cast<uint64_t>(getpid()) ^ static_cast<uint64_t>(steady_ns()));
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int base = std::uniform_int_distribution<int>(10'000, highest_base)(rng);
    bool free = true;
    for (const int offset : {0, local::admin_offset, local::peer_offset}) {
      for (int node = 0; node < nodes && free; ++node)
        free = local::port_free(base + offset + node);
    }
    if (free) return base;
  }
  return 0;
}

}  // namespace

ChaosRun chaos_run(const ChaosOptions& options,
                   const std::function<void(const std::string&)>& progress) {
  ChaosRun run;
  const auto usage = [&](std::string message) {
    run.error = std::move(message);
    run.usage_error = true;
    return run;
  };
  const Preset* preset = find_preset(options.preset);
  if (preset == nullptr) {
    std::string names;
    for (const auto& p : presets()) names += (names.empty() ? "" : ", ") + p.name;
    return usage(fmt::format("unknown preset '{}' ({})", options.preset, names));
  }
  const std::string read = options.read.empty() ? preset->read : options.read;
  // The strategy's settings: the run's defaults, the preset's, then the command line's.
  const core::Strategy* strategy = core::find_strategy(preset->strategy);
  REPLIKV_ASSERT(strategy != nullptr, "a preset names a registered strategy");
  std::map<std::string, std::string> settings;
  if (strategy->default_settings().declares("request_timeout_ms")) {
    settings["request_timeout_ms"] = "1500";
  }
  for (const auto& [key, value] : preset->settings) settings[key] = value;
  for (const auto& [key, value] : options.settings) settings[key] = value;
  core::Settings checked = strategy->default_settings();
  for (const auto& [key, value] : settings) {
    if (!checked.declares(key)) {
      return usage(fmt::format("--{}: not a setting of strategy {}", key, preset->strategy));
    }
    if (auto error = checked.set(key, value)) return usage(*error);
  }
  const auto expected = strategy->expected_violations(checked, {options.fsync == "always", false});
  const auto expects = [&](const char* check) {
    return std::find(expected.begin(), expected.end(), check) != expected.end();
  };
  const Promises promises{!expects("lost-writes"), !expects("linearizable")};
  if (options.duration_ms < 1000 || options.duration_ms > 3'600'000)
    return usage("--duration-ms is 1000 to 3600000");
  if (options.clients < 1 || options.clients > 256) return usage("--clients is 1 to 256");
  if (options.keys < 1 || options.keys > 1000) return usage("--keys is 1 to 1000");
  if (options.client_timeout_ms < 100) return usage("--client-timeout-ms is at least 100");
  std::vector<NemesisStep> schedule;
  if (!options.schedule_file.empty()) {
    std::ifstream in(options.schedule_file);
    if (!in) return usage(fmt::format("cannot open the schedule {}", options.schedule_file));
    std::string error;
    auto parsed = parse_schedule(in, preset->nodes, error);
    if (!parsed) return usage(error);
    schedule = std::move(*parsed);
  } else {
    const auto& known = nemesis_schedules();
    if (std::none_of(known.begin(), known.end(),
                     [&](const auto& n) { return n.first == options.nemesis; })) {
      std::string names;
      for (const auto& n : known) names += (names.empty() ? "" : ", ") + n.first;
      return usage(
          fmt::format("unknown nemesis '{}' ({}), or --schedule FILE", options.nemesis, names));
    }
    schedule = built_in_schedule(options.nemesis, options.duration_ms, options.seed);
  }

  // The cluster.
  Cluster cluster;
  cluster.nodes = preset->nodes;
  const bool temporary = options.dir.empty();
  if (temporary) {
    std::string pattern = (fs::temp_directory_path() / "replikv-chaos-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      run.error = "cannot create a temporary directory";
      return run;
    }
    cluster.dir = pattern;
  } else {
    cluster.dir = fs::absolute(options.dir);
    if (fs::exists(cluster.dir / "cluster.toml")) {
      return usage(
          fmt::format("{} already holds a cluster; chaos starts a fresh one (another --dir)",
                      cluster.dir.string()));
    }
  }
  cluster.port = options.port != 0 ? options.port : pick_port(cluster.nodes, options.seed);
  if (cluster.port == 0) {
    run.error = "no free range of ports found";
    return run;
  }
  ClusterOptions start;
  start.action = "start";
  start.dir = cluster.dir.string();
  start.nodes = cluster.nodes;
  start.port = cluster.port;
  start.strategy = preset->strategy;
  start.strategy_settings = settings;
  start.fsync = options.fsync;
  start.test_faults = true;
  start.quiet = true;
  if (progress) progress(fmt::format("{}: starting {} nodes", preset->name, cluster.nodes));
  if (run_cluster(start) != 0) {
    for (int node = 1; node <= cluster.nodes; ++node) local::stop_node(cluster.dir, node, 10);
    run.error =
        fmt::format("the cluster did not start (its logs are under {})", cluster.dir.string());
    return run;
  }

  // The run.
  const int64_t start_ns = steady_ns();
  Recorder recorder(start_ns);
  Workload workload{options, cluster, recorder, read};
  workload.next_process = options.clients;
  Nemesis nemesis(cluster, recorder, options.seed);
  std::atomic<bool> nemesis_stop{false}, watch_stop{false};
  std::vector<LeaderSeen> leaders;
  std::thread watcher([&] { watch_leaders(cluster, recorder, watch_stop, leaders); });
  std::vector<std::thread> clients;
  std::vector<std::unique_ptr<Client>> client_state;
  for (int i = 0; i < options.clients; ++i) {
    client_state.push_back(std::make_unique<Client>(workload, i));
    clients.emplace_back([c = client_state.back().get()] { c->run(); });
  }
  std::thread nemesis_thread([&] { nemesis.run(schedule, start_ns, nemesis_stop); });
  while (!chaos_interrupted.load()) {
    const int64_t elapsed_ms = (steady_ns() - start_ns) / 1'000'000;
    if (elapsed_ms >= options.duration_ms) break;
    if (progress) {
      progress(fmt::format("{}: {:>4.1f}/{:.0f} s, {} operations", preset->name,
                           static_cast<double>(elapsed_ms) / 1000,
                           static_cast<double>(options.duration_ms) / 1000,
                           workload.completed.load()));
    }
    sleep_ms(200);
  }
  workload.stop = true;
  nemesis_stop = true;
  for (auto& thread : clients) thread.join();
  nemesis_thread.join();
  const int64_t workload_ns = steady_ns() - start_ns;
  if (progress)
    progress(fmt::format("{}: healing, waiting for the replicas to agree", preset->name));
  nemesis.heal_all(true);
  for (int node = 1; node <= cluster.nodes; ++node) {
    std::string error;
    if (const auto pid = local::read_pid(cluster.dir, node)) {
      local::wait_ready(cluster.dir, node, cluster.client_port(node), *pid, 30, error);
    }
  }
  await_convergence(cluster, recorder, options.converge_timeout_ms);
  watch_stop = true;
  watcher.join();
  std::vector<std::string> keys;
  for (int k = 0; k < options.keys; ++k) keys.push_back(fmt::format("r{}", k));
  for (int64_t i = 0; i < workload.next_insert.load(); ++i) keys.push_back(fmt::format("i{}", i));
  if (progress)
    progress(fmt::format("{}: reading {} keys from every node", preset->name, keys.size()));
  final_reads(cluster, recorder, keys);
  // Peer messages that broke the protocol, as each node counted them since its last start: any
  // is a safety bug (or a forged peer), whatever the preset promises.
  int64_t protocol_violations = 0;
  for (int node = 1; node <= cluster.nodes; ++node) {
    if (auto info = local::replication(cluster.client_port(node), 1000)) {
      protocol_violations += std::atoll((*info)["replikv_peer_protocol_violations"].c_str());
    }
  }
  for (int node = 1; node <= cluster.nodes; ++node) local::stop_node(cluster.dir, node, 10);

  // The judgement.
  const std::string text = recorder.text();
  if (!options.history_file.empty()) std::ofstream(options.history_file) << text;
  std::istringstream input(text);
  auto parsed = check::parse_history(input);
  if (auto* error = std::get_if<check::ParseError>(&parsed)) {
    run.error = fmt::format("the recorded history does not parse (line {}: {})", error->line,
                            error->message);
    return run;
  }
  if (progress) progress(fmt::format("{}: checking the history", preset->name));
  json& out = run.result;
  out["preset"] = preset->name;
  out["summary"] = preset->summary;
  out["strategy"] = preset->strategy;
  out["settings"] = settings_text(*preset);
  out["strategy_settings"] = settings;
  out["nodes"] = cluster.nodes;
  out["read"] = read;
  out["seed"] = options.seed;
  out["clients"] = options.clients;
  out["keys"] = options.keys;
  out["fsync"] = options.fsync;
  out["nemesis"] =
      options.schedule_file.empty() ? options.nemesis : "schedule " + options.schedule_file;
  out["duration_ms"] = ms(workload_ns);
  out["interrupted"] = chaos_interrupted.load();
  judge(std::get<check::History>(parsed), promises, read, workload_ns, options.check_time_limit_s,
        out);
  out["peer_protocol_violations"] = protocol_violations;
  if (protocol_violations > 0) {
    out["broken"].push_back(fmt::format(
        "protocol: {} peer message(s) broke the protocol (replikv_peer_protocol_violations)",
        protocol_violations));
    out["promise_kept"] = false;
  }
  json leader_list = json::array();
  std::set<long> terms;
  for (const auto& seen : leaders) {
    leader_list.push_back({{"at_ms", ms(seen.at_ns)}, {"node", seen.node}, {"term", seen.term}});
    terms.insert(seen.term);
  }
  out["leaders"] = leader_list;
  out["leader_changes"] = terms.empty() ? 0 : terms.size() - 1;
  json faults = json::array();
  for (const auto& window : nemesis.windows()) {
    faults.push_back({{"what", window.what},
                      {"node", window.node},
                      {"kind", window.kind},
                      {"from_ms", ms(window.from_ns)},
                      {"to_ms", window.to_ns ? json(ms(*window.to_ns)) : json(nullptr)}});
  }
  out["faults"] = faults;
  out["nemesis_events"] = nemesis.events();
  out["history_file"] = options.history_file.empty() ? json(nullptr) : json(options.history_file);
  const bool keep = options.keep || !temporary || !out["promise_kept"].get<bool>();
  out["dir"] = keep ? json(cluster.dir.string()) : json(nullptr);
  if (!keep) fs::remove_all(cluster.dir);
  return run;
}

}  // namespace replikv::cli
