// Portable CSR Y = activation(W X + b) for a feature-major batch, for any CPU. Each
// stored weight multiplies a contiguous run of 16 batch columns of its input row, a loop
// that GCC and Clang vectorize without -ffast-math. So the gather that keeps the batch-1
// CSR kernel scalar happens once per weight instead of once per sample.
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kLanes = 16;

// One row over kLanes batch columns. The constant trip count lets the compiler unroll
// the lane loop and keep the sums in registers; a runtime count kept them in memory.
template <bool kRelu, std::size_t kLanes>
inline void Tile(std::size_t begin, std::size_t end, const std::uint32_t* col_idx, const float* values,
                 const float* x, std::size_t x_stride, float bias, float* y) {
  float acc[kLanes] = {};
  for (std::size_t k = begin; k < end; ++k) {
    const float v = values[k];
    const float* xk = x + col_idx[k] * x_stride;
    for (std::size_t l = 0; l < kLanes; ++l) acc[l] += v * xk[l];
  }
  for (std::size_t l = 0; l < kLanes; ++l) {
    float sum = acc[l] + bias;
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[l] = sum;
  }
}

// No bounds checks in here: Model::FromFile/FromBuffer validated row_ptr and col_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void SpmmScalar(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                const float* values, const float* x, std::size_t x_stride, const float* bias, float* y,
                std::size_t y_stride) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t begin = row_ptr[r];
    const std::size_t end = row_ptr[r + 1];
    float* yr = y + r * y_stride;
    std::size_t j = 0;
    for (; j + kLanes <= batch; j += kLanes) {
      Tile<kRelu, kLanes>(begin, end, col_idx, values, x + j, x_stride, bias[r], yr + j);
    }
    for (; j + 4 <= batch; j += 4) Tile<kRelu, 4>(begin, end, col_idx, values, x + j, x_stride, bias[r], yr + j);
    for (; j < batch; ++j) Tile<kRelu, 1>(begin, end, col_idx, values, x + j, x_stride, bias[r], yr + j);
  }
}

}  // namespace

void f32_spmm_1x16__scalar(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr,
                           const std::uint32_t* col_idx, const float* values, const float* x,
                           std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride) {
  if (relu) {
    SpmmScalar<true>(rows, batch, row_ptr, col_idx, values, x, x_stride, bias, y, y_stride);
  } else {
    SpmmScalar<false>(rows, batch, row_ptr, col_idx, values, x, x_stride, bias, y, y_stride);
  }
}

}  // namespace frugal::kernels
