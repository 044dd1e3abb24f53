// The status seam (core/status.h): a strategy's metrics are one list, rendered three ways by
// runtime/metrics_render.h, and they say what the strategy's typed status says.
#include <set>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/metrics_render.h"
#include "unit/raft_cluster.h"

namespace replikv::core {
namespace {

using testing::Cluster;

std::vector<Metric> sample() {
  MetricList list;
  list.counter("writes_forwarded", "Writes forwarded.", 7)
      .gauge("lag_ms", "Lag (-1: unknown).", -1)
      .flag("voter", "A voter.", true)
      .text("first_protocol_violation", "What it was.", "a \"second\" leader\nin term 3", true)
      .gauge("term", "The term.", 3, true);
  return list.take();
}

TEST(Status, InfoLinesNameEveryMetricOnce) {
  std::string out;
  runtime::append_info(out, sample());
  EXPECT_EQ(out,
            "replikv_writes_forwarded:7\r\nreplikv_lag_ms:-1\r\nreplikv_voter:1\r\n"
            "replikv_first_protocol_violation:a \"second\" leader in term 3\r\n"
            "replikv_term:3\r\n");
}

TEST(Status, PrometheusCountersEndInTotalAndTextsAreEscapedLabels) {
  std::string out;
  runtime::append_prometheus(out, sample());
  EXPECT_NE(out.find("# TYPE replikv_writes_forwarded_total counter\n"
                     "replikv_writes_forwarded_total 7\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("# TYPE replikv_lag_ms gauge\nreplikv_lag_ms -1\n"), std::string::npos);
  EXPECT_NE(out.find("replikv_first_protocol_violation{value=\"a \\\"second\\\" leader\\nin term "
                     "3\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("# HELP replikv_voter A voter.\n"), std::string::npos);
}

TEST(Status, JsonKeepsTypes) {
  nlohmann::json json = nlohmann::json::object();
  runtime::append_json(json, sample());
  EXPECT_EQ(json["writes_forwarded"], 7);
  EXPECT_EQ(json["lag_ms"], -1);
  EXPECT_EQ(json["voter"], true);
  EXPECT_EQ(json["first_protocol_violation"], "a \"second\" leader\nin term 3");
}

TEST(Status, NumberAndBriefReadTheList) {
  ReplicaStatus status;
  status.metrics = sample();
  EXPECT_EQ(status.number("writes_forwarded"), 7);
  EXPECT_EQ(status.number("not_a_metric"), 0);
  EXPECT_EQ(status.metric("not_a_metric"), nullptr);
  EXPECT_EQ(status.brief(), "first_protocol_violation a \"second\" leader\nin term 3 term 3");
}

// Every name the leader strategy renders is unique across the common part, its own list and the
// transport's — a repeated name would overwrite a /status key and repeat an INFO field — and its
// metrics say what its typed status says.
TEST(Status, TheLeaderStrategysMetricsAreUniqueAndMatchItsTypedStatus) {
  Cluster cluster(3);
  cluster.run(0, 5000);
  const int leader = cluster.leaders().at(0);
  cluster.request(leader, 1, SetRequest{"k", "v", {}, {}, false});
  cluster.run(5010, 5100);
  ASSERT_EQ(cluster.reply_for(1), Reply::ok());

  const ReplicaStatus status = cluster.node(leader).status();
  const RaftStatus typed = cluster.node(leader).raft_status();
  std::set<std::string_view> names;
  const auto add = [&](const std::vector<Metric>& metrics) {
    for (const Metric& metric : metrics) {
      EXPECT_TRUE(names.insert(metric.name).second) << metric.name << " is named twice";
      EXPECT_FALSE(metric.help.empty()) << metric.name;
    }
  };
  add(common_metrics(status));
  add(status.metrics);
  add(runtime::peer_transport_metrics({}));
  EXPECT_GT(status.metrics.size(), 20u);

  EXPECT_EQ(status.number("term"), static_cast<int64_t>(typed.term.value()));
  EXPECT_EQ(status.number("commit_index"), static_cast<int64_t>(typed.commit_index.value()));
  EXPECT_EQ(status.number("last_index"), static_cast<int64_t>(typed.last_index.value()));
  EXPECT_EQ(status.number("is_leader"), 1);
  EXPECT_EQ(status.leader, NodeId(static_cast<uint32_t>(leader)));
  EXPECT_EQ(status.epoch, typed.term.value());
  ASSERT_NE(status.metric("raft_role"), nullptr);
  EXPECT_EQ(status.metric("raft_role")->text, "leader");
  EXPECT_EQ(status.state, "leader");
  EXPECT_EQ(status.role, "master");
  EXPECT_EQ(status.replication_offset, typed.last_index);
  EXPECT_EQ(status.followers.size(), 2u);
  EXPECT_EQ(status.brief(), fmt::format("term {}", typed.term.value()));
  // The common part is the typed one's.
  EXPECT_EQ(status.applied_index, typed.applied_index);
  EXPECT_EQ(status.key_count, 1u);

  const int follower = leader % 3 + 1;
  const ReplicaStatus other = cluster.node(follower).status();
  EXPECT_EQ(other.role, "slave");
  EXPECT_EQ(other.state, "follower");
  EXPECT_EQ(other.number("is_leader"), 0);
  ASSERT_TRUE(other.leader.has_value());
  EXPECT_EQ(other.leader->value(), static_cast<uint32_t>(leader));
}

}  // namespace
}  // namespace replikv::core
