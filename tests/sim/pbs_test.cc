// The PBS experiment (sim/pbs.h): under PBS's assumptions the simulated replicas miss the latest
// acknowledged write as often as the closed form C(N−W, R) / C(N, R) says, and fall k versions
// behind as often as its k-th power.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "sim/pbs.h"

namespace replikv::sim {
namespace {

TEST(Pbs, ClosedForm) {
  EXPECT_DOUBLE_EQ(pbs_closed_form(3, 1, 1), 2.0 / 3);
  EXPECT_DOUBLE_EQ(pbs_closed_form(3, 2, 1), 1.0 / 3);
  EXPECT_DOUBLE_EQ(pbs_closed_form(3, 2, 2), 0);
  EXPECT_DOUBLE_EQ(pbs_closed_form(5, 1, 2), 6.0 / 10);  // C(4,2) / C(5,2)
}

// N = 3, R = W = 1, over at least 10,000 reads: the miss rate lies within the 99% binomial
// interval around 2/3, at every delay after the acknowledgement.
TEST(Pbs, ReadsMissAsOftenAsTheClosedFormSays) {
  PbsOptions options;
  options.reads = 10'000;
  const PbsResult result = run_pbs(options);
  ASSERT_TRUE(result.error.empty()) << result.error;
  ASSERT_GE(result.reads, 10'000u);
  EXPECT_EQ(result.not_judged, 0u);
  const double rate = static_cast<double>(result.misses) / static_cast<double>(result.reads);
  EXPECT_GE(rate, result.interval_low) << rate;
  EXPECT_LE(rate, result.interval_high) << rate;
  ASSERT_GE(result.behind_at_least.size(), 3u);
  // Two and three versions behind: the closed form's square and cube (within 5 sigma).
  for (size_t k = 1; k < 3; ++k) {
    const double expected = result.predicted_behind_at_least[k];
    const double sigma = std::sqrt(expected);
    EXPECT_NEAR(static_cast<double>(result.behind_at_least[k]), expected, 5 * sigma) << k;
  }
}

// The bound can fail: writes delivered to every replica (PBS's assumptions broken, as Dynamo
// does) miss far less often than the closed form — below its interval — and less the later the
// read (t-visibility falls with t).
TEST(Pbs, WritesToEveryReplicaFallBelowTheClosedForm) {
  PbsOptions options;
  options.reads = 4'000;
  options.write_to_all = true;
  const PbsResult result = run_pbs(options);
  ASSERT_TRUE(result.error.empty()) << result.error;
  const double rate = static_cast<double>(result.misses) / static_cast<double>(result.reads);
  EXPECT_LT(rate, result.interval_low);
  ASSERT_GE(result.delays.size(), 2u);
  EXPECT_GT(result.delays.front().misses, 0u);  // just after the acknowledgement: some misses
  EXPECT_EQ(result.delays.back().misses, 0u);   // 50 ms later: the write is everywhere
}

// Bad options are refused with the reason, not run.
TEST(Pbs, RefusesQuorumsLargerThanN) {
  PbsOptions options;
  options.w = 4;
  EXPECT_NE(run_pbs(options).error.find("W, R <= N"), std::string::npos);
}

}  // namespace
}  // namespace replikv::sim
