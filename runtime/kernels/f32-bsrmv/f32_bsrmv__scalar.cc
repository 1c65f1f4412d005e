// Portable block-sparse rows y = activation(W x + b) for any CPU, one function per block
// shape. All shapes share one template, because the only difference is the R x C loop
// inside a block, which the compiler unrolls for each fixed shape. One partial sum per
// weight of the block breaks the add dependency chain R x C ways; 1x1 blocks (CSR with
// narrow indices) get two partial sums, as f32_csrmv__scalar does.
#include <cstddef>
#include <cstdint>

#include "kernels/f32-bsrmv/bsrmv_dispatch.h"
#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

// No bounds checks in here: Model::FromFile/FromBuffer validated block_row_ptr and the
// block column indices against the layer's sizes (schema/README.md lists the invariants).
template <std::uint32_t R, std::uint32_t C, typename Index, bool kRelu>
void BsrmvScalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const Index* col, const float* values,
                 const float* x, const float* bias, float* y) {
  constexpr std::uint32_t kLanes = (R * C == 1) ? 2 : R * C;
  const std::uint32_t block_row_count = (rows + R - 1) / R;
  std::size_t begin = block_row_ptr[0];
  for (std::uint32_t b = 0; b < block_row_count; ++b) {
    const std::size_t end = block_row_ptr[b + 1];
    float sums[kLanes] = {};
    std::size_t k = begin;
    if constexpr (R * C == 1) {
      for (; k + 2 <= end; k += 2) {
        sums[0] += values[k] * x[col[k]];
        sums[1] += values[k + 1] * x[col[k + 1]];
      }
      if (k < end) sums[0] += values[k] * x[col[k]];
      sums[0] += sums[1];
    } else {
      for (; k < end; ++k) {
        const float* w = values + k * (R * C);
        const float* xs = x + col[k];
        for (std::uint32_t i = 0; i < R; ++i) {
          for (std::uint32_t j = 0; j < C; ++j) sums[i * C + j] += w[i * C + j] * xs[j];
        }
      }
    }
    const std::uint32_t base = b * R;
    const std::uint32_t count = rows - base < R ? rows - base : R;
    for (std::uint32_t i = 0; i < count; ++i) {
      float sum = bias[base + i];
      for (std::uint32_t j = 0; j < C; ++j) sum += sums[i * C + j];
      if constexpr (kRelu) sum = sum > 0.0f ? sum : 0.0f;
      y[base + i] = sum;
    }
    begin = end;
  }
}

// The kernel of R x C blocks, in the form DispatchBsrmv takes.
template <std::uint32_t R, std::uint32_t C>
struct Shape {
  template <typename Index, bool kRelu>
  struct Kernel {
    static constexpr auto Run = &BsrmvScalar<R, C, Index, kRelu>;
  };
};

}  // namespace

void f32_bsrmv_1x1__scalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                           const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                           bool relu, float* y) {
  DispatchBsrmv<Shape<1, 1>::Kernel>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_4x1__scalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                           const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                           bool relu, float* y) {
  DispatchBsrmv<Shape<4, 1>::Kernel>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_8x1__scalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                           const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                           bool relu, float* y) {
  DispatchBsrmv<Shape<8, 1>::Kernel>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

void f32_bsrmv_1x4__scalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                           const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                           bool relu, float* y) {
  DispatchBsrmv<Shape<1, 4>::Kernel>(rows, block_row_ptr, col_u16, col_u32, values, x, bias, relu, y);
}

}  // namespace frugal::kernels
