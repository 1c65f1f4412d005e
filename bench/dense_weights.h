// The weights of a verified .frugal model as dense row-major matrices, for the Eigen and
// XNNPACK baselines. Read through the generated FlatBuffers header so that the runtime
// library gains no accessor and no dependency for them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace frugal::bench {

struct DenseLayer {
  std::uint32_t rows = 0;  // output_size
  std::uint32_t cols = 0;  // input_size
  bool relu = false;
  // rows x cols, row-major: sparse layers expanded with zeros, int8 layers dequantized
  std::vector<float> weights;
  std::vector<float> bias;     // rows values
};

// Extracts every layer of `data`, which must already have passed Model::FromBuffer (the
// verifier is not run again, and the CSR invariants are assumed).
std::vector<DenseLayer> ExtractDenseLayers(const std::uint8_t* data, std::size_t size);

}  // namespace frugal::bench
