// AVX2+FMA dense-columns y = activation(W x + b) for x86-64 cores with AVX2 and FMA3
// (Haswell and later, Zen and later). W is column-major with rows padded to a multiple
// of 8, so each column is whole ymm vectors, and an input that is exactly zero skips its
// whole column.
//
// Tile: up to 64 rows (8 ymm accumulators) per pass over the inputs; wider layers take
// several passes. Each pass tests the inputs 8 at a time (one vptest) and skips the
// group when all 8 are zero; a non-zero group runs its 8 columns without further
// branches, so each pass has one data-dependent branch per 8 inputs.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::uint32_t kLanes = 8;
constexpr int kMaxVectors = 8;

// _mm256_maskload_ps/_mm256_maskstore_ps masks: kMaskTable + 8 - n enables lanes [0, n).
alignas(32) constexpr std::int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

inline __m256i LaneMask(std::uint32_t n) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + kLanes - n));
}

// Rows [row0, row0 + count) with kVectors = ceil(count / 8). The padding rows of the last
// vector exist in w (zeros) but not in bias or y, hence the masked load and store.
// No bounds checks: the loader validated the value count.
template <int kVectors, bool kRelu>
void Tile(std::uint32_t row0, std::uint32_t count, std::uint32_t cols, std::size_t stride, const float* w,
          const float* x, const float* bias, float* y) {
  const std::uint32_t last = count - (kVectors - 1) * kLanes;  // 1 to 8 rows in the last vector
  const __m256i last_mask = LaneMask(last);
  __m256 acc[kVectors];
  for (int v = 0; v + 1 < kVectors; ++v) acc[v] = _mm256_loadu_ps(bias + row0 + v * kLanes);
  acc[kVectors - 1] = _mm256_maskload_ps(bias + row0 + (kVectors - 1) * kLanes, last_mask);

  const float* column = w + row0;
  std::uint32_t c = 0;
  for (; c + kLanes <= cols; c += kLanes, column += kLanes * stride) {
    const __m256i group = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + c));
    if (_mm256_testz_si256(group, group)) continue;
    for (std::uint32_t j = 0; j < kLanes; ++j) {
      const __m256 xj = _mm256_broadcast_ss(x + c + j);
      const float* wj = column + j * stride;
      for (int v = 0; v < kVectors; ++v) acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(wj + v * kLanes), xj, acc[v]);
    }
  }
  for (; c < cols; ++c, column += stride) {
    if (x[c] == 0.0f) continue;
    const __m256 xc = _mm256_broadcast_ss(x + c);
    for (int v = 0; v < kVectors; ++v) acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(column + v * kLanes), xc, acc[v]);
  }

  if constexpr (kRelu) {
    for (int v = 0; v < kVectors; ++v) acc[v] = _mm256_max_ps(acc[v], _mm256_setzero_ps());
  }
  for (int v = 0; v + 1 < kVectors; ++v) _mm256_storeu_ps(y + row0 + v * kLanes, acc[v]);
  _mm256_maskstore_ps(y + row0 + (kVectors - 1) * kLanes, last_mask, acc[kVectors - 1]);
}

template <bool kRelu>
void GemvcolAvx2(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x, const float* bias,
                 float* y) {
  const std::size_t stride = DenseColumnStride(rows);
  constexpr std::uint32_t kTileRows = kMaxVectors * kLanes;
  for (std::uint32_t row0 = 0; row0 < rows; row0 += kTileRows) {
    const std::uint32_t count = rows - row0 < kTileRows ? rows - row0 : kTileRows;
    switch ((count + kLanes - 1) / kLanes) {
      case 1: Tile<1, kRelu>(row0, count, cols, stride, w, x, bias, y); break;
      case 2: Tile<2, kRelu>(row0, count, cols, stride, w, x, bias, y); break;
      case 3: Tile<3, kRelu>(row0, count, cols, stride, w, x, bias, y); break;
      case 4: Tile<4, kRelu>(row0, count, cols, stride, w, x, bias, y); break;
      case 5: Tile<5, kRelu>(row0, count, cols, stride, w, x, bias, y); break;
      case 6: Tile<6, kRelu>(row0, count, cols, stride, w, x, bias, y); break;
      case 7: Tile<7, kRelu>(row0, count, cols, stride, w, x, bias, y); break;
      default: Tile<8, kRelu>(row0, count, cols, stride, w, x, bias, y); break;
    }
  }
}

}  // namespace

void f32_gemvcol__avx2(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                       const float* bias, bool relu, float* y) {
  if (relu) {
    GemvcolAvx2<true>(rows, cols, w, x, bias, y);
  } else {
    GemvcolAvx2<false>(rows, cols, w, x, bias, y);
  }
}

}  // namespace frugal::kernels
