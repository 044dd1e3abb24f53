// The quorum-reads checker (check/quorum.h) on small hand-made histories whose writes and reads
// carry only their answers' positions — as `replikv chaos` records them from real processes,
// where no node reports the simulator's "made" events — and the write position that gives it the
// context each write superseded (core/leaderless/position.h).
#include <sstream>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "check/quorum.h"
#include "core/leaderless/position.h"
#include "support/history_text.h"

namespace replikv::check {
namespace {

std::string time_ms(int64_t ms) { return std::to_string(ms * 1'000'000); }

double figure(const CheckResult& result, const std::string& name) {
  for (const auto& [figure_name, value] : result.figures) {
    if (figure_name == name) return value;
  }
  ADD_FAILURE() << "no figure " << name;
  return -1;
}

// Process `process` writes `value` to "k" under `dot`, superseding `context`, held by 2 of the
// key's 3 replicas when answered at `at_ms` + 1; its timestamp is `at_ms` unless `hlc` is given.
std::string write(int process, int value, const char* dot, const char* context, int64_t at_ms,
                  std::string hlc = "") {
  if (hlc.empty()) hlc = std::to_string(at_ms) + ".0";
  const std::string common = "\"process\":" + std::to_string(process) +
                             ",\"f\":\"write\",\"key\":\"k\",\"value\":" + std::to_string(value);
  return "{" + common + ",\"type\":\"invoke\",\"time\":" + time_ms(at_ms) + "}\n{" + common +
         ",\"type\":\"ok\",\"time\":" + time_ms(at_ms + 1) + ",\"dot\":\"" + dot + "\",\"hlc\":\"" +
         hlc + "\",\"acks\":2,\"n\":3,\"replicas\":\"1.2.3\",\"context\":\"" + context +
         "\",\"tombstone\":false}\n";
}

// Process `process` reads "k" from 2 of its 3 replicas, having seen `seen` and returned `value`
// (JSON) from the registers `registers` (dots, comma separated), concurrent versions resolved by
// `order`.
std::string read(int process, const char* seen, const char* registers, const char* value,
                 int64_t at_ms, const char* order = "siblings", const char* shown = "one") {
  const std::string common =
      "\"process\":" + std::to_string(process) + ",\"f\":\"read\",\"key\":\"k\"";
  return "{" + common + ",\"type\":\"invoke\",\"value\":null,\"time\":" + time_ms(at_ms) + "}\n{" +
         common + ",\"type\":\"ok\",\"value\":" + value + ",\"time\":" + time_ms(at_ms + 1) +
         ",\"seen\":\"" + seen +
         "\",\"asked\":2,\"written_back\":0,\"n\":3,\"replicas\":\"1.2.3\",\"registers\":\"" +
         registers + "\",\"order\":\"" + order + "\",\"shown\":\"" + shown + "\"}\n";
}

// Write 1, then write 2 over it (its context names 1), then one read.
CheckResult judge(const char* registers, const char* value) {
  const auto history =
      testing::parse_history_text(write(1, 1, "1.a:1", "-", 0) + write(2, 2, "1.a:2", "1.a:1", 2) +
                                  read(3, "1.a:2", registers, value, 4));
  return check_quorum_reads(history);
}

TEST(QuorumReads, AReadThatReturnsTheLatestWriteIsValid) {
  const auto result = judge("1.a:2", "2");
  EXPECT_EQ(result.verdict, Verdict::valid) << result.summary;
  EXPECT_EQ(figure(result, "values_judged"), 2);
  EXPECT_EQ(figure(result, "returned_older"), 0);
}

// Its context says it saw write 2, but it returned only the version write 2 superseded: only the
// answers' own "context" fields can tell.
TEST(QuorumReads, AReadThatReturnsOnlyASupersededVersionIsInvalid) {
  const auto result = judge("1.a:1", "1");
  EXPECT_EQ(result.verdict, Verdict::invalid) << result.summary;
  EXPECT_EQ(figure(result, "returned_older"), 1);
  EXPECT_EQ(figure(result, "missed"), 0);
}

TEST(QuorumReads, AConcurrentSiblingAnswersForTheWrite) {
  const auto history =
      testing::parse_history_text(write(1, 1, "1.a:1", "-", 0) + write(2, 2, "2.b:1", "-", 2) +
                                  read(3, "1.a:1,2.b:1", "2.b:1", "2", 4));
  const auto result = check_quorum_reads(history);
  EXPECT_EQ(result.verdict, Verdict::valid) << result.summary;
  EXPECT_EQ(figure(result, "values_judged"), 2);
}

// Under lww, "older" is by timestamp: a concurrent version lww orders before the acknowledged
// write does not answer for it (lww's resolution kept the write over it); under siblings it does.
TEST(QuorumReads, UnderLwwAConcurrentVersionMustBeOrderedAfterTheWrite) {
  const auto history = [](const char* order) {
    return testing::parse_history_text(write(1, 1, "1.a:1", "-", 0, "50.0") +
                                       write(2, 2, "2.b:1", "-", 2, "20.0") +
                                       read(3, "1.a:1,2.b:1", "2.b:1", "2", 4, order));
  };
  const auto lww = check_quorum_reads(history("lww"));
  EXPECT_EQ(lww.verdict, Verdict::invalid) << lww.summary;
  EXPECT_EQ(figure(lww, "returned_older"), 1);
  const auto siblings = check_quorum_reads(history("siblings"));
  EXPECT_EQ(siblings.verdict, Verdict::valid) << siblings.summary;
  // The later timestamp wins under lww: returning the first write answers for both.
  const auto kept = check_quorum_reads(testing::parse_history_text(
      write(1, 1, "1.a:1", "-", 0, "50.0") + write(2, 2, "2.b:1", "-", 2, "20.0") +
      read(3, "1.a:1,2.b:1", "1.a:1", "1", 4, "lww")));
  EXPECT_EQ(kept.verdict, Verdict::valid) << kept.summary;
  EXPECT_EQ(figure(kept, "values_judged"), 2);
}

// The values the client got are what the versions its position names hold: a node that answers
// with one copy and names another's versions is caught, and so is an empty answer, or a VGET that
// leaves out a sibling it names; a version nothing reported leaves the read unchecked.
TEST(QuorumReads, AnAnswerOtherThanTheNamedVersionsHoldIsInvalid) {
  const auto claimed = judge("1.a:2", "1");
  EXPECT_EQ(claimed.verdict, Verdict::invalid) << claimed.summary;
  EXPECT_EQ(figure(claimed, "values_unclaimed"), 1);
  EXPECT_EQ(figure(claimed, "returned_older"), 0);
  const auto empty = judge("1.a:2", "null");
  EXPECT_EQ(empty.verdict, Verdict::invalid) << empty.summary;
  EXPECT_EQ(figure(empty, "values_unclaimed"), 1);
  const auto unverified = judge("1.a:2,3.c:1", "1");
  EXPECT_EQ(figure(unverified, "values_unclaimed"), 0);
  EXPECT_EQ(figure(unverified, "values_unverified"), 1);
  const auto right = judge("1.a:2", "2");
  EXPECT_EQ(figure(right, "values_checked"), 1);
  EXPECT_EQ(figure(right, "values_unclaimed"), 0);
  // Two siblings named: GET shows one of them, VGET must show both.
  const auto history = [](const char* value, const char* shown) {
    return testing::parse_history_text(
        write(1, 1, "1.a:1", "-", 0) + write(2, 2, "2.b:1", "-", 2) +
        read(3, "1.a:1,2.b:1", "1.a:1,2.b:1", value, 4, "siblings", shown));
  };
  EXPECT_EQ(check_quorum_reads(history("2", "one")).verdict, Verdict::valid);
  EXPECT_EQ(check_quorum_reads(history("[1,2]", "all")).verdict, Verdict::valid);
  const auto dropped = check_quorum_reads(history("2", "all"));
  EXPECT_EQ(dropped.verdict, Verdict::invalid) << dropped.summary;
  EXPECT_EQ(figure(dropped, "values_unclaimed"), 1);
  // A SET that deleted (an expiry already past): its value was never held, nil is right.
  std::string deleting = write(2, 2, "1.a:2", "1.a:1", 2);
  deleting.replace(deleting.find("\"tombstone\":false"), 17, "\"tombstone\":true");
  const auto nil = check_quorum_reads(testing::parse_history_text(
      write(1, 1, "1.a:1", "-", 0) + deleting + read(3, "1.a:2", "1.a:2", "null", 4)));
  EXPECT_EQ(nil.verdict, Verdict::valid) << nil.summary;
  EXPECT_EQ(figure(nil, "values_checked"), 1);
}

// A version whose write never answered (a timeout, a kill): what the acknowledged write's context
// says of it is enough to judge it — superseded by the write, an older version; not superseded, a
// sibling of it or later. Under lww only its own timestamp could say which way lww ordered it.
TEST(QuorumReads, AVersionNoAnswerReportedIsJudgedByTheWritesContext) {
  const auto history = [](const char* registers, const char* order) {
    return testing::parse_history_text(write(1, 1, "1.a:1", "-", 0) +
                                       write(2, 2, "1.a:2", "1.a:1,3.c:1", 2) +
                                       read(3, "1.a:2,3.c:2", registers, "7", 4, order));
  };
  const auto superseded = check_quorum_reads(history("3.c:1", "siblings"));
  EXPECT_EQ(superseded.verdict, Verdict::invalid) << superseded.summary;
  // (Against write 1 it is a concurrent sibling: no violation there.)
  EXPECT_EQ(figure(superseded, "returned_older"), 1);
  const auto later = check_quorum_reads(history("3.c:2", "siblings"));
  EXPECT_EQ(later.verdict, Verdict::valid) << later.summary;
  EXPECT_EQ(figure(later, "values_judged"), 2);
  const auto unordered = check_quorum_reads(history("3.c:2", "lww"));
  EXPECT_EQ(unordered.verdict, Verdict::valid) << unordered.summary;
  EXPECT_EQ(figure(unordered, "values_unknown"), 2);
  EXPECT_EQ(figure(unordered, "values_judged"), 0);
}

// A read answered, whose node went down before the recorder asked its position: written as the
// recorder writes it (history.h's writer), it parses, and is counted rather than judged.
TEST(QuorumReads, AnAnswerWhosePositionWasLostIsCountedNotJudged) {
  fmt::memory_buffer out;
  const std::vector<std::pair<std::string, std::string>> lost{
      {std::string(position_lost_field), std::string(position_lost_json)}};
  OperationEvent invoke{3, EventType::invoke, Function::read, "k", "null", 1, false, "", nullptr};
  OperationEvent answered{3, EventType::ok, Function::read, "k", "2", 1, false, "", &lost};
  write_event(out, invoke, 10'000'000);
  write_event(out, answered, 11'000'000);
  std::istringstream text(write(1, 1, "1.a:1", "-", 0) + write(2, 2, "1.a:2", "1.a:1", 2) +
                          std::string(out.data(), out.size()));
  const auto parsed = parse_history(text);
  ASSERT_TRUE(std::holds_alternative<History>(parsed)) << std::get<ParseError>(parsed).message;
  const auto result = check_quorum_reads(std::get<History>(parsed));
  EXPECT_EQ(figure(result, "positions_lost"), 1);
  EXPECT_EQ(result.verdict, Verdict::valid) << result.summary;
}

TEST(QuorumReads, AWritePositionCarriesWhatItSuperseded) {
  core::leaderless::WritePosition position;
  position.dot = core::Dot{core::Actor{2, 0xab}, 7};
  position.replicas = 2;
  position.n = 3;
  position.nodes = {core::NodeId(1), core::NodeId(2), core::NodeId(3)};
  position.superseded = {{core::Actor{1, 0xcd}, 4}};
  position.tombstone = true;
  const auto fields =
      core::leaderless::position_fields(core::leaderless::encode_write_position(position));
  const auto field = [&](const std::string& name) {
    for (const auto& [field_name, value] : fields) {
      if (field_name == name) return value;
    }
    return std::string("(none)");
  };
  EXPECT_EQ(field("dot"), "\"2.000000ab:7\"");
  EXPECT_EQ(field("context"), "\"1.000000cd:4\"");
  EXPECT_EQ(field("tombstone"), "true");
  EXPECT_EQ(field("acks"), "2");
  EXPECT_EQ(field("replicas"), "\"1.2.3\"");

  core::leaderless::ReadPosition read;
  read.replicas = 2;
  read.n = 3;
  read.nodes = position.nodes;
  read.registers = {position.dot};
  read.order = core::leaderless::ReadOrder::lww;
  const auto read_fields =
      core::leaderless::position_fields(core::leaderless::encode_read_position(read));
  ASSERT_GE(read_fields.size(), 2u);
  EXPECT_EQ(read_fields[read_fields.size() - 2].first, "order");
  EXPECT_EQ(read_fields[read_fields.size() - 2].second, "\"lww\"");
  EXPECT_EQ(read_fields.back().first, "shown");
  EXPECT_EQ(read_fields.back().second, "\"one\"");
}

}  // namespace
}  // namespace replikv::check
