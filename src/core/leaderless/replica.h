// Leaderless: the replica of the leaderless strategy (docs/leaderless.md). Each key lives on N
// replicas — the first N distinct members clockwise from the key on a ring of virtual nodes
// (core/leaderless/ring.h) — and any node takes any request.
//
// Writes. A write is coordinated by one of its key's replicas, which issues its dot: the node the
// client is connected to when it is a replica, otherwise the first replica it hears from (the
// write is forwarded there, one hop, as Riak forwards to a vnode of the preference list). The
// coordinator runs Redis's rules on its own copy, writes the new register superseding what that
// copy has seen (a VSET: what the client's context covers), and sends the key's whole copy to the
// other replicas, which join it into theirs. It answers once W replicas hold it durably — itself
// once its write is synced — and `-TIMEOUT … it may still take effect` when the request's time
// runs out first. DEL always writes a tombstone, whatever the coordinator's copy holds.
//
// Reads. The node the client is connected to asks all N replicas for their copies and answers once
// R replied, from their join (resolved by the conflict policy). Read repair then sends the join to
// the replicas whose copies lacked some of it: `async`, after answering, or `blocking`, before —
// until W replicas hold what the read returns (ABD's write-back: a later read that meets any W-set
// cannot go back to an older version).
//
// Storage. A key's copy is its keyspace record's metadata (the record's value is what GET sees
// there, for SCAN, KEYS and DBSIZE, which list this node's copies); a deleted key's copy is in the
// meta column. There is no log to replay: the keyspace checkpoints with every Ready.
//
// Invariants (asserted): a dot is never issued twice (the counter is persisted with every write
// and a node that may have lost its writes — fsync "never" — starts as a new incarnation); a
// copy only grows by joins (includes() holds from the old copy to the new); Ready ids increase.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/causality/dot_set.h"
#include "core/causality/hlc.h"
#include "core/causality/register.h"
#include "core/keyspace.h"
#include "core/leaderless/key_state.h"
#include "core/leaderless/position.h"
#include "core/leaderless/ring.h"
#include "core/random.h"
#include "core/replica.h"
#include "proto/replikv.pb.h"

namespace replikv::core::leaderless {

enum class ReadRepair : uint8_t { off, async, blocking };

struct Options {
  NodeId node_id{1};
  std::vector<NodeId> members;  // every member, this node too
  uint32_t n = 3;               // replicas per key
  uint32_t w = 2;               // a write's default replica count
  uint32_t r = 2;               // a read's default
  uint32_t vnodes = 64;         // ring tokens per member
  ConflictPolicy policy = ConflictPolicy::lww;
  // Linearizable quorums (multi-writer ABD; docs/leaderless.md): a key holds one value under a tag
  // (its hybrid timestamp and dot); a write first reads a majority's highest tag and then makes a
  // majority hold a higher one, a read makes a majority hold what it returns before answering.
  // R and W are majorities, any node coordinates, and only plain SET, MSET and DEL write.
  bool linearizable = false;
  ReadRepair read_repair = ReadRepair::blocking;
  // A write that would leave a key with more live siblings than this on its coordinator is
  // refused.
  uint64_t siblings_max = 32;
  TimeMs max_clock_offset_ms = 500;
  TimeMs heartbeat_interval_ms = 100;
  // How long a request waits for its replicas before -TIMEOUT.
  TimeMs request_timeout_ms = 1000;
  // Hinted handoff: a replica that did not acknowledge a write in time gets the key's copy later,
  // when it is heard from again. At most this many hints are kept (more are dropped and
  // counted — anti-entropy covers them), none older than the window, and at most this many
  // replayed to one replica per tick (a returning replica is not flooded).
  uint64_t hints_max = 100000;
  TimeMs hint_window_ms = 3 * 3600 * 1000;
  uint64_t hint_replays_per_tick = 64;
  // Anti-entropy: every this often (0: never) the node compares its hash tree of the keys it
  // shares with one peer, in turn, with the peer's, and the two send each other the copies of the
  // buckets that differ — at most this many keys each way per exchange.
  TimeMs anti_entropy_interval_ms = 10000;
  uint64_t anti_entropy_keys_max = 1000;
  uint64_t cache_bytes_max = 64ull << 20;
  bool fsync_always = true;
  TimeMs expiry_sweep_interval_ms = 100;
  uint64_t expiry_sweep_keys_max = 200;
  // Sloppy quorums (Dynamo §4.6): a write for a replica that is down goes to the next node up on
  // the ring beyond the key's N (a fallback), which holds the copy for it and hands it over when
  // it returns; its acknowledgement counts toward W. Off by default: a write so acknowledged may
  // not be on W of the key's replicas, so R + W > N no longer makes reads meet it (sloppy.cc).
  bool sloppy_quorum = false;
  // How long a delete every replica acknowledged keeps its tombstone before it is collected
  // (tombstones.cc; 0: never collected).
  TimeMs tombstone_grace_ms = 3'600'000;
  // The simulator's PBS experiment (sim/pbs.h) only — Probabilistically Bounded Staleness's
  // assumptions, which no production setting makes: the node a write comes to coordinates it
  // (no forwarding); it goes to exactly W of the key's replicas drawn uniformly (the coordinator's
  // own copy only when drawn) and never to the others; a read asks exactly R drawn uniformly.
  bool pbs_draws = false;
  // With pbs_draws: a write goes to every replica (and answers after W), as PBS's WARS model has
  // it, rather than to W drawn ones.
  bool pbs_write_to_all = false;
  // Deliberately broken builds, for tests only (tests/sim/leaderless_test.cc shows the checkers
  // catch each): a write answered before W replicas hold it; a read answered from fewer than R
  // copies; a blocking read answered before its write-back; a replica's copy replaced by the one
  // it is sent rather than joined with it.
  struct Mutants {
    bool ack_early = false;
    bool blind_writes = false;  // linearizable: a write's tag taken without reading first
    // A join that takes the other copy's context but keeps only its own registers: every write
    // is "seen", some values are gone (the value half of quorum-reads catches it).
    bool forget_values = false;
    bool read_one = false;
    bool skip_write_back = false;
    bool replace_copies = false;
    // One write's copy in ten acknowledged without being joined: the replicas differ until
    // anti-entropy repairs them (with it off, the convergence check catches the difference).
    bool lose_joins = false;
    // A delete's tombstone collected as soon as W replicas acknowledged it (not all N, no wait
    // for hints and anti-entropy): a replica that missed it brings the deleted value back.
    bool reap_early = false;
    // lww keeps the lowest of concurrent registers rather than the highest: every replica keeps
    // the same one and converges, and reads return a version older, by timestamp, than a write
    // acknowledged before them (quorum-reads' lww rule catches it).
    bool lww_keeps_older = false;
    // A read answered with the coordinator's own copy while its position names the merged one's
    // versions (the check of the values returned against the position catches it).
    bool reply_from_own_copy = false;
    // A replica joins a peer's copy of a collection without the peer's increments: each keeps
    // only those it coordinated (the counters check and replica-convergence catch it).
    bool forget_increments = false;
    // A removal run on the coordinator's copy alone, without reading R replicas' first: an add
    // acknowledged by others before it is not removed (LeaderlessCollections' unit test).
    bool remove_unread = false;
  } mutants;
};

class Leaderless final : public Replica {
 public:
  // `view` must outlive the replica.
  Leaderless(const StorageView& view, Rng rng, Options options);
  // A meta key: `prefix` ‖ node (u32, big-endian) ‖ key (hints, fallbacks' copies; hints.cc).
  static std::string node_key(std::string_view prefix, NodeId node, std::string_view key);
  // `text` as a JSON string, for the history events a replica reports (hints.cc).
  static std::string quoted(std::string_view text);

  void client_request(ClientRequest request) override;
  void peer_message(const Message& message) override;
  using Replica::tick;
  void tick(TimeMs wall_ms, TimeMs monotonic_ms) override;
  void persisted(ReadyId ready_id) override;
  bool take_ready(Ready& out) override;
  ReplicaStatus status() const override;
  std::string state_digest() const override;
  HistoryFields last_write_fields() const override;
  // Every write this node makes — its key, dot, the context it superseded, its timestamp — once
  // durable here, for the simulator's history (quorum-reads judges what reads returned by them).
  std::vector<HistoryFields> take_history_events() override;

  // The key's copy on this node (empty when it holds none).
  KeyState copy_of(const std::string& key);
  // Every copy this node holds (records and tombstones), by key: for the simulator's checks.
  std::map<std::string, KeyState> copies() const;
  // The key's replicas, in preference order.
  std::vector<NodeId> replicas_of(std::string_view key) const;
  Actor actor() const { return self_; }
  // The keys a read command reads (its numkeys for ZUNION and the like; none when that count does
  // not parse — the command then answers its own error on no copies).
  static std::vector<std::string> read_keys(const CommandRequest& command);

 private:
  // One key's share of a client's request, carried out by the node the client is connected to.
  struct Part {
    std::string key;
    Request request;  // this key's part of the client's request
    bool write = false;
    bool done = false;
    Reply reply;
    std::optional<SessionPosition> position;  // what the history records of it (position.h)
    // A command's read (collections.cc): the joined copy it read, which the command runs on.
    std::optional<KeyState> copy;
  };
  // A client's request at the node it came to.
  struct Operation {
    ClientRequest request;
    std::vector<Part> parts;
    size_t remaining = 0;
    uint32_t write_replicas = 0;  // W for its writes
    uint32_t read_replicas = 0;   // R for its reads
  };
  // Where a coordinated write's answer goes: a part of this node's operation, or the peer that
  // forwarded it.
  struct Origin {
    uint64_t part = 0;  // this node's part id (parts_), or 0
    NodeId peer{0};
    uint64_t peer_request = 0;
  };
  // A write this node coordinates as a replica of its key.
  struct Coordination {
    std::string key;
    KeyState copy;  // what it sent
    std::vector<NodeId> replicas;
    std::set<NodeId> holders;  // replicas that hold `copy` durably
    uint32_t needed = 0;
    std::optional<ReadyId> own_ready;  // this node's write is durable once this Ready is
    Reply reply;
    SessionPosition position;  // the write's, for its reply
    bool answered = false;
    Origin origin;
    TimeMs deadline_ms = 0;
    TimeMs resend_ms = 0;  // when the replicas that have not acknowledged are sent it again
    // Sloppy quorums (sloppy.cc): each fallback sent the copy, and the replica it holds it for.
    std::map<NodeId, NodeId> fallbacks;
    WritePosition written;  // the position's fields, re-encoded when fallbacks count toward W
  };
  // A read of one key this node coordinates.
  struct ReadRound {
    uint64_t part = 0;
    std::string key;
    std::vector<NodeId> replicas;
    std::map<NodeId, KeyState> copies;  // the replies heard
    uint32_t asked = 0;                 // R
    uint32_t needed = 0;                // the copies it waits for: R
    uint32_t write_back = 0;            // W: blocking repair makes this many hold `merged`
    bool merged_ready = false;
    KeyState merged;
    std::set<NodeId> holders;  // replicas known to hold `merged` durably
    std::set<NodeId> repairing;
    bool answered = false;
    TimeMs deadline_ms = 0;
    TimeMs resend_ms = 0;  // when the replicas it still waits for are asked again
    // Linearizable: the write this read is the first phase of (its tag goes above what it finds).
    std::optional<Request> write;
    // A removal this node coordinates, which reads R replicas' copies of what it removes first
    // (collections.cc); with its origin and W. `names`: the elements read (none: every one).
    std::optional<CommandRequest> removal;
    Origin removal_origin;
    uint32_t removal_replicas = 0;
    std::vector<ElementName> names;
  };
  struct PartRef {
    uint64_t operation = 0;
    size_t index = 0;
  };
  struct Peer {
    NodeId id;
    bool heard = false;
    TimeMs last_heard_ms = 0;
    std::optional<bool> durable;  // its last STATUS: it runs fsync "always" (none heard yet)
  };

  void load();
  // A key's copy in storage (copies.cc): what this node stores of it apart from its element
  // states — the record's metadata (the record: what GET or a collection's reads show here), or
  // the tombstone table when nothing shows.
  struct Stored {
    KeyState part;                     // the key's registers, context and timestamp (no elements)
    uint64_t states_id = 0;            // the id its element states are stored under (0: none yet)
    uint64_t states = 0;               // element states stored
    std::map<char, uint64_t> present;  // of them, those present, per kind (none at 0)
    bool empty() const { return part.empty() && states == 0; }
  };
  static std::string encode_stored(const Stored& stored);
  static std::optional<Stored> decode_stored(std::string_view bytes);
  void load_tombstones();
  Stored load_stored(const std::string& key);
  // The key's part and the element states `names` lists (every one when null).
  KeyState load_part(const Stored& stored, const std::vector<ElementName>* names) const;
  KeyState load_copy(const std::string& key);
  // Stores `after` over `before` (`stored` as it was when `before` was read, which names the
  // same elements or more): the key's part, the element states that changed, the counts, the
  // digest, and what the node shows of the key.
  void store_copy(const std::string& key, Stored stored, const KeyState& before, KeyState after);
  // Two copies joined as this mode joins them (KeyState::join, resolved by the conflict policy;
  // the linearizable mode: join_highest).
  KeyState joined(const KeyState& a, const KeyState& b) const;
  // Under lww, keeps only the highest of the copy's concurrent registers; how many it discarded.
  size_t resolve_lww(KeyState& copy) const;
  // Whether `copy` already holds everything of `merged`: joining it in would change nothing.
  bool holds(const KeyState& copy, const KeyState& merged) const {
    return joined(copy, merged) == copy;
  }
  // Joins `incoming` into the key's copy; returns whether the copy changed. A copy naming this
  // node's own dots far beyond any it could have issued is refused (counted malformed).
  bool join_copy(const std::string& key, const KeyState& incoming);
  bool names_own_dots_far_ahead(const KeyState& copy) const;

  // Client requests at the node they came to.
  void start_operation(ClientRequest request);
  void start_part(uint64_t operation_id, size_t index);
  void part_done(uint64_t part_id, Reply reply,
                 std::optional<SessionPosition> position = std::nullopt);
  void finish_operation(uint64_t operation_id);
  void answer(const ClientRequest& request, Reply reply,
              std::optional<SessionPosition> written = std::nullopt,
              std::optional<SessionPosition> read_at = std::nullopt);
  // The reply of a read part from the reconciled copy.
  Reply read_reply(const Request& request, const KeyState& copy) const;

  // Collections and the commands of the data families (collections.cc).
  // Why `command` is refused, or nullopt when this node takes it.
  std::optional<std::string> refuse_command(const CommandRequest& command) const;
  // A write that adds to a counter (HINCRBY, ZINCRBY, ZADD INCR): its element and amount. Never
  // coordinated twice.
  struct Increment {
    ElementName element;
    int64_t delta = 0;
    double float_delta = 0;
  };
  static std::optional<Increment> increment_of(const CommandRequest& command);
  // Whether a write removes elements (SREM, HDEL, ZREM, ZREMRANGEBYSCORE, ZREMRANGEBYLEX): it
  // reads R replicas' copies of what it removes first.
  static bool removes(std::string_view name);
  // Shows a whole copy at `key` in a keyspace that holds nothing of it (a read's scratch one):
  // its collection, or its string.
  static void show_copy(Keyspace& keyspace, const std::string& key, const KeyState& copy,
                        TimeMs now_ms);
  // `read_replicas`: a removal first reads that many replicas' copies of what it removes (the
  // client's R: with R + W > N it removes every add acknowledged before it); 0: it has.
  void coordinate_command(const std::string& key, const CommandRequest& command,
                          uint32_t write_replicas, Origin origin, uint32_t read_replicas);
  // Starts a removal's read of R replicas' copies of the elements it names (every one when it
  // names none); coordinate_command runs once they are joined into this node's.
  void read_before_removal(const std::string& key, const CommandRequest& command,
                           uint32_t write_replicas, Origin origin, uint32_t read_replicas);
  proto::LeaderlessMessage read_message(uint64_t request, const ReadRound& round) const;
  // A read command's reply: the command run on a scratch keyspace showing the parts' copies.
  Reply execute_on_copies(const CommandRequest& command, const std::vector<Part>& parts);
  // A write's dot (above every dot of this node the copy has seen) and timestamp (above every
  // timestamp it has seen).
  Dot next_dot(const KeyState& copy);
  HlcTimestamp next_stamp(const KeyState& copy);

  // Writes this node coordinates.
  void coordinate(const std::string& key, const Request& request, uint32_t write_replicas,
                  Origin origin);
  void coordinate_vset(const std::string& key, const CausalContext& context, std::string value,
                       TimeMs relative_expiry_ms, uint32_t write_replicas, Origin origin);
  // Writes the register `value` to the key's copy under a new dot, superseding `replaces`, and
  // sends the copy to the other replicas; answers `answer` once `write_replicas` hold it.
  // `clears_elements`: a SET or DEL, which removes the elements of the collection the copy shows.
  // (`stored` and `copy`: as read from this node's storage, `copy` whole when it clears elements.)
  void write_and_replicate(const std::string& key, Stored stored, KeyState copy,
                           const CausalContext& replaces, Register value, Reply answer,
                           uint32_t write_replicas, Origin origin, bool clears_elements = false);
  // Sends `copy` (holding the write under `dot`, stamped `stamp`) to the key's replicas — this
  // node stores it first when it is one — and answers `answer` once `write_replicas` hold it.
  // `stored` and `before`: what this node's storage held when `copy` was read from it (the
  // causal mode's coordinator stores `copy` over them; the linearizable mode joins it).
  void replicate_write(const std::string& key, KeyState copy, const Dot& dot,
                       const HlcTimestamp& stamp, const CausalContext& replaces, Reply answer,
                       uint32_t write_replicas, Origin origin, Stored* stored = nullptr,
                       const KeyState* before = nullptr);
  void check_coordination(uint64_t id);
  void answer_origin(const Origin& origin, Reply reply,
                     std::optional<SessionPosition> position = std::nullopt);

  // Reads this node coordinates (`write`: the first phase of a linearizable write).
  void start_read(uint64_t part_id, const std::string& key, uint32_t read_replicas,
                  std::optional<Request> write = std::nullopt);
  // Linearizable: the second phase of a write, once a majority's copies are joined in `found`.
  void write_above(uint64_t part_id, const std::string& key, const Request& request,
                   const KeyState& found);
  // Why a request is refused in linearizable mode, or nullopt.
  std::optional<std::string> refuse_linearizable(const Request& request) const;
  void check_read(uint64_t id);

  // Peers.
  void receive_forward(const proto::LeaderlessMessage& message);
  void receive_replicate(const proto::LeaderlessMessage& message);
  void receive_read(const proto::LeaderlessMessage& message);
  void send(NodeId to, proto::LeaderlessMessage& message);
  static bool contains(const std::vector<NodeId>& nodes, NodeId node) {
    return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
  }
  void observe_clock(const proto::LeaderlessMessage& message);
  bool peer_up(NodeId node) const;

  void expire_timed_out();
  // Anti-entropy (anti_entropy.cc).
  void build_digests();
  // A key's digest is the XOR of its part's hash and its element states' (0: none), so a change
  // moves it by the hashes of what changed.
  static uint64_t part_hash(const std::string& key, const KeyState& copy);
  static uint64_t element_hash(const std::string& key, const ElementName& name,
                               const ElementState& state);
  // The key's copy changed by `change` (the XOR of the hashes it moved; `gone`: nothing of it is
  // left): its bucket's leaf, in the tree of every peer that replicates the key, moves with it.
  void update_digest(const std::string& key, uint64_t change, bool gone);
  std::vector<uint64_t> group_digests(NodeId peer) const;
  void start_exchange();
  void receive_summary(const proto::LeaderlessMessage& message);
  void receive_leaves(const proto::LeaderlessMessage& message);
  void receive_keys(const proto::LeaderlessMessage& message);
  // Sends `peer` this node's copies of `keys` it shares with it (at most anti_entropy_keys_max).
  void send_copies(NodeId peer, const std::vector<std::string>& keys);
  bool shares(const std::string& key, NodeId peer) const;

 public:
  // The root of this node's tree of the keys it shares with `peer`: equal on both sides when
  // their copies of those keys are (INFO anti_entropy_roots; tests).
  uint64_t tree_root(NodeId peer) const;

 private:
  // Hinted handoff (hints.cc).
  void load_hints();
  void add_hint(NodeId target, const std::string& key);
  void drop_hint(NodeId target, const std::string& key);
  // Sloppy quorums (sloppy.cc).
  void assign_fallbacks(Coordination& coordination, const proto::LeaderlessMessage& message);
  bool fallback_acknowledged(Coordination& coordination, NodeId from);
  // The replicas of the coordination's key that hold its copy, or have a fallback that does.
  size_t covered(const Coordination& coordination) const;
  void hold_for(const proto::LeaderlessMessage& message, const KeyState& copy);
  void load_handoffs();
  // The copy a hint for `target` sends: the one held for it as a fallback, else this node's.
  KeyState hint_copy(NodeId target, const std::string& key);
  void drop_handoff(NodeId target, const std::string& key);
  void replay_hints();
  // Tombstone collection (tombstones.cc).
  void schedule_reap(const std::string& key, const KeyState& copy);
  void reap_due();
  void reap(const std::string& key, const KeyState& tombstone);
  void receive_reap(const proto::LeaderlessMessage& message);
  // Whether `request` was a hint's replay to `from`; then the hint is done.
  bool hint_acknowledged(NodeId from, uint64_t request);
  // Asks again what a lost message may have left unanswered: copies from replicas that have not
  // acknowledged a write or a write-back, and copies a read still waits for.
  void resend_unanswered();
  proto::LeaderlessMessage replicate_message(uint64_t request, const std::string& key,
                                             const KeyState& copy, bool ack) const;
  void expire_due();
  uint64_t next_id() { return ++last_id_; }

  Options options_;
  Rng rng_;
  const StorageView& view_;
  HashRing ring_;
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
  HybridClock clock_;
  bool meta_dirty_ = false;  // the counter and the clock go with the next batch
  std::map<NodeId, Peer> peers_;
  // Anti-entropy: every copy this node holds, by leaf bucket (the top bits of the key's ring
  // position), with its content hash; and per peer, the leaf digests of the keys both replicate
  // (the XOR of their hashes: order-free, updated in place).
  std::vector<std::map<std::string, uint64_t>> buckets_;
  std::map<NodeId, std::vector<uint64_t>> leaves_;
  TimeMs next_exchange_ms_ = 0;
  size_t exchange_turn_ = 0;
  // Hints, per replica: the keys it lacks a write of, each with when the hint was made (wall ms).
  std::map<NodeId, std::map<std::string, TimeMs>> hints_;
  uint64_t hint_count_ = 0;
  // Replays in flight, by request id: to whom, which key, when sent (a hint made since is kept).
  struct Replay {
    NodeId target;
    std::string key;
    TimeMs sent_wall_ms = 0;
    TimeMs resend_ms = 0;
  };
  std::map<uint64_t, Replay> replays_;
  // Deleted keys' copies (every register a tombstone), kept so that a late copy of what the
  // delete superseded does not come back.
  std::map<std::string, Stored> tombstones_;

  uint64_t last_id_ = 0;  // request ids: drawn at random at start, so a late answer to an id of
                          // an earlier life of this node matches nothing
  std::map<uint64_t, Operation> operations_;
  std::map<uint64_t, PartRef> parts_;
  std::map<uint64_t, Coordination> coordinations_;
  std::map<uint64_t, ReadRound> reads_;
  // Parts this node forwarded to a coordinator: the message (sent again every heartbeat until
  // answered — the coordinator answers a repeat once — to another replica once the target seems
  // down: then the write may be coordinated twice, the same value under two dots), and when it
  // stops waiting.
  struct Forward {
    std::vector<NodeId> replicas;  // the key's
    NodeId target;
    proto::LeaderlessMessage message;
    TimeMs deadline_ms = 0;
    TimeMs resend_ms = 0;
    // Whether it is sent again (to another replica once the target seems down): not an
    // increment, which a coordinator that restarted in between — its memory of the first gone —
    // or a second replica would count twice. A lost one times out: "it may still take effect".
    bool resend = true;
  };
  std::map<uint64_t, Forward> forwards_;
  // Writes peers forwarded to this node, by (peer, its request id): nullopt while coordinated,
  // then the answer — a repeated FORWARD is answered again, not coordinated twice (a VSET would
  // become two siblings). Kept for twice the request timeout, and in memory only: a repeat after
  // that, or after a restart, is coordinated again.
  struct Forwarded {
    std::optional<std::pair<Reply, std::optional<SessionPosition>>> answer;
    TimeMs since_ms = 0;
  };
  std::map<std::pair<NodeId, uint64_t>, Forwarded> forwarded_;

  bool report_history_ = false;  // take_history_events() was called: keep them
  std::vector<HistoryFields> history_events_;
  // The last write a client request made (for the simulator's history).
  std::optional<Dot> last_dot_;
  std::optional<CausalContext> last_context_;

  // Metrics.
  uint64_t writes_coordinated_ = 0;
  uint64_t writes_forwarded_ = 0;
  uint64_t writes_timed_out_ = 0;
  uint64_t reads_started_ = 0;
  uint64_t reads_timed_out_ = 0;
  uint64_t resends_ = 0;
  uint64_t dots_skipped_ = 0;
  uint64_t exchanges_ = 0;          // anti-entropy exchanges this node began
  uint64_t buckets_differing_ = 0;  // leaf buckets found different
  uint64_t anti_entropy_keys_ = 0;  // copies sent by anti-entropy
  uint64_t hints_written_ = 0;
  // Deletes every replica acknowledged, to collect once due (tombstones.cc), in due order: the
  // part of the key's copy that may go (its tombstones, its removed elements).
  struct Reap {
    std::string key;
    KeyState tombstone;
    TimeMs at_ms = 0;
  };
  std::deque<Reap> reaps_;
  uint64_t reaps_sent_ = 0, tombstones_reaped_ = 0;
  uint64_t elements_reaped_ = 0;  // removed elements' states collected here
  // Copies held as a fallback for a replica that was down (sloppy.cc), until handed over.
  std::map<std::pair<NodeId, std::string>, KeyState> handoffs_;
  uint64_t writes_sloppy_ = 0, fallback_copies_taken_ = 0;
  uint64_t hints_replayed_ = 0;     // acknowledged by their replica
  uint64_t hints_dropped_ = 0;      // over hints_max
  uint64_t mutant_replicates_ = 0;  // (Options::Mutants::lose_joins)
  // `count` of `replicas`, drawn uniformly (Options::pbs_draws).
  std::vector<NodeId> draw(std::vector<NodeId> replicas, uint32_t count);
  uint64_t hints_expired_ = 0;  // older than hint_window_ms  // forwarded writes that arrived after
                                // their client's deadline // counters a context had run ahead of
  uint64_t copies_joined_ = 0;  // copies a peer sent that changed this node's
  uint64_t repairs_sent_ = 0;
  uint64_t conflicts_resolved_ = 0;  // registers lww discarded here
  uint64_t siblings_refused_ = 0;
  uint64_t hlc_refused_ = 0;
  bool element_write_ = false;  // the write being replicated is a collection's elements'
  uint64_t expired_ = 0;
  uint64_t malformed_ = 0;
};

}  // namespace replikv::core::leaderless
