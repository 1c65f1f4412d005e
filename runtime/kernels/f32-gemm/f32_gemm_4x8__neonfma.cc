// NEON dense Y = activation(W X + b) with fused multiply-add for a feature-major batch,
// for AArch64 cores (Cortex-A53, A72, A76 in Raspberry Pi 3, 4 and 5) and 32-bit ARMv7
// cores with VFPv4 (Cortex-A7, A15). Uses only intrinsics that exist on both.
//
// Tile: 4 rows x 8 batch columns in 8 accumulators. Per input, 2 loads of X and 4
// broadcast loads of W feed 8 FMLAs. With the 2 X vectors and a weight the tile needs
// 11 q registers, which fits ARMv7's 16. Batch tails run 4 columns, then 1 to 3 in scalar
// std::fma, which is the same fused operation as one lane of vfmaq_f32, so every column
// gets the same result whatever its position.
// NOTE: tested for correctness under qemu only. Its speed on a board is not yet measured.
#include <arm_neon.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kRowTile = 4;

template <bool kRelu, std::size_t kRows, std::size_t kVectors>
inline void Tile(std::size_t cols, const float* w, const float* x, std::size_t x_stride, const float* bias,
                 float* y, std::size_t y_stride) {
  float32x4_t acc[kRows][kVectors];
  for (std::size_t i = 0; i < kRows; ++i) {
    for (std::size_t v = 0; v < kVectors; ++v) acc[i][v] = vdupq_n_f32(0.0f);
  }
  for (std::size_t c = 0; c < cols; ++c) {
    const float* xc = x + c * x_stride;
    float32x4_t xv[kVectors];
    for (std::size_t v = 0; v < kVectors; ++v) xv[v] = vld1q_f32(xc + 4 * v);
    for (std::size_t i = 0; i < kRows; ++i) {
      const float32x4_t wi = vld1q_dup_f32(w + i * cols + c);
      for (std::size_t v = 0; v < kVectors; ++v) acc[i][v] = vfmaq_f32(acc[i][v], wi, xv[v]);
    }
  }
  for (std::size_t i = 0; i < kRows; ++i) {
    const float32x4_t b = vld1q_dup_f32(bias + i);
    for (std::size_t v = 0; v < kVectors; ++v) {
      float32x4_t sum = vaddq_f32(acc[i][v], b);
      if constexpr (kRelu) sum = vmaxq_f32(sum, vdupq_n_f32(0.0f));
      vst1q_f32(y + i * y_stride + 4 * v, sum);
    }
  }
}

// 1 to 3 columns, one at a time.
template <bool kRelu, std::size_t kRows>
inline void ScalarTail(std::size_t cols, const float* w, const float* x, std::size_t x_stride, const float* bias,
                       float* y, std::size_t y_stride, std::size_t lanes) {
  for (std::size_t i = 0; i < kRows; ++i) {
    for (std::size_t l = 0; l < lanes; ++l) {
      float acc = 0.0f;
      for (std::size_t c = 0; c < cols; ++c) acc = std::fma(w[i * cols + c], x[c * x_stride + l], acc);
      float sum = acc + bias[i];
      if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
      y[i * y_stride + l] = sum;
    }
  }
}

template <bool kRelu, std::size_t kRows>
void Rows(std::size_t cols, std::size_t batch, const float* w, const float* x, std::size_t x_stride,
          const float* bias, float* y, std::size_t y_stride) {
  std::size_t j = 0;
  for (; j + 8 <= batch; j += 8) Tile<kRelu, kRows, 2>(cols, w, x + j, x_stride, bias, y + j, y_stride);
  if (j + 4 <= batch) {
    Tile<kRelu, kRows, 1>(cols, w, x + j, x_stride, bias, y + j, y_stride);
    j += 4;
  }
  if (j < batch) ScalarTail<kRelu, kRows>(cols, w, x + j, x_stride, bias, y + j, y_stride, batch - j);
}

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes, and
// the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void GemmNeonFma(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w, const float* x,
                 std::size_t x_stride, const float* bias, float* y, std::size_t y_stride) {
  std::size_t r = 0;
  for (; r + kRowTile <= rows; r += kRowTile) {
    Rows<kRelu, kRowTile>(cols, batch, w + r * cols, x, x_stride, bias + r, y + r * y_stride, y_stride);
  }
  for (; r < rows; ++r) Rows<kRelu, 1>(cols, batch, w + r * cols, x, x_stride, bias + r, y + r * y_stride, y_stride);
}

}  // namespace

void f32_gemm_4x8__neonfma(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w,
                           const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
                           std::size_t y_stride) {
  if (relu) {
    GemmNeonFma<true>(rows, cols, batch, w, x, x_stride, bias, y, y_stride);
  } else {
    GemmNeonFma<false>(rows, cols, batch, w, x, x_stride, bias, y, y_stride);
  }
}

}  // namespace frugal::kernels
