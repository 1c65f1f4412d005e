// Random multilayer perceptrons as .frugal buffers, built in memory for the model
// benchmarks and the tests of the baselines.
#pragma once

#include <cstdint>
#include <vector>

namespace frugal::bench {

// A model with layers sizes[0] -> sizes[1] -> ...; hidden layers use ReLU, the last
// layer none. Weights are uniform in [-1, 1) and exactly 0 with probability `sparsity`
// (in [0, 1]); biases are uniform in [-0.1, 0.1). Every layer is stored as CSR when
// `csr` is true, else dense. input_scale is 1/255, so pixel inputs map to [0, 1].
std::vector<std::uint8_t> BuildRandomMlp(const std::vector<std::uint32_t>& sizes, double sparsity, bool csr,
                                         std::uint32_t seed);

}  // namespace frugal::bench
