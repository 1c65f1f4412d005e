// Portable dense Y = activation(W X + b) for a feature-major batch, for any CPU. Written
// so that GCC and Clang vectorize the lane loop over the batch without -ffast-math: a
// tile of 4 rows x 8 columns keeps 32 sums, 8 SSE or NEON registers, so one load of X
// feeds 4 rows. With GCC 12 -O3 on x86-64 (SSE2) and a 64 x 784 layer at batch 32, this
// tile took about half the CPU time of 4 x 16, whose 64 sums spill out of the 16 SSE
// registers. Tiles of 2 x 16, 2 x 8 and 1 x 16 were 15% to 25% slower (one noisy run).
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kRowTile = 4;
constexpr std::size_t kLanes = 8;

// One tile of kRows rows and kLanes batch columns. The constant trip counts let the
// compiler unroll the lane loop and keep the sums in registers.
template <bool kRelu, std::size_t kRows, std::size_t kTileLanes>
inline void Tile(std::size_t cols, const float* w, const float* x, std::size_t x_stride, const float* bias,
                 float* y, std::size_t y_stride) {
  float acc[kRows][kTileLanes] = {};
  for (std::size_t c = 0; c < cols; ++c) {
    const float* xc = x + c * x_stride;
    for (std::size_t i = 0; i < kRows; ++i) {
      const float wi = w[i * cols + c];
      for (std::size_t l = 0; l < kTileLanes; ++l) acc[i][l] += wi * xc[l];
    }
  }
  for (std::size_t i = 0; i < kRows; ++i) {
    for (std::size_t l = 0; l < kTileLanes; ++l) {
      float sum = acc[i][l] + bias[i];
      if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
      y[i * y_stride + l] = sum;
    }
  }
}

template <bool kRelu, std::size_t kRows>
void Rows(std::size_t cols, std::size_t batch, const float* w, const float* x, std::size_t x_stride,
          const float* bias, float* y, std::size_t y_stride) {
  std::size_t j = 0;
  for (; j + kLanes <= batch; j += kLanes) Tile<kRelu, kRows, kLanes>(cols, w, x + j, x_stride, bias, y + j, y_stride);
  for (; j + 4 <= batch; j += 4) Tile<kRelu, kRows, 4>(cols, w, x + j, x_stride, bias, y + j, y_stride);
  for (; j < batch; ++j) Tile<kRelu, kRows, 1>(cols, w, x + j, x_stride, bias, y + j, y_stride);
}

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes, and
// the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void GemmScalar(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w, const float* x,
                std::size_t x_stride, const float* bias, float* y, std::size_t y_stride) {
  std::size_t r = 0;
  for (; r + kRowTile <= rows; r += kRowTile) {
    Rows<kRelu, kRowTile>(cols, batch, w + r * cols, x, x_stride, bias + r, y + r * y_stride, y_stride);
  }
  for (; r < rows; ++r) Rows<kRelu, 1>(cols, batch, w + r * cols, x, x_stride, bias + r, y + r * y_stride, y_stride);
}

}  // namespace

void f32_gemm_4x8__scalar(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w,
                           const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
                           std::size_t y_stride) {
  if (relu) {
    GemmScalar<true>(rows, cols, batch, w, x, x_stride, bias, y, y_stride);
  } else {
    GemmScalar<false>(rows, cols, batch, w, x, x_stride, bias, y, y_stride);
  }
}

}  // namespace frugal::kernels
