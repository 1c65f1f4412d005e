// NEON CSR y = activation(scales ⊙ (Q x) + b) for int8 weights Q with one float scale per
// row, with fused multiply-add, for AArch64 cores (Cortex-A53, A72, A76) and 32-bit ARMv7
// cores with VFPv4 (Cortex-A7, A15).
//
// As in f32_csrmv__neonfma, lane loads fill vectors of x, 8 non-zeros per step. Their 8
// int8 values are one 8-byte load, widened and converted to two float vectors. The last
// 0 to 7 non-zeros of a row run in scalar code, so nothing past col_idx or values is read.
// NOTE: tested for correctness under qemu only. Its speed on a board is not yet measured.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// Returns {x[idx[0]], x[idx[1]], x[idx[2]], x[idx[3]]}.
inline float32x4_t Gather4(const float* x, const std::uint32_t* idx) {
  float32x4_t v = vld1q_dup_f32(x + idx[0]);
  v = vld1q_lane_f32(x + idx[1], v, 1);
  v = vld1q_lane_f32(x + idx[2], v, 2);
  return vld1q_lane_f32(x + idx[3], v, 3);
}

inline float ReduceAdd(float32x4_t v) {
  const float32x2_t s = vadd_f32(vget_low_f32(v), vget_high_f32(v));
  return vget_lane_f32(vpadd_f32(s, s), 0);
}

// No bounds checks in here: Model::FromFile/FromBuffer validated row_ptr and col_idx
// against the layer's sizes (schema/README.md lists the invariants).
template <bool kRelu>
void QCsrmvNeonFma(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                   const std::int8_t* values, const float* scales, const float* x, const float* bias, float* y) {
  std::size_t begin = row_ptr[0];
  for (std::uint32_t r = 0; r < rows; ++r) {
    const std::size_t end = row_ptr[r + 1];
    float32x4_t acc_a = vdupq_n_f32(0.0f);
    float32x4_t acc_b = vdupq_n_f32(0.0f);
    std::size_t k = begin;
    for (; k + 8 <= end; k += 8) {
      const int16x8_t wide = vmovl_s8(vld1_s8(values + k));
      const float32x4_t low = vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide)));
      const float32x4_t high = vcvtq_f32_s32(vmovl_s16(vget_high_s16(wide)));
      acc_a = vfmaq_f32(acc_a, low, Gather4(x, col_idx + k));
      acc_b = vfmaq_f32(acc_b, high, Gather4(x, col_idx + k + 4));
    }
    float sum = ReduceAdd(vaddq_f32(acc_a, acc_b));
    for (; k < end; ++k) sum += static_cast<float>(values[k]) * x[col_idx[k]];
    sum = sum * scales[r] + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
    begin = end;
  }
}

}  // namespace

void f32_qc8w_csrmv__neonfma(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                             const std::int8_t* values, const float* scales, const float* x, const float* bias,
                             bool relu, float* y) {
  if (relu) {
    QCsrmvNeonFma<true>(rows, row_ptr, col_idx, values, scales, x, bias, y);
  } else {
    QCsrmvNeonFma<false>(rows, row_ptr, col_idx, values, scales, x, bias, y);
  }
}

}  // namespace frugal::kernels
