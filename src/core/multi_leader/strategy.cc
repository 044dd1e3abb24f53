// The multi-leader strategy at the seam (core/strategy.h): its keys, the Options they make, its
// commands, sessions, and what each conflict policy promises.
#include "core/multi_leader/strategy.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/assert.h"
#include "core/causality/versioned_commands.h"
#include "core/multi_leader/position.h"
#include "core/multi_leader/replica.h"

namespace replikv::core::multi_leader {
namespace {

class MultiLeaderStrategy final : public Strategy {
 public:
  std::string_view name() const override { return "multi-leader"; }
  std::string_view summary() const override {
    return "every node takes writes and acknowledges after its own durable write; concurrent "
           "writes resolved by last-writer-wins (lww) or kept as siblings; counters merge";
  }

  const std::vector<SettingSpec>& setting_specs() const override {
    static const std::vector<SettingSpec> specs = {
        cluster_wide(choice_setting(
            "conflict",
            "how concurrent writes to a key are resolved — \"lww\" (default: the later hybrid "
            "timestamp wins, the other is discarded and counted) or \"siblings\" (both kept: GET "
            "shows one, VGET every one, VSET merges)",
            {"lww", "siblings"}, "lww")),
        unsigned_setting("siblings_max",
                         "a local write that would leave a key with more siblings than this is "
                         "refused (default 32)",
                         32, 1, 100000),
        cluster_wide(unsigned_setting(
            "max_clock_offset_ms",
            "a peer's or client's timestamp further ahead of this node's clock is not taken by "
            "it (counted in hlc_refused_total; default 500)",
            500, 1, 86400000)),
        unsigned_setting("heartbeat_interval_ms",
                         "how often a node tells its peers what it has applied — and, under "
                         "fsync never, how often it syncs and ships its writes (default 100)",
                         100, 1, 60000),
        unsigned_setting("relay_after_ms",
                         "a peer that has lacked another node's writes this long gets them from "
                         "this node (default 300)",
                         300, 1, 3600000),
        unsigned_setting("request_timeout_ms",
                         "how long a session read waits for this node to apply the session's "
                         "writes before -TRYAGAIN (default 1000)",
                         1000, 1, 3600000),
        unsigned_setting("snapshot_chunk_bytes",
                         "record bytes in one chunk of a state transfer to a peer that lacks "
                         "writes no longer kept (default 262144)",
                         256 << 10, 1, 256ull << 20),
        unsigned_setting("snapshot_chunks_inflight",
                         "chunks of a state transfer in flight to one peer at most (default 4)", 4,
                         1, 1024),
    };
    return specs;
  }

  std::optional<std::string> validate(const Settings&, const NodeContext& node) const override {
    if (node.members.size() < 2) {
      return "peers: multi-leader replicates between nodes; give it at least one peer";
    }
    return std::nullopt;
  }

  StrategyTraits traits(const Settings& settings) const override {
    StrategyTraits traits;
    traits.read_consistencies = {ReadConsistency::session, ReadConsistency::eventual};
    const auto heartbeat = static_cast<TimeMs>(settings.number("heartbeat_interval_ms"));
    traits.tick_interval_ms = std::max<TimeMs>(1, std::min<TimeMs>(100, heartbeat / 2));
    traits.lag_known_within_ms = heartbeat;
    traits.peer_silence_ms_max = heartbeat * 5;
    traits.fault_kinds = {"disk"};
    traits.float_increments = false;
    traits.collections_merge = true;
    traits.transactions_refused =
        "MULTI is not offered by the multi-leader strategy: a transaction's writes would reach "
        "the other nodes key by key and merge there with concurrent writes, so no node could "
        "promise all or nothing; use the single leader";
    return traits;
  }

  ReadOptions read_default(const Settings&) const override {
    return {ReadConsistency::eventual, 0};
  }

  std::optional<std::string> refuse_read(const ReadOptions& read, const Settings&) const override {
    if (read.consistency == ReadConsistency::session ||
        read.consistency == ReadConsistency::eventual ||
        read.consistency == ReadConsistency::cluster_default) {
      return std::nullopt;
    }
    return "multi-leader reads are eventual or session: every node takes writes, none can say it "
           "has seen every acknowledged one (read at session for read-your-writes)";
  }

  std::optional<SessionPosition> parse_session(std::string_view text) const override {
    const auto position = parse_position_text(text);
    return position ? std::optional<SessionPosition>(encode_position(*position)) : std::nullopt;
  }
  std::string session_text(const SessionPosition& position) const override {
    const auto decoded = decode_position(position);
    return decoded ? position_text(*decoded) : std::string("?");
  }
  SessionPosition merge_sessions(const SessionPosition& a,
                                 const SessionPosition& b) const override {
    const auto first = decode_position(a), second = decode_position(b);
    if (!first) return b;
    if (!second) return a;
    return encode_position(merge(*first, *second));
  }
  // A write's dot and timestamp, as its session position names them.
  // A write's position (its dot and timestamp); a read's, where the node stood (what it had
  // applied): the superseded checker reads the final reads' to know which writes took effect.
  HistoryFields history_fields(const Reply& reply, const std::optional<SessionPosition>& position,
                               bool) const override {
    if (reply.is_error() || !position) return {};
    const auto decoded = decode_position(*position);
    if (!decoded) return {};
    return {{"position", "\"" + position_text(*decoded) + "\""}};
  }

  // Final reads see every sibling (VGET), each write once by its value, and where the node stood.
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
  std::vector<std::string> history_checks(const Settings& settings) const override {
    std::vector<std::string> checks = {"linearizable",    "lost-writes", "stale-reads", "sessions",
                                       "session-vectors", "convergence", "counters"};
    checks.emplace_back(settings.text("conflict") == "siblings" ? "superseded" : "lww-discards");
    return checks;
  }

  const std::vector<CommandSpec>& commands() const override { return versioned_command_specs(); }
  std::variant<Request, Reply> parse_command(
      const CommandSpec& spec, std::span<const std::string_view> argv) const override {
    return parse_versioned_command(spec, argv);
  }

  std::unique_ptr<Replica> make_replica(const StorageView& storage, Rng rng,
                                        const NodeContext& node,
                                        const Settings& settings) const override {
    const Options options = make_options(node, settings);
    return std::make_unique<MultiLeader>(storage, rng, options);
  }

  std::optional<std::string> start_warning(const Replica& replica) const override {
    const ReplicaStatus status = replica.status();
    const Metric* recovering = status.metric("recovering");
    REPLIKV_ASSERT(recovering != nullptr, "the multi-leader replica reports whether it recovers");
    if (recovering->number == 0) return std::nullopt;
    return "this node is recovering: its data directory was empty when it first ran without "
           "--bootstrap, so it joined the cluster as a member that lost its data. It takes INCRBY "
           "and serves reads, but refuses writes that replace values (-TRYAGAIN) until it has "
           "caught up with every member. (A new cluster's first start takes --bootstrap; "
           "`replikv cluster start` passes it.)";
  }

  std::vector<ChaosPreset> chaos_presets() const override {
    return {
        {"multi-lww",
         {{"conflict", "lww"}},
         3,
         "eventual",
         "multi-leader: every node takes writes; concurrent ones resolved by the later "
         "timestamp, the others discarded and counted"},
        {"multi-siblings",
         {{"conflict", "siblings"}},
         3,
         "eventual",
         "multi-leader: every node takes writes; concurrent ones kept as siblings for the "
         "client to merge"},
    };
  }

  std::vector<std::string> expected_violations(const Settings&,
                                               const RunConditions&) const override {
    // Every node answers from what it has: reads miss writes taken elsewhere (stale, not
    // linearizable), and a read may return the concurrent value that won rather than the
    // session's own — measured, not promised. (The strategy's own promises — nothing lost
    // silently, siblings exactly the concurrent writes — are judged by the checkers it names.)
    return {"linearizable", "lost-writes", "stale-reads", "sessions"};
  }

  void simulation_settings(Settings& settings, const SimulationContext&) const override {
    auto set = [&](std::string_view key, uint64_t value) {
      const auto error = settings.set(key, std::to_string(value));
      REPLIKV_ASSERT(!error, "a simulation default fits its rule");
    };
    set("heartbeat_interval_ms", 50);
    set("relay_after_ms", 150);
    set("request_timeout_ms", 300);
    set("snapshot_chunk_bytes", 200);
  }
};

}  // namespace

Options make_options(const NodeContext& node, const Settings& settings) {
  Options options;
  options.node_id = node.node;
  options.members = node.members;
  options.policy =
      settings.text("conflict") == "siblings" ? ConflictPolicy::siblings : ConflictPolicy::lww;
  options.siblings_max = settings.number("siblings_max");
  options.max_clock_offset_ms = static_cast<TimeMs>(settings.number("max_clock_offset_ms"));
  options.heartbeat_interval_ms = static_cast<TimeMs>(settings.number("heartbeat_interval_ms"));
  options.relay_after_ms = static_cast<TimeMs>(settings.number("relay_after_ms"));
  options.request_timeout_ms = static_cast<TimeMs>(settings.number("request_timeout_ms"));
  options.snapshot_chunk_bytes = settings.number("snapshot_chunk_bytes");
  options.snapshot_chunks_inflight = settings.number("snapshot_chunks_inflight");
  options.cache_bytes_max = node.cache_bytes_max;
  options.fsync_always = node.fsync_always;
  options.bootstrap = node.bootstrap;
  return options;
}

std::unique_ptr<Strategy> make_strategy() { return std::make_unique<MultiLeaderStrategy>(); }

}  // namespace replikv::core::multi_leader
