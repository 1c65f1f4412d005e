// NEON CSR Y = activation(W X + b) with fused multiply-add for a feature-major batch, for
// AArch64 cores (Cortex-A53, A72, A76) and 32-bit ARMv7 cores with VFPv4 (Cortex-A7,
// A15). Uses only intrinsics that exist on both.
//
// Tile: 1 row x 16 batch columns in 4 accumulators. Each stored weight is loaded once as
// a broadcast and multiplies 4 contiguous vectors of its input row, so there is no
// gather. Batch tails run 8 columns, then 4 at a time, then 1 to 3 in scalar std::fma, the same
// fused operation as one lane of vfmaq_f32, so every column gets the same result
// whatever its position.
// NOTE: tested for correctness under qemu only. Its speed on a board is not yet measured.
#include <arm_neon.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

template <bool kRelu, std::size_t kVectors>
inline void Tile(std::size_t begin, std::size_t end, const std::uint32_t* col_idx, const float* values,
                 const float* x, std::size_t x_stride, float bias, float* y) {
  float32x4_t acc[kVectors];
  for (std::size_t v = 0; v < kVectors; ++v) acc[v] = vdupq_n_f32(0.0f);
  for (std::size_t k = begin; k < end; ++k) {
    const float32x4_t wk = vld1q_dup_f32(values + k);
    const float* xk = x + col_idx[k] * x_stride;
    for (std::size_t v = 0; v < kVectors; ++v) acc[v] = vfmaq_f32(acc[v], wk, vld1q_f32(xk + 4 * v));
  }
  const float32x4_t b = vdupq_n_f32(bias);
  for (std::size_t v = 0; v < kVectors; ++v) {
    float32x4_t sum = vaddq_f32(acc[v], b);
    if constexpr (kRelu) sum = vmaxq_f32(sum, vdupq_n_f32(0.0f));
    vst1q_f32(y + 4 * v, sum);
  }
}

// No bounds checks in here: Model::FromFile/FromBuffer validated row_ptr and col_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void SpmmNeonFma(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                 const float* values, const float* x, std::size_t x_stride, const float* bias, float* y,
                 std::size_t y_stride) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t begin = row_ptr[r];
    const std::size_t end = row_ptr[r + 1];
    float* yr = y + r * y_stride;
    std::size_t j = 0;
    for (; j + 16 <= batch; j += 16) Tile<kRelu, 4>(begin, end, col_idx, values, x + j, x_stride, bias[r], yr + j);
    if (j + 8 <= batch) {
      Tile<kRelu, 2>(begin, end, col_idx, values, x + j, x_stride, bias[r], yr + j);
      j += 8;
    }
    for (; j + 4 <= batch; j += 4) Tile<kRelu, 1>(begin, end, col_idx, values, x + j, x_stride, bias[r], yr + j);
    // 1 to 3 columns, one at a time.
    for (; j < batch; ++j) {
      float acc = 0.0f;
      for (std::size_t k = begin; k < end; ++k) acc = std::fma(values[k], x[col_idx[k] * x_stride + j], acc);
      float sum = acc + bias[r];
      if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
      yr[j] = sum;
    }
  }
}

}  // namespace

void f32_spmm_1x16__neonfma(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr,
                            const std::uint32_t* col_idx, const float* values, const float* x,
                            std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride) {
  if (relu) {
    SpmmNeonFma<true>(rows, batch, row_ptr, col_idx, values, x, x_stride, bias, y, y_stride);
  } else {
    SpmmNeonFma<false>(rows, batch, row_ptr, col_idx, values, x, x_stride, bias, y, y_stride);
  }
}

}  // namespace frugal::kernels
