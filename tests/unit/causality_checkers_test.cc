// The checkers of strategies that track causality (check/causality.h) and the counters checker
// (check/anomalies.h), on small hand-made histories: each valid on a sound one, invalid on the
// flaw it exists to catch.
#include <string>

#include <gtest/gtest.h>

#include "check/anomalies.h"
#include "check/causality.h"
#include "support/history_text.h"

namespace replikv::check {
namespace {

std::string time_ms(int64_t ms) { return std::to_string(ms * 1'000'000); }

// Process `process` runs `f` ("write" of `value`, or "delete" with id `value`) on `key` at node
// `node`, which makes it under `dot` having seen `context` (the invocation, the made event, the
// acknowledgement, in time order); a delete's made event is a tombstone.
std::string made_op(const char* f, int node, int process, const char* key, int value,
                    const char* dot, const char* context, const char* hlc, int64_t at_ms) {
  const std::string common = ",\"f\":\"" + std::string(f) + "\",\"key\":\"" + key +
                             "\",\"value\":" + std::to_string(value);
  const bool tombstone = std::string(f) == "delete";
  return "{\"process\":" + std::to_string(process) + ",\"type\":\"invoke\"" + common +
         ",\"time\":" + time_ms(at_ms) + "}\n" +
         "{\"type\":\"made\",\"node\":" + std::to_string(node) + ",\"key\":\"" + key +
         "\",\"value\":" + std::to_string(value) + ",\"dot\":\"" + dot + "\",\"context\":\"" +
         context + "\",\"hlc\":\"" + hlc + "\"" + (tombstone ? ",\"tombstone\":true" : "") +
         ",\"time\":" + time_ms(at_ms) + "}\n" + "{\"process\":" + std::to_string(process) +
         ",\"type\":\"ok\"" + common + ",\"time\":" + time_ms(at_ms + 1) + "}\n";
}

std::string write(int node, int process, const char* key, int value, const char* dot,
                  const char* context, const char* hlc, int64_t at_ms) {
  return made_op("write", node, process, key, value, dot, context, hlc, at_ms);
}

std::string del(int node, int process, const char* key, int id, const char* dot,
                const char* context, const char* hlc, int64_t at_ms) {
  return made_op("delete", node, process, key, id, dot, context, hlc, at_ms);
}

// The final read of `key` at a node that had applied `vector`, finding `values` (JSON).
std::string final_read(int process, const char* key, const char* values, const char* vector,
                       int64_t at_ms) {
  const std::string common = ",\"f\":\"read\",\"key\":\"" + std::string(key) + "\"";
  return "{\"process\":" + std::to_string(process) + ",\"type\":\"invoke\"" + common +
         ",\"value\":null,\"time\":" + time_ms(at_ms) +
         ",\"final\":true}\n{\"process\":" + std::to_string(process) + ",\"type\":\"ok\"" + common +
         ",\"value\":" + values + ",\"time\":" + time_ms(at_ms + 1) +
         ",\"final\":true,\"position\":\"" + vector + "@1.0\"}\n";
}

// Node 1 writes 1, node 2 writes 2 concurrently, then node 1 writes 3 having seen only 1.
std::string concurrent_writes() {
  return write(1, 1, "k", 1, "1.a:1", "-", "10.0", 0) +
         write(2, 2, "k", 2, "2.b:1", "-", "11.0", 2) +
         write(1, 3, "k", 3, "1.a:2", "1.a:1", "12.0", 4);
}

TEST(Superseded, SiblingsAreTheCausalFrontier) {
  const History sound = replikv::testing::parse_history_text(
      concurrent_writes() + final_read(9, "k", "[2,3]", "1.a:2,2.b:1", 10));
  EXPECT_EQ(check_superseded(sound).verdict, Verdict::valid) << check_superseded(sound).summary;
  // Write 2 vanished though nothing had seen it: a silent loss.
  const History lost = replikv::testing::parse_history_text(
      concurrent_writes() + final_read(9, "k", "3", "1.a:2,2.b:1", 10));
  const CheckResult result = check_superseded(lost);
  EXPECT_EQ(result.verdict, Verdict::invalid);
  EXPECT_EQ(result.figures.at("discarded"), 1);
  // Write 1 came back though write 3 had superseded it.
  const History resurrected = replikv::testing::parse_history_text(
      concurrent_writes() + final_read(9, "k", "[1,2,3]", "1.a:2,2.b:1", 10));
  EXPECT_EQ(check_superseded(resurrected).verdict, Verdict::invalid);
}

// Node 1 writes 1; node 2 deletes the key having seen it, while node 3 writes 3 concurrently.
std::string delete_beside_a_write(const char* delete_hlc) {
  return write(1, 1, "k", 1, "1.a:1", "-", "10.0", 0) +
         del(2, 2, "k", 100, "2.b:1", "1.a:1", delete_hlc, 2) +
         write(3, 3, "k", 3, "3.c:1", "1.a:1", "12.0", 4);
}

TEST(Superseded, ADeleteIsASiblingNoReadShows) {
  // The tombstone and 3 are the frontier; a read shows 3, and 1 is gone (both had seen it).
  const History sound = replikv::testing::parse_history_text(
      delete_beside_a_write("11.0") + final_read(9, "k", "3", "1.a:1,2.b:1,3.c:1", 10));
  const CheckResult result = check_superseded(sound);
  EXPECT_EQ(result.verdict, Verdict::valid) << result.summary;
  EXPECT_EQ(result.figures.at("kept"), 2);  // 3, and the tombstone
  EXPECT_EQ(result.figures.at("superseded"), 1);
  // The deleted value back (a zombie).
  const History zombie = replikv::testing::parse_history_text(
      delete_beside_a_write("11.0") + final_read(9, "k", "[1,3]", "1.a:1,2.b:1,3.c:1", 10));
  EXPECT_EQ(check_superseded(zombie).verdict, Verdict::invalid);
  // The concurrent write gone with the delete, which had not seen it.
  const History swallowed = replikv::testing::parse_history_text(
      delete_beside_a_write("11.0") + final_read(9, "k", "null", "1.a:1,2.b:1,3.c:1", 10));
  EXPECT_EQ(check_superseded(swallowed).verdict, Verdict::invalid);
}

TEST(LwwDiscards, ADeleteOrderedHighestLeavesTheKeyAbsent) {
  const auto discarded = [](const char* dot) {
    return "{\"type\":\"replica\",\"node\":" + std::string(dot).substr(0, 1) +
           ",\"event\":\"discarded\",\"dot\":\"" + dot + "\",\"time\":" + time_ms(8) + "}\n";
  };
  const std::string counted_1 = "{\"type\":\"counter\",\"name\":\"conflicts_discarded_total\"," +
                                std::string("\"value\":1,\"time\":") + time_ms(20) + "}\n";
  // The tombstone (13) beats 3 (12): the key is absent, and node 3 reports discarding its 3.
  const History sound = replikv::testing::parse_history_text(
      delete_beside_a_write("13.0") + discarded("3.c:1") +
      final_read(9, "k", "null", "1.a:1,2.b:1,3.c:1", 10) + counted_1);
  const CheckResult result = check_lww_discards(sound);
  EXPECT_EQ(result.verdict, Verdict::valid) << result.summary;
  // 3 showing although the tombstone beat it: a deleted key came back.
  const History zombie = replikv::testing::parse_history_text(
      delete_beside_a_write("13.0") + final_read(9, "k", "3", "1.a:1,2.b:1,3.c:1", 10));
  EXPECT_EQ(check_lww_discards(zombie).verdict, Verdict::invalid);
  // 3 (12) beats the tombstone (11): 3 stays, and node 2 reports its tombstone discarded.
  const History value_wins = replikv::testing::parse_history_text(
      delete_beside_a_write("11.0") + discarded("2.b:1") +
      final_read(9, "k", "3", "1.a:1,2.b:1,3.c:1", 10) + counted_1);
  EXPECT_EQ(check_lww_discards(value_wins).verdict, Verdict::valid)
      << check_lww_discards(value_wins).summary;
  // … and the key absent instead: the lower tombstone kept.
  const History lower_kept = replikv::testing::parse_history_text(
      delete_beside_a_write("11.0") + final_read(9, "k", "null", "1.a:1,2.b:1,3.c:1", 10));
  EXPECT_EQ(check_lww_discards(lower_kept).verdict, Verdict::invalid);
}

TEST(LwwDiscards, EveryDiscardReportedAndEveryReportAReal) {
  const std::string discard_of_3 =
      "{\"type\":\"replica\",\"node\":1,\"event\":\"discarded\",\"dot\":\"1.a:2\",\"time\":" +
      time_ms(8) + "}\n";
  const std::string counted_1 = "{\"type\":\"counter\",\"name\":\"conflicts_discarded_total\"," +
                                std::string("\"value\":1,\"time\":") + time_ms(20) + "}\n";
  // 2 (timestamp 13) beats 3 (12), concurrent with it: node 1 discards its 3 and reports it.
  const std::string later_2 = write(1, 1, "k", 1, "1.a:1", "-", "10.0", 0) +
                              write(2, 2, "k", 2, "2.b:1", "-", "13.0", 2) +
                              write(1, 3, "k", 3, "1.a:2", "1.a:1", "12.0", 4);
  const History sound = replikv::testing::parse_history_text(
      later_2 + discard_of_3 + final_read(9, "k", "2", "1.a:2,2.b:1", 10) + counted_1);
  EXPECT_EQ(check_lww_discards(sound).verdict, Verdict::valid) << check_lww_discards(sound).summary;
  // The same without the report: a write gone that nobody counted.
  const History unreported =
      replikv::testing::parse_history_text(later_2 + final_read(9, "k", "2", "1.a:2,2.b:1", 10));
  EXPECT_EQ(check_lww_discards(unreported).verdict, Verdict::invalid);
  // A report of a write that is still there.
  const History wrong = replikv::testing::parse_history_text(
      later_2 + discard_of_3 + final_read(9, "k", "3", "1.a:2,2.b:1", 10) + counted_1);
  EXPECT_EQ(check_lww_discards(wrong).verdict, Verdict::invalid);
}

TEST(Counters, EveryAcknowledgedIncrementCountedOnce) {
  const auto add = [](int process, int delta, const char* type, int64_t at_ms) {
    const std::string common =
        ",\"f\":\"add\",\"key\":\"c\",\"value\":" + std::to_string(delta) + ",\"node\":1";
    return "{\"process\":" + std::to_string(process) + ",\"type\":\"invoke\"" + common +
           ",\"time\":" + time_ms(at_ms) + "}\n{\"process\":" + std::to_string(process) +
           ",\"type\":\"" + type + "\"" + common + ",\"time\":" + time_ms(at_ms + 1) + "}\n";
  };
  const std::string adds = add(1, 5, "ok", 0) + add(2, 3, "ok", 2) + add(3, 4, "info", 4);
  const auto read = [](const char* total) {
    return std::string(
               "{\"process\":9,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"c\","
               "\"value\":null,\"time\":") +
           time_ms(10) + ",\"final\":true}\n{\"process\":9,\"type\":\"ok\",\"f\":\"read\"," +
           "\"key\":\"c\",\"value\":" + total + ",\"time\":" + time_ms(11) + ",\"final\":true}\n";
  };
  for (const char* total : {"8", "12"}) {  // the unknown one counted or not
    const History h = replikv::testing::parse_history_text(adds + read(total));
    EXPECT_EQ(check_counters(h).verdict, Verdict::valid) << total;
  }
  const History lost = replikv::testing::parse_history_text(adds + read("5"));
  EXPECT_EQ(check_counters(lost).verdict, Verdict::invalid);
  EXPECT_EQ(check_counters(lost).figures.at("increments_lost"), 3);
  const History twice = replikv::testing::parse_history_text(adds + read("17"));
  EXPECT_EQ(check_counters(twice).verdict, Verdict::invalid);
}

}  // namespace
}  // namespace replikv::check
