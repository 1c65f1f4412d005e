// CSR y = activation(scales ⊙ (Q x) + b) for int8 weights Q with one float scale per row,
// for x86-64 cores with AVX2 and FMA3 (Haswell and Zen 1 on). Compiled with -mavx2 -mfma
// on this file only; dispatch calls it only after __builtin_cpu_supports reports both.
//
// Scalar FMAs, as in f32_csrmv__avx2, because an 8-wide gather of x lost to them on Zen 3.
// Each non-zero costs an index load, an x load, a sign-extending int8 load, a conversion
// to float and an FMA. Four partial sums cut the FMA dependency chain to a quarter.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// No bounds checks in here: Model::FromFile/FromBuffer validated row_ptr and col_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void QCsrmvFma(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
               const std::int8_t* values, const float* scales, const float* x, const float* bias, float* y) {
  std::size_t begin = row_ptr[0];
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t end = row_ptr[r + 1];
    float sum0 = 0.0f;
    float sum1 = 0.0f;
    float sum2 = 0.0f;
    float sum3 = 0.0f;
    std::size_t k = begin;
    for (; k + 4 <= end; k += 4) {
      sum0 = std::fma(static_cast<float>(values[k]), x[col_idx[k]], sum0);
      sum1 = std::fma(static_cast<float>(values[k + 1]), x[col_idx[k + 1]], sum1);
      sum2 = std::fma(static_cast<float>(values[k + 2]), x[col_idx[k + 2]], sum2);
      sum3 = std::fma(static_cast<float>(values[k + 3]), x[col_idx[k + 3]], sum3);
    }
    for (; k < end; ++k) sum0 = std::fma(static_cast<float>(values[k]), x[col_idx[k]], sum0);
    float sum = std::fma((sum0 + sum1) + (sum2 + sum3), scales[r], bias[r]);
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
    begin = end;
  }
}

}  // namespace

void f32_qc8w_csrmv__avx2(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                          const std::int8_t* values, const float* scales, const float* x, const float* bias,
                          bool relu, float* y) {
  if (relu) {
    QCsrmvFma<true>(rows, row_ptr, col_idx, values, scales, x, bias, y);
  } else {
    QCsrmvFma<false>(rows, row_ptr, col_idx, values, scales, x, bias, y);
  }
}

}  // namespace frugal::kernels
