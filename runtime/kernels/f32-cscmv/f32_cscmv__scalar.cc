// Portable CSC y = activation(W x + b) for any CPU, the kernel for sparse inputs: an
// input that is exactly zero skips its whole column, so the work is the number of
// stored weights in the columns of the non-zero inputs, not the layer's nnz. It pays
// for MNIST pixels (about 81% zero) and for ReLU outputs.
//
// Each weight is a scatter-add into y[row_idx[k]]. x86-64 has no scatter before
// AVX-512 and NEON has none at all, so the loop stays scalar; the row indices within a
// column are distinct, so the adds of one column do not depend on each other.
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
  for (std::uint32_t c = 0; c < cols; ++c) {
    const float xc = x[c];
    if (xc == 0.0f) continue;
    const std::uint32_t end = col_ptr[c + 1];
    std::uint32_t k = col_ptr[c];
    for (; k + 2 <= end; k += 2) {
      y[row_idx[k]] += xc * values[k];
      y[row_idx[k + 1]] += xc * values[k + 1];
    }
    if (k < end) y[row_idx[k]] += xc * values[k];
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
