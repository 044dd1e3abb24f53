// Peer input a node cannot trust: malformed messages are dropped and counted, never asserted on;
// messages that break the protocol — a second leader in one term, a truncation below the commit
// index — are dropped and counted as protocol violations (the simulator and chaos fail a run on
// any), and the node goes on.
#include <gtest/gtest.h>

#include "core/encoding.h"
#include "unit/raft_cluster.h"

namespace replikv::core {
namespace {

using testing::Cluster;

struct Elected {
  Cluster cluster{3};
  int leader = 0;
  int follower = 0;
  Elected() {
    cluster.run(0, 5000);
    leader = cluster.leaders().at(0);
    follower = leader % 3 + 1;
    cluster.request(leader, 1, SetRequest{"a", "1", {}, {}, false});
    cluster.request(leader, 2, SetRequest{"b", "2", {}, {}, false});
    cluster.run(5010, 5100);
  }
  Term term() { return cluster.node(leader).term(); }
  // An APPEND as `from` would send it to `to`.
  proto::RaftMessage append(int from, uint64_t prev, uint64_t prev_term) {
    proto::RaftMessage message;
    message.set_type(proto::RaftMessage::APPEND);
    message.set_from(static_cast<uint32_t>(from));
    message.set_term(term().value());
    message.set_prev_log_index(prev);
    message.set_prev_log_term(prev_term);
    return message;
  }
  static void add_entry(proto::RaftMessage& message, uint64_t index, uint64_t term,
                        bool with_write = true) {
    proto::LogEntry entry;
    entry.set_index(index);
    entry.set_term(term);
    if (with_write) {
      entry.mutable_write()->mutable_set()->set_key("x");
      entry.mutable_write()->mutable_set()->set_value("forged");
    }
    message.add_entries(entry.SerializeAsString());
  }
  void deliver(int from, int to, const proto::RaftMessage& message) {
    cluster.node(to).peer_message({NodeId(static_cast<uint32_t>(from)),
                                   NodeId(static_cast<uint32_t>(to)), message.SerializeAsString()});
    cluster.drain(to);
  }
  uint64_t malformed(int n) { return cluster.node(n).raft_status().malformed_messages_total; }
  uint64_t violations(int n) {
    return cluster.node(n).raft_status().peer_protocol_violations_total;
  }
};

TEST(RaftPeerInput, MalformedAppendsAreDroppedAndCounted) {
  Elected e;
  const uint64_t last = e.cluster.node(e.follower).raft_status().last_index.value();
  const uint64_t term = e.term().value();
  std::vector<proto::RaftMessage> bad;
  {  // a gap: the entry after prev_log_index is missing
    auto m = e.append(e.leader, last, term);
    Elected::add_entry(m, last + 2, term);
    bad.push_back(m);
  }
  {  // the same index twice (it would over-count what the follower holds)
    auto m = e.append(e.leader, last, term);
    Elected::add_entry(m, last + 1, term);
    Elected::add_entry(m, last + 1, term);
    bad.push_back(m);
  }
  {  // terms that go back within the message
    auto m = e.append(e.leader, last, term);
    Elected::add_entry(m, last + 1, term);
    Elected::add_entry(m, last + 2, term - 1);
    bad.push_back(m);
  }
  {  // an entry of a term after the message's
    auto m = e.append(e.leader, last, term);
    Elected::add_entry(m, last + 1, term + 1);
    bad.push_back(m);
  }
  {  // a write with no operation
    auto m = e.append(e.leader, last, term);
    proto::LogEntry entry;
    entry.set_index(last + 1);
    entry.set_term(term);
    entry.mutable_write();
    m.add_entries(entry.SerializeAsString());
    bad.push_back(m);
  }
  {  // bytes that are no entry
    auto m = e.append(e.leader, last, term);
    m.add_entries(std::string("\xff\xff\xff", 3));
    bad.push_back(m);
  }
  for (size_t i = 0; i < bad.size(); ++i) {
    const uint64_t before = e.malformed(e.follower);
    e.deliver(e.leader, e.follower, bad[i]);
    EXPECT_EQ(e.malformed(e.follower), before + 1) << "case " << i;
    EXPECT_EQ(e.cluster.node(e.follower).raft_status().last_index.value(), last) << "case " << i;
  }
  // From a node that is not a member, or claiming to be the receiver itself.
  const uint64_t before = e.malformed(e.follower);
  auto stranger = e.append(9, last, term);
  e.deliver(9, e.follower, stranger);
  auto itself = e.append(e.follower, last, term);
  e.deliver(e.follower, e.follower, itself);
  EXPECT_EQ(e.malformed(e.follower), before + 2);
  EXPECT_EQ(e.violations(e.follower), 0u) << "malformed is not a violation";
  // The cluster goes on.
  e.cluster.request(e.leader, 3, SetRequest{"c", "3", {}, {}, false});
  e.cluster.run(5110, 5200);
  EXPECT_EQ(e.cluster.reply_for(3), Reply::ok());
}

// Election safety, as a receiver sees it: an APPEND of the term this node leads comes from a
// second leader of that term. Dropped and counted; the node keeps leading.
TEST(RaftPeerInput, AnAppendInTheTermThisNodeLeadsIsAProtocolViolation) {
  Elected e;
  const uint64_t last = e.cluster.node(e.leader).raft_status().last_index.value();
  auto forged = e.append(e.follower, last, e.term().value());
  e.deliver(e.follower, e.leader, forged);
  EXPECT_EQ(e.violations(e.leader), 1u);
  EXPECT_NE(
      e.cluster.node(e.leader).raft_status().first_protocol_violation.find("which this node leads"),
      std::string::npos);
  EXPECT_EQ(e.cluster.node(e.leader).role(), Raft::Role::leader);
}

// Under a quorum (no rollback), an APPEND that conflicts with a committed entry would truncate
// it: dropped and counted, and the committed entry stays.
TEST(RaftPeerInput, AnAppendThatWouldTruncateACommittedEntryIsAProtocolViolation) {
  Elected e;
  const uint64_t commit = e.cluster.node(e.follower).commit_index().value();
  ASSERT_GE(commit, 2u);
  const auto held = e.cluster.log_indexes(e.follower);
  // As from a leader of the next term whose log differs at `commit`.
  auto forged = e.append(e.leader, commit - 1, e.term().value());
  forged.set_term(e.term().value() + 1);
  forged.set_prev_log_term(e.cluster.node(e.follower).raft_status().term.value());
  Elected::add_entry(forged, commit, e.term().value() + 1);
  e.deliver(e.leader, e.follower, forged);
  EXPECT_EQ(e.violations(e.follower), 1u)
      << e.cluster.node(e.follower).raft_status().first_protocol_violation;
  EXPECT_EQ(e.cluster.node(e.follower).commit_index().value(), commit);
  EXPECT_EQ(e.cluster.log_indexes(e.follower), held);
}

TEST(RaftPeerInput, MalformedSnapshotChunksAreDroppedAndCounted) {
  Elected e;
  auto chunk = [&](Column column, std::string key, std::string value) {
    proto::RaftMessage message;
    message.set_type(proto::RaftMessage::INSTALL_SNAPSHOT);
    message.set_from(static_cast<uint32_t>(e.leader));
    message.set_term(e.term().value());
    auto* snapshot = message.mutable_snapshot();
    snapshot->set_index(1000);
    snapshot->set_term(e.term().value());
    snapshot->set_number(0);
    auto* record = snapshot->add_records();
    record->set_column(static_cast<uint32_t>(column));
    record->set_key(std::move(key));
    record->set_value(std::move(value));
    return message;
  };
  const std::vector<proto::RaftMessage> bad = {
      chunk(Column::meta, "raft_term", std::string(8, '\0')),         // the node's own records
      chunk(Column::log, std::string(8, '\0'), "x"),                  // the log never travels
      chunk(Column::state, std::string(state_counters), "short"),     // counters are 24 bytes
      chunk(Column::state, std::string(state_applied), "1234567"),    // the applied index: 8
      chunk(Column::state, std::string(state_applied_terms), "odd"),  // (index, term) pairs
      chunk(Column::state, "raft_window_x", "?"),                     // a window's key and bytes
      chunk(Column::state, "unknown", ""),                            // a record it does not know
      chunk(Column::data, "short", "v"),                              // a data key has its hash
      // A collection's record without a header, and elements that are not one of the kinds.
      chunk(Column::data, data_key("h"), encode_value("bad", std::nullopt, {}, 0, ValueType::hash)),
      chunk(Column::elements, "12345678", ""),                                        // no kind
      chunk(Column::elements, element_key(1, element_scored, "12345678m"), "short"),  // a score: 8
      chunk(Column::elements, element_key(1, element_position, "1"), "v"),  // a position: 8 bytes
      chunk(Column::elements, element_key(1, 'x', "12345678"), ""),         // an unknown kind
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    const uint64_t before = e.malformed(e.follower);
    e.deliver(e.leader, e.follower, bad[i]);
    EXPECT_EQ(e.malformed(e.follower), before + 1) << "case " << i;
    EXPECT_FALSE(e.cluster.node(e.follower).raft_status().installing_snapshot) << "case " << i;
  }
}

}  // namespace
}  // namespace replikv::core
