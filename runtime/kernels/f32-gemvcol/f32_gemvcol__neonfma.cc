// NEON dense-columns y = activation(W x + b) with fused multiply-add, for AArch64 cores
// (Cortex-A53, A72, A76) and 32-bit ARMv7 cores with VFPv4 (Cortex-A7, A15). W is
// column-major with rows padded to a multiple of 8, so each column is whole q vectors, and
// an input that is exactly zero skips its whole column.
//
// Tile: up to 64 rows (16 q accumulators) per pass over the inputs on AArch64, whose 32 q
// registers leave room for the weights and x. ARMv7 has 16 q registers, so its tile is
// up to 32 rows (8 accumulators). Each pass tests the inputs 16 at a time, then the
// groups of 4 in a block with non-zeros, and skips every group whose 4 inputs are zero. A
// non-zero group multiplies its 4 columns without further branches: one FMLA by vector
// element per 4 rows and input.
// NOTE: tested for correctness under qemu only. Its speed on a board is not yet measured.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// The loops over a tile's vectors must be unrolled, so that the accumulators live in
// registers: GCC 12 kept acc[] of Tile<4> in memory otherwise.
#define FRUGAL_UNROLL _Pragma("GCC unroll 16")

constexpr std::uint32_t kLanes = 4;
constexpr std::ptrdiff_t kBlock = 16;  // inputs per zero test before the groups of 4
#if defined(__aarch64__)
constexpr int kMaxVectors = 16;
#else
constexpr int kMaxVectors = 8;
#endif

// Whether all 4 lanes are +0.0f (-0.0f counts as non-zero, which only costs work). The
// saturating narrow (UQXTN, VQMOVN) keeps each 64-bit half non-zero if it was, so one
// instruction folds the vector into the 64 bits a scalar test reads, on ARMv7 and AArch64.
inline bool AllZero(float32x4_t v) {
  const uint32x2_t folded = vqmovn_u64(vreinterpretq_u64_f32(v));
  return vget_lane_u64(vreinterpret_u64_u32(folded), 0) == 0;
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

// acc[v] += column[4v, 4v + 4) * x[kLane] for every vector v. GCC and Clang emit one FMLA
// by element per vector on AArch64.
template <int kVectors, int kLane>
inline void AddColumn(float32x4_t (&acc)[kVectors], const float* column, float32x4_t x) {
  const float32x4_t xl = vdupq_n_f32(vgetq_lane_f32(x, kLane));
  FRUGAL_UNROLL
  for (int v = 0; v < kVectors; ++v) acc[v] = vfmaq_f32(acc[v], vld1q_f32(column + v * kLanes), xl);
}

// Adds the 4 columns from `column` of a group of 4 inputs, unless all 4 are zero.
template <int kVectors>
inline void AddGroup(float32x4_t (&acc)[kVectors], const float* column, std::size_t stride, float32x4_t group) {
  if (AllZero(group)) return;
  // Each column gets its own base register (hidden from GCC as below), so that its
  // vectors load in pairs (LDP) at immediate offsets; GCC 12 otherwise loads columns 1 to
  // 3 one vector at a time at register offsets.
  const float* column1 = column + stride;
  const float* column2 = column1 + stride;
  const float* column3 = column2 + stride;
  asm("" : "+r"(column1), "+r"(column2), "+r"(column3));
  AddColumn<kVectors, 0>(acc, column, group);
  AddColumn<kVectors, 1>(acc, column1, group);
  AddColumn<kVectors, 2>(acc, column2, group);
  AddColumn<kVectors, 3>(acc, column3, group);
}

// Rows [row0, row0 + count) with kVectors = ceil(count / 4). No bounds checks: the
// loader validated the value count against input_size x DenseColumnStride(output_size).
template <int kVectors, bool kRelu>
void Tile(std::uint32_t row0, std::uint32_t count, std::uint32_t cols, std::size_t stride, const float* w,
          const float* x, const float* bias, float* y) {
  const std::uint32_t last = count - (kVectors - 1) * kLanes;  // 1 to 4 rows in the last vector
  float32x4_t acc[kVectors];
  FRUGAL_UNROLL
  for (int v = 0; v + 1 < kVectors; ++v) acc[v] = vld1q_f32(bias + row0 + v * kLanes);
  acc[kVectors - 1] = LoadFirst(bias + row0 + (kVectors - 1) * kLanes, last);

  // Blocks of 16 inputs first: one test skips a zero block, and a block with non-zeros
  // tests its 4 groups. On MNIST pixels this executes fewer instructions than a test per
  // group of 4, because most blocks are zero; ReLU outputs have fewer zero blocks, but
  // those layers have few inputs.
  // The column address is computed from the input's index inside the branch and passed
  // through an empty asm statement, which hides how it was computed. Otherwise GCC 12
  // keeps one pointer per column of the block and adds to all 16 on every block, zero or
  // not, which doubled the instructions per zero block.
  const float* tile = w + row0;
  const float* xp = x;
  const float* x_end = x + cols;
  for (; x_end - xp >= kBlock; xp += kBlock) {
    const float32x4_t g0 = vld1q_f32(xp);
    const float32x4_t g1 = vld1q_f32(xp + 4);
    const float32x4_t g2 = vld1q_f32(xp + 8);
    const float32x4_t g3 = vld1q_f32(xp + 12);
    const uint32x4_t any = vorrq_u32(vorrq_u32(vreinterpretq_u32_f32(g0), vreinterpretq_u32_f32(g1)),
                                     vorrq_u32(vreinterpretq_u32_f32(g2), vreinterpretq_u32_f32(g3)));
    if (AllZero(vreinterpretq_f32_u32(any))) continue;
    const float* column = tile + static_cast<std::size_t>(xp - x) * stride;
    asm("" : "+r"(column));
    AddGroup<kVectors>(acc, column, stride, g0);
    AddGroup<kVectors>(acc, column + 4 * stride, stride, g1);
    AddGroup<kVectors>(acc, column + 8 * stride, stride, g2);
    AddGroup<kVectors>(acc, column + 12 * stride, stride, g3);
  }
  const float* column = tile + static_cast<std::size_t>(xp - x) * stride;
  for (; x_end - xp >= static_cast<std::ptrdiff_t>(kLanes); xp += kLanes, column += kLanes * stride) {
    AddGroup<kVectors>(acc, column, stride, vld1q_f32(xp));
  }
  for (; xp != x_end; ++xp, column += stride) {
    if (*xp == 0.0f) continue;
    AddColumn<kVectors, 0>(acc, column, vdupq_n_f32(*xp));
  }

  if constexpr (kRelu) {
    FRUGAL_UNROLL
    for (int v = 0; v < kVectors; ++v) acc[v] = vmaxq_f32(acc[v], vdupq_n_f32(0.0f));
  }
  FRUGAL_UNROLL
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
  // Fits size_t: the loader checked that input_size x stride values are in the file.
  const auto stride = static_cast<std::size_t>(DenseColumnStride(rows));
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
