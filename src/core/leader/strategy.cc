// The single-leader strategy at the seam (core/strategy.h): its configuration keys, their rules,
// the RaftOptions they make, and what it promises for each ack policy.
#include "core/leader/strategy.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/encoding.h"
#include "core/leader/commands.h"
#include "core/leader/raft.h"

namespace replikv::core::leader {
namespace {

// One of the metrics this strategy's replica reports (RaftStatus::to_metrics), read back by name
// through whatever wraps the replica: asserted present, so a renamed metric fails loudly instead
// of reading as 0 and leaving a check unable to fail.
uint64_t reported(const ReplicaStatus& status, std::string_view name) {
  const Metric* metric = status.metric(name);
  REPLIKV_ASSERT(metric != nullptr, "the leader strategy's replica reports the metric");
  return static_cast<uint64_t>(metric->number);
}

// The single leader's own checks of a simulated run:
//   commit-index   no node's stored commit index moves back across a crash, none restarts below
//                  what it had stored, and no committed entry is rolled back (all expected under
//                  async, fsync "never" or an accepted data loss: see expected_violations);
//   log-agreement  Raft's log matching, at the end: any two nodes hold the same entries at every
//                  index up to the smaller of their commit indexes.
class LeaderRunChecks final : public RunChecks {
 public:
  explicit LeaderRunChecks(int nodes) : stored_commit_(static_cast<size_t>(nodes) + 1, 0) {}

  void crashed(int node, const StorageView& storage, const ReplicaStatus& before) override {
    ++crashes_;
    if (!before.metrics.empty()) rollback_entries_ += reported(before, "rollback_entries");
    const uint64_t stored = Raft::stored_commit_index(storage).value();
    uint64_t& highest = stored_commit_[static_cast<size_t>(node)];
    if (stored < highest) {
      violation(fmt::format("node {}: the stored commit index went from {} back to {} at a crash",
                            node, highest, stored));
    }
    highest = std::max(highest, stored);
  }

  void wiped(int node) override { stored_commit_[static_cast<size_t>(node)] = 0; }

  void started(int node, const Replica& replica) override {
    const auto commit = reported(replica.status(), "commit_index");
    const uint64_t stored = stored_commit_[static_cast<size_t>(node)];
    if (commit < stored) {
      violation(fmt::format("node {}: restarted with commit index {}, below the {} it had stored",
                            node, commit, stored));
    }
  }

  std::vector<CheckFinding> finish(const std::vector<const StorageView*>& storage,
                                   const std::vector<const Replica*>& replicas) override {
    uint64_t rollbacks = rollback_entries_;
    for (const Replica* replica : replicas) {
      if (replica != nullptr) rollbacks += reported(replica->status(), "rollback_entries");
    }
    if (rollbacks > 0)
      violations_.push_back(fmt::format("{} committed entries rolled back", rollbacks));
    CheckFinding commit{"commit-index", violations_.empty(), "", violations_};
    commit.summary =
        commit.valid
            ? fmt::format("no node's commit index moved back across {} crashes, none rolled back",
                          crashes_)
            : fmt::format("{} time(s) a commit index moved back", violations_.size());
    return {log_agreement(storage, replicas), commit};
  }

 private:
  void violation(std::string what) {
    if (violations_.size() < 10) violations_.push_back(std::move(what));
  }

  static CheckFinding log_agreement(const std::vector<const StorageView*>& storage,
                                    const std::vector<const Replica*>& replicas) {
    CheckFinding result{"log-agreement", true, "", {}};
    std::vector<std::map<uint64_t, std::string>> logs;
    std::vector<uint64_t> commits;
    for (size_t n = 0; n < storage.size(); ++n) {
      std::map<uint64_t, std::string> log;
      storage[n]->scan(Column::log, {}, [&](std::string_view key, std::string_view value) {
        log.emplace(read_u64_be(key), std::string(value));
        return true;
      });
      logs.push_back(std::move(log));
      commits.push_back(replicas[n] != nullptr ? reported(replicas[n]->status(), "commit_index")
                                               : 0);
    }
    uint64_t compared = 0;
    for (size_t a = 0; a < logs.size(); ++a) {
      for (size_t b = a + 1; b < logs.size(); ++b) {
        const uint64_t upto = std::min(commits[a], commits[b]);
        for (uint64_t index = 1; index <= upto; ++index) {
          const auto ia = logs[a].find(index), ib = logs[b].find(index);
          if (ia == logs[a].end() || ib == logs[b].end()) continue;  // compacted on one of them
          ++compared;
          if (ia->second != ib->second) {
            result.valid = false;
            if (result.details.size() < 10) {
              result.details.push_back(
                  fmt::format("nodes {} and {} differ at committed index {}", a + 1, b + 1, index));
            }
          }
        }
      }
    }
    result.summary = result.valid ? fmt::format(
                                        "every pair of nodes agrees up to its common commit index "
                                        "({} entries compared)",
                                        compared)
                                  : std::string("committed entries differ between nodes");
    return result;
  }

  std::vector<uint64_t> stored_commit_;  // by node: the highest commit index found stored
  std::vector<std::string> violations_;
  uint64_t crashes_ = 0;
  uint64_t rollback_entries_ = 0;  // from replicas that crashed since
};

class LeaderStrategy final : public Strategy {
 public:
  std::string_view name() const override { return "leader"; }
  std::string_view summary() const override {
    return "single leader with a replicated log; acknowledgements async, sync, k of n or "
           "majority; automatic failover (Raft elections) and operator failover";
  }

  const std::vector<SettingSpec>& setting_specs() const override {
    static const std::vector<SettingSpec> specs = {
        cluster_wide(text_setting(
            "ack",
            "when a write is acknowledged — \"majority\" (default: a majority holds it durably), "
            "\"async\" (the leader does), \"sync\" (every follower does too), or k (the leader "
            "and k followers); the same on every node",
            "majority")),
        cluster_wide(choice_setting(
            "failover", "\"auto\" — the followers elect a new leader (Raft)", {"auto"}, "auto")),
        boolean_setting("redirect",
                        "a follower refuses writes and reads naming the leader (true) instead of "
                        "forwarding them (false, default)",
                        false),
        unsigned_setting("election_timeout_ms",
                         "a follower that hears no leader for this long (to twice this, at "
                         "random) starts an election (default 1000)",
                         1000, 10, 600000),
        unsigned_setting("heartbeat_interval_ms",
                         "how often the leader tells followers it is alive (default 0: a tenth of "
                         "election_timeout_ms, 100 at its default)",
                         0, 0, 60000),
        unsigned_setting("request_timeout_ms",
                         "how long a write waits to be confirmed before -TIMEOUT (default 5000)",
                         5000, 10, 3600000),
        text_setting("read_consistency",
                     "the consistency of reads that name none — \"linearizable\", \"leader\", "
                     "\"session\", \"bounded:<ms>\" or \"eventual\" (default: linearizable, or "
                     "leader under ack async)",
                     "default",
                     [](std::string_view text) -> std::optional<std::string> {
                       if (text == "default" || parse_read_options(text)) return std::nullopt;
                       return fmt::format(
                           "expected \"linearizable\", \"leader\", \"session\", "
                           "\"bounded:<ms>\" or \"eventual\", got '{}'",
                           text);
                     }),
        unsigned_setting("max_clock_drift_ppm",
                         "how far a node's clock may run fast or slow, in parts per million; "
                         "bounded reads and leases allow for it (default 10000, 1%)",
                         10000, 0, 500000),
        boolean_setting("lease_reads",
                        "the leader answers linearizable reads under its lease, without a "
                        "confirmation round — safe while clocks drift by at most "
                        "max_clock_drift_ppm (default false)",
                        false),
        unsigned_setting("min_replicas",
                         "refuse writes (-NOREPLICAS, nothing written) while fewer followers than "
                         "this answered within min_replicas_max_lag_ms (default 0: never)",
                         0, 0, 1000),
        unsigned_setting("min_replicas_max_lag_ms", "see min_replicas (default 10000)", 10000, 1,
                         3600000),
        unsigned_setting("log_compact_entries",
                         "compact the log once it holds more entries than this (default 20000)",
                         20000, 2, 1000000000),
        unsigned_setting("log_keep_entries",
                         "applied entries a compaction keeps, for followers a little behind "
                         "(default 5000)",
                         5000, 1, 1000000000),
        unsigned_setting("log_compact_bytes",
                         "compact the log once its entries take more bytes than this (default "
                         "67108864); the tail kept is then at most a quarter of it",
                         64ull << 20, 4096, 1ull << 40),
        unsigned_setting("checkpoint_entries",
                         "write the applied state to storage once this many log entries were "
                         "applied since the last checkpoint (default 1000000); a restart applies "
                         "the entries after it again",
                         1000000, 1, 1000000000),
        unsigned_setting(
            "checkpoint_bytes",
            "… or once the records written since hold this many bytes in memory "
            "(each record once: key, value and the cache's per-entry overhead; "
            "default 67108864; at most a quarter of cache_bytes counts, the cache holds "
            "them meanwhile)",
            64ull << 20, 1, 1ull << 40),
        unsigned_setting("checkpoint_interval_ms",
                         "… or this long after the first write since the last checkpoint "
                         "(default 10000)",
                         10000, 1, 3600000),
        unsigned_setting("snapshot_chunk_bytes",
                         "record bytes in one snapshot chunk sent to a follower (default 1048576)",
                         1ull << 20, 1, 256ull << 20),
        unsigned_setting("snapshot_chunks_inflight",
                         "snapshot chunks in flight to one follower at most (default 4)", 4, 1,
                         1024),
        unsigned_setting("snapshot_move_bytes",
                         "record bytes a follower moves into place per step of an install "
                         "(default 4194304)",
                         4ull << 20, 1, 1ull << 30),
    };
    return specs;
  }

  std::optional<std::string> validate(const Settings& settings,
                                      const NodeContext& node) const override {
    const size_t members = node.members.size();
    if (!parse_ack(settings.text("ack"), members)) {
      return fmt::format(
          "ack: expected \"majority\", \"async\", \"sync\" or a follower count from 1 to {}, got "
          "'{}'",
          members - 1, settings.text("ack"));
    }
    if (settings.text("read_consistency") != "default") {
      const ReadOptions read = *parse_read_options(settings.text("read_consistency"));
      if (auto refused = refuse_read(read, settings)) {
        return fmt::format("read_consistency: {}", *refused);
      }
    }
    if (settings.number("min_replicas") >= members) {
      return fmt::format("min_replicas: at most {} (the followers there are), got {}", members - 1,
                         settings.number("min_replicas"));
    }
    if (heartbeat_ms(settings) * 2 > static_cast<TimeMs>(settings.number("election_timeout_ms"))) {
      return fmt::format(
          "heartbeat_interval_ms: {} ms must be at most half of election_timeout_ms ({} ms); set "
          "a shorter heartbeat, or 0 for a tenth of the election timeout",
          heartbeat_ms(settings), settings.number("election_timeout_ms"));
    }
    if (settings.number("log_keep_entries") >= settings.number("log_compact_entries")) {
      return "log_keep_entries: must be below log_compact_entries (a compaction would erase "
             "nothing)";
    }
    return std::nullopt;
  }

  StrategyTraits traits(const Settings& settings) const override {
    StrategyTraits traits;
    traits.has_leader = true;
    traits.final_reads_at_leader = true;
    traits.read_consistencies = {ReadConsistency::linearizable, ReadConsistency::leader,
                                 ReadConsistency::session, ReadConsistency::bounded,
                                 ReadConsistency::eventual};
    if (async(settings)) std::erase(traits.read_consistencies, ReadConsistency::linearizable);
    traits.tick_interval_ms =
        std::max<TimeMs>(1, std::min<TimeMs>(100, heartbeat_ms(settings) / 2));
    traits.lag_known_within_ms = heartbeat_ms(settings);
    traits.peer_silence_ms_max = static_cast<TimeMs>(settings.number("election_timeout_ms"));
    traits.fault_kinds = {"disk", "failover"};
    traits.log_apart_from_state = true;
    return traits;
  }

  ReadOptions read_default(const Settings& settings) const override {
    if (settings.text("read_consistency") != "default") {
      return *parse_read_options(settings.text("read_consistency"));
    }
    return {async(settings) ? ReadConsistency::leader : ReadConsistency::linearizable, 0};
  }

  std::optional<std::string> refuse_read(const ReadOptions& read,
                                         const Settings& settings) const override {
    if (read.consistency == ReadConsistency::replicas) {
      return "a replica count (one, quorum, all, <n>) is a leaderless read: the single leader's "
             "reads are linearizable, leader, session, bounded:<ms> or eventual";
    }
    if (read.consistency == ReadConsistency::linearizable && async(settings)) {
      return "linearizable reads are not offered with ack async: a failover may lose "
             "acknowledged writes. Read at leader, session, bounded:<ms> or eventual";
    }
    return std::nullopt;
  }

  std::optional<SessionPosition> parse_session(std::string_view text) const override {
    const auto token = parse_session_token(text);
    return token ? std::optional<SessionPosition>(position_of(*token)) : std::nullopt;
  }
  std::string session_text(const SessionPosition& position) const override {
    const auto token = token_of(position);
    return token ? to_string(*token) : std::string("?");
  }
  // An acknowledged write's log position: its identity in the one order of all writes.
  HistoryFields history_fields(const Reply& reply, const std::optional<SessionPosition>& position,
                               bool write) const override {
    if (!write || reply.outcome != Outcome::ok || !position) return {};
    const auto token = token_of(*position);
    if (!token) return {};
    return {{"position", "\"" + to_string(*token) + "\""}};
  }
  // The later log position (a position this strategy did not make counts as none).
  SessionPosition merge_sessions(const SessionPosition& a,
                                 const SessionPosition& b) const override {
    const auto first = token_of(a), second = token_of(b);
    if (!first) return b;
    if (!second) return a;
    return later(*first, *second) == *first ? a : b;
  }

  std::unique_ptr<Replica> make_replica(const StorageView& storage, Rng rng,
                                        const NodeContext& node,
                                        const Settings& settings) const override {
    return std::make_unique<Raft>(storage, rng, options(node, settings));
  }

  std::vector<ChaosPreset> chaos_presets() const override {
    return {
        {"async",
         {{"ack", "async"}},
         3,
         "leader",
         "single leader, acks after the leader's own fsync; a failover may lose what followers "
         "lacked"},
        {"sync",
         {{"ack", "sync"}},
         3,
         "linearizable",
         "single leader, acks once every follower has the write durably"},
        {"majority",
         {{"ack", "majority"}},
         3,
         "linearizable",
         "Raft: acks once a majority has the write durably; serves while a minority is down"},
        {"k1of5",
         {{"ack", "1"}},
         5,
         "linearizable",
         "5 nodes, acks once the leader and 1 follower have it (semi-sync, below a majority)"},
    };
  }

  const std::vector<CommandSpec>& commands() const override { return leader::command_specs(); }
  std::vector<std::string> failover_arguments(uint32_t target, bool force,
                                              bool accept_data_loss) const override {
    std::vector<std::string> argv = {"FAILOVER", "TO", std::to_string(target), "TIMEOUT", "500"};
    if (force) argv.emplace_back("FORCE");
    if (accept_data_loss) argv.emplace_back("ACCEPT-DATA-LOSS");
    return argv;
  }
  std::variant<Request, Reply> parse_command(
      const CommandSpec& spec, std::span<const std::string_view> argv) const override {
    return leader::parse_command(spec, argv);
  }

  std::unique_ptr<RunChecks> make_run_checks(const Settings&, int nodes) const override {
    return std::make_unique<LeaderRunChecks>(nodes);
  }

  std::optional<std::string> start_warning(const Replica& replica) const override {
    if (reported(replica.status(), "voter") != 0) return std::nullopt;
    return "this node is a non-voter: its data directory was empty when it first ran without "
           "--bootstrap, so it joined the cluster as a replacement that has forgotten its votes "
           "and acknowledgements. It catches up and serves reads, but counts toward no quorum. (A "
           "new cluster's first start takes --bootstrap; `replikv cluster start` passes it.)";
  }

  std::vector<std::string> expected_violations(const Settings& settings,
                                               const RunConditions& conditions) const override {
    std::vector<std::string> out;
    auto expect = [&](std::initializer_list<const char*> checks) {
      for (const char* check : checks) {
        if (std::find(out.begin(), out.end(), check) == out.end()) out.push_back(check);
      }
    };
    // A crash loses what the OS had not written back — acknowledged writes, and with them
    // linearizability; reads may then miss them (stale, behind their session's), and committed
    // entries lost from a majority are rolled back where a replica kept them.
    if (!conditions.fsync_always) {
      expect({"linearizable", "lost-writes", "stale-reads", "sessions", "commit-index", "queue"});
    }
    // An operator accepted data loss: what the promoted node lacked is gone, reads before the
    // promotion may not be seen after it, and replicas roll back.
    if (conditions.data_loss_accepted) {
      expect({"linearizable", "lost-writes", "commit-index", "stale-reads", "sessions", "queue"});
    }
    // async acknowledges what only the leader holds: a failover loses some, replicas that kept
    // it roll back, and reads at a deposed leader may be stale. That is the trade-off, measured.
    if (async(settings)) {
      expect({"linearizable", "lost-writes", "commit-index", "stale-reads", "queue"});
    }
    return out;
  }

  void simulation_settings(Settings& settings, const SimulationContext& run) const override {
    // Short timeouts and a log that compacts all the time (and restarts from compacted ones);
    // snapshots of a few hundred keys in several chunks and steps, so crashes strike mid-install.
    auto set = [&](std::string_view key, uint64_t value) {
      const auto error = settings.set(key, std::to_string(value));
      REPLIKV_ASSERT(!error, "a simulation default fits its rule");
    };
    set("election_timeout_ms", 300);
    set("heartbeat_interval_ms", 50);
    set("request_timeout_ms", static_cast<uint64_t>(run.client_timeout_ms) * 2);
    set("log_compact_entries", 64);
    set("log_keep_entries", 16);
    set("snapshot_chunk_bytes", 200);
    set("snapshot_move_bytes", 200);
  }

  void simulation_node_settings(Settings& settings, const SimulationContext& run) const override {
    // Each node's checkpoints: the defaults (by time, in these short runs), after every entry, or
    // after a few entries or 50 ms — by seed and node, so that crashes land at every distance
    // from the last checkpoint and replicas that checkpoint at different points must still answer
    // alike and converge.
    switch ((run.seed / 3 + static_cast<uint64_t>(run.node)) % 3) {
      case 0:
        break;
      case 1:
        settings.set("checkpoint_entries", "1");
        break;
      default:
        settings.set("checkpoint_entries", "7");
        settings.set("checkpoint_interval_ms", "50");
        break;
    }
  }

 private:
  static bool async(const Settings& settings) { return settings.text("ack") == "async"; }
  static TimeMs heartbeat_ms(const Settings& settings) {
    const uint64_t set = settings.number("heartbeat_interval_ms");
    return static_cast<TimeMs>(
        set != 0 ? set : std::max<uint64_t>(1, settings.number("election_timeout_ms") / 10));
  }

  static RaftOptions options(const NodeContext& node, const Settings& settings) {
    RaftOptions options;
    options.node_id = node.node;
    options.nodes = node.members;
    options.client_addresses = node.client_addresses;
    options.bootstrap = node.bootstrap;
    options.cache_bytes_max = node.cache_bytes_max;
    const auto ack = parse_ack(settings.text("ack"), node.members.size());
    REPLIKV_ASSERT(ack.has_value(), "validate() checked the ack policy");
    options.ack = ack->first;
    options.ack_followers = ack->second;
    // Replicas that kept committed entries the new leader lacks roll back (counted): under
    // async, which acknowledges before any follower holds a write, and with fsync "never", where
    // a crash can take committed entries from a majority.
    options.rollback = !node.fsync_always || options.ack == AckPolicy::async;
    options.redirect = settings.flag("redirect");
    const auto election_ms = static_cast<TimeMs>(settings.number("election_timeout_ms"));
    options.election_timeout_ms_min = election_ms;
    options.election_timeout_ms_max = election_ms * 2;
    options.heartbeat_interval_ms = heartbeat_ms(settings);
    options.request_timeout_ms = static_cast<TimeMs>(settings.number("request_timeout_ms"));
    if (settings.text("read_consistency") != "default") {
      options.read_default = *parse_read_options(settings.text("read_consistency"));
    }
    options.clock_drift_max_ppm = settings.number("max_clock_drift_ppm");
    options.lease_reads = settings.flag("lease_reads");
    options.min_replicas = static_cast<uint32_t>(settings.number("min_replicas"));
    options.min_replicas_max_lag_ms =
        static_cast<TimeMs>(settings.number("min_replicas_max_lag_ms"));
    options.log_compact_entries = settings.number("log_compact_entries");
    options.log_keep_entries = settings.number("log_keep_entries");
    options.log_compact_bytes = settings.number("log_compact_bytes");
    options.checkpoint_entries = settings.number("checkpoint_entries");
    options.checkpoint_bytes = settings.number("checkpoint_bytes");
    options.checkpoint_interval_ms = static_cast<TimeMs>(settings.number("checkpoint_interval_ms"));
    options.snapshot_chunk_bytes = settings.number("snapshot_chunk_bytes");
    options.snapshot_chunks_inflight_max = settings.number("snapshot_chunks_inflight");
    options.snapshot_move_bytes = settings.number("snapshot_move_bytes");
    return options;
  }
};

}  // namespace

std::unique_ptr<Strategy> make_strategy() { return std::make_unique<LeaderStrategy>(); }

}  // namespace replikv::core::leader
