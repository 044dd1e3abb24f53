// The Ready contract's driver side (core/ready_ledger.h): what waits for which sync, when the
// durable position moves, and the counts that catch a driver or a replica breaking the contract.
#include <gtest/gtest.h>

#include "core/ready_ledger.h"

namespace replikv::core {
namespace {

// A replica that only answers may_leave_early: log shipments ("append") may, nothing else.
class Protocol final : public Replica {
 public:
  void client_request(ClientRequest) override {}
  void peer_message(const Message&) override {}
  using Replica::tick;
  void tick(TimeMs, TimeMs) override {}
  void persisted(ReadyId) override {}
  bool take_ready(Ready&) override { return false; }
  ReplicaStatus status() const override { return {}; }
  bool may_leave_early(const Message& message) const override {
    return message.payload == "append";
  }
};

Ready make_ready(uint64_t id, Sync sync, int replies, std::vector<Message> messages = {}) {
  Ready ready;
  ready.id = ReadyId(id);
  ready.sync = sync;
  for (int i = 0; i < replies; ++i) {
    ready.replies.push_back({ConnectionId(1), id * 10 + static_cast<uint64_t>(i), Reply::ok(),
                             std::nullopt, std::nullopt});
  }
  ready.messages = std::move(messages);
  return ready;
}

Message message(const char* payload, bool early) { return {NodeId(1), NodeId(2), payload, early}; }

struct Released {
  std::vector<uint64_t> replies;  // sequences
  std::vector<std::string> messages;
};

Released release(ReadyLedger& ledger) {
  Released out;
  ledger.release(
      [&](ReadyId id, ClientReply& reply) {
        ledger.replies_released(id);
        out.replies.push_back(reply.sequence);
      },
      [&](Message& m) { out.messages.push_back(m.payload); });
  return out;
}

TEST(ReadyLedger, AReplyWaitsForTheSyncItsReadyAsks) {
  const Protocol protocol;
  ReadyLedger ledger(/*fsync_always=*/true);
  std::vector<Message> early;
  Ready write = make_ready(1, Sync::per_policy, 1);
  EXPECT_TRUE(ledger.admit(write, protocol, early));
  EXPECT_FALSE(ledger.advance()) << "nothing is durable before the sync";
  EXPECT_TRUE(release(ledger).replies.empty());
  ASSERT_TRUE(ledger.sync_wanted());
  EXPECT_EQ(ledger.begin_sync(), ReadyId(1));
  EXPECT_FALSE(ledger.advance()) << "a sync that has begun is not a sync that has ended";
  ledger.end_sync();
  EXPECT_EQ(ledger.advance(), ReadyId(1));
  EXPECT_EQ(release(ledger).replies, std::vector<uint64_t>{10});
  EXPECT_EQ(ledger.replies_released_before_durable(), 0u);
}

TEST(ReadyLedger, FsyncNeverMakesAPerPolicyReadyDurableAtOnce) {
  const Protocol protocol;
  ReadyLedger ledger(/*fsync_always=*/false);
  std::vector<Message> early;
  Ready write = make_ready(1, Sync::per_policy, 1);
  EXPECT_FALSE(ledger.admit(write, protocol, early));
  EXPECT_EQ(ledger.advance(), ReadyId(1));
  // A term or vote is synced whatever the setting.
  Ready vote = make_ready(2, Sync::always, 1);
  EXPECT_TRUE(ledger.admit(vote, protocol, early));
  EXPECT_FALSE(ledger.advance());
}

TEST(ReadyLedger, AReadyWithoutWritesWaitsForTheOnesBeforeIt) {
  const Protocol protocol;
  ReadyLedger ledger(true);
  std::vector<Message> early;
  Ready write = make_ready(1, Sync::per_policy, 1);
  Ready read = make_ready(2, Sync::none, 1);
  ledger.admit(write, protocol, early);
  ledger.admit(read, protocol, early);
  EXPECT_FALSE(ledger.advance()) << "the read may reflect the unsynced write";
  ledger.sync_now();
  EXPECT_EQ(ledger.advance(), ReadyId(2));
  EXPECT_EQ(release(ledger).replies, (std::vector<uint64_t>{10, 20}));
}

TEST(ReadyLedger, ReadiesAdmittedDuringASyncWaitForTheNext) {
  const Protocol protocol;
  ReadyLedger ledger(true);
  std::vector<Message> early;
  Ready first = make_ready(1, Sync::per_policy, 1);
  ledger.admit(first, protocol, early);
  ledger.begin_sync();
  Ready second = make_ready(2, Sync::per_policy, 1);
  Ready third = make_ready(3, Sync::none, 1);
  ledger.admit(second, protocol, early);
  ledger.admit(third, protocol, early);
  EXPECT_FALSE(ledger.sync_wanted()) << "one sync at a time";
  ledger.end_sync();
  EXPECT_EQ(ledger.advance(), ReadyId(1));
  EXPECT_EQ(release(ledger).replies, std::vector<uint64_t>{10});
  ASSERT_TRUE(ledger.sync_wanted());
  ledger.sync_now();
  EXPECT_EQ(ledger.advance(), ReadyId(3));
  EXPECT_EQ(release(ledger).replies, (std::vector<uint64_t>{20, 30}));
  EXPECT_EQ(ledger.syncs_total(), 2u);
}

TEST(ReadyLedger, LogShipmentsLeaveAtOnceAndTheRestWhenDurable) {
  const Protocol protocol;
  ReadyLedger ledger(true);
  std::vector<Message> early;
  Ready ready =
      make_ready(1, Sync::per_policy, 0, {message("append", true), message("ack", false)});
  ledger.admit(ready, protocol, early);
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(early[0].payload, "append");
  ledger.sync_now();
  ASSERT_TRUE(ledger.advance());
  EXPECT_EQ(release(ledger).messages, std::vector<std::string>{"ack"});
  EXPECT_EQ(ledger.early_violations(), 0u);
}

// The protocol's rule and the Ready's: an acknowledgement marked early, or anything early in a
// Ready that writes a term or vote, is counted (and still sent: the driver reports, not hides).
TEST(ReadyLedger, AnEarlyMessageTheProtocolForbidsIsCounted) {
  const Protocol protocol;
  ReadyLedger ledger(true);
  std::vector<Message> early;
  Ready ack = make_ready(1, Sync::per_policy, 0, {message("ack", true)});
  ledger.admit(ack, protocol, early);
  EXPECT_EQ(ledger.early_violations(), 1u);
  Ready vote = make_ready(2, Sync::always, 0, {message("append", true)});
  ledger.admit(vote, protocol, early);
  EXPECT_EQ(ledger.early_violations(), 2u);
  EXPECT_EQ(early.size(), 2u);
  EXPECT_NE(ledger.first_early_violation().find("the protocol says it may not"), std::string::npos)
      << ledger.first_early_violation();
}

// A broken driver — one that hands a reply to its client as soon as the batch is written, not
// through release() — moves the count that the node exposes as
// replikv_replies_released_before_durable; the ledger's own release never does.
TEST(ReadyLedger, ADriverReleasingBeforeTheSyncIsCounted) {
  const Protocol protocol;
  ReadyLedger ledger(true);
  std::vector<Message> early;
  Ready write = make_ready(1, Sync::per_policy, 2);
  std::vector<ClientReply> bypassed = std::move(write.replies);
  write.replies.clear();
  ledger.admit(write, protocol, early);
  for (size_t i = 0; i < bypassed.size(); ++i) ledger.replies_released(write.id);
  EXPECT_EQ(ledger.replies_released_before_durable(), 2u);
  ledger.sync_now();
  ledger.advance();
  ledger.replies_released(ReadyId(1));  // now durable: not counted
  EXPECT_EQ(ledger.replies_released_before_durable(), 2u);
}

TEST(ReadyLedger, ACrashLosesWhatWaited) {
  const Protocol protocol;
  ReadyLedger ledger(true);
  std::vector<Message> early;
  Ready write = make_ready(1, Sync::per_policy, 1);
  ledger.admit(write, protocol, early);
  EXPECT_EQ(ledger.waiting_replies(), 1u);
  ledger.reset();
  EXPECT_EQ(ledger.waiting_replies(), 0u);
  // The next replica's Readies start at 1 again.
  Ready again = make_ready(1, Sync::none, 1);
  ledger.admit(again, protocol, early);
  EXPECT_EQ(ledger.advance(), ReadyId(1));
  EXPECT_EQ(release(ledger).replies, std::vector<uint64_t>{10});
}

}  // namespace
}  // namespace replikv::core
