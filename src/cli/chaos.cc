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
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "check/anomalies.h"
#include "check/checkers.h"
#include "check/history.h"
#include "check/linearizability.h"
#include "check/quorum.h"
#include "cli/chaos_judge.h"
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

// Every strategy's presets, in registration order (core/strategy.h, chaos_presets).
const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = [] {
    std::vector<Preset> out;
    for (const core::Strategy* strategy : core::strategies()) {
      for (auto& preset : strategy->chaos_presets()) {
        out.push_back({std::move(preset.name), std::string(strategy->name()),
                       std::move(preset.settings), preset.nodes, std::move(preset.read),
                       std::move(preset.summary)});
      }
    }
    return out;
  }();
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

// A RESP reply as the core's Reply, for a strategy's read_values (bulk strings, nil, arrays).
core::Reply core_reply(const RespValue& value) {
  switch (value.kind) {
    case RespValue::Kind::bulk:
    case RespValue::Kind::status:
      return core::Reply::bulk(value.text);
    case RespValue::Kind::integer:
      return core::Reply::number(value.integer);
    case RespValue::Kind::error:
      return core::Reply::from_error_text(value.text);
    case RespValue::Kind::nil:
      return core::Reply::nil();
    case RespValue::Kind::array: {
      std::vector<core::Reply> elements;
      for (const auto& item : value.items) elements.push_back(core_reply(item));
      return core::Reply::array(std::move(elements));
    }
  }
  return core::Reply::nil();
}

// A read's values as the history records them: null, the one value, or every sibling (a list).
std::string values_json(const std::vector<std::string>& values) {
  if (values.empty()) return "null";
  const auto one = [](const std::string& v) {
    return value_json(RespValue{RespValue::Kind::bulk, v, 0, {}});
  };
  if (values.size() == 1) return one(values.front());
  std::string out = "[";
  for (const auto& v : values) out += (out.size() > 1 ? "," : "") + one(v);
  return out + "]";
}

// ---------------------------------------------------------------------------------------------
// The workload: each client a thread with one connection, one operation at a time.

struct Workload {
  const ChaosOptions& options;
  Cluster& cluster;
  Recorder& recorder;
  std::string read;  // the consistency reads ask for
  // Set for a strategy whose checkers judge where each answer stood (quorum-reads): reads use
  // its own read (VGET: every sibling, with the versions read), and each answered operation's
  // position (DEBUG POSITION) is recorded with it, as the simulator records it.
  const core::Strategy* positions = nullptr;
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
      command = w_.positions ? w_.positions->final_read_arguments(key)
                             : std::vector<std::string>{"GET", key};
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
    } else if (f == Function::read && w_.positions) {
      const auto values = w_.positions->read_values(core_reply(*reply));
      if (!values) {
        type = EventType::fail;
      } else {
        value = values_json(*values);
        last_seen_[key] = values->size() == 1
                              ? std::optional<int64_t>(std::atoll(values->front().c_str()))
                              : std::nullopt;
      }
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
    core::HistoryFields fields;
    if (w_.positions && type == EventType::ok) {
      // Asked after the answer, so the operation is recorded as ending a little later than it
      // did: a wider interval, which no checker can turn into a false violation.
      const auto position = connection_.call({"DEBUG", "POSITION"}, 1000);
      if (position && position->kind == RespValue::Kind::bulk) {
        fields = w_.positions->history_fields(
            core_reply(*reply), core::SessionPosition{position->text}, f != Function::read);
      } else {
        // The node went down (or stopped answering) between the answer and the question: the
        // operation stays in the history, marked, and the checkers cannot judge it.
        fields.emplace_back(check::position_lost_field, check::position_lost_json);
      }
    }
    w_.recorder.operation({process_, type, f, op_key, value, node_, false, consistency, &fields});
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

// Each node's count of peer messages that broke the protocol, kept across its restarts: the
// count lives in the process, so what a node had counted is banked when it is seen lower (the
// node restarted). What a node counted after its last reading and before a kill is missed; the
// readings come every ~200 ms.
struct ProtocolTally {
  explicit ProtocolTally(int nodes)
      : banked(static_cast<size_t>(nodes) + 1), last(static_cast<size_t>(nodes) + 1) {}
  void see(int node, int64_t count) {
    std::lock_guard lock(mutex);
    auto& seen = last[static_cast<size_t>(node)];
    if (count < seen) banked[static_cast<size_t>(node)] += seen;
    seen = count;
  }
  int64_t total() {
    std::lock_guard lock(mutex);
    int64_t sum = 0;
    for (size_t n = 0; n < last.size(); ++n) sum += banked[n] + last[n];
    return sum;
  }
  std::mutex mutex;
  std::vector<int64_t> banked, last;
};

void watch_leaders(Cluster& cluster, Recorder& recorder, const std::atomic<bool>& stop,
                   std::vector<LeaderSeen>& seen, ProtocolTally& violations,
                   ProtocolTally& discards, std::vector<std::pair<int64_t, int64_t>>& series) {
  std::set<std::pair<long, int>> known;
  while (!stop.load()) {
    series.emplace_back(recorder.now(), discards.total());
    std::set<int> skip;
    {
      std::lock_guard lock(cluster.mutex);
      skip.insert(cluster.killed.begin(), cluster.killed.end());
      skip.insert(cluster.paused.begin(), cluster.paused.end());
    }
    for (int node = 1; node <= cluster.nodes && !stop.load(); ++node) {
      if (skip.contains(node)) continue;
      auto info = local::replication(cluster.client_port(node), 200);
      if (!info) continue;
      violations.see(node, std::atoll((*info)["replikv_peer_protocol_violations"].c_str()));
      discards.see(node, std::atoll((*info)["replikv_conflicts_discarded_total"].c_str()));
      if ((*info)["replikv_state"] != "leader") continue;
      const long term = std::atol((*info)["replikv_epoch"].c_str());
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
    std::map<std::string, std::string> latest;
    for (int node = 1; node <= cluster.nodes; ++node) {
      const auto digest = local::ask(cluster.client_port(node), {"DEBUG", "DIGEST"}, 1000);
      if (!digest || digest->empty() || (*digest)[0] != '+') continue;
      latest[std::to_string(node)] = digest->substr(1);
      recorder.digest(node, check::json_string(digest->substr(1)));
    }
    if (static_cast<int>(latest.size()) == cluster.nodes && check::digests_agree(latest)) return;
    sleep_ms(50);
  }
}

// The register keys read with the strategy's own final read (every sibling: VGET), from every
// node. Returns the most keys any node holds with several values.
int64_t final_register_reads(Cluster& cluster, Recorder& recorder, const core::Strategy& strategy,
                             const std::vector<std::string>& keys) {
  int64_t most = 0;
  for (int node = 1; node <= cluster.nodes; ++node) {
    const int64_t process = 1'100'000'000 + node;
    RespClient client;
    const bool up = client.connect(cluster.client_port(node), 1000);
    int64_t several = 0;
    for (const auto& key : keys) {
      using check::EventType;
      recorder.operation(
          {process, EventType::invoke, check::Function::read, key, "null", node, true, "eventual"});
      const auto reply = up ? client.call(strategy.final_read_arguments(key), 5000) : std::nullopt;
      const auto values =
          reply && !reply->is_error() ? strategy.read_values(core_reply(*reply)) : std::nullopt;
      if (!values) {
        recorder.operation(
            {process, EventType::fail, check::Function::read, key, "null", node, true, "eventual"});
        continue;
      }
      several += values->size() > 1;
      const std::string value = values_json(*values);
      recorder.operation(
          {process, EventType::ok, check::Function::read, key, value, node, true, "eventual"});
    }
    most = std::max(most, several);
  }
  return most;
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

namespace {

std::vector<int> all_nodes(int nodes) {
  std::vector<int> all(static_cast<size_t>(nodes));
  std::iota(all.begin(), all.end(), 1);
  return all;
}

// One run's plan, from the options: the preset, what reads ask for, the strategy's settings
// (the run's defaults, the preset's, then the command line's), what the preset promises with
// them, and the nemesis's schedule.
struct RunPlan {
  const Preset* preset = nullptr;
  std::string read;
  std::map<std::string, std::string> settings;
  Promises promises;
  std::vector<NemesisStep> schedule;
  // The strategy, when a checker it names judges the positions of answers (quorum-reads): the
  // workload records them (Workload::positions).
  const core::Strategy* record_positions = nullptr;
  bool has_leader = true;
};

// The plan, or the usage error.
std::optional<std::string> plan_run(const ChaosOptions& options, RunPlan& plan) {
  plan.preset = find_preset(options.preset);
  if (plan.preset == nullptr) {
    std::string names;
    for (const auto& p : presets()) names += (names.empty() ? "" : ", ") + p.name;
    return fmt::format("unknown preset '{}' ({})", options.preset, names);
  }
  const Preset& preset = *plan.preset;
  plan.read = options.read.empty() ? preset.read : options.read;
  const core::Strategy* strategy = core::find_strategy(preset.strategy);
  REPLIKV_ASSERT(strategy != nullptr, "a preset names a registered strategy");
  if (strategy->default_settings().declares("request_timeout_ms")) {
    plan.settings["request_timeout_ms"] = "1500";
  }
  // Anti-entropy every second, so that a run's 30 s to converge after the heal are enough.
  if (strategy->default_settings().declares("anti_entropy_interval_ms")) {
    plan.settings["anti_entropy_interval_ms"] = "1000";
  }
  for (const auto& [key, value] : preset.settings) plan.settings[key] = value;
  for (const auto& [key, value] : options.settings) plan.settings[key] = value;
  core::Settings checked = strategy->default_settings();
  if (auto error = checked.set_all(plan.settings, preset.strategy, "--")) return error;
  core::NodeContext members;
  members.members = core::numbered_members(preset.nodes);
  if (auto error = strategy->validate(checked, members)) return *error;
  plan.has_leader = strategy->traits(checked).has_leader;
  const auto expected = strategy->expected_violations(checked, {options.fsync == "always", false});
  const auto expects = [&](const char* check) {
    return std::find(expected.begin(), expected.end(), check) != expected.end();
  };
  plan.promises = {!expects("lost-writes"), !expects("linearizable"), {}};
  for (const auto& name : strategy->history_checks(checked)) {
    if (std::find(std::begin(measured_checks), std::end(measured_checks), name) !=
        std::end(measured_checks))
      continue;
    if (check::find_checker(name) == nullptr) {
      return fmt::format("strategy '{}' names the history checker '{}', which does not exist",
                         preset.strategy, name);
    }
    plan.promises.strategy_checks.emplace_back(name, !expects(name.c_str()));
    if (name == "quorum-reads") plan.record_positions = strategy;
  }
  if (options.duration_ms < 1000 || options.duration_ms > 3'600'000)
    return "--duration-ms is 1000 to 3600000";
  if (options.clients < 1 || options.clients > 256) return "--clients is 1 to 256";
  if (options.keys < 1 || options.keys > 1000) return "--keys is 1 to 1000";
  if (options.client_timeout_ms < 100) return "--client-timeout-ms is at least 100";
  if (!options.schedule_file.empty()) {
    std::ifstream in(options.schedule_file);
    if (!in) return fmt::format("cannot open the schedule {}", options.schedule_file);
    std::string error;
    auto parsed = parse_schedule(in, preset.nodes, error);
    if (!parsed) return error;
    plan.schedule = std::move(*parsed);
    return std::nullopt;
  }
  const auto& known = nemesis_schedules();
  if (std::none_of(known.begin(), known.end(),
                   [&](const auto& n) { return n.first == options.nemesis; })) {
    std::string names;
    for (const auto& n : known) names += (names.empty() ? "" : ", ") + n.first;
    return fmt::format("unknown nemesis '{}' ({}), or --schedule FILE", options.nemesis, names);
  }
  plan.schedule = built_in_schedule(options.nemesis, options.duration_ms, options.seed);
  return std::nullopt;
}

// A failure to make the run: bad usage, or something the machine would not do.
struct RunError {
  std::string text;
  bool usage = false;
};

// The cluster's directory (a fresh temporary one, or the one asked for, which must hold no
// cluster yet) and ports, then its nodes started and a leader elected.
std::optional<RunError> start_cluster(const ChaosOptions& options, const RunPlan& plan,
                                      Cluster& cluster, bool& temporary,
                                      const std::function<void(const std::string&)>& progress) {
  cluster.nodes = plan.preset->nodes;
  cluster.has_leader = plan.has_leader;
  temporary = options.dir.empty();
  if (temporary) {
    std::string pattern = (fs::temp_directory_path() / "replikv-chaos-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return RunError{"cannot create a temporary directory"};
    }
    cluster.dir = pattern;
  } else {
    cluster.dir = fs::absolute(options.dir);
    if (fs::exists(cluster.dir / "cluster.toml")) {
      return RunError{
          fmt::format("{} already holds a cluster; chaos starts a fresh one (another --dir)",
                      cluster.dir.string()),
          true};
    }
  }
  cluster.port = options.port != 0 ? options.port : pick_port(cluster.nodes, options.seed);
  if (cluster.port == 0) return RunError{"no free range of ports found"};
  ClusterOptions start;
  start.action = "start";
  start.dir = cluster.dir.string();
  start.nodes = cluster.nodes;
  start.port = cluster.port;
  start.strategy = plan.preset->strategy;
  start.strategy_settings = plan.settings;
  start.fsync = options.fsync;
  start.test_faults = true;
  start.quiet = true;
  if (progress) progress(fmt::format("{}: starting {} nodes", plan.preset->name, cluster.nodes));
  if (run_cluster(start) != 0) {
    local::stop_nodes(cluster.dir, all_nodes(cluster.nodes), 10);
    return RunError{
        fmt::format("the cluster did not start (its logs are under {})", cluster.dir.string())};
  }
  return std::nullopt;
}

// What the run observed besides the history: how long the workload ran, who led when, and the
// peer messages the nodes counted as protocol violations.
struct Observed {
  int64_t workload_ns = 0;
  std::vector<LeaderSeen> leaders;
  int64_t protocol_violations = 0;
  // Writes discarded resolving conflicts (lww), over every node and restart, and over time.
  int64_t conflicts_discarded = 0;
  std::vector<std::pair<int64_t, int64_t>> conflicts_series;  // (ns since start, total so far)
  int64_t keys_with_siblings = 0;                             // at the end, from the final reads
  // What repaired the replicas, summed over the nodes at the end (leaderless: the copies hints
  // and anti-entropy sent, and the reads that repaired; 0 where a strategy has none). Each is
  // counted by the node that sent it, which a restart of the node repaired does not reset.
  std::map<std::string, int64_t> repairs;
};

// The workload and the nemesis for the run's duration; then every fault healed, the replicas
// given time to agree, every key read back from every node, and the nodes stopped.
Observed run_and_heal(const ChaosOptions& options, const RunPlan& plan, Cluster& cluster,
                      Recorder& recorder, Nemesis& nemesis, int64_t start_ns,
                      const std::function<void(const std::string&)>& progress) {
  Observed observed;
  const std::string& name = plan.preset->name;
  Workload workload{options, cluster, recorder, plan.read, plan.record_positions};
  workload.next_process = options.clients;
  std::atomic<bool> nemesis_stop{false}, watch_stop{false};
  ProtocolTally violations(cluster.nodes);
  ProtocolTally discards(cluster.nodes);  // counters that a restart starts again: banked
  std::thread watcher([&] {
    watch_leaders(cluster, recorder, watch_stop, observed.leaders, violations, discards,
                  observed.conflicts_series);
  });
  std::vector<std::thread> clients;
  std::vector<std::unique_ptr<Client>> client_state;
  for (int i = 0; i < options.clients; ++i) {
    client_state.push_back(std::make_unique<Client>(workload, i));
    clients.emplace_back([c = client_state.back().get()] { c->run(); });
  }
  std::thread nemesis_thread([&] { nemesis.run(plan.schedule, start_ns, nemesis_stop); });
  while (!chaos_interrupted.load()) {
    const int64_t elapsed_ms = (steady_ns() - start_ns) / 1'000'000;
    if (elapsed_ms >= options.duration_ms) break;
    if (progress) {
      progress(fmt::format(
          "{}: {:>4.1f}/{:.0f} s, {} operations", name, static_cast<double>(elapsed_ms) / 1000,
          static_cast<double>(options.duration_ms) / 1000, workload.completed.load()));
    }
    sleep_ms(200);
  }
  workload.stop = true;
  nemesis_stop = true;
  for (auto& thread : clients) thread.join();
  nemesis_thread.join();
  observed.workload_ns = steady_ns() - start_ns;
  if (progress) progress(fmt::format("{}: healing, waiting for the replicas to agree", name));
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
  if (progress) progress(fmt::format("{}: reading {} keys from every node", name, keys.size()));
  final_reads(cluster, recorder, keys);
  const core::Strategy* strategy = core::find_strategy(plan.preset->strategy);
  const std::vector<std::string> registers(keys.begin(), keys.begin() + options.keys);
  if (strategy != nullptr &&
      strategy->final_read_arguments("k") != std::vector<std::string>{"GET", "k"}) {
    observed.keys_with_siblings = final_register_reads(cluster, recorder, *strategy, registers);
  }
  // One INFO per node for the last counts: peer messages that broke the protocol, over the run
  // and across restarts (ProtocolTally: any is a safety bug, or a forged peer, whatever the
  // preset promises), writes lww discarded, and what repaired the replicas.
  for (const char* counter : {"hints_replayed", "anti_entropy_keys", "read_repairs"}) {
    observed.repairs[counter] = 0;
  }
  for (int node = 1; node <= cluster.nodes; ++node) {
    auto info = local::replication(cluster.client_port(node), 1000);
    if (!info) continue;
    violations.see(node, std::atoll((*info)["replikv_peer_protocol_violations"].c_str()));
    discards.see(node, std::atoll((*info)["replikv_conflicts_discarded_total"].c_str()));
    for (auto& [counter, total] : observed.repairs) {
      total += std::atoll((*info)["replikv_" + counter].c_str());
    }
  }
  observed.protocol_violations = violations.total();
  observed.conflicts_discarded = discards.total();
  observed.conflicts_series.emplace_back(recorder.now(), observed.conflicts_discarded);
  local::stop_nodes(cluster.dir, all_nodes(cluster.nodes), 10);
  return observed;
}

// The run's result (docs/chaos.md "The result"): what was run, the judgement of the history,
// who led, the faults.
json describe_run(const ChaosOptions& options, const RunPlan& plan, const Cluster& cluster,
                  const Observed& observed, const Nemesis& nemesis, const check::History& history) {
  const Preset& preset = *plan.preset;
  json out;
  out["preset"] = preset.name;
  out["summary"] = preset.summary;
  out["strategy"] = preset.strategy;
  out["settings"] = settings_text(preset);
  out["strategy_settings"] = plan.settings;
  out["nodes"] = cluster.nodes;
  out["read"] = plan.read;
  out["seed"] = options.seed;
  out["clients"] = options.clients;
  out["keys"] = options.keys;
  out["fsync"] = options.fsync;
  out["nemesis"] =
      options.schedule_file.empty() ? options.nemesis : "schedule " + options.schedule_file;
  out["duration_ms"] = ms(observed.workload_ns);
  out["interrupted"] = chaos_interrupted.load();
  judge(history, plan.promises, plan.read, observed.workload_ns, options.check_time_limit_s, out);
  out["peer_protocol_violations"] = observed.protocol_violations;
  if (observed.protocol_violations > 0) {
    out["broken"].push_back(fmt::format(
        "protocol: {} peer message(s) broke the protocol (replikv_peer_protocol_violations)",
        observed.protocol_violations));
    out["promise_kept"] = false;
  }
  json leader_list = json::array();
  std::set<long> terms;
  for (const auto& seen : observed.leaders) {
    leader_list.push_back({{"at_ms", ms(seen.at_ns)}, {"node", seen.node}, {"term", seen.term}});
    terms.insert(seen.term);
  }
  out["leaders"] = leader_list;
  out["conflicts_discarded"] = observed.conflicts_discarded;
  out["keys_with_siblings"] = observed.keys_with_siblings;
  out["repairs"] = observed.repairs;
  json series = json::array();
  for (const auto& [at_ns, total] : observed.conflicts_series) {
    series.push_back({ms(at_ns), total});
  }
  out["conflicts_series"] = series;
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
  return out;
}

}  // namespace

// The run, step by step: plan it, start the cluster, run and heal, judge what was recorded.
ChaosRun chaos_run(const ChaosOptions& options,
                   const std::function<void(const std::string&)>& progress) {
  ChaosRun run;
  RunPlan plan;
  if (auto error = plan_run(options, plan)) {
    run.error = std::move(*error);
    run.usage_error = true;
    return run;
  }
  Cluster cluster;
  bool temporary = true;
  if (auto error = start_cluster(options, plan, cluster, temporary, progress)) {
    run.error = std::move(error->text);
    run.usage_error = error->usage;
    return run;
  }
  const int64_t start_ns = steady_ns();
  Recorder recorder(start_ns);
  Nemesis nemesis(cluster, recorder, options.seed);
  // A crash may take what a node acknowledged only when it does not sync: the checkers are told.
  if (options.fsync != "always") recorder.nemesis(check::fsync_never_event);
  const Observed observed =
      run_and_heal(options, plan, cluster, recorder, nemesis, start_ns, progress);

  const std::string text = recorder.text();
  if (!options.history_file.empty()) std::ofstream(options.history_file) << text;
  std::istringstream input(text);
  auto parsed = check::parse_history(input);
  if (auto* error = std::get_if<check::ParseError>(&parsed)) {
    run.error = fmt::format("the recorded history does not parse (line {}: {})", error->line,
                            error->message);
    return run;
  }
  if (progress) progress(fmt::format("{}: checking the history", plan.preset->name));
  run.result =
      describe_run(options, plan, cluster, observed, nemesis, std::get<check::History>(parsed));
  const bool keep = options.keep || !temporary || !run.result["promise_kept"].get<bool>();
  run.result["dir"] = keep ? json(cluster.dir.string()) : json(nullptr);
  if (!keep) fs::remove_all(cluster.dir);
  return run;
}

}  // namespace replikv::cli
