// AVX2+FMA dense Y = activation(W X + b) for a feature-major batch, for x86-64 cores from
// Haswell and Zen 1 on. Compiled with -mavx2 -mfma on this file only; dispatch calls it
// only after __builtin_cpu_supports reports both features.
//
// Tile: 4 rows x 16 batch columns in 8 accumulators. Per input, 2 loads of X and 4
// broadcasts of W feed 8 FMAs, which keeps two FMA units busy through a latency of 4
// cycles. Batch tails run 8 columns, then 1 to 7 through masked loads and stores, so
// every lane runs the same FMA chain and nothing outside [0, batch) is read or written.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kRowTile = 4;

// Entries [8 - n, 16 - n) form a mask with the first n lanes set, for n in [0, 8].
alignas(32) constexpr std::int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                     0,  0,  0,  0,  0,  0,  0,  0};

inline __m256i TailMask(std::size_t lanes) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&kMaskTable[8 - lanes]));
}

// kVectors 8-float vectors of columns per row; kMasked loads and stores only the lanes
// set in `mask` (kVectors is then 1).
template <bool kRelu, std::size_t kRows, std::size_t kVectors, bool kMasked>
inline void Tile(std::size_t cols, const float* w, const float* x, std::size_t x_stride, const float* bias,
                 float* y, std::size_t y_stride, __m256i mask) {
  __m256 acc[kRows][kVectors];
  for (std::size_t i = 0; i < kRows; ++i) {
    for (std::size_t v = 0; v < kVectors; ++v) acc[i][v] = _mm256_setzero_ps();
  }
  for (std::size_t c = 0; c < cols; ++c) {
    const float* xc = x + c * x_stride;
    __m256 xv[kVectors];
    for (std::size_t v = 0; v < kVectors; ++v) {
      xv[v] = kMasked ? _mm256_maskload_ps(xc, mask) : _mm256_loadu_ps(xc + 8 * v);
    }
    for (std::size_t i = 0; i < kRows; ++i) {
      const __m256 wi = _mm256_broadcast_ss(w + i * cols + c);
      for (std::size_t v = 0; v < kVectors; ++v) acc[i][v] = _mm256_fmadd_ps(wi, xv[v], acc[i][v]);
    }
  }
  for (std::size_t i = 0; i < kRows; ++i) {
    const __m256 b = _mm256_broadcast_ss(bias + i);
    for (std::size_t v = 0; v < kVectors; ++v) {
      __m256 sum = _mm256_add_ps(acc[i][v], b);
      if constexpr (kRelu) sum = _mm256_max_ps(sum, _mm256_setzero_ps());
      if constexpr (kMasked) {
        _mm256_maskstore_ps(y + i * y_stride, mask, sum);
      } else {
        _mm256_storeu_ps(y + i * y_stride + 8 * v, sum);
      }
    }
  }
}

template <bool kRelu, std::size_t kRows>
void Rows(std::size_t cols, std::size_t batch, const float* w, const float* x, std::size_t x_stride,
          const float* bias, float* y, std::size_t y_stride) {
  const __m256i unused = _mm256_setzero_si256();
  std::size_t j = 0;
  for (; j + 16 <= batch; j += 16) Tile<kRelu, kRows, 2, false>(cols, w, x + j, x_stride, bias, y + j, y_stride, unused);
  if (j + 8 <= batch) {
    Tile<kRelu, kRows, 1, false>(cols, w, x + j, x_stride, bias, y + j, y_stride, unused);
    j += 8;
  }
  if (j < batch) Tile<kRelu, kRows, 1, true>(cols, w, x + j, x_stride, bias, y + j, y_stride, TailMask(batch - j));
}

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes, and
// the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void GemmAvx2(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w, const float* x,
              std::size_t x_stride, const float* bias, float* y, std::size_t y_stride) {
  std::size_t r = 0;
  for (; r + kRowTile <= rows; r += kRowTile) {
    Rows<kRelu, kRowTile>(cols, batch, w + r * cols, x, x_stride, bias + r, y + r * y_stride, y_stride);
  }
  for (; r < rows; ++r) Rows<kRelu, 1>(cols, batch, w + r * cols, x, x_stride, bias + r, y + r * y_stride, y_stride);
}

}  // namespace

void f32_gemm_4x16__avx2(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w,
                         const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
                         std::size_t y_stride) {
  if (relu) {
    GemmAvx2<true>(rows, cols, batch, w, x, x_stride, bias, y, y_stride);
  } else {
    GemmAvx2<false>(rows, cols, batch, w, x, x_stride, bias, y, y_stride);
  }
}

}  // namespace frugal::kernels
