// NEON dense y = activation(W x + b) with fused multiply-add, for AArch64 cores
// (Cortex-A53, A72, A76 in Raspberry Pi 3, 4 and 5) and 32-bit ARMv7 cores with VFPv4
// (Cortex-A7, A15). Uses only intrinsics that exist on both, so one file serves both.
//
// Tile: 4 rows per pass, 8 columns per step. Each 4-float load of x feeds 4 rows. The 8
// accumulators hide an FMLA latency of up to 8 cycles at one FMLA per cycle, and with two
// x vectors and a weight vector they still fit in ARMv7's 16 q registers. The last 0 to 3
// columns run in scalar code, so nothing past w, x or bias is read.
// NOTE: tested for correctness under qemu only. Its speed on a board is not yet measured.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kRowTile = 4;

// Returns {sum(a0), sum(a1), sum(a2), sum(a3)}. vpadd_f32 exists on ARMv7 and AArch64,
// unlike vpaddq_f32 and vaddvq_f32, which are AArch64-only.
inline float32x4_t ReduceAdd4(float32x4_t a0, float32x4_t a1, float32x4_t a2, float32x4_t a3) {
  const float32x2_t s0 = vadd_f32(vget_low_f32(a0), vget_high_f32(a0));
  const float32x2_t s1 = vadd_f32(vget_low_f32(a1), vget_high_f32(a1));
  const float32x2_t s2 = vadd_f32(vget_low_f32(a2), vget_high_f32(a2));
  const float32x2_t s3 = vadd_f32(vget_low_f32(a3), vget_high_f32(a3));
  return vcombine_f32(vpadd_f32(s0, s1), vpadd_f32(s2, s3));
}

inline float ReduceAdd(float32x4_t v) {
  const float32x2_t s = vadd_f32(vget_low_f32(v), vget_high_f32(v));
  return vget_lane_f32(vpadd_f32(s, s), 0);
}

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes, and
// the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void GemvNeonFma(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                 const float* bias, float* y) {
  const std::size_t n = cols;
  const std::size_t cols_8 = n - n % 8;
  const std::size_t cols_4 = n - n % 4;

  std::size_t r = 0;
  for (; r + kRowTile <= rows; r += kRowTile) {
    const float* w0 = w + r * n;
    const float* w1 = w0 + n;
    const float* w2 = w1 + n;
    const float* w3 = w2 + n;
    float32x4_t acc0a = vdupq_n_f32(0.0f), acc0b = vdupq_n_f32(0.0f);
    float32x4_t acc1a = vdupq_n_f32(0.0f), acc1b = vdupq_n_f32(0.0f);
    float32x4_t acc2a = vdupq_n_f32(0.0f), acc2b = vdupq_n_f32(0.0f);
    float32x4_t acc3a = vdupq_n_f32(0.0f), acc3b = vdupq_n_f32(0.0f);

    // Main loop: 8 columns of 4 rows.
    for (std::size_t c = 0; c < cols_8; c += 8) {
      const float32x4_t xa = vld1q_f32(x + c);
      const float32x4_t xb = vld1q_f32(x + c + 4);
      acc0a = vfmaq_f32(acc0a, vld1q_f32(w0 + c), xa);
      acc1a = vfmaq_f32(acc1a, vld1q_f32(w1 + c), xa);
      acc2a = vfmaq_f32(acc2a, vld1q_f32(w2 + c), xa);
      acc3a = vfmaq_f32(acc3a, vld1q_f32(w3 + c), xa);
      acc0b = vfmaq_f32(acc0b, vld1q_f32(w0 + c + 4), xb);
      acc1b = vfmaq_f32(acc1b, vld1q_f32(w1 + c + 4), xb);
      acc2b = vfmaq_f32(acc2b, vld1q_f32(w2 + c + 4), xb);
      acc3b = vfmaq_f32(acc3b, vld1q_f32(w3 + c + 4), xb);
    }

    // Tail: one block of 4 columns, then 0 to 3 scalar columns.
    if (cols_4 > cols_8) {
      const float32x4_t xa = vld1q_f32(x + cols_8);
      acc0a = vfmaq_f32(acc0a, vld1q_f32(w0 + cols_8), xa);
      acc1a = vfmaq_f32(acc1a, vld1q_f32(w1 + cols_8), xa);
      acc2a = vfmaq_f32(acc2a, vld1q_f32(w2 + cols_8), xa);
      acc3a = vfmaq_f32(acc3a, vld1q_f32(w3 + cols_8), xa);
    }
    float tail[kRowTile] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (std::size_t c = cols_4; c < n; ++c) {
      tail[0] += w0[c] * x[c];
      tail[1] += w1[c] * x[c];
      tail[2] += w2[c] * x[c];
      tail[3] += w3[c] * x[c];
    }

    float32x4_t sums = ReduceAdd4(vaddq_f32(acc0a, acc0b), vaddq_f32(acc1a, acc1b),
                                  vaddq_f32(acc2a, acc2b), vaddq_f32(acc3a, acc3b));
    sums = vaddq_f32(sums, vld1q_f32(tail));
    sums = vaddq_f32(sums, vld1q_f32(bias + r));
    if constexpr (kRelu) sums = vmaxq_f32(sums, vdupq_n_f32(0.0f));
    vst1q_f32(y + r, sums);
  }

  // Remaining 0 to 3 rows, one at a time.
  for (; r < rows; ++r) {
    const float* row = w + r * n;
    float32x4_t acc_a = vdupq_n_f32(0.0f);
    float32x4_t acc_b = vdupq_n_f32(0.0f);
    std::size_t c = 0;
    for (; c < cols_8; c += 8) {
      acc_a = vfmaq_f32(acc_a, vld1q_f32(row + c), vld1q_f32(x + c));
      acc_b = vfmaq_f32(acc_b, vld1q_f32(row + c + 4), vld1q_f32(x + c + 4));
    }
    if (cols_4 > cols_8) acc_a = vfmaq_f32(acc_a, vld1q_f32(row + c), vld1q_f32(x + c));
    float sum = ReduceAdd(vaddq_f32(acc_a, acc_b));
    for (c = cols_4; c < n; ++c) sum += row[c] * x[c];
    sum += bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
  }
}

}  // namespace

void f32_gemv_4x__neonfma(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                          const float* bias, bool relu, float* y) {
  if (relu) {
    GemvNeonFma<true>(rows, cols, w, x, bias, y);
  } else {
    GemvNeonFma<false>(rows, cols, w, x, bias, y);
  }
}

}  // namespace frugal::kernels
