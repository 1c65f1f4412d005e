// Seeded pseudo-random numbers for the trainer. The generator and the distributions are
// written out here because std:: distributions differ between standard libraries, and a
// seed must give bit-identical weights on every platform.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace frugal::trainer {

// xoshiro256** (Blackman and Vigna, 2018), seeded through splitmix64 as its authors
// recommend, so that any 64-bit seed, including 0, gives a usable state.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  // The four state words, for checkpoints. set_state throws TrainerError for the
  // all-zero state, from which xoshiro256** only produces zeros.
  std::array<std::uint64_t, 4> state() const;
  void set_state(const std::array<std::uint64_t, 4>& state);

  std::uint64_t NextU64();

  // Uniform in [0, 1) with 53 random bits.
  double UniformDouble();

  // Uniform in [0, bound) without modulo bias (rejects the short last interval).
  // `bound` must be at least 1.
  std::uint64_t UniformBelow(std::uint64_t bound);

  // Fisher-Yates shuffle driven by UniformBelow.
  void Shuffle(std::span<std::uint32_t> values);

 private:
  std::uint64_t state_[4];
};

}  // namespace frugal::trainer
