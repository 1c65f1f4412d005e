// NEON block-sparse rows y = activation(W x + b) with fused multiply-add, for AArch64
// cores (Cortex-A53, A72, A76) and 32-bit ARMv7 cores with VFPv4 (Cortex-A7, A15).
//
// A column block (4x1 or 8x1) is one vld1q_dup of x[col] and one or two FMLAs of 4
// contiguous values into the block row's outputs, so lanes stay full without a gather,
// which NEON lacks. A row block (1x4) is one unaligned vld1q of x[col, col + 4). 1x1
// blocks are CSR with narrow indices and fill a vector of x with lane loads, as
// f32_csrmv__neonfma does.
// NOTE: tested for correctness under qemu only, and not timed on a board.
#include <arm_neon.h>

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

template <bool kRelu>
inline void StoreVector(float32x4_t sum, const float* bias, float* y) {
  sum = vaddq_f32(sum, vld1q_f32(bias));
  if constexpr (kRelu) sum = vmaxq_f32(sum, vdupq_n_f32(0.0f));
  vst1q_f32(y, sum);
}

inline float ReduceAdd(float32x4_t v) {
  const float32x2_t s = vadd_f32(vget_low_f32(v), vget_high_f32(v));
  return vget_lane_f32(vpadd_f32(s, s), 0);
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
    float32x4_t acc_lo = vdupq_n_f32(0.0f);
    float32x4_t acc_hi = vdupq_n_f32(0.0f);
    for (std::size_t k = begin; k < end; ++k) {
      const float32x4_t xk = vld1q_dup_f32(x + col[k]);
      acc_lo = vfmaq_f32(acc_lo, vld1q_f32(values + k * 8), xk);
      acc_hi = vfmaq_f32(acc_hi, vld1q_f32(values + k * 8 + 4), xk);
    }
    const std::uint32_t base = b * 8;
    if (rows - base >= 8) {
      StoreVector<kRelu>(acc_lo, bias + base, y + base);
      StoreVector<kRelu>(acc_hi, bias + base + 4, y + base + 4);
    } else {
      float sums[8];
      vst1q_f32(sums, acc_lo);
      vst1q_f32(sums + 4, acc_hi);
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
    float32x4_t acc0 = vdupq_n_f32(0.0f);
    float32x4_t acc1 = vdupq_n_f32(0.0f);
    std::size_t k = begin;
    for (; k + 2 <= end; k += 2) {
      acc0 = vfmaq_f32(acc0, vld1q_f32(values + k * 4), vld1q_dup_f32(x + col[k]));
      acc1 = vfmaq_f32(acc1, vld1q_f32(values + k * 4 + 4), vld1q_dup_f32(x + col[k + 1]));
    }
    if (k < end) acc0 = vfmaq_f32(acc0, vld1q_f32(values + k * 4), vld1q_dup_f32(x + col[k]));
    const float32x4_t sum = vaddq_f32(acc0, acc1);
    const std::uint32_t base = b * 4;
    if (rows - base >= 4) {
      StoreVector<kRelu>(sum, bias + base, y + base);
    } else {
      float sums[4];
      vst1q_f32(sums, sum);
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
    float32x4_t acc0 = vdupq_n_f32(0.0f);
    float32x4_t acc1 = vdupq_n_f32(0.0f);
    std::size_t k = begin;
    for (; k + 2 <= end; k += 2) {
      acc0 = vfmaq_f32(acc0, vld1q_f32(values + k * 4), vld1q_f32(x + col[k]));
      acc1 = vfmaq_f32(acc1, vld1q_f32(values + k * 4 + 4), vld1q_f32(x + col[k + 1]));
    }
    if (k < end) acc0 = vfmaq_f32(acc0, vld1q_f32(values + k * 4), vld1q_f32(x + col[k]));
    float sum = ReduceAdd(vaddq_f32(acc0, acc1)) + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
    begin = end;
  }
}

// Returns {x[idx[0]], x[idx[1]], x[idx[2]], x[idx[3]]}.
template <typename Index>
inline float32x4_t Gather4(const float* x, const Index* idx) {
  float32x4_t v = vld1q_dup_f32(x + idx[0]);
  v = vld1q_lane_f32(x + idx[1], v, 1);
  v = vld1q_lane_f32(x + idx[2], v, 2);
  return vld1q_lane_f32(x + idx[3], v, 3);
}

template <typename Index, bool kRelu>
void Bsrmv1x1(std::uint32_t rows, const std::uint32_t* block_row_ptr, const Index* col, const float* values,
              const float* x, const float* bias, float* y) {
  std::size_t begin = block_row_ptr[0];
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t end = block_row_ptr[r + 1];
    float32x4_t acc_a = vdupq_n_f32(0.0f);
    float32x4_t acc_b = vdupq_n_f32(0.0f);
    std::size_t k = begin;
    for (; k + 8 <= end; k += 8) {
      acc_a = vfmaq_f32(acc_a, vld1q_f32(values + k), Gather4(x, col + k));
      acc_b = vfmaq_f32(acc_b, vld1q_f32(values + k + 4), Gather4(x, col + k + 4));
    }
    if (k + 4 <= end) {
      acc_a = vfmaq_f32(acc_a, vld1q_f32(values + k), Gather4(x, col + k));
      k += 4;
    }
    float sum = ReduceAdd(vaddq_f32(acc_a, acc_b));
    for (; k < end; ++k) sum += values[k] * x[col[k]];
    sum += bias[r];
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

void f32_bsrmv_1x1__neonfma(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                            const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                            bool relu, float* y) {
  DispatchBsrmv<Kernel1x1>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_4x1__neonfma(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                            const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                            bool relu, float* y) {
  DispatchBsrmv<Kernel4x1>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_8x1__neonfma(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                            const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                            bool relu, float* y) {
  DispatchBsrmv<Kernel8x1>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_1x4__neonfma(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                            const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                            bool relu, float* y) {
  DispatchBsrmv<Kernel1x4>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

}  // namespace frugal::kernels
