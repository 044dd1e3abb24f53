// Rng: the one seeded random source of the core and the simulator.
//
// xoshiro256** (Blackman and Vigna), seeded through splitmix64, with our own bounded-integer
// draw. The standard library's distributions are not used: their output differs between library
// implementations, and a seed must reproduce a run byte for byte on every build. An Rng is a
// value — the driver creates it from a seed and passes it in; nothing in the core draws from a
// global source.
#pragma once

#include <array>
#include <cstdint>

namespace replikv::core {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // Uniform 64 random bits.
  uint64_t next_u64();
  // Uniform in [0, bound); bound > 0. Lemire's multiply-and-reject, so no modulo bias.
  uint64_t below(uint64_t bound);
  // Uniform in [low, high]; low <= high.
  int64_t between(int64_t low, int64_t high);
  // True with probability numerator / denominator (0 <= numerator <= denominator, denominator > 0).
  bool chance(uint64_t numerator, uint64_t denominator);

 private:
  std::array<uint64_t, 4> state_;
};

}  // namespace replikv::core
