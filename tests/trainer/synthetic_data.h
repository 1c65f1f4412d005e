// A small synthetic classification set for trainer tests: each class lights up its own
// band of pixels, with seeded noise everywhere, so a tiny MLP can learn it in a few epochs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "frugal/trainer/data.h"
#include "frugal/trainer/random.h"

namespace frugal::testing {

inline constexpr std::size_t kSyntheticFeatures = 24;

// `count` examples, labels cycling 0, 1, ..., classes - 1. Pixels of the label's band
// (kSyntheticFeatures / classes wide) are 160..255, the others 0..95.
inline trainer::Dataset SyntheticDataset(std::size_t count, std::size_t classes, std::uint64_t seed) {
  trainer::Rng rng(seed);
  trainer::Dataset dataset;
  dataset.count = count;
  dataset.features = kSyntheticFeatures;
  dataset.pixels.resize(count * kSyntheticFeatures);
  dataset.labels.resize(count);
  const std::size_t band = kSyntheticFeatures / classes;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t label = i % classes;
    dataset.labels[i] = static_cast<std::uint8_t>(label);
    for (std::size_t p = 0; p < kSyntheticFeatures; ++p) {
      const bool lit = p / band == label;
      const std::uint64_t noise = rng.UniformBelow(96);
      dataset.pixels[i * kSyntheticFeatures + p] = static_cast<std::uint8_t>(lit ? 160 + noise : noise);
    }
  }
  return dataset;
}

}  // namespace frugal::testing
