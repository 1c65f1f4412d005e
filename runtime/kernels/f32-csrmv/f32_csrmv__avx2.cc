// CSR y = activation(W x + b) for x86-64 cores with AVX2 and FMA3 (Haswell and Zen 1
// on). Compiled with -mavx2 -mfma on this file only; dispatch calls it only after
// __builtin_cpu_supports reports both features.
//
// Scalar FMAs rather than an 8-wide gather, because gather lost on an AMD EPYC (Zen 3).
// There a _mm256_i32gather_ps version with two accumulators took 1.2x to 2.7x as long as
// this loop on 300 x 784 layers with 50% to 99% zeros (bench/kernels_benchmark.cc, one
// run). Each non-zero costs an index load, an x load and an FMA with a memory operand.
// Four partial sums cut the FMA dependency chain to a quarter of the row's non-zeros.
// NOTE: Intel cores have a faster gather than Zen 3, and this choice is unmeasured there.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// No bounds checks in here: Model::FromFile/FromBuffer validated row_ptr and col_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void CsrmvFma(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
              const float* values, const float* x, const float* bias, float* y) {
  std::size_t begin = row_ptr[0];
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t end = row_ptr[r + 1];
    float sum0 = 0.0f;
    float sum1 = 0.0f;
    float sum2 = 0.0f;
    float sum3 = 0.0f;
    std::size_t k = begin;
    // std::fma compiles to one vfmadd instruction under -mfma.
    for (; k + 4 <= end; k += 4) {
      sum0 = std::fma(values[k], x[col_idx[k]], sum0);
      sum1 = std::fma(values[k + 1], x[col_idx[k + 1]], sum1);
      sum2 = std::fma(values[k + 2], x[col_idx[k + 2]], sum2);
      sum3 = std::fma(values[k + 3], x[col_idx[k + 3]], sum3);
    }
    for (; k < end; ++k) sum0 = std::fma(values[k], x[col_idx[k]], sum0);
    float sum = ((sum0 + sum1) + (sum2 + sum3)) + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
    begin = end;
  }
}

}  // namespace

void f32_csrmv__avx2(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                     const float* values, const float* x, const float* bias, bool relu, float* y) {
  if (relu) {
    CsrmvFma<true>(rows, row_ptr, col_idx, values, x, bias, y);
  } else {
    CsrmvFma<false>(rows, row_ptr, col_idx, values, x, bias, y);
  }
}

}  // namespace frugal::kernels
