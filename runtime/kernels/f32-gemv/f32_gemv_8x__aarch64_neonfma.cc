// AArch64 NEON dense y = activation(W x + b) with fused multiply-add, for Cortex-A53, A72
// and A76 (Raspberry Pi 3, 4 and 5). AArch64 only: the main loop is inline assembly.
//
// Tile: 8 rows per pass, 16 columns per step. One step is 9 loads of 4 registers each
// (`ld1 {v.4s-v.4s}, [x], #64`: the 16 floats of x, then 16 of each row, with the pointer
// increment folded into the load), 32 FMLA, a decrement and a branch: 43 instructions per
// 128 multiply-adds. The 4x kernel's step takes 22 per 32, Eigen 3.4's row-major
// matrix-vector loop 20 per 32. Each row has two accumulators (even and odd
// vectors of the step), so an accumulator's FMLAs are 4 apart, which hides FMLA's
// latency of 4 cycles on in-order cores. That takes 28 vector registers: 16
// accumulators, x in v16-v19, and two rows of weights in v20-v27.
//
// GCC 12 spills the 4-register structures of vld1q_f32_x4 to the stack, and never uses
// post-indexed loads for 8 row pointers, which is why the step is written in assembly.
// The last 0 to 7 rows run in assembly loops of 4, 2 and 1 rows with the same loads.
// The remaining 0 to 15 columns run in intrinsics, so nothing past w, x or bias is read.
// NOTE: checked for correctness and instruction counts under qemu only. Its speed on a
// board is not yet measured.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::size_t kRowTile = 8;
constexpr std::size_t kColumnStep = 16;

// Returns {sum(s0), sum(s1), sum(s2), sum(s3)}.
inline float32x4_t ReduceAdd4(float32x4_t s0, float32x4_t s1, float32x4_t s2, float32x4_t s3) {
  return vpaddq_f32(vpaddq_f32(s0, s1), vpaddq_f32(s2, s3));
}

// Add `steps` (>= 1) steps of 16 columns of 4, 2 or 1 rows to even (vectors 0 and 2 of
// each step) and odd (vectors 1 and 3) accumulators. They use the 8-row tile's loads, so
// a step takes 23 instructions for 4 rows, 13 for 2 rows and 8 for 1 row.
inline void DotFourRows(std::size_t steps, const float* p0, const float* p1, const float* p2, const float* p3,
                        const float* x, float32x4_t* even, float32x4_t* odd) {
  float32x4_t e0 = even[0], e1 = even[1], e2 = even[2], e3 = even[3];
  float32x4_t o0 = odd[0], o1 = odd[1], o2 = odd[2], o3 = odd[3];
  asm("1:\n"
      "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[x]], #64\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[p0]], #64\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[p1]], #64\n"
      "fmla %[e0].4s, v20.4s, v16.4s\n"
      "fmla %[o0].4s, v21.4s, v17.4s\n"
      "fmla %[e1].4s, v24.4s, v16.4s\n"
      "fmla %[o1].4s, v25.4s, v17.4s\n"
      "fmla %[e0].4s, v22.4s, v18.4s\n"
      "fmla %[o0].4s, v23.4s, v19.4s\n"
      "fmla %[e1].4s, v26.4s, v18.4s\n"
      "fmla %[o1].4s, v27.4s, v19.4s\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[p2]], #64\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[p3]], #64\n"
      "fmla %[e2].4s, v20.4s, v16.4s\n"
      "fmla %[o2].4s, v21.4s, v17.4s\n"
      "fmla %[e3].4s, v24.4s, v16.4s\n"
      "fmla %[o3].4s, v25.4s, v17.4s\n"
      "fmla %[e2].4s, v22.4s, v18.4s\n"
      "fmla %[o2].4s, v23.4s, v19.4s\n"
      "fmla %[e3].4s, v26.4s, v18.4s\n"
      "fmla %[o3].4s, v27.4s, v19.4s\n"
      "subs %[steps], %[steps], #1\n"
      "b.ne 1b\n"
      : [e0] "+w"(e0), [e1] "+w"(e1), [e2] "+w"(e2), [e3] "+w"(e3), [o0] "+w"(o0), [o1] "+w"(o1),
        [o2] "+w"(o2), [o3] "+w"(o3), [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [p3] "+r"(p3),
        [x] "+r"(x), [steps] "+r"(steps)
      :
      : "cc", "memory", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27");
  even[0] = e0;
  even[1] = e1;
  even[2] = e2;
  even[3] = e3;
  odd[0] = o0;
  odd[1] = o1;
  odd[2] = o2;
  odd[3] = o3;
}

inline void DotTwoRows(std::size_t steps, const float* p0, const float* p1, const float* x, float32x4_t* even,
                       float32x4_t* odd) {
  float32x4_t e0 = even[0], e1 = even[1];
  float32x4_t o0 = odd[0], o1 = odd[1];
  asm("1:\n"
      "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[x]], #64\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[p0]], #64\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[p1]], #64\n"
      "fmla %[e0].4s, v20.4s, v16.4s\n"
      "fmla %[o0].4s, v21.4s, v17.4s\n"
      "fmla %[e1].4s, v24.4s, v16.4s\n"
      "fmla %[o1].4s, v25.4s, v17.4s\n"
      "fmla %[e0].4s, v22.4s, v18.4s\n"
      "fmla %[o0].4s, v23.4s, v19.4s\n"
      "fmla %[e1].4s, v26.4s, v18.4s\n"
      "fmla %[o1].4s, v27.4s, v19.4s\n"
      "subs %[steps], %[steps], #1\n"
      "b.ne 1b\n"
      : [e0] "+w"(e0), [e1] "+w"(e1), [o0] "+w"(o0), [o1] "+w"(o1), [p0] "+r"(p0), [p1] "+r"(p1), [x] "+r"(x),
        [steps] "+r"(steps)
      :
      : "cc", "memory", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27");
  even[0] = e0;
  even[1] = e1;
  odd[0] = o0;
  odd[1] = o1;
}

inline void DotOneRow(std::size_t steps, const float* p0, const float* x, float32x4_t* even, float32x4_t* odd) {
  float32x4_t e0 = even[0];
  float32x4_t o0 = odd[0];
  asm("1:\n"
      "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[x]], #64\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[p0]], #64\n"
      "fmla %[e0].4s, v20.4s, v16.4s\n"
      "fmla %[o0].4s, v21.4s, v17.4s\n"
      "fmla %[e0].4s, v22.4s, v18.4s\n"
      "fmla %[o0].4s, v23.4s, v19.4s\n"
      "subs %[steps], %[steps], #1\n"
      "b.ne 1b\n"
      : [e0] "+w"(e0), [o0] "+w"(o0), [p0] "+r"(p0), [x] "+r"(x), [steps] "+r"(steps)
      :
      : "cc", "memory", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23");
  even[0] = e0;
  odd[0] = o0;
}

// Output rows r .. r + kRows - 1 (kRows = 4, 2 or 1) for the last rows that do not fill a
// tile of 8: steps of 16 columns, then of 8, then one block of 4, then 0 to 3 scalar
// columns.
template <std::size_t kRows, bool kRelu>
void GemvFewRows(std::size_t n, const float* w, const float* x, const float* bias, float* y) {
  float32x4_t acc_a[kRows];
  float32x4_t acc_b[kRows];
  for (std::size_t i = 0; i < kRows; ++i) {
    acc_a[i] = vdupq_n_f32(0.0f);
    acc_b[i] = vdupq_n_f32(0.0f);
  }
  const std::size_t steps = n / kColumnStep;
  if (steps != 0) {
    if constexpr (kRows == 4) {
      DotFourRows(steps, w, w + n, w + 2 * n, w + 3 * n, x, acc_a, acc_b);
    } else if constexpr (kRows == 2) {
      DotTwoRows(steps, w, w + n, x, acc_a, acc_b);
    } else {
      DotOneRow(steps, w, x, acc_a, acc_b);
    }
  }
  std::size_t c = steps * kColumnStep;
  for (; c + 8 <= n; c += 8) {
    const float32x4_t xa = vld1q_f32(x + c);
    const float32x4_t xb = vld1q_f32(x + c + 4);
    for (std::size_t i = 0; i < kRows; ++i) {
      acc_a[i] = vfmaq_f32(acc_a[i], vld1q_f32(w + i * n + c), xa);
      acc_b[i] = vfmaq_f32(acc_b[i], vld1q_f32(w + i * n + c + 4), xb);
    }
  }
  if (c + 4 <= n) {
    const float32x4_t xa = vld1q_f32(x + c);
    for (std::size_t i = 0; i < kRows; ++i) acc_a[i] = vfmaq_f32(acc_a[i], vld1q_f32(w + i * n + c), xa);
    c += 4;
  }
  for (std::size_t i = 0; i < kRows; ++i) {
    float sum = vaddvq_f32(vaddq_f32(acc_a[i], acc_b[i]));
    for (std::size_t k = c; k < n; ++k) sum += w[i * n + k] * x[k];
    sum += bias[i];
    if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
    y[i] = sum;
  }
}

// Returns the sums of rows 0-3 and 4-7 of an 8-row tile over `steps` (>= 1) steps of
// 16 columns, from row pointers p[0, 8) and x. The 16 accumulators live in v0-v15 inside
// the assembly, because GCC allows at most 30 operands and counts each read-write
// operand twice. Even accumulators (v0-v7) take vectors 0 and 2 of each step, odd ones
// (v8-v15) vectors 1 and 3.
inline void DotTile8(std::size_t steps, const float* const* p, const float* x, float32x4_t* low,
                     float32x4_t* high) {
  const float* p0 = p[0];
  const float* p1 = p[1];
  const float* p2 = p[2];
  const float* p3 = p[3];
  const float* p4 = p[4];
  const float* p5 = p[5];
  const float* p6 = p[6];
  const float* p7 = p[7];
  float32x4_t sums_low;
  float32x4_t sums_high;
  asm("movi v0.4s, #0\n"
      "movi v1.4s, #0\n"
      "movi v2.4s, #0\n"
      "movi v3.4s, #0\n"
      "movi v4.4s, #0\n"
      "movi v5.4s, #0\n"
      "movi v6.4s, #0\n"
      "movi v7.4s, #0\n"
      "movi v8.4s, #0\n"
      "movi v9.4s, #0\n"
      "movi v10.4s, #0\n"
      "movi v11.4s, #0\n"
      "movi v12.4s, #0\n"
      "movi v13.4s, #0\n"
      "movi v14.4s, #0\n"
      "movi v15.4s, #0\n"
      // One step: x in v16-v19, then rows in pairs through v20-v23 and v24-v27, so one
      // row's loads overlap the other row's FMLAs.
      "1:\n"
      "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[x]], #64\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[p0]], #64\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[p1]], #64\n"
      "fmla v0.4s, v20.4s, v16.4s\n"
      "fmla v8.4s, v21.4s, v17.4s\n"
      "fmla v1.4s, v24.4s, v16.4s\n"
      "fmla v9.4s, v25.4s, v17.4s\n"
      "fmla v0.4s, v22.4s, v18.4s\n"
      "fmla v8.4s, v23.4s, v19.4s\n"
      "fmla v1.4s, v26.4s, v18.4s\n"
      "fmla v9.4s, v27.4s, v19.4s\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[p2]], #64\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[p3]], #64\n"
      "fmla v2.4s, v20.4s, v16.4s\n"
      "fmla v10.4s, v21.4s, v17.4s\n"
      "fmla v3.4s, v24.4s, v16.4s\n"
      "fmla v11.4s, v25.4s, v17.4s\n"
      "fmla v2.4s, v22.4s, v18.4s\n"
      "fmla v10.4s, v23.4s, v19.4s\n"
      "fmla v3.4s, v26.4s, v18.4s\n"
      "fmla v11.4s, v27.4s, v19.4s\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[p4]], #64\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[p5]], #64\n"
      "fmla v4.4s, v20.4s, v16.4s\n"
      "fmla v12.4s, v21.4s, v17.4s\n"
      "fmla v5.4s, v24.4s, v16.4s\n"
      "fmla v13.4s, v25.4s, v17.4s\n"
      "fmla v4.4s, v22.4s, v18.4s\n"
      "fmla v12.4s, v23.4s, v19.4s\n"
      "fmla v5.4s, v26.4s, v18.4s\n"
      "fmla v13.4s, v27.4s, v19.4s\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[p6]], #64\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[p7]], #64\n"
      "fmla v6.4s, v20.4s, v16.4s\n"
      "fmla v14.4s, v21.4s, v17.4s\n"
      "fmla v7.4s, v24.4s, v16.4s\n"
      "fmla v15.4s, v25.4s, v17.4s\n"
      "fmla v6.4s, v22.4s, v18.4s\n"
      "fmla v14.4s, v23.4s, v19.4s\n"
      "fmla v7.4s, v26.4s, v18.4s\n"
      "fmla v15.4s, v27.4s, v19.4s\n"
      "subs %[steps], %[steps], #1\n"
      "b.ne 1b\n"
      // Reduce: even plus odd, then pairwise adds to one lane per row.
      "fadd v0.4s, v0.4s, v8.4s\n"
      "fadd v1.4s, v1.4s, v9.4s\n"
      "fadd v2.4s, v2.4s, v10.4s\n"
      "fadd v3.4s, v3.4s, v11.4s\n"
      "fadd v4.4s, v4.4s, v12.4s\n"
      "fadd v5.4s, v5.4s, v13.4s\n"
      "fadd v6.4s, v6.4s, v14.4s\n"
      "fadd v7.4s, v7.4s, v15.4s\n"
      "faddp v0.4s, v0.4s, v1.4s\n"
      "faddp v2.4s, v2.4s, v3.4s\n"
      "faddp v4.4s, v4.4s, v5.4s\n"
      "faddp v6.4s, v6.4s, v7.4s\n"
      "faddp %[low].4s, v0.4s, v2.4s\n"
      "faddp %[high].4s, v4.4s, v6.4s\n"
      : [low] "=w"(sums_low), [high] "=w"(sums_high), [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2),
        [p3] "+r"(p3), [p4] "+r"(p4), [p5] "+r"(p5), [p6] "+r"(p6), [p7] "+r"(p7), [x] "+r"(x),
        [steps] "+r"(steps)
      :
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
        "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",
        "v27");
  *low = sums_low;
  *high = sums_high;
}

// Adds columns [begin, n) of an 8-row tile to the row sums: blocks of 4, then 0 to 3
// scalar columns. Runs only when n is not a multiple of 16.
inline void AddColumnTail(std::size_t begin, std::size_t n, const float* const* p, const float* x,
                          float32x4_t* low, float32x4_t* high) {
  float32x4_t acc[kRowTile];
  for (std::size_t i = 0; i < kRowTile; ++i) acc[i] = vdupq_n_f32(0.0f);
  std::size_t c = begin;
  for (; c + 4 <= n; c += 4) {
    const float32x4_t xv = vld1q_f32(x + c);
    for (std::size_t i = 0; i < kRowTile; ++i) acc[i] = vfmaq_f32(acc[i], vld1q_f32(p[i] + c), xv);
  }
  float tail[kRowTile] = {};
  for (std::size_t i = 0; i < kRowTile; ++i) {
    for (std::size_t k = c; k < n; ++k) tail[i] += p[i][k] * x[k];
  }
  *low = vaddq_f32(*low, vaddq_f32(ReduceAdd4(acc[0], acc[1], acc[2], acc[3]), vld1q_f32(tail)));
  *high = vaddq_f32(*high, vaddq_f32(ReduceAdd4(acc[4], acc[5], acc[6], acc[7]), vld1q_f32(tail + 4)));
}

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes, and
// the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void GemvAarch64(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                 const float* bias, float* y) {
  const std::size_t n = cols;
  const std::size_t steps = n / kColumnStep;
  const std::size_t cols_16 = steps * kColumnStep;

  std::size_t r = 0;
  for (; r + kRowTile <= rows; r += kRowTile) {
    const float* p[kRowTile];
    for (std::size_t i = 0; i < kRowTile; ++i) p[i] = w + (r + i) * n;
    float32x4_t low = vdupq_n_f32(0.0f);
    float32x4_t high = vdupq_n_f32(0.0f);
    if (steps != 0) DotTile8(steps, p, x, &low, &high);
    if (cols_16 < n) AddColumnTail(cols_16, n, p, x, &low, &high);
    low = vaddq_f32(low, vld1q_f32(bias + r));
    high = vaddq_f32(high, vld1q_f32(bias + r + 4));
    if constexpr (kRelu) {
      low = vmaxq_f32(low, vdupq_n_f32(0.0f));
      high = vmaxq_f32(high, vdupq_n_f32(0.0f));
    }
    vst1q_f32(y + r, low);
    vst1q_f32(y + r + 4, high);
  }

  // Remaining 0 to 7 rows: 4, then 2, then 1.
  if (r + 4 <= rows) {
    GemvFewRows<4, kRelu>(n, w + r * n, x, bias + r, y + r);
    r += 4;
  }
  if (r + 2 <= rows) {
    GemvFewRows<2, kRelu>(n, w + r * n, x, bias + r, y + r);
    r += 2;
  }
  if (r < rows) GemvFewRows<1, kRelu>(n, w + r * n, x, bias + r, y + r);
}

}  // namespace

void f32_gemv_8x__aarch64_neonfma(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                                  const float* bias, bool relu, float* y) {
  if (relu) {
    GemvAarch64<true>(rows, cols, w, x, bias, y);
  } else {
    GemvAarch64<false>(rows, cols, w, x, bias, y);
  }
}

}  // namespace frugal::kernels
