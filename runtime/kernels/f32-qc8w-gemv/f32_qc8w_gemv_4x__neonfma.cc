// NEON dense y = activation(scales ⊙ (Q x) + b) for int8 weights Q with one float scale
// per row, with fused multiply-add, for AArch64 cores (Cortex-A53, A72, A76) and 32-bit
// ARMv7 cores with VFPv4 (Cortex-A7, A15). Uses only intrinsics that exist on both.
//
// Tile: 4 rows per pass, 8 columns per step, as in f32_gemv_4x__neonfma. Each row's 8
// weights are one 8-byte load, two widenings (SXTL to int16, then to int32) and two
// conversions (SCVTF) before their two FMLAs. The last 0 to 7 columns run in scalar
// code, so nothing past w, x or bias is read.
// NOTE: tested for correctness under qemu only. Its speed on a board is not yet measured.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kRowTile = 4;

// Widens the 8 int8 values at w to two vectors of 4 floats.
struct Floats8 {
  float32x4_t low;
  float32x4_t high;
};

inline Floats8 Load8(const std::int8_t* w) {
  const int16x8_t wide = vmovl_s8(vld1_s8(w));
  return {vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide))), vcvtq_f32_s32(vmovl_s16(vget_high_s16(wide)))};
}

// Returns {sum(a0), sum(a1), sum(a2), sum(a3)} with pairwise adds that ARMv7 also has.
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
void QGemvNeonFma(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales, const float* x,
                  const float* bias, float* y) {
  const std::size_t n = cols;
  const std::size_t cols_8 = n - n % 8;

  std::size_t r = 0;
  for (; r + kRowTile <= rows; r += kRowTile) {
    const std::int8_t* w0 = w + r * n;
    const std::int8_t* w1 = w0 + n;
    const std::int8_t* w2 = w1 + n;
    const std::int8_t* w3 = w2 + n;
    float32x4_t acc0a = vdupq_n_f32(0.0f), acc0b = vdupq_n_f32(0.0f);
    float32x4_t acc1a = vdupq_n_f32(0.0f), acc1b = vdupq_n_f32(0.0f);
    float32x4_t acc2a = vdupq_n_f32(0.0f), acc2b = vdupq_n_f32(0.0f);
    float32x4_t acc3a = vdupq_n_f32(0.0f), acc3b = vdupq_n_f32(0.0f);

    // Main loop: 8 columns of 4 rows.
    for (std::size_t c = 0; c < cols_8; c += 8) {
      const float32x4_t xa = vld1q_f32(x + c);
      const float32x4_t xb = vld1q_f32(x + c + 4);
      const Floats8 v0 = Load8(w0 + c);
      const Floats8 v1 = Load8(w1 + c);
      const Floats8 v2 = Load8(w2 + c);
      const Floats8 v3 = Load8(w3 + c);
      acc0a = vfmaq_f32(acc0a, v0.low, xa);
      acc1a = vfmaq_f32(acc1a, v1.low, xa);
      acc2a = vfmaq_f32(acc2a, v2.low, xa);
      acc3a = vfmaq_f32(acc3a, v3.low, xa);
      acc0b = vfmaq_f32(acc0b, v0.high, xb);
      acc1b = vfmaq_f32(acc1b, v1.high, xb);
      acc2b = vfmaq_f32(acc2b, v2.high, xb);
      acc3b = vfmaq_f32(acc3b, v3.high, xb);
    }

    // Tail: 0 to 7 scalar columns.
    float tail[kRowTile] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (std::size_t c = cols_8; c < n; ++c) {
      tail[0] += static_cast<float>(w0[c]) * x[c];
      tail[1] += static_cast<float>(w1[c]) * x[c];
      tail[2] += static_cast<float>(w2[c]) * x[c];
      tail[3] += static_cast<float>(w3[c]) * x[c];
    }

    float32x4_t sums = ReduceAdd4(vaddq_f32(acc0a, acc0b), vaddq_f32(acc1a, acc1b), vaddq_f32(acc2a, acc2b),
                                  vaddq_f32(acc3a, acc3b));
    sums = vaddq_f32(sums, vld1q_f32(tail));
    sums = vfmaq_f32(vld1q_f32(bias + r), sums, vld1q_f32(scales + r));
    if constexpr (kRelu) sums = vmaxq_f32(sums, vdupq_n_f32(0.0f));
    vst1q_f32(y + r, sums);
  }

  // Remaining 0 to 3 rows, one at a time.
  for (; r < rows; ++r) {
    const std::int8_t* row = w + r * n;
    float32x4_t acc_a = vdupq_n_f32(0.0f);
    float32x4_t acc_b = vdupq_n_f32(0.0f);
    for (std::size_t c = 0; c < cols_8; c += 8) {
      const Floats8 v = Load8(row + c);
      acc_a = vfmaq_f32(acc_a, v.low, vld1q_f32(x + c));
      acc_b = vfmaq_f32(acc_b, v.high, vld1q_f32(x + c + 4));
    }
    float sum = ReduceAdd(vaddq_f32(acc_a, acc_b));
    for (std::size_t c = cols_8; c < n; ++c) sum += static_cast<float>(row[c]) * x[c];
    sum = sum * scales[r] + bias[r];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[r] = sum;
  }
}

}  // namespace

void f32_qc8w_gemv_4x__neonfma(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales,
                               const float* x, const float* bias, bool relu, float* y) {
  if (relu) {
    QGemvNeonFma<true>(rows, cols, w, scales, x, bias, y);
  } else {
    QGemvNeonFma<false>(rows, cols, w, scales, x, bias, y);
  }
}

}  // namespace frugal::kernels
