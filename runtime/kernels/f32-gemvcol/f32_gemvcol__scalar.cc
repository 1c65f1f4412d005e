// Portable dense-columns y = activation(W x + b) for any CPU: W is column-major, so an
// input that is exactly zero skips its whole column. The scalar fallback of the AVX2 and
// NEON variants, and the kernel of ARMv6 builds.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// Inputs are tested 4 at a time. A branch per input mispredicts at every switch between
// zero and non-zero pixels, and one per 4 inputs mispredicts less often. The zeros inside
// a non-zero group then cost their multiplies, not a branch.
constexpr std::uint32_t kGroup = 4;

// Whether all of x[0, 4) are +0.0f. -0.0f counts as non-zero, which only costs work.
inline bool AllZero4(const float* x) {
  std::uint32_t bits[kGroup];
  std::memcpy(bits, x, sizeof bits);
  return (bits[0] | bits[1] | bits[2] | bits[3]) == 0;
}

// No bounds checks in here: Model::FromFile/FromBuffer validated the value count against
// input_size x DenseColumnStride(output_size).
template <bool kRelu>
void GemvcolScalar(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x, const float* bias,
                   float* y) {
  // Fits size_t: the loader checked that input_size x stride values are in the file.
  const auto stride = static_cast<std::size_t>(DenseColumnStride(rows));
  for (std::uint32_t r = 0; r < rows; ++r) y[r] = bias[r];
  std::uint32_t c = 0;
  for (; c + kGroup <= cols; c += kGroup) {
    if (AllZero4(x + c)) continue;
    const float x0 = x[c], x1 = x[c + 1], x2 = x[c + 2], x3 = x[c + 3];
    const float* w0 = w + c * stride;
    const float* w1 = w0 + stride;
    const float* w2 = w1 + stride;
    const float* w3 = w2 + stride;
    for (std::uint32_t r = 0; r < rows; ++r) y[r] += x0 * w0[r] + x1 * w1[r] + x2 * w2[r] + x3 * w3[r];
  }
  for (; c < cols; ++c) {
    const float xc = x[c];
    if (xc == 0.0f) continue;
    const float* column = w + c * stride;
    for (std::uint32_t r = 0; r < rows; ++r) y[r] += xc * column[r];
  }
  if constexpr (kRelu) {
    for (std::uint32_t r = 0; r < rows; ++r) y[r] = y[r] > 0.0f ? y[r] : 0.0f;
  }
}

}  // namespace

void f32_gemvcol__scalar(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                         const float* bias, bool relu, float* y) {
  if (relu) {
    GemvcolScalar<true>(rows, cols, w, x, bias, y);
  } else {
    GemvcolScalar<false>(rows, cols, w, x, bias, y);
  }
}

}  // namespace frugal::kernels
