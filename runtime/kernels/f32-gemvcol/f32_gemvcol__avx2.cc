// AVX2+FMA dense-columns y = activation(W x + b) for x86-64 cores with AVX2 and FMA3
// (Haswell and later, Zen and later). W is column-major with rows padded to a multiple
// of 8, so each column is whole ymm vectors, and an input that is exactly zero skips its
// whole column.
//
// Two steps per chunk of up to 256 inputs. The first lists the non-zero inputs without a
// branch: 8 inputs per compare, and a table turns the 8-bit mask into their indices. The
// second adds x[c] times column c for each listed c. A branch per input or per group of
// inputs mispredicts at every switch between zero and non-zero pixels. On MNIST that cost
// more than the multiplies of a 24-row layer, so here only each loop's exit branches.
// Tile: up to 64 rows (8 ymm accumulators) per pass over the list.
#include <immintrin.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// The loops over a tile's vectors must be unrolled, so that the accumulators live in
// registers.
#define FRUGAL_UNROLL _Pragma("GCC unroll 8")

constexpr std::uint32_t kLanes = 8;
constexpr int kMaxVectors = 8;
constexpr std::uint32_t kChunk = 256;

// _mm256_maskload_ps/_mm256_maskstore_ps masks: kMaskTable + 8 - n enables lanes [0, n).
alignas(32) constexpr std::int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

inline __m256i LaneMask(std::uint32_t n) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + kLanes - n));
}

// For each 8-bit mask, the positions of its set bits, one per byte from the lowest byte.
constexpr std::array<std::uint64_t, 256> MakeSetBitTable() {
  std::array<std::uint64_t, 256> table{};
  for (std::uint32_t mask = 0; mask < 256; ++mask) {
    std::uint64_t packed = 0;
    int count = 0;
    for (std::uint64_t bit = 0; bit < 8; ++bit) {
      if ((mask >> bit) & 1) packed |= bit << (8 * count++);
    }
    table[mask] = packed;
  }
  return table;
}
alignas(64) constexpr std::array<std::uint64_t, 256> kSetBits = MakeSetBitTable();

// Writes the indices c in [begin, end) with x[c] != 0 (NaN included) to list, and returns
// their count. Each group of 8 stores 8 entries at list + count, past the count but never
// past list + (end - begin), so list needs end - begin <= kChunk entries.
std::uint32_t ListNonzero(const float* x, std::uint32_t begin, std::uint32_t end, std::uint32_t* list) {
  std::uint32_t count = 0;
  std::uint32_t c = begin;
  const __m256 zero = _mm256_setzero_ps();
  for (; c + kLanes <= end; c += kLanes) {
    const __m256 group = _mm256_loadu_ps(x + c);
    const std::uint32_t mask = static_cast<std::uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(group, zero, _CMP_NEQ_UQ)));
    const __m128i bytes = _mm_cvtsi64_si128(static_cast<long long>(kSetBits[mask]));
    const __m256i indices = _mm256_add_epi32(_mm256_cvtepu8_epi32(bytes), _mm256_set1_epi32(static_cast<int>(c)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(list + count), indices);
    count += static_cast<std::uint32_t>(std::popcount(mask));
  }
  for (; c < end; ++c) {
    list[count] = c;
    count += x[c] != 0.0f;  // true for NaN, as _CMP_NEQ_UQ is
  }
  return count;
}

// Rows [row0, row0 + rows) with kVectors = ceil(rows / 8): acc = init, plus x[c] times
// column c for each c in list, then ReLU when `relu`, stored to y. The padding rows of the
// last vector exist in w (zeros) but not in init or y, hence the masked load and store.
// No bounds checks: the loader validated the value count.
template <int kVectors>
void Tile(std::uint32_t row0, std::uint32_t rows, std::size_t stride, const float* w, const float* x,
          const std::uint32_t* list, std::uint32_t count, const float* init, bool relu, float* y) {
  const std::uint32_t last = rows - (kVectors - 1) * kLanes;  // 1 to 8 rows in the last vector
  const __m256i last_mask = LaneMask(last);
  __m256 acc[kVectors];
  FRUGAL_UNROLL
  for (int v = 0; v + 1 < kVectors; ++v) acc[v] = _mm256_loadu_ps(init + row0 + v * kLanes);
  acc[kVectors - 1] = _mm256_maskload_ps(init + row0 + (kVectors - 1) * kLanes, last_mask);

  const float* tile = w + row0;
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::uint32_t c = list[k];
    const __m256 xc = _mm256_broadcast_ss(x + c);
    const float* column = tile + c * stride;
    FRUGAL_UNROLL
    for (int v = 0; v < kVectors; ++v) acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(column + v * kLanes), xc, acc[v]);
  }

  if (relu) {
    FRUGAL_UNROLL
    for (int v = 0; v < kVectors; ++v) acc[v] = _mm256_max_ps(acc[v], _mm256_setzero_ps());
  }
  FRUGAL_UNROLL
  for (int v = 0; v + 1 < kVectors; ++v) _mm256_storeu_ps(y + row0 + v * kLanes, acc[v]);
  _mm256_maskstore_ps(y + row0 + (kVectors - 1) * kLanes, last_mask, acc[kVectors - 1]);
}

}  // namespace

void f32_gemvcol__avx2(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                       const float* bias, bool relu, float* y) {
  // Fits size_t: the loader checked that input_size x stride values are in the file.
  const auto stride = static_cast<std::size_t>(DenseColumnStride(rows));
  constexpr std::uint32_t kTileRows = kMaxVectors * kLanes;
  std::uint32_t list[kChunk];
  for (std::uint32_t begin = 0;; begin += kChunk) {
    const std::uint32_t end = cols - begin < kChunk ? cols : begin + kChunk;
    const std::uint32_t count = ListNonzero(x, begin, end, list);
    // The first chunk starts from the bias, later ones from the partial sums in y; the
    // last one applies the activation.
    const float* init = begin == 0 ? bias : y;
    const bool last_chunk = end == cols;
    const bool activate = relu && last_chunk;
    for (std::uint32_t row0 = 0; row0 < rows; row0 += kTileRows) {
      const std::uint32_t tile_rows = rows - row0 < kTileRows ? rows - row0 : kTileRows;
      switch ((tile_rows + kLanes - 1) / kLanes) {
        case 1: Tile<1>(row0, tile_rows, stride, w, x, list, count, init, activate, y); break;
        case 2: Tile<2>(row0, tile_rows, stride, w, x, list, count, init, activate, y); break;
        case 3: Tile<3>(row0, tile_rows, stride, w, x, list, count, init, activate, y); break;
        case 4: Tile<4>(row0, tile_rows, stride, w, x, list, count, init, activate, y); break;
        case 5: Tile<5>(row0, tile_rows, stride, w, x, list, count, init, activate, y); break;
        case 6: Tile<6>(row0, tile_rows, stride, w, x, list, count, init, activate, y); break;
        case 7: Tile<7>(row0, tile_rows, stride, w, x, list, count, init, activate, y); break;
        default: Tile<8>(row0, tile_rows, stride, w, x, list, count, init, activate, y); break;
      }
    }
    if (last_chunk) break;
  }
}

}  // namespace frugal::kernels
