// Anti-entropy with hash trees (Merkle trees, as Dynamo §4.7 and Riak's active anti-entropy use
// them): what read repair and hints missed — a key nobody read since a replica missed its write, a
// hint dropped or lost with its coordinator — is found and repaired in the background.
//
// Each node keeps, for each peer, a tree over the keys both replicate: 1024 leaf buckets by the
// top bits of the key's ring position, each the XOR of hash(key, copy) of its keys (so a change
// updates one leaf in place, whatever order changes come in), 64 groups of 16 leaves hashed
// together, and a root. Every anti_entropy_interval_ms a node sends one peer, in turn, its 64
// group digests (512 bytes); the peer answers with its leaves of the groups that differ; the node
// lists its keys of the buckets whose leaves differ, with their hashes (at most
// anti_entropy_keys_max, from a random place: a larger bucket is covered over a few exchanges);
// the peer sends its copies of the keys that differ or the node lacks, and asks for the node's
// copies of the keys it lacks. Both join what they get, as they join any copy. Bytes exchanged:
// the summary, the differing groups' leaves, the differing buckets' key names and hashes, and the
// copies that differ.
//
// A copy is hashed with its expired registers made tombstones (a node that swept a key and one
// that has not yet hold the same writes), so sweeps alone never count as differences.
#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "core/leaderless/replica.h"

namespace replikv::core::leaderless {
namespace {

constexpr uint32_t leaf_bits = 10;
constexpr uint32_t leaf_count = 1u << leaf_bits;  // 1024
constexpr uint32_t group_size = 16;
constexpr uint32_t group_count = leaf_count / group_size;  // 64

uint32_t bucket_of(std::string_view key) {
  return static_cast<uint32_t>(HashRing::position(key) >> (64 - leaf_bits));
}

uint64_t mix(uint64_t h) {  // splitmix64's finalizer
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

uint64_t combine(const uint64_t* hashes, size_t count) {
  uint64_t out = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < count; ++i) out = mix(out ^ hashes[i]);
  return out;
}

}  // namespace

// (Each hash covers the key's name, so equal states of two keys differ; the key's part with its
// registers' deadlines as passed, so an expiry one copy has made and another not yet does not.)
uint64_t Leaderless::part_hash(const std::string& key, const KeyState& copy) {
  KeyState part;
  part.registers = copy.registers;
  part.context = copy.context;
  part.seen_hlc = copy.seen_hlc;
  if (part.registers.empty() && part.context.empty() && part.seen_hlc == HlcTimestamp{}) return 0;
  part.expire(INT64_MAX);
  std::string bytes = key;
  bytes.push_back('\0');
  bytes += part.encode();
  return mix(HashRing::position(bytes));
}

uint64_t Leaderless::element_hash(const std::string& key, const ElementName& name,
                                  const ElementState& state) {
  std::string bytes = key;
  bytes.push_back('\0');
  bytes.push_back(name.first);
  bytes += name.second;
  bytes.push_back('\0');
  bytes += state.encode();
  return mix(HashRing::position(bytes) ^ 0x5bd1e9955bd1e995ULL);
}

void Leaderless::build_digests() {
  buckets_.assign(leaf_count, {});
  for (const auto& [id, peer] : peers_) leaves_[id].assign(leaf_count, 0);
  for (const auto& [key, copy] : copies()) {
    uint64_t hash = part_hash(key, copy);
    for (const auto& [name, state] : copy.elements) hash ^= element_hash(key, name, state);
    update_digest(key, hash, copy.empty());
  }
}

void Leaderless::update_digest(const std::string& key, uint64_t change, bool gone) {
  if (buckets_.empty()) return;  // (before build_digests)
  const uint32_t bucket = bucket_of(key);
  auto& keys = buckets_[bucket];
  const auto it = keys.find(key);
  const uint64_t before = it == keys.end() ? 0 : it->second;
  const uint64_t after = gone ? 0 : before ^ change;
  if (before == after && !(gone && it != keys.end())) return;
  if (gone) {
    if (it != keys.end()) keys.erase(it);
  } else {
    keys[key] = after;
  }
  for (const NodeId replica : replicas_of(key)) {
    const auto leaves = leaves_.find(replica);
    if (leaves != leaves_.end()) leaves->second[bucket] ^= before ^ after;
  }
}

std::vector<uint64_t> Leaderless::group_digests(NodeId peer) const {
  std::vector<uint64_t> out(group_count, 0);
  const auto leaves = leaves_.find(peer);
  if (leaves == leaves_.end()) return out;
  for (uint32_t group = 0; group < group_count; ++group) {
    out[group] = combine(leaves->second.data() + group * group_size, group_size);
  }
  return out;
}

uint64_t Leaderless::tree_root(NodeId peer) const {
  const auto groups = group_digests(peer);
  return combine(groups.data(), groups.size());
}

void Leaderless::start_exchange() {
  if (options_.anti_entropy_interval_ms == 0 || peers_.empty() ||
      monotonic_ms_ < next_exchange_ms_) {
    return;
  }
  next_exchange_ms_ = monotonic_ms_ + options_.anti_entropy_interval_ms;
  auto it = peers_.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(exchange_turn_++ % peers_.size()));
  if (!peer_up(it->first)) return;
  ++exchanges_;
  proto::LeaderlessMessage message;
  message.set_type(proto::LeaderlessMessage::AE_SUMMARY);
  for (const uint64_t digest : group_digests(it->first)) message.add_digests(digest);
  send(it->first, message);
}

void Leaderless::receive_summary(const proto::LeaderlessMessage& message) {
  const NodeId from(message.from());
  if (message.digests_size() != static_cast<int>(group_count)) {
    ++malformed_;
    return;
  }
  const auto mine = group_digests(from);
  const auto& leaves = leaves_.at(from);
  proto::LeaderlessMessage reply;
  reply.set_type(proto::LeaderlessMessage::AE_LEAVES);
  for (uint32_t group = 0; group < group_count; ++group) {
    if (mine[group] == message.digests(static_cast<int>(group))) continue;
    reply.add_groups(group);
    for (uint32_t leaf = 0; leaf < group_size; ++leaf) {
      reply.add_digests(leaves[group * group_size + leaf]);
    }
  }
  if (reply.groups_size() > 0) send(from, reply);
}

void Leaderless::receive_leaves(const proto::LeaderlessMessage& message) {
  const NodeId from(message.from());
  if (message.digests_size() != message.groups_size() * static_cast<int>(group_size)) {
    ++malformed_;
    return;
  }
  const auto& leaves = leaves_.at(from);
  std::vector<uint32_t> differing;
  for (int i = 0; i < message.groups_size(); ++i) {
    const uint32_t group = message.groups(i);
    if (group >= group_count) {
      ++malformed_;
      return;
    }
    for (uint32_t leaf = 0; leaf < group_size; ++leaf) {
      const uint32_t bucket = group * group_size + leaf;
      if (leaves[bucket] !=
          message.digests(i * static_cast<int>(group_size) + static_cast<int>(leaf))) {
        differing.push_back(bucket);
      }
    }
  }
  if (differing.empty()) return;
  buckets_differing_ += differing.size();
  // The keys of those buckets both replicate, with their hashes — at most anti_entropy_keys_max,
  // from a place drawn at random in the list, so that buckets larger than that are all covered
  // over a few exchanges.
  std::vector<std::pair<const std::string*, uint64_t>> listed;
  for (const uint32_t bucket : differing) {
    for (const auto& [key, hash] : buckets_[bucket]) {
      if (shares(key, from)) listed.emplace_back(&key, hash);
    }
  }
  const size_t count = std::min<size_t>(listed.size(), options_.anti_entropy_keys_max);
  const size_t start = listed.size() > count ? rng_.below(listed.size()) : 0;
  proto::LeaderlessMessage keys;
  keys.set_type(proto::LeaderlessMessage::AE_KEYS);
  for (const uint32_t bucket : differing) keys.add_buckets(bucket);
  for (size_t i = 0; i < count; ++i) {
    const auto& [key, hash] = listed[(start + i) % listed.size()];
    keys.add_keys(*key);
    keys.add_digests(hash);
  }
  send(from, keys);
}

bool Leaderless::shares(const std::string& key, NodeId peer) const {
  const auto replicas = replicas_of(key);
  return std::find(replicas.begin(), replicas.end(), peer) != replicas.end();
}

void Leaderless::receive_keys(const proto::LeaderlessMessage& message) {
  const NodeId from(message.from());
  if (message.keys_size() != message.digests_size()) {
    ++malformed_;
    return;
  }
  std::map<std::string_view, uint64_t> theirs;
  for (int i = 0; i < message.keys_size(); ++i) theirs.emplace(message.keys(i), message.digests(i));
  uint64_t budget = options_.anti_entropy_keys_max;
  std::vector<std::string> mine_to_send;
  for (const uint32_t bucket : message.buckets()) {
    if (bucket >= leaf_count) {
      ++malformed_;
      return;
    }
    for (const auto& [key, hash] : buckets_[bucket]) {
      if (!shares(key, from)) continue;
      const auto it = theirs.find(key);
      if (it != theirs.end() && it->second == hash) continue;
      if (mine_to_send.size() < budget) mine_to_send.push_back(key);
    }
  }
  send_copies(from, mine_to_send);
  proto::LeaderlessMessage fetch;
  fetch.set_type(proto::LeaderlessMessage::AE_FETCH);
  for (const auto& [key, hash] : theirs) {
    const uint32_t bucket = bucket_of(key);
    const auto mine = buckets_[bucket].find(std::string(key));
    if (mine != buckets_[bucket].end() && mine->second == hash) continue;
    if (static_cast<uint64_t>(fetch.keys_size()) >= budget) break;
    fetch.add_keys(std::string(key));
  }
  if (fetch.keys_size() > 0) send(from, fetch);
}

void Leaderless::send_copies(NodeId peer, const std::vector<std::string>& keys) {
  uint64_t budget = options_.anti_entropy_keys_max;
  for (const auto& key : keys) {
    if (budget == 0) return;
    const KeyState copy = load_copy(key);
    if (copy.empty() || !shares(key, peer)) continue;
    --budget;
    ++anti_entropy_keys_;
    proto::LeaderlessMessage message = replicate_message(0, key, copy, false);
    send(peer, message);
  }
}

}  // namespace replikv::core::leaderless
