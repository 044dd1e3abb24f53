// MultiLeader: the replica of the multi-leader strategy (docs/multi-leader.md). Every node takes
// every write, answers it once its own write is durable, and streams it to every other node.
//
// Streams. Each node is an actor — its id and an incarnation, new when its data directory is new
// and at every start under fsync "never" (a crash may have lost writes it had shipped; a new
// actor never reissues their dots). Its writes are numbered 1, 2, … (the dot counter, persisted
// with the write). A node keeps every actor's writes it applied in its log column, ships its own
// as soon as they are durable, and relays another actor's to a peer that has not caught up on
// them for a while (the origin may be unreachable from it); it drops them once every member has
// them. A node applies an actor's writes in counter order and each only after the writes its
// origin had applied (causal delivery), so its applied version vector — per actor, the writes
// applied — is a causal context for every key (core/multi_leader/key_state.h).
//
// Acknowledgements. Every heartbeat, and after it applies a peer's entries, a node tells each
// peer its applied vector — in a message that leaves only once those writes are durable. That
// is what moves a sender on, what lets a log entry be dropped, and what lets a tombstone be
// collected (every member has applied it: nothing it superseded can come back).
//
// Writes run Redis's rules on the keyspace (what a GET here sees), then become entries: a SET,
// MSET, CAS or EXPIRE a new value, a DEL a tombstone, an INCRBY an increment. Each supersedes
// what this node had applied; VSET supersedes exactly the context it carries. The key's new
// state — resolved by the conflict policy — is what the keyspace then holds: the value GET sees,
// and the registers in the record's metadata (a key with nothing live: in the tombstone table).
//
// Invariants (asserted): an actor's writes apply in counter order, once; the applied vector never
// moves back; a dot is never issued twice; Ready ids increase by one.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/causality/dot_set.h"
#include "core/causality/hlc.h"
#include "core/causality/versioned_commands.h"
#include "core/keyspace.h"
#include "core/multi_leader/key_state.h"
#include "core/multi_leader/position.h"
#include "core/random.h"
#include "core/replica.h"
#include "proto/replikv.pb.h"

namespace replikv::core::multi_leader {

struct Options {
  NodeId node_id{1};
  std::vector<NodeId> members;  // every member, this node too
  ConflictPolicy policy = ConflictPolicy::lww;
  // Local writes that would leave a key with more live siblings than this are refused.
  uint64_t siblings_max = 32;
  // A peer's timestamp further ahead of this node's clock is not taken (counted).
  TimeMs max_clock_offset_ms = 500;
  TimeMs heartbeat_interval_ms = 100;
  // A peer that has not caught up on an actor's writes for this long gets them from this node.
  TimeMs relay_after_ms = 300;
  // How long a session read (or WAIT) waits for this node to apply what it needs.
  TimeMs request_timeout_ms = 1000;
  uint64_t entries_per_message_max = 256;
  // A state transfer: record bytes per chunk, and chunks in flight to one peer.
  uint64_t snapshot_chunk_bytes = 256 << 10;
  uint64_t snapshot_chunks_inflight = 4;
  uint64_t cache_bytes_max = 64ull << 20;
  bool fsync_always = true;
  // An empty data directory founds the cluster (true) or is a member that lost its data and must
  // catch up before it takes writes that replace values (false: recovering_).
  bool bootstrap = true;
  TimeMs expiry_sweep_interval_ms = 100;
  uint64_t expiry_sweep_keys_max = 200;
  // Deliberately broken builds, for tests only (tests/sim/multi_leader_test.cc shows the checkers
  // catch each): lww discards neither counted nor reported; a peer's write replaces every register
  // of its key, seen or not; a peer's write applied before the writes it depends on; a peer's
  // increment dropped; a tombstone collected as soon as this node applied it, before every member
  // had; a VSET superseding everything its node had seen, not just its context; a VSET on a
  // counter whose context has not seen all its increments (a fold split); a merge's node widening
  // its context over values the client had not seen; a session read served before its node has
  // the session's writes; a node that lost its data taking every write at once; writes of a
  // lost incarnation taken beyond its fence.
  struct Mutants {
    bool discard_unreported = false;
    bool replace_unseen = false;
    bool skip_dependencies = false;
    bool drop_peer_increments = false;
    bool collect_unstable = false;
    bool vset_replaces_all = false;
    bool merge_unseen_increments = false;
    bool widen_over_values = false;
    bool sessions_unwaited = false;
    bool skip_recovery = false;
    bool skip_fences = false;
    // A collection element's removal takes every add of it, seen or not (remove-wins).
    bool remove_unseen_elements = false;
  } mutants;
};

class MultiLeader final : public Replica {
 public:
  // `view` must outlive the replica.
  MultiLeader(const StorageView& view, Rng rng, Options options);

  void client_request(ClientRequest request) override;
  void peer_message(const Message& message) override;
  using Replica::tick;
  void tick(TimeMs wall_ms, TimeMs monotonic_ms) override;
  void persisted(ReadyId ready_id) override;
  bool take_ready(Ready& out) override;
  ReplicaStatus status() const override;
  SessionCheck check_session(const SessionPosition& position) const override;
  std::string state_digest() const override;
  std::optional<uint64_t> local_collection_size(const std::string& key) override {
    return keyspace_.collection_size(key, wall_ms_);
  }
  HistoryFields last_write_fields() const override;
  std::vector<HistoryFields> take_history_events() override;

  // What this node has applied, per actor.
  const CausalContext& applied() const { return applied_; }
  Actor actor() const { return self_; }

 private:
  // A state transfer to a peer that lacks writes no longer kept.
  struct OutgoingSnapshot {
    uint64_t id = 0;
    std::vector<std::string> chunks;  // encoded messages
    size_t acked = 0;                 // chunks the peer has
    size_t sent = 0;
    TimeMs progress_ms = 0;
  };
  // One being received.
  struct IncomingSnapshot {
    NodeId from;
    uint64_t id = 0;
    uint64_t next = 0;
    std::map<std::string, std::string> records;  // key → encoded KeyState
    // key → its collection's element states (kind, name) → encoded KeyState
    std::map<std::string, std::map<std::pair<char, std::string>, std::string>> elements;
    TimeMs heard_ms = 0;  // when its last chunk came
  };
  struct Peer {
    NodeId id;
    bool heard = false;
    CausalContext reported;      // what it last said it has applied (durably)
    CausalContext sent;          // per actor, the last counter sent to it
    uint32_t incarnation = 0;    // of its last status
    uint32_t fenced_for = 0;     // its recovering incarnation this node fenced the others for
    std::set<uint32_t> retired;  // its earlier incarnations: their late statuses are ignored
    bool recovering = false;     // it lost its data and is catching up
    std::optional<CausalContext> target;  // this node recovering: what the peer had applied when
                                          // it first knew this incarnation
    struct Lag {
      TimeMs since_ms;     // since when it has lacked some of them
      TimeMs progress_ms;  // when it last acknowledged more (or they were last sent again)
      uint64_t reported;   // what it has acknowledged
      bool relaying;       // another actor's writes, sent on by this node until it has them
    };
    std::map<Actor, Lag> lagging_since;  // per actor it lacks writes of
    TimeMs last_heard_ms = 0;
    bool needs_snapshot = false;
    std::optional<OutgoingSnapshot> snapshot;
  };
  struct Waiting {
    ClientRequest request;
    TimeMs deadline_ms;
  };

  // Start: the actor, the counters, the applied vector, the tombstone table.
  void load();
  // The key's state as this node holds it (empty when it holds none).
  KeyState load_state(const std::string& key);
  // Stores the key's state: the keyspace record (the value it shows) with the state as metadata,
  // or the tombstone table when nothing shows; nothing when it is empty.
  void store_state(const std::string& key, KeyState state);

  // Local writes.
  void client_write(ClientRequest& request);
  static std::optional<std::string> refuse_command(const CommandRequest& command);
  void vset(ClientRequest& request, const VSetCommand& command);
  void vget(ClientRequest& request, const VGetCommand& command);
  // One element write a client's command made (collections.cc).
  struct ElementWrite {
    std::string key;
    char kind = 0;  // core/encoding.h's element kinds: 'h', 's', 'm'
    std::string name;
    proto::MlEntry::Kind entry = proto::MlEntry::VALUE;
    std::string value;
    int64_t delta = 0;
    double float_delta = 0;
  };
  // Makes, applies and logs one local write to `key` (to one of its elements with `element`);
  // returns its dot.
  Dot local_write(const std::string& key, proto::MlEntry::Kind kind, std::string value,
                  TimeMs deadline_ms, int64_t delta, const CausalContext* replaces,
                  const std::optional<HlcTimestamp>& seen_hlc, KeyState state,
                  const ElementWrite* element = nullptr);
  // Applies one write, local or a peer's, to its key's state and logs it.
  void apply_entry(const proto::MlEntry& entry, std::string bytes, KeyState* state = nullptr);

  // Collections (collections.cc): element states by (kind, name).
  using ElementStates = std::map<std::pair<char, std::string>, KeyState>;
  static bool is_element_kind(uint32_t kind);
  // The header of `key`'s collection, or nullopt when it shows none.
  std::optional<CollectionHeader> collection_header(const std::string& key);
  // The element states of collection `id` (of one kind, when `kind` is not 0).
  ElementStates element_states(uint64_t id, char kind = 0) const;
  // Writes what `state` (nullptr: nothing) of element `name` shows in `collection`.
  void show_element(Keyspace::Collection& collection, char kind, std::string_view name,
                    const KeyState* state);
  // The key shows a collection now: its string forms (pending value, tombstone) go.
  void forget_string_forms(const std::string& key);
  // Writes `key` anew from its own state and every element's: a collection under a new id, or,
  // with no element, what store_state() makes of the key's state.
  void rebuild_collection(const std::string& key, KeyState state, const ElementStates& elements);
  // A write to the key itself: every element state `replaces` covers goes.
  void supersede_elements(const std::string& key, const CausalContext& replaces, KeyState state);
  void apply_element(const proto::MlEntry& entry, const Dot& dot, const CausalContext& replaces);
  std::string elements_digest(uint64_t id) const;
  // `gone`: the command deleted the collection (every element it touched is removed).
  void element_writes(const std::string& key, uint64_t id, bool gone,
                      const std::vector<std::string>& observed, const CommandRequest* command,
                      std::vector<ElementWrite>& out) const;
  // The writes a collection command made to `key` (held_before: each key's collection id before
  // it ran, 0 for a string), made this node's: element writes, after a write to the key itself
  // when the command replaced what it held.
  struct HeldBefore {
    uint64_t id = 0;       // its collection's id; 0: a string
    ElementStates hidden;  // its elements of the kinds it did not show
  };
  static char element_kind_of(ValueType type);
  void collection_write(const std::string& key, std::map<std::string, HeldBefore>& held_before,
                        const CommandRequest* command, const std::optional<HlcTimestamp>& seen_hlc,
                        KeyState before);
  // HINCRBY's, ZINCRBY's or ZADD INCR's reply as the element shows it after the write, or
  // nullopt for another command.
  std::optional<Reply> counter_reply(const CommandRequest& command);
  // The error for a command the collections cannot take here, or nullopt.
  std::optional<std::string> refuse_on_collection(const Request& request);

  // Peers.
  void receive_entries(const proto::MultiLeaderMessage& message);
  void receive_status(const proto::MultiLeaderMessage& message);
  void apply_pending();
  bool deliverable(const proto::MlEntry& entry) const;
  void send_status(NodeId to);
  // Sends `peer` the entries of `actor` after counter `after` that the log holds, up to `upto`
  // and a message's worth.
  void send_entries(Peer& peer, const Actor& actor, uint64_t after, uint64_t upto);
  void catch_up(Peer& peer);
  const CausalContext& applied_as_of(TimeMs monotonic_ms) const;
  void ship_fresh();
  void heartbeat();
  // State transfers.
  void start_snapshot(Peer& peer);
  void send_snapshot_chunks(Peer& peer);
  void receive_snapshot(const proto::MultiLeaderMessage& message);
  void receive_snapshot_ack(const proto::MultiLeaderMessage& message);
  void install_snapshot(const CausalContext& vector, const CausalContext& collected);
  // What this node may tell peers it has applied and send them: everything it applied under fsync
  // "always"; under "never", what the last synced Ready held, or all when the Ready being built
  // will sync (its messages leave after the sync).
  const CausalContext& shippable() const;
  // Every member's reported vector's minimum (and this node's applied): what every node has
  // applied — and, peers having reported only what they keep, will keep through a crash.
  CausalContext stable() const;
  // Whether this node has applied everything any member reported (tombstones and folds wait for
  // it: a write concurrent with them is then here).
  bool caught_up_with_reports() const;
  void compact_and_collect();
  // Ends recovering_ once every member's target is applied; before that, once every member gave
  // one, fences this node's earlier incarnations at the highest of them.
  void end_recovery();
  // Fences `actor` at `counter`: a final fence raises an existing one, a provisional one sets it
  // (fenced_). Drops the actor's held writes beyond, and stores the fences with a sync.
  void fence(const Actor& actor, uint64_t counter, bool final);
  // Fences, provisionally, every incarnation of `node` but `current` at what this node applied.
  void fence_earlier_incarnations(uint32_t node, uint32_t current);
  // The error for a session position or context (`what`) that names a write of a fenced
  // incarnation beyond its fence — one that will never be applied — or nullopt.
  std::optional<std::string> lost_write(const CausalContext& vector, std::string_view what) const;
  // While recovering_: the members not caught up with, and why ("2 (lacks 1.0a0b0c0d:41)").
  std::string recovery_waiting() const;
  // The error a write that replaces values gets while recovering_.
  Reply recovering_refusal() const;
  void answer_read(ClientRequest& request);
  // What a VSET with the client's `context` supersedes of the key `state`.
  CausalContext merge_context(const CausalContext& context, const KeyState& state) const;
  // Drops the deleted keys' tombstones `below` covers.
  void collect_tombstones(const CausalContext& below);
  // collected_ joined with `below`, stored with the next batch.
  void raise_collected(const CausalContext& below);

  // Reads and waits.
  void serve_read(ClientRequest& request);
  void serve_waiting();
  bool covers_position(const CausalContext& applied, const Position& position) const;
  void reply(const ClientRequest& request, Reply reply,
             std::optional<SessionPosition> written = std::nullopt,
             std::optional<SessionPosition> read_at = std::nullopt);
  Position read_position() const;
  void expire_due();

  Options options_;
  Rng rng_;
  const StorageView& view_;
  Keyspace keyspace_;
  Ready pending_;
  ReadyId last_taken_;
  ReadyId durable_;
  TimeMs wall_ms_ = 0;
  TimeMs monotonic_ms_ = 0;
  TimeMs next_heartbeat_ms_ = 0;
  TimeMs next_sweep_ms_ = 0;

  Actor self_;
  uint64_t counter_ = 0;  // the last dot issued
  CausalContext applied_;
  // Under fsync "never": applied_ when the last Ready that synced was taken — what a crash keeps.
  // Peers are told and sent only this much (shippable()), so no member ever learns of a write a
  // node could forget: a write it shipped and lost would come back from a peer as an orphan after
  // the tombstones concurrent with it were collected, and a vector it reported and lost would let
  // members fold increments its next writes cover only in part (seed 20 of the fsync "never"
  // sweep, docs/multi-leader.md).
  CausalContext synced_;
  // The node lost its data (an empty data directory started without bootstrap) and catches up:
  // it takes no write that replaces a value — its context would cover only part of what members
  // already folded or collected — until it has applied what every member had when it first heard
  // of this incarnation, and members neither fold nor collect meanwhile (end_recovery()).
  bool recovering_ = false;
  // Incarnations lost with their node's data (or to a crash under fsync "never"), each with its
  // last write that survives: writes of theirs beyond it are refused wherever they come from (a
  // late message, a relay, a state transfer). A member fences a node's earlier incarnations at
  // what it has applied of them as soon as it hears the node recovering (provisional: set, even
  // below an earlier fence) — with a sync, before it tells the node where it stands, so the
  // node's targets cover all it will ever apply of them — and raises the fence to the highest any
  // member had, which the recovering node works out from its targets and announces
  // (final_positions; final). Without it a write of the lost incarnation still travelling, or held
  // behind a write lost for good, would arrive after the members had collected the tombstones
  // concurrent with it, or keep the node recovering forever. Only a final fence makes a session
  // that names a write beyond it lost (-LOSTWRITE). Stored.
  CausalContext fenced_;
  std::set<Actor> fenced_final_;
  HybridClock clock_;
  HlcTimestamp highest_applied_hlc_;  // of every write applied (refused by the clock or not)
  bool meta_dirty_ = false;           // the counters and the vector go with the next batch
  std::map<std::string, KeyState, std::less<>> tombstones_;
  std::map<NodeId, Peer> peers_;
  // Per actor, entries received ahead of what can be applied, by counter.
  std::map<Actor, std::map<uint64_t, std::pair<proto::MlEntry, std::string>>> pending_entries_;
  uint64_t pending_count_ = 0;
  // This node's entries since the last ship, encoded, for the peers it is up to date with.
  std::vector<std::pair<uint64_t, std::string>> fresh_;
  CausalContext compacted_;  // per actor, log entries erased up to here
  // What every member had applied when this node had applied everything any member reported: a
  // key's increments below it fold (KeyState::fold) when the key is next stored.
  CausalContext fold_below_;
  std::deque<std::pair<TimeMs, CausalContext>> applied_samples_;  // (heartbeat, applied then)
  // Keys written since the last Ready: their state, and what the keyspace shows of it, until the
  // Ready encodes the state into the keyspace's record (encode_written).
  struct Written {
    KeyState state;
    Rendered rendered;
  };
  std::map<std::string, Written> written_;
  void encode_written();
  bool status_due_ = false;  // entries applied since the last Ready: tell every peer
  CausalContext logged_;     // applied when the last Ready was taken: what the log holds by now
  // The join of every vector tombstones were collected under: a merge supersedes what is below
  // it (merge_context), monotonic, stored with the collection.
  CausalContext collected_;
  std::deque<Waiting> waiting_;
  std::optional<IncomingSnapshot> incoming_;
  uint64_t snapshots_started_ = 0;
  std::vector<std::string> written_keys_;
  std::vector<std::string> written_elements_;
  // The last write a client request made: its dot, and the context it carried when it was not
  // everything this node had applied (VSET's).
  std::optional<Dot> last_dot_;
  uint64_t request_first_counter_ = 0;  // counter_ when the last client request came
  bool last_increment_ = false;
  bool last_tombstone_ = false;
  std::optional<CausalContext> last_context_;
  std::optional<CausalContext> last_client_context_;  // a merge's, as the client sent it
  HlcTimestamp last_stamp_;

  // Metrics.
  uint64_t writes_ = 0;
  uint64_t reads_ = 0;
  uint64_t entries_applied_ = 0;
  uint64_t entries_relayed_ = 0;
  uint64_t entries_duplicate_ = 0;
  uint64_t entries_dropped_ = 0;
  uint64_t conflicts_discarded_ = 0;  // this node's own writes another concurrent one beat (lww)
  // Discards in Readies not yet durable, by Ready: counted once durable, so that a crash that
  // takes a discard back (it happens again after the restart) does not count it twice.
  std::vector<Dot> discarded_unpersisted_;
  std::deque<std::pair<ReadyId, std::vector<Dot>>> discards_in_flight_;
  bool report_history_ = false;  // take_history_events() was called: keep them
  std::vector<HistoryFields> history_events_;
  uint64_t entries_compacted_away_ = 0;  // a peer lacked entries every member was thought to have
  uint64_t snapshots_sent_ = 0;
  uint64_t snapshots_installed_ = 0;
  uint64_t conflicts_resolved_ = 0;  // every concurrent register this node discarded (lww)
  uint64_t siblings_refused_ = 0;
  uint64_t merges_refused_ = 0;
  uint64_t increments_retried_ = 0;
  uint64_t siblings_over_cap_ = 0;  // keys merged from peers beyond siblings_max
  uint64_t hlc_refused_ = 0;
  uint64_t tombstones_collected_ = 0;
  uint64_t expired_ = 0;
  uint64_t malformed_ = 0;
  uint64_t session_timeouts_ = 0;
  uint64_t recovering_refused_ = 0;
  uint64_t stale_statuses_ = 0;     // from an incarnation of a peer that restarted since
  uint64_t entries_fenced_ = 0;     // writes of a lost incarnation beyond its fence, refused
  uint64_t lost_writes_named_ = 0;  // requests refused with -LOSTWRITE
};

}  // namespace replikv::core::multi_leader
