// Naive reference kernels, written for obviousness rather than speed.
#include "kernels/reference.h"

#include <cstddef>
#include <vector>

#include "frugal/runtime.h"

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

void f32_qc8w_gemv(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales, const float* x,
                   const float* bias, bool relu, float* y) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (std::uint32_t c = 0; c < cols; ++c) {
      sum += static_cast<double>(w[static_cast<std::size_t>(r) * cols + c]) * x[c];
    }
    y[r] = Activate(static_cast<double>(scales[r]) * sum + bias[r], relu);
  }
}

void f32_qc8w_csrmv(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                    const std::int8_t* values, const float* scales, const float* x, const float* bias, bool relu,
                    float* y) {
  for (std::uint32_t r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (std::uint32_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) {
      sum += static_cast<double>(values[k]) * x[col_idx[k]];
    }
    y[r] = Activate(static_cast<double>(scales[r]) * sum + bias[r], relu);
  }
}

void f32_bsrmv(std::uint32_t rows, std::uint32_t block_rows, std::uint32_t block_cols,
               const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16, const std::uint32_t* col_u32,
               const float* values, const float* x, const float* bias, bool relu, float* y) {
  const std::uint32_t block_row_count = (rows + block_rows - 1) / block_rows;
  for (std::uint32_t b = 0; b < block_row_count; ++b) {
    for (std::uint32_t i = 0; i < block_rows; ++i) {
      const std::uint32_t r = b * block_rows + i;
      if (r >= rows) break;
      double sum = bias[r];
      for (std::uint32_t k = block_row_ptr[b]; k < block_row_ptr[b + 1]; ++k) {
        const std::uint32_t col = col_u16 != nullptr ? col_u16[k] : col_u32[k];
        const float* w = values + static_cast<std::size_t>(k) * block_rows * block_cols + i * block_cols;
        for (std::uint32_t j = 0; j < block_cols; ++j) sum += static_cast<double>(w[j]) * x[col + j];
      }
      y[r] = Activate(sum, relu);
    }
  }
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

void f32_gemvcol(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x, const float* bias,
                 bool relu, float* y) {
  // Every column, zero inputs included, and never the padding rows.
  // Fits size_t: the loader checked that input_size x stride values are in the file.
  const auto stride = static_cast<std::size_t>(DenseColumnStride(rows));
  for (std::uint32_t r = 0; r < rows; ++r) {
    double sum = bias[r];
    for (std::uint32_t c = 0; c < cols; ++c) sum += static_cast<double>(w[c * stride + r]) * x[c];
    y[r] = Activate(sum, relu);
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
