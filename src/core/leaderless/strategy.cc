// The leaderless strategy at the seam (core/strategy.h): its keys, the Options they make, its
// commands, and what each choice of N, R and W promises.
#include "core/leaderless/strategy.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/causality/versioned_commands.h"
#include "core/leaderless/position.h"
#include "core/leaderless/replica.h"

namespace replikv::core::leaderless {
namespace {

uint32_t count(const Settings& settings, std::string_view key) {
  return static_cast<uint32_t>(settings.number(key));
}

// At the end of a simulated run: every key's copies on its N replicas are equal (expiry aside:
// a copy whose sweep has not run yet still holds a register another made a tombstone), and no
// other node holds one.
class ReplicaConvergence final : public RunChecks {
 public:
  std::vector<CheckFinding> finish(const std::vector<const StorageView*>&,
                                   const std::vector<const Replica*>& replicas) override {
    std::map<std::string, std::map<uint32_t, KeyState>> by_key;
    const Leaderless* any = nullptr;
    for (const Replica* replica : replicas) {
      const auto* node = dynamic_cast<const Leaderless*>(replica);
      if (node == nullptr) continue;
      any = node;
      for (auto& [key, copy] : node->copies()) {
        copy.expire(INT64_MAX);
        by_key[key][node->actor().node] = std::move(copy);
      }
    }
    CheckFinding finding;
    finding.checker = "replica-convergence";
    if (any == nullptr) {
      finding.summary = "no leaderless replicas: nothing to judge";
      return {finding};
    }
    uint64_t divergent = 0, stray = 0;
    for (const auto& [key, held] : by_key) {
      const auto owners = any->replicas_of(key);
      std::optional<KeyState> first;
      bool differs = false;
      for (const NodeId owner : owners) {
        const auto it = held.find(owner.value());
        const KeyState copy = it == held.end() ? KeyState{} : it->second;
        if (!first) {
          first = copy;
        } else {
          differs |= !(copy == *first);
        }
      }
      for (const auto& [node, copy] : held) {
        const bool owner = std::any_of(owners.begin(), owners.end(),
                                       [&](NodeId id) { return id.value() == node; });
        if (!owner) ++stray;
      }
      if (!differs) continue;
      ++divergent;
      if (finding.details.size() < 20) {
        finding.details.push_back(fmt::format("key {}: its replicas' copies differ", key));
      }
    }
    finding.valid = divergent == 0 && stray == 0;
    finding.summary = fmt::format(
        "{} keys: {} with copies that differ between their replicas, {} copies on nodes that are "
        "no replica of their key",
        by_key.size(), divergent, stray);
    return {finding};
  }
};

class LeaderlessStrategy final : public Strategy {
 public:
  std::string_view name() const override { return "leaderless"; }
  std::string_view summary() const override {
    return "each key on N replicas (consistent hashing); any node takes any request, a write "
           "answers after W replicas hold it, a read after R answered; read repair";
  }

  const std::vector<SettingSpec>& setting_specs() const override {
    static const std::vector<SettingSpec> specs = {
        cluster_wide(
            unsigned_setting("n", "replicas per key (default 3; at most the members)", 3, 1, 64)),
        cluster_wide(unsigned_setting(
            "w", "replicas a write waits for unless the client asks otherwise (default 2)", 2, 1,
            64)),
        cluster_wide(unsigned_setting(
            "r", "replicas a read waits for unless the client asks otherwise (default 2)", 2, 1,
            64)),
        cluster_wide(choice_setting(
            "conflict",
            "how concurrent writes to a key are resolved — \"lww\" (default: the later hybrid "
            "timestamp wins, the other is discarded) or \"siblings\" (both kept: GET shows one, "
            "VGET every one, VSET merges)",
            {"lww", "siblings"}, "lww")),
        cluster_wide(choice_setting(
            "read_repair",
            "what a read does with replicas it found behind — \"blocking\" (default: before it "
            "answers, W replicas hold what it returns, so no later read goes back), \"async\" "
            "(repairs after answering) or \"off\"",
            {"blocking", "async", "off"}, "blocking")),
        cluster_wide(choice_setting(
            "mode",
            "\"causal\" (default: W and R per request, conflicts by the conflict policy) or "
            "\"linearizable\" (multi-writer ABD: R and W majorities, one value per key, reads "
            "and writes linearizable at two round trips; plain SET, MSET, DEL and reads only)",
            {"causal", "linearizable"}, "causal")),
        cluster_wide(unsigned_setting("vnodes", "tokens per member on the hash ring (default 64)",
                                      64, 1, 4096)),
        cluster_wide(unsigned_setting(
            "tombstone_grace_ms",
            "how long a delete every replica acknowledged keeps its tombstone before it is "
            "collected — longer than any copy of the key may be delayed (a paused node, a held "
            "link) and than every node's request timeout (default 3600000: an hour; 0: never "
            "collected)",
            3600000, 0, 365ull * 86400 * 1000)),
        cluster_wide(boolean_setting(
            "sloppy_quorum",
            "a write for a replica that is down goes to the next node up on the ring, which holds "
            "it for the replica and hands it over when it returns, and counts toward W (default "
            "false: a write so acknowledged may be on fewer than W of the key's replicas, and "
            "R + W > N no longer makes every read meet it)",
            false)),
        unsigned_setting("siblings_max",
                         "a write that would leave a key with more siblings than this on its "
                         "coordinator is refused (default 32)",
                         32, 1, 100000),
        cluster_wide(unsigned_setting(
            "max_clock_offset_ms",
            "a peer's timestamp further ahead of this node's clock is not taken by it (counted in "
            "hlc_refused_total; default 500)",
            500, 1, 86400000)),
        unsigned_setting("heartbeat_interval_ms",
                         "how often a node tells its peers it is up (default 100)", 100, 1, 60000),
        unsigned_setting("hints_max",
                         "hints a node keeps for replicas that missed writes, at most; more are "
                         "dropped and counted (anti-entropy repairs them; default 100000)",
                         100000, 0, 100000000),
        unsigned_setting("hint_window_ms",
                         "a hint not replayed within this long is dropped and counted (default "
                         "10800000: three hours)",
                         10800000, 1, 30ull * 86400 * 1000),
        unsigned_setting("hint_replays_per_tick",
                         "hints replayed to one returning replica per tick, at most (default 64)",
                         64, 1, 100000),
        unsigned_setting("anti_entropy_interval_ms",
                         "how often a node compares its hash tree with one peer's, in turn, and "
                         "repairs the buckets that differ (default 10000; 0: never)",
                         10000, 0, 86400000),
        unsigned_setting("anti_entropy_keys_max",
                         "copies one anti-entropy exchange sends each way, at most (default 1000)",
                         1000, 1, 100000000),
        unsigned_setting("request_timeout_ms",
                         "how long a request waits for its replicas before -TIMEOUT (default "
                         "1000)",
                         1000, 1, 3600000),
    };
    return specs;
  }

  std::optional<std::string> validate(const Settings& settings,
                                      const NodeContext& node) const override {
    const uint32_t n = count(settings, "n");
    if (node.members.size() < 2) {
      return "peers: leaderless replicates between nodes; give it at least one peer";
    }
    if (n > node.members.size()) {
      return fmt::format("n: {} replicas per key, but the cluster has {} members", n,
                         node.members.size());
    }
    if (settings.text("mode") == "linearizable" && settings.flag("sloppy_quorum")) {
      return "sloppy_quorum: the linearizable mode needs majorities of the key's own replicas; "
             "leave sloppy_quorum off";
    }
    if (settings.text("mode") == "linearizable" && settings.text("conflict") == "siblings") {
      return "conflict: the linearizable mode keeps one value per key (the highest tag); leave "
             "conflict at lww";
    }
    for (const char* key : {"w", "r"}) {
      if (count(settings, key) > n) {
        return fmt::format("{}: {} exceeds n = {}, the replicas each key has", key,
                           count(settings, key), n);
      }
    }
    return std::nullopt;
  }

  static bool linearizable(const Settings& settings) {
    return settings.text("mode") == "linearizable";
  }

  StrategyTraits traits(const Settings& settings) const override {
    StrategyTraits traits;
    traits.read_consistencies = {linearizable(settings) ? ReadConsistency::linearizable
                                                        : ReadConsistency::replicas};
    const auto heartbeat = static_cast<TimeMs>(settings.number("heartbeat_interval_ms"));
    traits.tick_interval_ms = std::max<TimeMs>(1, std::min<TimeMs>(100, heartbeat / 2));
    traits.lag_known_within_ms = heartbeat;
    traits.peer_silence_ms_max = heartbeat * 5;
    traits.fault_kinds = {"disk"};
    traits.family_commands = false;
    traits.float_increments = false;
    // Hashes, sets and sorted sets merge element by element (collections.cc), in the causal mode.
    traits.collections_merge = !linearizable(settings);
    traits.transactions_refused =
        "MULTI is not offered by the leaderless strategy: a transaction's keys live on different "
        "replicas, and no quorum write makes several keys change together; use the single leader";
    return traits;
  }

  ReadOptions read_default(const Settings& settings) const override {
    if (linearizable(settings)) return {ReadConsistency::linearizable, 0};
    return {ReadConsistency::replicas, 0, count(settings, "r")};
  }

  std::optional<std::string> refuse_read(const ReadOptions& read,
                                         const Settings& settings) const override {
    if (read.consistency == ReadConsistency::cluster_default) return std::nullopt;
    if (linearizable(settings)) {
      if (read.consistency == ReadConsistency::linearizable) return std::nullopt;
      return "the linearizable leaderless mode reads at a majority, always: every read is "
             "linearizable";
    }
    if (read.consistency != ReadConsistency::replicas) {
      return "leaderless reads name how many replicas answer: one, quorum, all or a number up "
             "to n";
    }
    const uint32_t n = count(settings, "n");
    if (resolve_replica_count(read.replicas, n) > n) {
      return fmt::format("R = {} exceeds n = {}, the replicas each key has", read.replicas, n);
    }
    return std::nullopt;
  }

  std::optional<std::string> refuse_write_replicas(uint32_t replicas,
                                                   const Settings& settings) const override {
    if (linearizable(settings)) {
      return "the linearizable leaderless mode writes to a majority, always";
    }
    const uint32_t n = count(settings, "n");
    if (resolve_replica_count(replicas, n) > n) {
      return fmt::format("W = {} exceeds n = {}, the replicas each key has", replicas, n);
    }
    return std::nullopt;
  }

  // A write's dot and the replicas that held it; what a read saw and how many it asked and
  // wrote back to: what the quorum-reads checker judges (position.h).
  HistoryFields history_fields(const Reply& reply, const std::optional<SessionPosition>& position,
                               bool) const override {
    if (reply.is_error() || !position) return {};
    return position_fields(*position);
  }

  // Final reads see every sibling (VGET).
  std::vector<std::string> final_read_arguments(const std::string& key) const override {
    return {"VGET", key};
  }
  std::optional<std::vector<std::string>> read_values(const Reply& reply) const override {
    return vget_values(reply);
  }
  std::optional<std::string> read_context(const Reply& reply) const override {
    return vget_context(reply);
  }
  std::vector<std::string> context_write_arguments(const std::string& key,
                                                   const std::string& context,
                                                   const std::string& value) const override {
    return {"VSET", key, context, value};
  }

  // quorum-reads judges what a read's context covers; under linearizable a write carries no
  // context (a higher tag replaces the value), and the linearizability checker is the judge.
  std::vector<std::string> history_checks(const Settings& settings) const override {
    if (linearizable(settings))
      return {"linearizable", "lost-writes", "stale-reads", "convergence"};
    // (counters: HINCRBY and ZINCRBY, the causal mode's counters — no increment lost or counted
    // twice.)
    return {"linearizable", "lost-writes",  "stale-reads",
            "convergence",  "quorum-reads", "counters"};
  }

  const std::vector<CommandSpec>& commands() const override { return versioned_command_specs(); }
  std::variant<Request, Reply> parse_command(
      const CommandSpec& spec, std::span<const std::string_view> argv) const override {
    return parse_versioned_command(spec, argv);
  }

  std::unique_ptr<Replica> make_replica(const StorageView& storage, Rng rng,
                                        const NodeContext& node,
                                        const Settings& settings) const override {
    return std::make_unique<Leaderless>(storage, rng, make_options(node, settings));
  }

  std::unique_ptr<RunChecks> make_run_checks(const Settings&, int) const override {
    return std::make_unique<ReplicaConvergence>();
  }

  // Five nodes, three replicas per key: a kill takes one replica of some keys, and W = 2 goes on.
  std::vector<ChaosPreset> chaos_presets() const override {
    return {
        {"quorum-1-1",
         {{"n", "3"}, {"w", "1"}, {"r", "1"}},
         5,
         "one",
         "leaderless: each key on 3 of 5 nodes; a write answers after 1 replica, a read after 1 "
         "(R + W <= N: reads may miss acknowledged writes)"},
        {"quorum-2-2",
         {{"n", "3"}, {"w", "2"}, {"r", "2"}},
         5,
         "quorum",
         "leaderless: each key on 3 of 5 nodes; writes and reads wait for 2 (R + W > N, "
         "blocking read repair: a read sees every write answered before it began)"},
        {"quorum-linearizable",
         {{"n", "3"}, {"mode", "linearizable"}},
         5,
         "linearizable",
         "leaderless, multi-writer ABD: majorities of 3 replicas, two round trips; single-key "
         "reads and writes linearizable with no leader"},
    };
  }

  std::vector<std::string> expected_violations(const Settings& settings,
                                               const RunConditions& conditions) const override {
    if (linearizable(settings)) {
      // ABD: single-key reads and writes linearizable, nothing acknowledged lost — with fsync
      // "always" (under "never" a crash takes back what a majority acknowledged) and no disk
      // lost (a replica that comes back empty takes part in majorities at once: a read meeting
      // it may miss a write a majority held — docs/leaderless.md; measured, not promised).
      std::vector<std::string> expected;
      if (count(settings, "anti_entropy_interval_ms") == 0) expected.emplace_back("convergence");
      if (!conditions.fsync_always || conditions.disk_lost) {
        for (const char* check : {"linearizable", "lost-writes", "stale-reads"})
          expected.emplace_back(check);
      }
      return expected;
    }
    // What the strategy promises is quorum-reads: a read sees what was answered before it began
    // wherever their quorums meet (the checker judges only those pairs, so R + W <= N promises
    // nothing and breaks nothing). Not linearizability — lww orders concurrent writes by clocks,
    // siblings are several values — nor what the generic checkers hold a single copy to. And
    // the replicas of every key converge after a heal: by anti-entropy, unless it is off.
    std::vector<std::string> expected = {"linearizable", "lost-writes", "stale-reads"};
    if (count(settings, "anti_entropy_interval_ms") == 0) expected.emplace_back("convergence");
    // Under fsync "never" a crash takes back what a replica acknowledged.
    if (!conditions.fsync_always) expected.emplace_back("quorum-reads");
    return expected;
  }

  void simulation_settings(Settings& settings, const SimulationContext&) const override {
    const auto error = settings.set("heartbeat_interval_ms", "50");
    REPLIKV_ASSERT(!error, "a simulation default fits its rule");
    const auto timeout = settings.set("request_timeout_ms", "300");
    REPLIKV_ASSERT(!timeout, "a simulation default fits its rule");
    const auto exchanges = settings.set("anti_entropy_interval_ms", "200");
    REPLIKV_ASSERT(!exchanges, "a simulation default fits its rule");
    // Collected within the run: the simulator's messages are late by milliseconds, not minutes.
    const auto grace = settings.set("tombstone_grace_ms", "1000");
    REPLIKV_ASSERT(!grace, "a simulation default fits its rule");
  }
};

}  // namespace

Options make_options(const NodeContext& node, const Settings& settings) {
  Options options;
  options.node_id = node.node;
  options.members = node.members;
  options.n = count(settings, "n");
  options.w = count(settings, "w");
  options.r = count(settings, "r");
  options.vnodes = count(settings, "vnodes");
  options.policy =
      settings.text("conflict") == "siblings" ? ConflictPolicy::siblings : ConflictPolicy::lww;
  options.linearizable = settings.text("mode") == "linearizable";
  options.sloppy_quorum = settings.flag("sloppy_quorum");
  options.tombstone_grace_ms = static_cast<TimeMs>(settings.number("tombstone_grace_ms"));
  const std::string repair = settings.text("read_repair");
  options.read_repair = repair == "blocking" ? ReadRepair::blocking
                        : repair == "async"  ? ReadRepair::async
                                             : ReadRepair::off;
  options.siblings_max = settings.number("siblings_max");
  options.max_clock_offset_ms = static_cast<TimeMs>(settings.number("max_clock_offset_ms"));
  options.heartbeat_interval_ms = static_cast<TimeMs>(settings.number("heartbeat_interval_ms"));
  options.request_timeout_ms = static_cast<TimeMs>(settings.number("request_timeout_ms"));
  options.hints_max = settings.number("hints_max");
  options.anti_entropy_interval_ms =
      static_cast<TimeMs>(settings.number("anti_entropy_interval_ms"));
  options.anti_entropy_keys_max = settings.number("anti_entropy_keys_max");
  options.hint_window_ms = static_cast<TimeMs>(settings.number("hint_window_ms"));
  options.hint_replays_per_tick = settings.number("hint_replays_per_tick");
  options.cache_bytes_max = node.cache_bytes_max;
  options.fsync_always = node.fsync_always;
  return options;
}

std::unique_ptr<Strategy> make_strategy() { return std::make_unique<LeaderlessStrategy>(); }

}  // namespace replikv::core::leaderless
