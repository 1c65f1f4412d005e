// Naive reference kernels: plain loops with double accumulation. They are the truth that
// tests compare the optimized kernels against, never a fallback for inference.
#pragma once

#include <cstdint>

namespace frugal::kernels::reference {

// Same contracts as GemvFn, CsrmvFn, CscmvFn and GemvcolFn in kernels.h.
void f32_gemv(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
              const float* bias, bool relu, float* y);
void f32_csrmv(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
               const float* values, const float* x, const float* bias, bool relu, float* y);
void f32_cscmv(std::uint32_t rows, std::uint32_t cols, const std::uint32_t* col_ptr, const std::uint32_t* row_idx,
               const float* values, const float* x, const float* bias, bool relu, float* y);
void f32_gemvcol(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x, const float* bias,
                 bool relu, float* y);

}  // namespace frugal::kernels::reference
