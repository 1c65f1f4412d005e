// Portable CSC y = activation(W x + b) for any CPU, the kernel for sparse inputs: an
// input that is exactly zero skips its whole column, so the work is the number of
// stored weights in the columns of the non-zero inputs, not the layer's nnz. It pays
// for MNIST pixels (about 81% zero) and for ReLU outputs.
//
// Each weight is a scatter-add into y[row_idx[k]]. x86-64 has no scatter before
// AVX-512 and NEON has none at all, so the loop stays scalar. The row indices within a
// column are distinct, so the adds of one column do not depend on each other.
#include <bit>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// No bounds checks in here: Model::FromFile/FromBuffer validated col_ptr and row_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void CscmvScalar(std::uint32_t rows, std::uint32_t cols, const std::uint32_t* col_ptr,
                 const std::uint32_t* row_idx, const float* values, const float* x,
                 const float* bias, float* y) {
  for (std::uint32_t r = 0; r < rows; ++r) y[r] = bias[r];
  // The zero test runs 64 inputs at a time into a bit mask, without a branch per input,
  // and the loop visits only the set bits. A branch per input mispredicted at every
  // switch between zero and non-zero pixels, which on MNIST digits cost more than
  // the multiplies of a 64-row layer.
  for (std::uint32_t base = 0; base < cols; base += 64) {
    const std::uint32_t count = cols - base < 64 ? cols - base : 64;
    std::uint64_t nonzero = 0;
    for (std::uint32_t j = 0; j < count; ++j) {
      nonzero |= static_cast<std::uint64_t>(x[base + j] != 0.0f) << j;
    }
    while (nonzero != 0) {
      const std::uint32_t c = base + static_cast<std::uint32_t>(std::countr_zero(nonzero));
      nonzero &= nonzero - 1;
      const float xc = x[c];
      const std::uint32_t end = col_ptr[c + 1];
      std::uint32_t k = col_ptr[c];
      for (; k + 2 <= end; k += 2) {
        y[row_idx[k]] += xc * values[k];
        y[row_idx[k + 1]] += xc * values[k + 1];
      }
      if (k < end) y[row_idx[k]] += xc * values[k];
    }
  }
  if constexpr (kRelu) {
    for (std::uint32_t r = 0; r < rows; ++r) y[r] = y[r] > 0.0f ? y[r] : 0.0f;
  }
}

}  // namespace

void f32_cscmv__scalar(std::uint32_t rows, std::uint32_t cols, const std::uint32_t* col_ptr,
                       const std::uint32_t* row_idx, const float* values, const float* x,
                       const float* bias, bool relu, float* y) {
  if (relu) {
    CscmvScalar<true>(rows, cols, col_ptr, row_idx, values, x, bias, y);
  } else {
    CscmvScalar<false>(rows, cols, col_ptr, row_idx, values, x, bias, y);
  }
}

}  // namespace frugal::kernels
