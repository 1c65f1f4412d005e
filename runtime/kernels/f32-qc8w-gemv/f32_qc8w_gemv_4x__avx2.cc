// AVX2+FMA dense y = activation(scales ⊙ (Q x) + b) for int8 weights Q with one float
// scale per row, for x86-64 cores from Haswell and Zen 1 on. Compiled with -mavx2 -mfma
// on this file only; dispatch calls it only after __builtin_cpu_supports reports both.
//
// Tile: 4 rows per pass, 16 columns per step, as in f32_gemv_4x__avx2. Each group of 8
// weights is one sign-extending load (vpmovsxbd) and one conversion (vcvtdq2ps) before
// its FMA, so the kernel reads a quarter of the float kernel's weight bytes for two more
// instructions per 8 weights. The last 0 to 7 columns run in scalar code, so the kernel
// never reads past w, x or bias. (Copying them into a zeroed 8-byte buffer for one more
// vector step compiled to a memcpy call per row, which made a 61 x 36 layer take 4x as
// long as the float kernel.)
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kRowTile = 4;

// Converts the 8 int8 values at w to 8 floats.
inline __m256 Load8(const std::int8_t* w) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w))));
}

inline float ReduceAdd(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

// Returns {sum(a0), sum(a1), sum(a2), sum(a3)}.
inline __m128 ReduceAdd4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 pairs01 = _mm256_hadd_ps(a0, a1);
  const __m256 pairs23 = _mm256_hadd_ps(a2, a3);
  const __m256 quads = _mm256_hadd_ps(pairs01, pairs23);
  return _mm_add_ps(_mm256_castps256_ps128(quads), _mm256_extractf128_ps(quads, 1));
}

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes, and
// the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void QGemvAvx2(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales, const float* x,
               const float* bias, float* y) {
  const std::size_t n = cols;
  const std::size_t cols_16 = n - n % 16;
  const std::size_t cols_8 = n - n % 8;

  std::size_t r = 0;
  for (; r + kRowTile <= rows; r += kRowTile) {
    const std::int8_t* w0 = w + r * n;
    const std::int8_t* w1 = w0 + n;
    const std::int8_t* w2 = w1 + n;
    const std::int8_t* w3 = w2 + n;
    __m256 acc0a = _mm256_setzero_ps(), acc0b = _mm256_setzero_ps();
    __m256 acc1a = _mm256_setzero_ps(), acc1b = _mm256_setzero_ps();
    __m256 acc2a = _mm256_setzero_ps(), acc2b = _mm256_setzero_ps();
    __m256 acc3a = _mm256_setzero_ps(), acc3b = _mm256_setzero_ps();

    // Main loop: 16 columns of 4 rows.
    for (std::size_t c = 0; c < cols_16; c += 16) {
      const __m256 xa = _mm256_loadu_ps(x + c);
      const __m256 xb = _mm256_loadu_ps(x + c + 8);
      acc0a = _mm256_fmadd_ps(Load8(w0 + c), xa, acc0a);
      acc1a = _mm256_fmadd_ps(Load8(w1 + c), xa, acc1a);
      acc2a = _mm256_fmadd_ps(Load8(w2 + c), xa, acc2a);
      acc3a = _mm256_fmadd_ps(Load8(w3 + c), xa, acc3a);
      acc0b = _mm256_fmadd_ps(Load8(w0 + c + 8), xb, acc0b);
      acc1b = _mm256_fmadd_ps(Load8(w1 + c + 8), xb, acc1b);
      acc2b = _mm256_fmadd_ps(Load8(w2 + c + 8), xb, acc2b);
      acc3b = _mm256_fmadd_ps(Load8(w3 + c + 8), xb, acc3b);
    }

    // Tail: one block of 8 columns, then 0 to 7 scalar columns.
    if (cols_8 > cols_16) {
      const __m256 xa = _mm256_loadu_ps(x + cols_16);
      acc0a = _mm256_fmadd_ps(Load8(w0 + cols_16), xa, acc0a);
      acc1a = _mm256_fmadd_ps(Load8(w1 + cols_16), xa, acc1a);
      acc2a = _mm256_fmadd_ps(Load8(w2 + cols_16), xa, acc2a);
      acc3a = _mm256_fmadd_ps(Load8(w3 + cols_16), xa, acc3a);
    }
    alignas(16) float tail[kRowTile] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (std::size_t c = cols_8; c < n; ++c) {
      tail[0] += static_cast<float>(w0[c]) * x[c];
      tail[1] += static_cast<float>(w1[c]) * x[c];
      tail[2] += static_cast<float>(w2[c]) * x[c];
      tail[3] += static_cast<float>(w3[c]) * x[c];
    }

    __m128 sums = ReduceAdd4(_mm256_add_ps(acc0a, acc0b), _mm256_add_ps(acc1a, acc1b),
                             _mm256_add_ps(acc2a, acc2b), _mm256_add_ps(acc3a, acc3b));
    sums = _mm_add_ps(sums, _mm_load_ps(tail));
    __m128 out = _mm_fmadd_ps(sums, _mm_loadu_ps(scales + r), _mm_loadu_ps(bias + r));
    if constexpr (kRelu) out = _mm_max_ps(out, _mm_setzero_ps());
    _mm_storeu_ps(y + r, out);
  }

  // Remaining 0 to 3 rows, one at a time.
  for (; r < rows; ++r) {
    const std::int8_t* row = w + r * n;
    __m256 acc_a = _mm256_setzero_ps();
    __m256 acc_b = _mm256_setzero_ps();
    std::size_t c = 0;
    for (; c < cols_16; c += 16) {
      acc_a = _mm256_fmadd_ps(Load8(row + c), _mm256_loadu_ps(x + c), acc_a);
      acc_b = _mm256_fmadd_ps(Load8(row + c + 8), _mm256_loadu_ps(x + c + 8), acc_b);
    }
    if (cols_8 > cols_16) acc_a = _mm256_fmadd_ps(Load8(row + c), _mm256_loadu_ps(x + c), acc_a);
    float sum = ReduceAdd(_mm256_add_ps(acc_a, acc_b));
    for (c = cols_8; c < n; ++c) sum += static_cast<float>(row[c]) * x[c];
    sum = sum * scales[r] + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
  }
}

}  // namespace

void f32_qc8w_gemv_4x__avx2(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales,
                            const float* x, const float* bias, bool relu, float* y) {
  if (relu) {
    QGemvAvx2<true>(rows, cols, w, scales, x, bias, y);
  } else {
    QGemvAvx2<false>(rows, cols, w, scales, x, bias, y);
  }
}

}  // namespace frugal::kernels
