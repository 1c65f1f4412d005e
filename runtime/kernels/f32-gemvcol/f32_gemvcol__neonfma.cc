// NEON dense-columns y = activation(W x + b) with fused multiply-add, for AArch64 cores
// (Cortex-A53, A72, A76) and 32-bit ARMv7 cores with VFPv4 (Cortex-A7, A15). W is
// column-major with rows padded to a multiple of 8, so each column is whole q vectors, and
// an input that is exactly zero skips its whole column.
//
// Tile: up to 64 rows (16 q accumulators) per pass over the inputs on AArch64, whose 32 q
// registers leave room for the weights and x; up to 32 rows (8 accumulators) on ARMv7,
// which has 16. Each pass loads the inputs 4 at a time and skips the group when all 4
// are zero; a non-zero group multiplies its 4 columns without further branches, one
// FMLA by vector element per 4 rows and input.
// NOTE: tested for correctness under qemu only. Its speed on a board is not yet measured.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::uint32_t kLanes = 4;
#if defined(__aarch64__)
constexpr int kMaxVectors = 16;
#else
constexpr int kMaxVectors = 8;
#endif

// Whether all 4 lanes are +0.0f (-0.0f counts as non-zero, which only costs work). An OR
// of the halves exists on ARMv7 and AArch64, unlike vmaxvq_u32.
inline bool AllZero(float32x4_t v) {
  const uint32x4_t bits = vreinterpretq_u32_f32(v);
  const uint32x2_t any = vorr_u32(vget_low_u32(bits), vget_high_u32(bits));
  return vget_lane_u64(vreinterpret_u64_u32(any), 0) == 0;
}

// The first n (1 to 4) floats of p, zeros above; reads nothing past p + n.
inline float32x4_t LoadFirst(const float* p, std::uint32_t n) {
  if (n == kLanes) return vld1q_f32(p);
  float32x4_t v = vdupq_n_f32(0.0f);
  v = vld1q_lane_f32(p, v, 0);
  if (n > 1) v = vld1q_lane_f32(p + 1, v, 1);
  if (n > 2) v = vld1q_lane_f32(p + 2, v, 2);
  return v;
}

// Stores the first n (1 to 4) lanes of v; writes nothing past p + n.
inline void StoreFirst(float* p, float32x4_t v, std::uint32_t n) {
  if (n == kLanes) {
    vst1q_f32(p, v);
    return;
  }
  vst1q_lane_f32(p, v, 0);
  if (n > 1) vst1q_lane_f32(p + 1, v, 1);
  if (n > 2) vst1q_lane_f32(p + 2, v, 2);
}

// acc += w * x[lane]. GCC and Clang emit one FMLA by element on AArch64.
template <int kLane>
inline float32x4_t FmaLane(float32x4_t acc, float32x4_t w, float32x4_t x) {
  return vfmaq_f32(acc, w, vdupq_n_f32(vgetq_lane_f32(x, kLane)));
}

// Rows [row0, row0 + count) with kVectors = ceil(count / 4). No bounds checks: the
// loader validated the value count against input_size x DenseColumnStride(output_size).
template <int kVectors, bool kRelu>
void Tile(std::uint32_t row0, std::uint32_t count, std::uint32_t cols, std::size_t stride, const float* w,
          const float* x, const float* bias, float* y) {
  const std::uint32_t last = count - (kVectors - 1) * kLanes;  // 1 to 4 rows in the last vector
  float32x4_t acc[kVectors];
  for (int v = 0; v + 1 < kVectors; ++v) acc[v] = vld1q_f32(bias + row0 + v * kLanes);
  acc[kVectors - 1] = LoadFirst(bias + row0 + (kVectors - 1) * kLanes, last);

  const float* column = w + row0;
  std::uint32_t c = 0;
  for (; c + kLanes <= cols; c += kLanes, column += kLanes * stride) {
    const float32x4_t group = vld1q_f32(x + c);
    if (AllZero(group)) continue;
    const float* w1 = column + stride;
    const float* w2 = w1 + stride;
    const float* w3 = w2 + stride;
    for (int v = 0; v < kVectors; ++v) acc[v] = FmaLane<0>(acc[v], vld1q_f32(column + v * kLanes), group);
    for (int v = 0; v < kVectors; ++v) acc[v] = FmaLane<1>(acc[v], vld1q_f32(w1 + v * kLanes), group);
    for (int v = 0; v < kVectors; ++v) acc[v] = FmaLane<2>(acc[v], vld1q_f32(w2 + v * kLanes), group);
    for (int v = 0; v < kVectors; ++v) acc[v] = FmaLane<3>(acc[v], vld1q_f32(w3 + v * kLanes), group);
  }
  for (; c < cols; ++c, column += stride) {
    if (x[c] == 0.0f) continue;
    const float32x4_t xc = vdupq_n_f32(x[c]);
    for (int v = 0; v < kVectors; ++v) acc[v] = vfmaq_f32(acc[v], vld1q_f32(column + v * kLanes), xc);
  }

  if constexpr (kRelu) {
    for (int v = 0; v < kVectors; ++v) acc[v] = vmaxq_f32(acc[v], vdupq_n_f32(0.0f));
  }
  for (int v = 0; v + 1 < kVectors; ++v) vst1q_f32(y + row0 + v * kLanes, acc[v]);
  StoreFirst(y + row0 + (kVectors - 1) * kLanes, acc[kVectors - 1], last);
}

template <bool kRelu, int kVectors>
void TileOf(std::uint32_t vectors, std::uint32_t row0, std::uint32_t count, std::uint32_t cols,
            std::size_t stride, const float* w, const float* x, const float* bias, float* y) {
  if constexpr (kVectors > 1) {
    if (vectors < static_cast<std::uint32_t>(kVectors)) {
      TileOf<kRelu, kVectors - 1>(vectors, row0, count, cols, stride, w, x, bias, y);
      return;
    }
  }
  Tile<kVectors, kRelu>(row0, count, cols, stride, w, x, bias, y);
}

template <bool kRelu>
void GemvcolNeonFma(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x, const float* bias,
                    float* y) {
  const std::size_t stride = DenseColumnStride(rows);
  constexpr std::uint32_t kTileRows = kMaxVectors * kLanes;
  for (std::uint32_t row0 = 0; row0 < rows; row0 += kTileRows) {
    const std::uint32_t count = rows - row0 < kTileRows ? rows - row0 : kTileRows;
    TileOf<kRelu, kMaxVectors>((count + kLanes - 1) / kLanes, row0, count, cols, stride, w, x, bias, y);
  }
}

}  // namespace

void f32_gemvcol__neonfma(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                          const float* bias, bool relu, float* y) {
  if (relu) {
    GemvcolNeonFma<true>(rows, cols, w, x, bias, y);
  } else {
    GemvcolNeonFma<false>(rows, cols, w, x, bias, y);
  }
}

}  // namespace frugal::kernels
