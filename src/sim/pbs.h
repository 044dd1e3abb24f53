// The PBS experiment: leaderless staleness measured in the simulator against Probabilistically
// Bounded Staleness (Bailis et al., VLDB 2012).
//
// PBS predicts how often a read misses the latest acknowledged write when reads and writes go to
// R and W of a key's N replicas. Its closed form, C(N−W, R) / C(N, R), holds under its
// assumptions only, which the run reproduces: each write is delivered to exactly W replicas drawn
// uniformly and never to the others; read repair, hinted handoff and anti-entropy are off; each
// read asks R replicas drawn uniformly, independently, at some time after the acknowledgement
// (core/leaderless Options::pbs_draws). Each client writes its own key and reads it once after
// each acknowledged write, a drawn delay later; no faults. Measured per delay: the share of reads
// that missed the last acknowledged write (t-visibility); and how many versions behind each read
// was (k-staleness), against the prediction (C(N−W, R) / C(N, R))^k — each version's replicas
// are drawn independently, so a read is k or more behind when none of its R replicas holds any
// of the last k versions.
//
// With `write_to_all` each write goes to every replica (answered after W), as Dynamo-style
// stores and PBS's WARS model do: the closed form is then an upper bound that later reads fall
// below as the write reaches the other replicas; measured only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/simulator.h"

namespace replikv::sim {

struct PbsOptions {
  uint32_t n = 3, w = 1, r = 1;
  int nodes = 5;
  uint64_t reads = 10'000;  // reads measured, at least (one per acknowledged write)
  uint64_t seed = 1;
  int clients = 8;
  bool write_to_all = false;
  std::vector<int64_t> read_delays_us = {0, 250, 500, 1000, 2000, 5000, 10'000, 50'000};
};

struct PbsDelay {
  int64_t delay_us = 0;
  uint64_t reads = 0, misses = 0;
};

struct PbsResult {
  std::string error;     // non-empty: the options cannot be run
  double predicted = 0;  // C(N−W, R) / C(N, R)
  uint64_t reads = 0, misses = 0;
  uint64_t not_judged = 0;  // reads of a key with a write of unknown outcome before them
  double interval_low = 0, interval_high = 0;  // the 99% binomial interval around `predicted`
  std::vector<PbsDelay> delays;
  // k-staleness: reads[k] = reads k or more versions behind, k = 1, 2, …; predicted[k] the
  // prediction summed over the same reads (0 for a read with fewer than k versions before it).
  std::vector<uint64_t> behind_at_least;
  std::vector<double> predicted_behind_at_least;
  SimResult run;
  SimOptions sim;  // the run as made (its replay command)
};

// C(N−W, R) / C(N, R): the probability that R replicas drawn uniformly miss W drawn uniformly.
double pbs_closed_form(uint32_t n, uint32_t w, uint32_t r);

PbsResult run_pbs(const PbsOptions& options);

}  // namespace replikv::sim
