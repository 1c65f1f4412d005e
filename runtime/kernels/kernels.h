// Signatures of frugal's fully connected kernels and the one list of kernel variants that
// dispatch, tests and benchmarks share. Internal to the runtime; not installed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "frugal/runtime.h"

namespace frugal::kernels {

// Dense y = activation(W x + b), W row-major with `rows` rows and `cols` columns.
// Reads w[0, rows * cols), x[0, cols) and bias[0, rows); writes y[0, rows) and nothing
// else. y must not alias x. No reads past those ranges.
using GemvFn = void (*)(std::uint32_t rows, std::uint32_t cols, const float* w,
                        const float* x, const float* bias, bool relu, float* y);

// CSR y = activation(W x + b). Row r holds entries row_ptr[r] .. row_ptr[r + 1] - 1 of
// col_idx and values. The caller guarantees the CSR invariants of schema/README.md
// (row_ptr non-decreasing from 0, every col_idx < the length of x); kernels do not check.
// Writes y[0, rows) and nothing else. y must not alias x.
using CsrmvFn = void (*)(std::uint32_t rows, const std::uint32_t* row_ptr,
                         const std::uint32_t* col_idx, const float* values, const float* x,
                         const float* bias, bool relu, float* y);

// CSC y = activation(W x + b) for sparse inputs. Column c contains entries col_ptr[c] ..
// col_ptr[c + 1] - 1 of row_idx and values, and is skipped whole when x[c] is exactly
// zero. The caller guarantees the CSC invariants of schema/README.md (col_ptr
// non-decreasing from 0, row_idx strictly increasing within a column and < rows).
// Reads x[0, cols) and bias[0, rows); writes y[0, rows) and nothing else. y must not alias x.
using CscmvFn = void (*)(std::uint32_t rows, std::uint32_t cols, const std::uint32_t* col_ptr,
                         const std::uint32_t* row_idx, const float* values, const float* x,
                         const float* bias, bool relu, float* y);

// Batch kernels (InterpreterOptions::max_batch > 1). Activations are feature-major: batch
// column j of feature c is x[c * x_stride + j], so SIMD lanes run over the batch and a
// weight multiplies a contiguous run of samples, as XNNPACK's f32-spmm runs over pixels.
// Every output element is one chain of fused (SIMD variants) or plain (scalar variants)
// multiply-adds over the layer's inputs in increasing order, then + bias, then the
// activation. The chain is the same in every lane and every tail, so a sample's output
// does not depend on the batch size or on which columns a thread was given.
// Reads x[c * x_stride + j] and writes y[r * y_stride + j] for j in [0, batch) only;
// y must not alias x. batch >= 1, x_stride >= batch and y_stride >= batch.

// Dense Y = activation(W X + b), W row-major with `rows` rows and `cols` columns.
using GemmFn = void (*)(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w,
                        const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
                        std::size_t y_stride);

// CSR Y = activation(W X + b), with the CSR invariants of CsrmvFn (checked by the loader).
using SpmmFn = void (*)(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr,
                        const std::uint32_t* col_idx, const float* values, const float* x,
                        std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride);

// Instruction set a variant was compiled for.
enum class Isa {
  kScalar,   // portable C++, compiled at the toolchain's baseline
  kAvx2,     // x86-64 AVX2 with FMA3
  kNeonFma,  // ARM NEON with vfmaq_f32 (AArch64, or 32-bit ARM built with -mfpu=neon-vfpv4)
};

// One compiled kernel. Exactly one of gemv, csrmv and cscmv is set, matching `encoding`.
struct KernelVariant {
  const char* name;  // <dtype>_<op>[_<tile>]__<isa>, the same as the function and file
  Isa isa;
  WeightEncoding encoding;
  GemvFn gemv;
  CsrmvFn csrmv;
  CscmvFn cscmv;
  bool (*is_available)();  // whether the running CPU can execute this variant
  // CSR variants only: the density (stored values / (rows x cols)) at or below which this
  // kernel is faster than the dense variant of the same ISA. ExecutionMode::kAuto expands
  // layers above it to dense. 0 on dense and CSC variants.
  float csr_max_density;
  // Estimated nanoseconds per weight the kernel multiplies: per matrix cell for dense,
  // per stored value for CSR, per stored value in a non-zero input's column for CSC.
  // ExecutionMode::kAuto compares these to choose, per call, between a CSC layer's CSC
  // kernel and its other form. Only the ratios matter.
  float ns_per_weight;
  // CSC variants only: estimated nanoseconds per non-zero input on top of its weights,
  // mostly the mispredicted exit of the loop over its column. 0 on other variants.
  float ns_per_column = 0.0f;
};

// One compiled batch kernel. Exactly one of gemm and spmm is set: gemm for kDense, spmm
// for kCsr. Kept apart from KernelVariant so that batch-1 dispatch is unchanged.
struct BatchKernelVariant {
  const char* name;  // <dtype>_<op>_<rows>x<batch columns>__<isa>, the same as the function
  Isa isa;
  WeightEncoding encoding;
  GemmFn gemm;
  SpmmFn spmm;
  bool (*is_available)();
  // spmm variants only: the density (stored values / (rows x cols)) at or below which this
  // kernel is faster than the gemm variant of the same ISA at batch 32. 0 on gemm variants.
  float spmm_max_density;
};

// Every variant compiled into this build, best first within each encoding.
std::span<const KernelVariant> KernelVariants();

// The first variant for `encoding` that the running CPU supports, or the scalar variant
// when `scalar_only` is set. Always succeeds, because the scalar variants are always
// built and always available.
const KernelVariant& SelectKernel(WeightEncoding encoding, bool scalar_only = false);

// Every batch variant compiled into this build, best first within each encoding.
std::span<const BatchKernelVariant> BatchKernelVariants();

// The first batch variant for kDense or kCsr that the running CPU supports, or the
// scalar one when `scalar_only` is set. Returns nullptr for every other encoding, whose
// layers the interpreter runs sample by sample with their batch-1 kernel.
const BatchKernelVariant* SelectBatchKernel(WeightEncoding encoding, bool scalar_only = false);

void f32_gemv__scalar(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                      const float* bias, bool relu, float* y);
void f32_csrmv__scalar(std::uint32_t rows, const std::uint32_t* row_ptr,
                       const std::uint32_t* col_idx, const float* values, const float* x,
                       const float* bias, bool relu, float* y);

void f32_cscmv__scalar(std::uint32_t rows, std::uint32_t cols, const std::uint32_t* col_ptr,
                       const std::uint32_t* row_idx, const float* values, const float* x,
                       const float* bias, bool relu, float* y);
void f32_gemm_4x8__scalar(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w,
                           const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
                           std::size_t y_stride);
void f32_spmm_1x16__scalar(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr,
                           const std::uint32_t* col_idx, const float* values, const float* x,
                           std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride);

// Compiled only when FRUGAL_KERNELS_AVX2 is defined; call only when the CPU has AVX2 and FMA.
void f32_gemv_4x__avx2(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                       const float* bias, bool relu, float* y);
void f32_csrmv__avx2(std::uint32_t rows, const std::uint32_t* row_ptr,
                     const std::uint32_t* col_idx, const float* values, const float* x,
                     const float* bias, bool relu, float* y);
void f32_gemm_4x16__avx2(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w,
                         const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
                         std::size_t y_stride);
void f32_spmm_1x32__avx2(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr,
                         const std::uint32_t* col_idx, const float* values, const float* x,
                         std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride);

// Compiled only when FRUGAL_KERNELS_NEONFMA is defined.
void f32_gemv_4x__neonfma(std::uint32_t rows, std::uint32_t cols, const float* w,
                          const float* x, const float* bias, bool relu, float* y);
void f32_csrmv__neonfma(std::uint32_t rows, const std::uint32_t* row_ptr,
                        const std::uint32_t* col_idx, const float* values, const float* x,
                        const float* bias, bool relu, float* y);
void f32_gemm_4x8__neonfma(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w,
                           const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
                           std::size_t y_stride);
void f32_spmm_1x16__neonfma(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr,
                            const std::uint32_t* col_idx, const float* values, const float* x,
                            std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride);

}  // namespace frugal::kernels
