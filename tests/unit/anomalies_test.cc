// Lost writes, stale reads, session guarantees and convergence on small hand-made histories.
#include <sstream>

#include <gtest/gtest.h>

#include "check/anomalies.h"
#include "support/history_text.h"

namespace replikv::check {
namespace {

// Builds a history from compact event lines.
class HistoryText {
 public:
  HistoryText& op(int process, const char* type, const char* f, const char* key, const char* value,
                  int64_t time_ms, const char* extra = "") {
    text_ += fmt(process, type, f, key, value, time_ms, extra);
    return *this;
  }
  HistoryText& raw(const std::string& line) {
    text_ += line + "\n";
    return *this;
  }
  History parse() const { return replikv::testing::parse_history_text(text_); }

 private:
  static std::string fmt(int process, const char* type, const char* f, const char* key,
                         const char* value, int64_t time_ms, const char* extra) {
    return "{\"process\":" + std::to_string(process) + ",\"type\":\"" + type + "\",\"f\":\"" + f +
           "\",\"key\":\"" + key + "\",\"value\":" + value +
           ",\"time\":" + std::to_string(time_ms * 1'000'000) + extra + "}\n";
  }
  std::string text_;
};

// A read that found several concurrent values (siblings) saw each one: an insert among them is
// not lost; the staleness and session checkers leave such a read out rather than judge it by a
// value it did not return.
TEST(LostWrites, AReadOfSeveralValuesSawEachOfThem) {
  // Two acknowledged inserts of key a, 1 and 2, that later reads return as siblings.
  const auto inserts_1_and_2 = [] {
    HistoryText h;
    h.op(1, "invoke", "insert", "a", "1", 0).op(1, "ok", "insert", "a", "1", 1);
    h.op(2, "invoke", "insert", "a", "2", 2).op(2, "ok", "insert", "a", "2", 3);
    return h;
  };
  HistoryText h = inserts_1_and_2();
  h.op(3, "invoke", "insert", "a", "3", 4).op(3, "ok", "insert", "a", "3", 5);
  h.op(4, "invoke", "read", "a", "null", 10, ",\"final\":true")
      .op(4, "ok", "read", "a", "[1,2]", 11, ",\"final\":true");
  const History history = h.parse();
  const CheckResult lost = check_lost_writes(history);
  EXPECT_EQ(lost.verdict, Verdict::invalid) << "3 is in no sibling";
  EXPECT_EQ(lost.figures.at("lost"), 1.0) << lost.summary;
  HistoryText siblings = inserts_1_and_2();
  siblings.op(3, "invoke", "read", "a", "null", 5).op(3, "ok", "read", "a", "[1,2]", 6);
  siblings.op(4, "invoke", "read", "a", "null", 10, ",\"final\":true")
      .op(4, "ok", "read", "a", "[2,1]", 11, ",\"final\":true");
  const History both = siblings.parse();
  EXPECT_EQ(check_lost_writes(both).verdict, Verdict::valid) << check_lost_writes(both).summary;
  EXPECT_EQ(check_stale_reads(both).verdict, Verdict::valid);
  EXPECT_EQ(check_sessions(both).verdict, Verdict::valid);
}

TEST(LostWrites, AcknowledgedInsertMissingFromFinalReadIsLost) {
  HistoryText h;
  h.op(1, "invoke", "insert", "a", "1", 0).op(1, "ok", "insert", "a", "1", 1);
  h.op(2, "invoke", "insert", "b", "2", 2).op(2, "ok", "insert", "b", "2", 3);
  h.op(3, "invoke", "insert", "c", "3", 4)
      .op(3, "info", "insert", "c", "3", 5);  // unknown: not counted
  h.op(4, "invoke", "read", "a", "null", 10, ",\"final\":true")
      .op(4, "ok", "read", "a", "1", 11, ",\"final\":true");
  h.op(4, "invoke", "read", "b", "null", 12, ",\"final\":true")
      .op(4, "ok", "read", "b", "null", 13, ",\"final\":true");
  h.op(4, "invoke", "read", "c", "null", 14, ",\"final\":true")
      .op(4, "ok", "read", "c", "null", 15, ",\"final\":true");
  const CheckResult result = check_lost_writes(h.parse());
  EXPECT_EQ(result.verdict, Verdict::invalid);
  EXPECT_NE(result.summary.find("2 acknowledged inserts, 1 lost"), std::string::npos)
      << result.summary;
}

TEST(LostWrites, ReportedPerNode) {
  HistoryText h;
  h.op(1, "invoke", "insert", "a", "1", 0).op(1, "ok", "insert", "a", "1", 1);
  h.op(2, "invoke", "read", "a", "null", 10, ",\"final\":true,\"node\":\"n1\"")
      .op(2, "ok", "read", "a", "1", 11, ",\"final\":true,\"node\":\"n1\"");
  h.op(2, "invoke", "read", "a", "null", 12, ",\"final\":true,\"node\":\"n2\"")
      .op(2, "ok", "read", "a", "null", 13, ",\"final\":true,\"node\":\"n2\"");
  const CheckResult result = check_lost_writes(h.parse());
  EXPECT_EQ(result.verdict, Verdict::invalid);
  EXPECT_NE(result.summary.find("n2=1"), std::string::npos) << result.summary;
  EXPECT_EQ(result.summary.find("n1="), std::string::npos) << result.summary;
}

TEST(StaleReads, ReadOfAnOverwrittenValueIsStaleByTheGap) {
  HistoryText h;
  h.op(1, "invoke", "write", "k", "1", 0).op(1, "ok", "write", "k", "1", 1);
  h.op(1, "invoke", "write", "k", "2", 2).op(1, "ok", "write", "k", "2", 3);
  h.op(2, "invoke", "read", "k", "null", 10, ",\"consistency\":\"bounded:5\"")
      .op(2, "ok", "read", "k", "1", 11, ",\"consistency\":\"bounded:5\"");
  h.op(3, "invoke", "read", "k", "null", 12, ",\"consistency\":\"eventual\"")
      .op(3, "ok", "read", "k", "2", 13, ",\"consistency\":\"eventual\"");
  const CheckResult result = check_stale_reads(h.parse());
  EXPECT_EQ(result.verdict, Verdict::invalid);  // 7 ms stale against a 5 ms bound
  EXPECT_NE(result.summary.find("1 stale of 2 reads"), std::string::npos) << result.summary;
  EXPECT_NE(result.details[0].find("7.000 ms"), std::string::npos) << result.details[0];
}

TEST(StaleReads, ConcurrentWriteMakesNoReadStale) {
  HistoryText h;
  h.op(1, "invoke", "write", "k", "1", 0).op(1, "ok", "write", "k", "1", 1);
  h.op(1, "invoke", "write", "k", "2", 2);
  h.op(2, "invoke", "read", "k", "null", 3).op(2, "ok", "read", "k", "1", 4);
  h.op(1, "ok", "write", "k", "2", 5);
  EXPECT_NE(check_stale_reads(h.parse()).summary.find("0 stale of 1"), std::string::npos);
}

TEST(Sessions, ReadYourWritesAndMonotonicReads) {
  HistoryText h;
  const char* s = ",\"consistency\":\"session\"";
  h.op(1, "invoke", "write", "k", "1", 0).op(1, "ok", "write", "k", "1", 1);
  h.op(2, "invoke", "write", "k", "2", 2).op(2, "ok", "write", "k", "2", 3);
  h.op(2, "invoke", "read", "k", "null", 4, s).op(2, "ok", "read", "k", "1", 5, s);  // RYW broken
  h.op(1, "invoke", "read", "k", "null", 6, s).op(1, "ok", "read", "k", "2", 7, s);
  h.op(1, "invoke", "read", "k", "null", 8, s).op(1, "ok", "read", "k", "1", 9, s);  // went back
  const CheckResult result = check_sessions(h.parse());
  EXPECT_EQ(result.verdict, Verdict::invalid);
  EXPECT_NE(result.summary.find("1 read-your-writes and 1 monotonic-read"), std::string::npos)
      << result.summary;
}

TEST(Sessions, EventualReadsAreNotJudged) {
  HistoryText h;
  h.op(1, "invoke", "write", "k", "1", 0).op(1, "ok", "write", "k", "1", 1);
  h.op(1, "invoke", "read", "k", "null", 2, ",\"consistency\":\"eventual\"")
      .op(1, "ok", "read", "k", "null", 3, ",\"consistency\":\"eventual\"");
  EXPECT_EQ(check_sessions(h.parse()).verdict, Verdict::valid);
}

TEST(Convergence, FirstAgreementAfterTheHeal) {
  HistoryText h;
  h.raw("{\"type\":\"digest\",\"node\":\"n1\",\"value\":\"a\",\"time\":0}");
  h.raw("{\"type\":\"digest\",\"node\":\"n2\",\"value\":\"b\",\"time\":1000000}");
  h.raw("{\"type\":\"heal\",\"time\":2000000}");
  h.raw("{\"type\":\"digest\",\"node\":\"n2\",\"value\":\"a\",\"time\":5000000}");
  const CheckResult result = check_convergence(h.parse());
  EXPECT_EQ(result.verdict, Verdict::valid);
  EXPECT_NE(result.summary.find("3.000 ms after the heal"), std::string::npos) << result.summary;
}

TEST(Convergence, NeverAgreeingIsAViolation) {
  HistoryText h;
  h.raw("{\"type\":\"digest\",\"node\":\"n1\",\"value\":1,\"time\":0}");
  h.raw("{\"type\":\"digest\",\"node\":\"n2\",\"value\":2,\"time\":1}");
  EXPECT_EQ(check_convergence(h.parse()).verdict, Verdict::invalid);
}

// Leaderless nodes hold different keys: each digests, per peer, the keys both hold.
TEST(Convergence, PairwiseDigestsAgreeWhenEveryPairsRootsAreEqual) {
  EXPECT_TRUE(digests_agree(
      {{"1", "peers 2:aa 3:bb"}, {"2", "peers 1:aa 3:cc"}, {"3", "peers 1:bb 2:cc"}}));
  // 2 and 3 hold different copies of a key both replicate.
  EXPECT_FALSE(digests_agree(
      {{"1", "peers 2:aa 3:bb"}, {"2", "peers 1:aa 3:cc"}, {"3", "peers 1:bb 2:cd"}}));
  // A node names a peer that gave no pairwise digest (down), or that does not name it back.
  EXPECT_FALSE(digests_agree({{"1", "peers 2:aa"}, {"2", "down"}}));
  EXPECT_FALSE(digests_agree({{"1", "peers 2:aa 3:bb"}, {"2", "peers 1:aa"}}));
  // Whole-state digests: equal or not.
  EXPECT_TRUE(digests_agree({{"1", "x"}, {"2", "x"}}));
  EXPECT_FALSE(digests_agree({{"1", "x"}, {"2", "y"}}));
  EXPECT_FALSE(digests_agree({}));
}

TEST(Convergence, PairwiseDigestsInAHistory) {
  HistoryText h;
  h.raw("{\"type\":\"heal\",\"time\":0}");
  h.raw("{\"type\":\"digest\",\"node\":1,\"value\":\"peers 2:01\",\"time\":1000000}");
  h.raw("{\"type\":\"digest\",\"node\":2,\"value\":\"peers 1:02\",\"time\":1000000}");
  EXPECT_EQ(check_convergence(h.parse()).verdict, Verdict::invalid);
  h.raw("{\"type\":\"digest\",\"node\":2,\"value\":\"peers 1:01\",\"time\":4000000}");
  const CheckResult result = check_convergence(h.parse());
  EXPECT_EQ(result.verdict, Verdict::valid);
  EXPECT_NE(result.summary.find("4.000 ms after the heal"), std::string::npos) << result.summary;
}

TEST(Availability, LongestWindowWithoutAnAcknowledgedWrite) {
  HistoryText h;
  h.op(1, "invoke", "write", "k", "1", 0).op(1, "ok", "write", "k", "1", 1);
  h.raw("{\"type\":\"nemesis\",\"value\":\"kill -9 n1\",\"time\":2000000}");
  h.op(2, "invoke", "write", "k", "2", 2);
  h.op(3, "invoke", "read", "k", "null", 3).op(3, "ok", "read", "k", "1", 4);  // a read is no write
  h.op(2, "info", "write", "k", "2", 50);  // unknown: no acknowledgement
  h.op(4, "invoke", "insert", "i", "3", 60).op(4, "ok", "insert", "i", "3", 71);
  h.op(5, "invoke", "cas", "k", "[1,4]", 72).op(5, "ok", "cas", "k", "[1,4]", 80);
  h.op(6, "invoke", "read", "k", "null", 90, ",\"final\":true")
      .op(6, "ok", "read", "k", "4", 500, ",\"final\":true");
  const History history = h.parse();
  ASSERT_EQ(history.nemesis.size(), 1u);
  EXPECT_EQ(history.nemesis[0].what, "kill -9 n1");
  const CheckResult result = check_availability(history);
  EXPECT_EQ(result.verdict, Verdict::valid);  // a measurement, never a violation
  EXPECT_DOUBLE_EQ(result.figures.at("longest_ms"),
                   70.0);  // from the write acked at 1 ms to the insert at 71
  EXPECT_DOUBLE_EQ(result.figures.at("from_ms"), 1.0);
  EXPECT_DOUBLE_EQ(result.figures.at("acknowledged"), 3.0);
}

TEST(Availability, NoAcknowledgedWriteAtAllSpansTheRun) {
  HistoryText h;
  h.op(1, "invoke", "write", "k", "1", 5).op(1, "fail", "write", "k", "1", 25);
  const CheckResult result = check_availability(h.parse());
  EXPECT_DOUBLE_EQ(result.figures.at("longest_ms"), 20.0);
  EXPECT_DOUBLE_EQ(result.figures.at("acknowledged"), 0.0);
}

TEST(Figures, TheCheckersReportTheirNumbersByName) {
  HistoryText h;
  h.op(1, "invoke", "insert", "a", "1", 0).op(1, "ok", "insert", "a", "1", 1);
  h.op(2, "invoke", "write", "k", "1", 1).op(2, "ok", "write", "k", "1", 1);
  h.op(2, "invoke", "write", "k", "2", 2).op(2, "ok", "write", "k", "2", 3);
  h.op(3, "invoke", "read", "k", "null", 10).op(3, "ok", "read", "k", "1", 11);  // 7 ms stale
  h.op(4, "invoke", "read", "a", "null", 20, ",\"final\":true")
      .op(4, "ok", "read", "a", "null", 21, ",\"final\":true");
  const History history = h.parse();
  const CheckResult lost = check_lost_writes(history);
  EXPECT_DOUBLE_EQ(lost.figures.at("acknowledged"), 1.0);
  EXPECT_DOUBLE_EQ(lost.figures.at("lost"), 1.0);
  const CheckResult stale = check_stale_reads(history);
  // The read of k 7 ms after 2 overwrote 1, and the final read of a 19 ms after its insert.
  EXPECT_DOUBLE_EQ(stale.figures.at("stale"), 2.0);
  EXPECT_DOUBLE_EQ(stale.figures.at("judged"), 2.0);
  EXPECT_DOUBLE_EQ(stale.figures.at("max_ms"), 19.0);
}

}  // namespace
}  // namespace replikv::check
