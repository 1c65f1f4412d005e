// Portable CSR y = activation(scales ⊙ (Q x) + b) for int8 weights Q with one float scale
// per row, for any CPU. As in f32_qc8w_gemv__scalar, the sum accumulates in float and the
// scale multiplies it once per row.
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// No bounds checks in here: Model::FromFile/FromBuffer validated row_ptr and col_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void QCsrmvScalar(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                  const std::int8_t* values, const float* scales, const float* x, const float* bias, float* y) {
  std::uint32_t begin = row_ptr[0];
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::uint32_t end = row_ptr[r + 1];
    float sum0 = 0.0f;
    float sum1 = 0.0f;
    std::uint32_t k = begin;
    for (; k + 2 <= end; k += 2) {
      sum0 += static_cast<float>(values[k]) * x[col_idx[k]];
      sum1 += static_cast<float>(values[k + 1]) * x[col_idx[k + 1]];
    }
    if (k < end) sum0 += static_cast<float>(values[k]) * x[col_idx[k]];
    float sum = (sum0 + sum1) * scales[r] + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
    begin = end;
  }
}

}  // namespace

void f32_qc8w_csrmv__scalar(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                            const std::int8_t* values, const float* scales, const float* x, const float* bias,
                            bool relu, float* y) {
  if (relu) {
    QCsrmvScalar<true>(rows, row_ptr, col_idx, values, scales, x, bias, y);
  } else {
    QCsrmvScalar<false>(rows, row_ptr, col_idx, values, scales, x, bias, y);
  }
}

}  // namespace frugal::kernels
