// AVX2+FMA CSR Y = activation(W X + b) for a feature-major batch, for x86-64 cores from
// Haswell and Zen 1 on. Compiled with -mavx2 -mfma on this file only; dispatch calls it
// only after __builtin_cpu_supports reports both features.
//
// Tile: 1 row x 32 batch columns in 4 accumulators. Each stored weight is broadcast once
// and multiplies 4 contiguous vectors of its input row, so there is no gather. Four
// independent FMA chains cover half of two FMA units at a latency of 4 cycles. Batch
// tails run 16 columns, then 8 at a time, then 1 to 7 through masked loads and stores, so
// every lane runs the same FMA chain and nothing outside [0, batch) is read or written.
// NOTE: at batch 8 a stored weight costs about as much CPU time as at batch 32 (0.66 and
// 0.87 ns on a 64x784 layer), because the index, weight and input loads bound the loop.
// Running two rows in lockstep for two FMA chains did not change that.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

alignas(32) constexpr std::int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                     0,  0,  0,  0,  0,  0,  0,  0};

inline __m256i TailMask(std::size_t lanes) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&kMaskTable[8 - lanes]));
}

template <bool kRelu, std::size_t kVectors, bool kMasked>
inline void Tile(std::size_t begin, std::size_t end, const std::uint32_t* col_idx, const float* values,
                 const float* x, std::size_t x_stride, const float* bias, float* y, __m256i mask) {
  __m256 acc[kVectors];
  for (std::size_t v = 0; v < kVectors; ++v) acc[v] = _mm256_setzero_ps();
  for (std::size_t k = begin; k < end; ++k) {
    const __m256 wk = _mm256_broadcast_ss(values + k);
    const float* xk = x + col_idx[k] * x_stride;
    for (std::size_t v = 0; v < kVectors; ++v) {
      const __m256 xv = kMasked ? _mm256_maskload_ps(xk, mask) : _mm256_loadu_ps(xk + 8 * v);
      acc[v] = _mm256_fmadd_ps(wk, xv, acc[v]);
    }
  }
  const __m256 b = _mm256_broadcast_ss(bias);
  for (std::size_t v = 0; v < kVectors; ++v) {
    __m256 sum = _mm256_add_ps(acc[v], b);
    if constexpr (kRelu) sum = _mm256_max_ps(sum, _mm256_setzero_ps());
    if constexpr (kMasked) {
      _mm256_maskstore_ps(y, mask, sum);
    } else {
      _mm256_storeu_ps(y + 8 * v, sum);
    }
  }
}

// No bounds checks in here: Model::FromFile/FromBuffer validated row_ptr and col_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void SpmmAvx2(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
              const float* values, const float* x, std::size_t x_stride, const float* bias, float* y,
              std::size_t y_stride) {
  const __m256i unused = _mm256_setzero_si256();
  const __m256i tail_mask = TailMask(batch % 8);
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t begin = row_ptr[r];
    const std::size_t end = row_ptr[r + 1];
    float* yr = y + r * y_stride;
    std::size_t j = 0;
    for (; j + 32 <= batch; j += 32) {
      Tile<kRelu, 4, false>(begin, end, col_idx, values, x + j, x_stride, bias + r, yr + j, unused);
    }
    if (j + 16 <= batch) {
      Tile<kRelu, 2, false>(begin, end, col_idx, values, x + j, x_stride, bias + r, yr + j, unused);
      j += 16;
    }
    for (; j + 8 <= batch; j += 8) {
      Tile<kRelu, 1, false>(begin, end, col_idx, values, x + j, x_stride, bias + r, yr + j, unused);
    }
    if (j < batch) Tile<kRelu, 1, true>(begin, end, col_idx, values, x + j, x_stride, bias + r, yr + j, tail_mask);
  }
}

}  // namespace

void f32_spmm_1x32__avx2(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr,
                         const std::uint32_t* col_idx, const float* values, const float* x,
                         std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride) {
  if (relu) {
    SpmmAvx2<true>(rows, batch, row_ptr, col_idx, values, x, x_stride, bias, y, y_stride);
  } else {
    SpmmAvx2<false>(rows, batch, row_ptr, col_idx, values, x, x_stride, bias, y, y_stride);
  }
}

}  // namespace frugal::kernels
