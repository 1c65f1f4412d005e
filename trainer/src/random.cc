// xoshiro256** and the distributions built on it.
#include "frugal/trainer/random.h"

#include <utility>

#include "frugal/trainer/data.h"

namespace frugal::trainer {
namespace {

std::uint64_t RotateLeft(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// splitmix64 (Steele, Lea and Flood, 2014), used only to expand the seed.
std::uint64_t SplitMix64(std::uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (std::uint64_t& word : state_) word = SplitMix64(seed);
}

std::array<std::uint64_t, 4> Rng::state() const {
  return {state_[0], state_[1], state_[2], state_[3]};
}

void Rng::set_state(const std::array<std::uint64_t, 4>& state) {
  if (state[0] == 0 && state[1] == 0 && state[2] == 0 && state[3] == 0) {
    throw TrainerError("random generator state is all zeros, which xoshiro256** cannot use");
  }
  for (std::size_t i = 0; i < 4; ++i) state_[i] = state[i];
}

std::uint64_t Rng::NextU64() {
  const std::uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const std::uint64_t shifted = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= shifted;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

double Rng::UniformDouble() {
  // The top 53 bits scaled by 2^-53 cover [0, 1) with every double spaced 2^-53 apart.
  return static_cast<double>(NextU64() >> 11) * 0x1.0p-53;
}

std::uint64_t Rng::UniformBelow(std::uint64_t bound) {
  // 2^64 mod bound values at the bottom of the range would make small results more
  // likely, so they are drawn again.
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const std::uint64_t value = NextU64();
    if (value >= threshold) return value % bound;
  }
}

void Rng::Shuffle(std::span<std::uint32_t> values) {
  for (std::size_t i = values.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(UniformBelow(i));
    std::swap(values[i - 1], values[j]);
  }
}

}  // namespace frugal::trainer
