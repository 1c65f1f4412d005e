// Portable dense y = activation(W x + b) for any CPU. Written so that GCC and Clang
// vectorize it at -O2/-O3 without -ffast-math: each row keeps 8 independent partial sums
// (one per column lane), which maps onto two SSE or NEON registers, and 4 rows share each
// load of x. 4 x 8 accumulators fit in the 16 vector registers of x86-64 and AArch64.
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

constexpr std::uint32_t kRowTile = 4;
constexpr std::uint32_t kLanes = 8;

template <bool kRelu>
inline float Finish(float sum) {
  if constexpr (kRelu) return sum > 0.0f ? sum : 0.0f;
  return sum;
}

// Adds the 8 lanes pairwise, so the order of additions does not depend on cols.
inline float ReduceLanes(const float* acc) {
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// No bounds or value checks in here: Model::FromFile/FromBuffer validated the sizes, and
// the interpreter sized x, bias and y from the same validated layer.
template <bool kRelu>
void GemvScalar(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                const float* bias, float* y) {
  const std::uint32_t cols_main = cols - cols % kLanes;
  std::uint32_t r = 0;

  for (; r + kRowTile <= rows; r += kRowTile) {
    const float* w0 = w + static_cast<std::size_t>(r) * cols;
    const float* w1 = w0 + cols;
    const float* w2 = w1 + cols;
    const float* w3 = w2 + cols;
    float acc0[kLanes] = {};
    float acc1[kLanes] = {};
    float acc2[kLanes] = {};
    float acc3[kLanes] = {};
    for (std::uint32_t c = 0; c < cols_main; c += kLanes) {
      for (std::uint32_t l = 0; l < kLanes; ++l) {
        const float xv = x[c + l];
        acc0[l] += w0[c + l] * xv;
        acc1[l] += w1[c + l] * xv;
        acc2[l] += w2[c + l] * xv;
        acc3[l] += w3[c + l] * xv;
      }
    }
    float sum0 = ReduceLanes(acc0);
    float sum1 = ReduceLanes(acc1);
    float sum2 = ReduceLanes(acc2);
    float sum3 = ReduceLanes(acc3);
    for (std::uint32_t c = cols_main; c < cols; ++c) {
      sum0 += w0[c] * x[c];
      sum1 += w1[c] * x[c];
      sum2 += w2[c] * x[c];
      sum3 += w3[c] * x[c];
    }
    y[r + 0] = Finish<kRelu>(sum0 + bias[r + 0]);
    y[r + 1] = Finish<kRelu>(sum1 + bias[r + 1]);
    y[r + 2] = Finish<kRelu>(sum2 + bias[r + 2]);
    y[r + 3] = Finish<kRelu>(sum3 + bias[r + 3]);
  }

  // Remaining 0 to 3 rows, one at a time with the same lane order.
  for (; r < rows; ++r) {
    const float* wr = w + static_cast<std::size_t>(r) * cols;
    float acc[kLanes] = {};
    for (std::uint32_t c = 0; c < cols_main; c += kLanes) {
      for (std::uint32_t l = 0; l < kLanes; ++l) acc[l] += wr[c + l] * x[c + l];
    }
    float sum = ReduceLanes(acc);
    for (std::uint32_t c = cols_main; c < cols; ++c) sum += wr[c] * x[c];
    y[r] = Finish<kRelu>(sum + bias[r]);
  }
}

}  // namespace

void f32_gemv__scalar(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                      const float* bias, bool relu, float* y) {
  if (relu) {
    GemvScalar<true>(rows, cols, w, x, bias, y);
  } else {
    GemvScalar<false>(rows, cols, w, x, bias, y);
  }
}

}  // namespace frugal::kernels
