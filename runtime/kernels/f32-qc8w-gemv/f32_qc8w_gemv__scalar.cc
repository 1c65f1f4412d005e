// Portable dense y = activation(scales ⊙ (Q x) + b) for int8 weights Q with one float
// scale per row, for any CPU. Each int8 weight converts to float exactly, the row sum
// accumulates in float, and the row's scale multiplies the sum once, so the rounding
// error is that of the float kernel on the same weights plus one multiplication.
//
// Written, like f32_gemv__scalar, so that GCC and Clang vectorize it without
// -ffast-math: 16 independent partial sums per row become four 4-wide SSE or NEON
// accumulators. A loop with two partial sums stayed scalar under GCC 12 -O3 on x86-64
// and took 5.5x as long as f32_gemv__scalar on 64 x 784 weights.
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

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes and
// the int8 range, and the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void QGemvScalar(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales, const float* x,
                 const float* bias, float* y) {
  // size_t column indices, as in f32_gemv__scalar, keep the lane loop vectorizable.
  const std::size_t cols_main = cols - cols % kLanes;
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::int8_t* row = w + static_cast<std::size_t>(r) * cols;
    float acc[kLanes] = {};
    for (std::size_t c = 0; c < cols_main; c += kLanes) {
      for (std::size_t l = 0; l < kLanes; ++l) acc[l] += static_cast<float>(row[c + l]) * x[c + l];
    }
    float sum = ReduceLanes(acc);
    for (std::size_t c = cols_main; c < cols; ++c) sum += static_cast<float>(row[c]) * x[c];
    sum = sum * scales[r] + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
  }
}

}  // namespace

void f32_qc8w_gemv__scalar(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales,
                           const float* x, const float* bias, bool relu, float* y) {
  if (relu) {
    QGemvScalar<true>(rows, cols, w, scales, x, bias, y);
  } else {
    QGemvScalar<false>(rows, cols, w, scales, x, bias, y);
  }
}

}  // namespace frugal::kernels
