// Naive reference kernels: plain loops with double accumulation. They are the truth that
// tests compare the optimized kernels against, never a fallback for inference.
#pragma once

#include <cstddef>
#include <cstdint>

namespace frugal::kernels::reference {

// Same contracts as GemvFn, CsrmvFn, CscmvFn, GemvcolFn and BsrmvFn in kernels.h;
// f32_bsrmv takes the block shape as arguments.
void f32_gemv(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
              const float* bias, bool relu, float* y);
void f32_csrmv(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
               const float* values, const float* x, const float* bias, bool relu, float* y);
void f32_cscmv(std::uint32_t rows, std::uint32_t cols, const std::uint32_t* col_ptr, const std::uint32_t* row_idx,
               const float* values, const float* x, const float* bias, bool relu, float* y);
// Same contracts as QGemvFn and QCsrmvFn: y[r] = activation(scales[r] * sum(q * x) + bias[r]).
void f32_qc8w_gemv(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales, const float* x,
                   const float* bias, bool relu, float* y);
void f32_qc8w_csrmv(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                    const std::int8_t* values, const float* scales, const float* x, const float* bias, bool relu,
                    float* y);
void f32_bsrmv(std::uint32_t rows, std::uint32_t block_rows, std::uint32_t block_cols,
               const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16, const std::uint32_t* col_u32,
               const float* values, const float* x, const float* bias, bool relu, float* y);
void f32_gemvcol(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x, const float* bias,
                 bool relu, float* y);

// Same contracts as GemmFn and SpmmFn in kernels.h (feature-major batch activations).
void f32_gemm(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w, const float* x,
              std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride);
void f32_spmm(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
              const float* values, const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
              std::size_t y_stride);

}  // namespace frugal::kernels::reference
