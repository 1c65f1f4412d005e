// Portable CSR y = activation(W x + b) for any CPU. The gather x[col_idx[k]] keeps this
// loop scalar. Two partial sums per row halve the floating-point add dependency chain,
// because that chain bounds the speed of rows with many non-zeros.
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// No bounds checks in here: Model::FromFile/FromBuffer validated row_ptr and col_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void CsrmvScalar(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                 const float* values, const float* x, const float* bias, float* y) {
  std::uint32_t begin = row_ptr[0];
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::uint32_t end = row_ptr[r + 1];
    float sum0 = 0.0f;
    float sum1 = 0.0f;
    std::uint32_t k = begin;
    for (; k + 2 <= end; k += 2) {
      sum0 += values[k] * x[col_idx[k]];
      sum1 += values[k + 1] * x[col_idx[k + 1]];
    }
    if (k < end) sum0 += values[k] * x[col_idx[k]];
    float sum = (sum0 + sum1) + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
    begin = end;
  }
}

}  // namespace

void f32_csrmv__scalar(std::uint32_t rows, const std::uint32_t* row_ptr,
                       const std::uint32_t* col_idx, const float* values, const float* x,
                       const float* bias, bool relu, float* y) {
  if (relu) {
    CsrmvScalar<true>(rows, row_ptr, col_idx, values, x, bias, y);
  } else {
    CsrmvScalar<false>(rows, row_ptr, col_idx, values, x, bias, y);
  }
}

}  // namespace frugal::kernels
