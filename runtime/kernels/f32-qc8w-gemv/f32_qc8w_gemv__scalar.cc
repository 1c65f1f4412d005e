// Portable dense y = activation(scales ⊙ (Q x) + b) for int8 weights Q with one float
// scale per row, for any CPU. Each int8 weight converts to float exactly, the row sum
// accumulates in float, and the row's scale multiplies the sum once, so the rounding
// error is that of the float kernel on the same weights plus one multiplication.
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes and
// the int8 range, and the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void QGemvScalar(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales, const float* x,
                 const float* bias, float* y) {
  const std::size_t n = cols;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int8_t* row = w + r * n;
    // Two partial sums halve the floating-point add dependency chain.
    float sum0 = 0.0f;
    float sum1 = 0.0f;
    std::size_t c = 0;
    for (; c + 2 <= n; c += 2) {
      sum0 += static_cast<float>(row[c]) * x[c];
      sum1 += static_cast<float>(row[c + 1]) * x[c + 1];
    }
    if (c < n) sum0 += static_cast<float>(row[c]) * x[c];
    float sum = (sum0 + sum1) * scales[r] + bias[r];
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
