// Block-sparse rows y = activation(W x + b) for x86-64 cores with AVX2 and FMA3 (Haswell
// and Zen 1 on). Compiled with -mavx2 -mfma on this file only; dispatch calls it only
// after __builtin_cpu_supports reports both features.
//
// A column block (8x1 or 4x1) is one broadcast of x[col] and one FMA of 8 or 4 contiguous
// values into the block row's 8 or 4 outputs, so no lane is wasted and no horizontal add
// is needed. A row block (1x4) is one unaligned load of x[col, col + 4) and one 4-wide
// FMA. 1x1 blocks are CSR with narrow indices and run the scalar FMA loop of
// f32_csrmv__avx2. Two accumulators hide the FMA latency on the block loops.
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/f32-bsrmv/bsrmv_dispatch.h"
#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// Adds bias, applies ReLU and stores the first `count` sums, for the last block row.
template <bool kRelu>
inline void StoreRows(const float* sums, std::uint32_t count, const float* bias, float* y) {
  for (std::uint32_t i = 0; i < count; ++i) {
    float sum = sums[i] + bias[i];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[i] = sum;
  }
}

// No bounds checks in the kernels below: Model::FromFile/FromBuffer validated
// block_row_ptr and the block column indices (schema/README.md lists the invariants).
template <typename Index, bool kRelu>
void Bsrmv8x1(std::uint32_t rows, const std::uint32_t* block_row_ptr, const Index* col, const float* values,
              const float* x, const float* bias, float* y) {
  const std::uint32_t block_row_count = (rows + 7) / 8;
  std::size_t begin = block_row_ptr[0];
  for (std::uint32_t b = 0; b < block_row_count; ++b) {
    const std::size_t end = block_row_ptr[b + 1];
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    std::size_t k = begin;
    for (; k + 2 <= end; k += 2) {
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + k * 8), _mm256_broadcast_ss(x + col[k]), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(values + k * 8 + 8), _mm256_broadcast_ss(x + col[k + 1]), acc1);
    }
    if (k < end) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + k * 8), _mm256_broadcast_ss(x + col[k]), acc0);
    __m256 sum = _mm256_add_ps(acc0, acc1);
    const std::uint32_t base = b * 8;
    if (rows - base >= 8) {
      sum = _mm256_add_ps(sum, _mm256_loadu_ps(bias + base));
      if constexpr (kRelu) sum = _mm256_max_ps(sum, _mm256_setzero_ps());
      _mm256_storeu_ps(y + base, sum);
    } else {
      alignas(32) float sums[8];
      _mm256_store_ps(sums, sum);
      StoreRows<kRelu>(sums, rows - base, bias + base, y + base);
    }
    begin = end;
  }
}

template <typename Index, bool kRelu>
void Bsrmv4x1(std::uint32_t rows, const std::uint32_t* block_row_ptr, const Index* col, const float* values,
              const float* x, const float* bias, float* y) {
  const std::uint32_t block_row_count = (rows + 3) / 4;
  std::size_t begin = block_row_ptr[0];
  for (std::uint32_t b = 0; b < block_row_count; ++b) {
    const std::size_t end = block_row_ptr[b + 1];
    __m128 acc0 = _mm_setzero_ps();
    __m128 acc1 = _mm_setzero_ps();
    std::size_t k = begin;
    for (; k + 2 <= end; k += 2) {
      acc0 = _mm_fmadd_ps(_mm_loadu_ps(values + k * 4), _mm_broadcast_ss(x + col[k]), acc0);
      acc1 = _mm_fmadd_ps(_mm_loadu_ps(values + k * 4 + 4), _mm_broadcast_ss(x + col[k + 1]), acc1);
    }
    if (k < end) acc0 = _mm_fmadd_ps(_mm_loadu_ps(values + k * 4), _mm_broadcast_ss(x + col[k]), acc0);
    __m128 sum = _mm_add_ps(acc0, acc1);
    const std::uint32_t base = b * 4;
    if (rows - base >= 4) {
      sum = _mm_add_ps(sum, _mm_loadu_ps(bias + base));
      if constexpr (kRelu) sum = _mm_max_ps(sum, _mm_setzero_ps());
      _mm_storeu_ps(y + base, sum);
    } else {
      alignas(16) float sums[4];
      _mm_store_ps(sums, sum);
      StoreRows<kRelu>(sums, rows - base, bias + base, y + base);
    }
    begin = end;
  }
}

template <typename Index, bool kRelu>
void Bsrmv1x4(std::uint32_t rows, const std::uint32_t* block_row_ptr, const Index* col, const float* values,
              const float* x, const float* bias, float* y) {
  std::size_t begin = block_row_ptr[0];
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t end = block_row_ptr[r + 1];
    __m128 acc0 = _mm_setzero_ps();
    __m128 acc1 = _mm_setzero_ps();
    std::size_t k = begin;
    for (; k + 2 <= end; k += 2) {
      acc0 = _mm_fmadd_ps(_mm_loadu_ps(values + k * 4), _mm_loadu_ps(x + col[k]), acc0);
      acc1 = _mm_fmadd_ps(_mm_loadu_ps(values + k * 4 + 4), _mm_loadu_ps(x + col[k + 1]), acc1);
    }
    if (k < end) acc0 = _mm_fmadd_ps(_mm_loadu_ps(values + k * 4), _mm_loadu_ps(x + col[k]), acc0);
    // Horizontal sum of the 4 lanes.
    __m128 sum = _mm_add_ps(acc0, acc1);
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    float total = _mm_cvtss_f32(sum) + bias[r];
    if constexpr (kRelu) total = total > 0.0f ? total : 0.0f;
    y[r] = total;
    begin = end;
  }
}

template <typename Index, bool kRelu>
void Bsrmv1x1(std::uint32_t rows, const std::uint32_t* block_row_ptr, const Index* col, const float* values,
              const float* x, const float* bias, float* y) {
  std::size_t begin = block_row_ptr[0];
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t end = block_row_ptr[r + 1];
    float sum0 = 0.0f;
    float sum1 = 0.0f;
    float sum2 = 0.0f;
    float sum3 = 0.0f;
    std::size_t k = begin;
    for (; k + 4 <= end; k += 4) {
      sum0 = std::fma(values[k], x[col[k]], sum0);
      sum1 = std::fma(values[k + 1], x[col[k + 1]], sum1);
      sum2 = std::fma(values[k + 2], x[col[k + 2]], sum2);
      sum3 = std::fma(values[k + 3], x[col[k + 3]], sum3);
    }
    for (; k < end; ++k) sum0 = std::fma(values[k], x[col[k]], sum0);
    float sum = ((sum0 + sum1) + (sum2 + sum3)) + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
    begin = end;
  }
}

template <typename Index, bool kRelu>
struct Kernel8x1 {
  static constexpr auto Run = &Bsrmv8x1<Index, kRelu>;
};
template <typename Index, bool kRelu>
struct Kernel4x1 {
  static constexpr auto Run = &Bsrmv4x1<Index, kRelu>;
};
template <typename Index, bool kRelu>
struct Kernel1x4 {
  static constexpr auto Run = &Bsrmv1x4<Index, kRelu>;
};
template <typename Index, bool kRelu>
struct Kernel1x1 {
  static constexpr auto Run = &Bsrmv1x1<Index, kRelu>;
};

}  // namespace

void f32_bsrmv_1x1__avx2(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                         bool relu, float* y) {
  DispatchBsrmv<Kernel1x1>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_4x1__avx2(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                         bool relu, float* y) {
  DispatchBsrmv<Kernel4x1>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_8x1__avx2(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                         bool relu, float* y) {
  DispatchBsrmv<Kernel8x1>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_1x4__avx2(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                         bool relu, float* y) {
  DispatchBsrmv<Kernel1x4>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

}  // namespace frugal::kernels
