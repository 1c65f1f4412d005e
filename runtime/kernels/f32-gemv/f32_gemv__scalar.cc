// Portable dense y = activation(W x + b) for any CPU. Written so that GCC and Clang
// vectorize it without -ffast-math: each row keeps 16 independent partial sums (one per
// column lane), which become four 4-wide SSE or NEON accumulators, enough to hide the
// latency of vector adds. Passes over 2 or 4 rows at a time were not faster with GCC 12
// -O3 on x86-64 (300 x 784 weights), so each pass handles one row.
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kLanes = 16;

// Adds the lanes pairwise, so the order of additions does not depend on cols.
inline float ReduceLanes(const float* acc) {
  float half[kLanes / 2];
  for (std::size_t l = 0; l < kLanes / 2; ++l) half[l] = acc[l] + acc[l + kLanes / 2];
  float quarter[kLanes / 4];
  for (std::size_t l = 0; l < kLanes / 4; ++l) quarter[l] = half[l] + half[l + kLanes / 4];
  return (quarter[0] + quarter[2]) + (quarter[1] + quarter[3]);
}

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes, and
// the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void GemvScalar(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                const float* bias, float* y) {
  // Column indices are size_t: with uint32_t, c + l could wrap in the compiler's view,
  // and GCC 12 then leaves the lane loop scalar (measured 4x slower).
  const std::size_t cols_main = cols - cols % kLanes;
  for (std::uint32_t r = 0; r < rows; ++r) {
    const float* row = w + static_cast<std::size_t>(r) * cols;
    float acc[kLanes] = {};
    for (std::size_t c = 0; c < cols_main; c += kLanes) {
      for (std::size_t l = 0; l < kLanes; ++l) acc[l] += row[c + l] * x[c + l];
    }
    float sum = ReduceLanes(acc);
    for (std::size_t c = cols_main; c < cols; ++c) sum += row[c] * x[c];
    sum += bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
  }
}

}  // namespace

void f32_gemv__scalar(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                      const float* bias, bool relu, float* y) {
  if (relu) {
    GemvScalar<true>(rows, cols, w, x, bias, y);
  } else {
    GemvScalar<false>(rows, cols, w, x, bias, y);
  }
}

}  // namespace frugal::kernels
