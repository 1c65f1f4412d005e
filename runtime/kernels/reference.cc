// Naive reference kernels, written for obviousness rather than speed.
#include "kernels/reference.h"

#include <cstddef>
#include <vector>

namespace frugal::kernels::reference {
namespace {

float Activate(double value, bool relu) {
  if (relu && value < 0.0) return 0.0f;
  return static_cast<float>(value);
}

}  // namespace

void f32_gemv(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
              const float* bias, bool relu, float* y) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    double sum = bias[r];
    for (std::uint32_t c = 0; c < cols; ++c) {
      sum += static_cast<double>(w[static_cast<std::size_t>(r) * cols + c]) * x[c];
    }
    y[r] = Activate(sum, relu);
  }
}

void f32_csrmv(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
               const float* values, const float* x, const float* bias, bool relu, float* y) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    double sum = bias[r];
    for (std::uint32_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
      sum += static_cast<double>(values[k]) * x[col_idx[k]];
    }
    y[r] = Activate(sum, relu);
  }
}

void f32_cscmv(std::uint32_t rows, std::uint32_t cols, const std::uint32_t* col_ptr, const std::uint32_t* row_idx,
               const float* values, const float* x, const float* bias, bool relu, float* y) {
  // Every column, zero inputs included: skipping them is the kernels' business.
  std::vector<double> sums(bias, bias + rows);
  for (std::uint32_t c = 0; c < cols; ++c) {
    for (std::uint32_t k = col_ptr[c]; k < col_ptr[c + 1]; ++k) {
      sums[row_idx[k]] += static_cast<double>(values[k]) * x[c];
    }
  }
  for (std::uint32_t r = 0; r < rows; ++r) y[r] = Activate(sums[r], relu);
}

void f32_gemm(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w, const float* x,
              std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    for (std::uint32_t j = 0; j < batch; ++j) {
      double sum = bias[r];
      for (std::uint32_t c = 0; c < cols; ++c) {
        sum += static_cast<double>(w[static_cast<std::size_t>(r) * cols + c]) * x[c * x_stride + j];
      }
      y[r * y_stride + j] = Activate(sum, relu);
    }
  }
}

void f32_spmm(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
              const float* values, const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
              std::size_t y_stride) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    for (std::uint32_t j = 0; j < batch; ++j) {
      double sum = bias[r];
      for (std::uint32_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
        sum += static_cast<double>(values[k]) * x[col_idx[k] * x_stride + j];
      }
      y[r * y_stride + j] = Activate(sum, relu);
    }
  }
}

}  // namespace frugal::kernels::reference
