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

// Dense y = activation(scales ⊙ (Q x) + b) for int8 weights Q, row-major with `rows` rows
// and `cols` columns, and one float scale per row: y[r] = scales[r] * sum_c(w[r * cols
// + c] * x[c]) + bias[r]. Values are in [-127, 127] (the loader rejects -128). Reads
// w[0, rows * cols), scales and bias [0, rows) and x[0, cols); writes y[0, rows) and
// nothing else. y must not alias x.
// Error bound: every kernel converts each weight to float exactly, accumulates the
// products in float and multiplies by the scale once. So its error is that of a float
// kernel on the dequantized weights scales[r] * w: at most about (cols + 2) * 2^-24
// times the sum of |terms| (|bias| plus every |scales[r] * w * x|). The tests check
// 1e-5 of that sum, as for the float kernels.
// NOTE: accumulating int8 x int16 products in int32 after quantizing x per call was
// 1.4x to 1.7x faster in an AVX2 prototype (docs/benchmarks.md, "Int8 weights"), but it
// needs a planned scratch buffer and a column limit, so it is not implemented.
using QGemvFn = void (*)(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales,
                         const float* x, const float* bias, bool relu, float* y);

// CSR y = activation(scales ⊙ (Q x) + b) for int8 values with one float scale per row:
// the CsrmvFn contract with int8 values in [-127, 127], and the QGemvFn error bound.
using QCsrmvFn = void (*)(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                          const std::int8_t* values, const float* scales, const float* x, const float* bias,
                          bool relu, float* y);
// Block-sparse rows y = activation(W x + b), with blocks of a fixed shape R x C that the
// kernel's name gives (f32_bsrmv_<R>x<C>__<isa>). Block row b covers outputs [b R, b R + R)
// and holds blocks block_row_ptr[b] .. block_row_ptr[b + 1] - 1. Block k multiplies
// x[col, col + C), where col is its column index, by the R x C values at
// values[k R C], row-major. Exactly one of col_u16 and col_u32 is non-null. The caller
// guarantees the BlockCsrWeights invariants of schema/README.md (block_row_ptr
// non-decreasing from 0 with ceil(rows / R) + 1 entries, col + C <= the length of x).
// Writes y[0, rows) and nothing else, so the rows of the last block row past `rows`
// are computed and dropped. y must not alias x.
using BsrmvFn = void (*)(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias,
                         bool relu, float* y);
// Dense-columns y = activation(W x + b) for inputs with zeros. W is column-major: column c,
// the weights that input c feeds, is w[c * stride, c * stride + rows) with
// stride = DenseColumnStride(rows), and the padding rows after it contain zeros. Every
// variant skips each group x[8k, 8k + 8) that is all +0.0f without reading its columns.
// A zero input in a group with non-zeros may still cost its multiplies. Reads at most w[0, cols * stride), x[0, cols) and bias[0, rows); writes
// y[0, rows) and nothing else. y must not alias x.
using GemvcolFn = void (*)(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
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

// One compiled kernel. Exactly one of gemv, csrmv, cscmv, gemvcol, qgemv, qcsrmv and bsrmv
// is set, matching `encoding`.
struct KernelVariant {
  const char* name;  // <dtype>_<op>[_<tile>]__<isa>, the same as the function and file
  Isa isa;
  WeightEncoding encoding;
  GemvFn gemv;
  CsrmvFn csrmv;
  CscmvFn cscmv;
  bool (*is_available)();  // whether the running CPU can execute this variant
  // CSR variants only: the density (stored values / (rows x cols)) at or below which this
  // kernel is faster than the dense variant of the same ISA and dtype. ExecutionMode::kAuto
  // expands layers above it to dense. 0 on dense and CSC variants.
  float csr_max_density;
  // Estimated nanoseconds per weight the kernel multiplies: per matrix cell for dense,
  // per stored value for CSR, per stored value in a non-zero input's column for CSC.
  // ExecutionMode::kAuto compares these to choose, per call, between a CSC layer's CSC
  // kernel and its other form. Only the ratios matter.
  float ns_per_weight;
  // CSC variants only: estimated nanoseconds per non-zero input on top of its weights,
  // mostly the mispredicted exit of the loop over its column. 0 on other variants.
  float ns_per_column = 0.0f;
  // Dense and CSR variants: estimated nanoseconds per output row on top of ns_per_weight
  // (row setup, reduction of the accumulators, bias, store). It makes small layers cross
  // from dense to CSR at a lower density than large ones. 0 on CSC variants.
  float ns_per_row = 0.0f;
  QGemvFn qgemv = nullptr;    // kDenseInt8 variants only
  QCsrmvFn qcsrmv = nullptr;  // kCsrInt8 variants only
  // Block CSR variants only: the kernel and the block shape it runs. csr_max_density is
  // then the density of stored values, fill-in zeros included, at or below which the
  // kernel is faster than the dense variant of the same ISA.
  BsrmvFn bsrmv = nullptr;
  std::uint32_t block_rows = 0;
  std::uint32_t block_cols = 0;
  GemvcolFn gemvcol = nullptr;  // kDenseColumns variants only
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

// Whether ExecutionMode::kAuto runs a CSR layer of rows x cols with stored_values values
// dense with `dense` rather than as CSR with `csr`. It does when the density is above
// csr.csr_max_density. It also does when the estimated CSR time (ns_per_weight per stored
// value plus ns_per_row per row) is at least the estimated dense time (ns_per_weight per
// cell plus ns_per_row per row). An empty layer (rows x cols = 0) stays CSR.
bool DenseIsFaster(std::uint32_t rows, std::uint32_t cols, std::uint64_t stored_values, const KernelVariant& csr,
                   const KernelVariant& dense);

// The first variant for `encoding` that the running CPU supports, or the scalar variant
// when `scalar_only` is set. Always succeeds, because the scalar variants are always
// built and always available.
const KernelVariant& SelectKernel(WeightEncoding encoding, bool scalar_only = false);

// The first block CSR variant for blocks of block_rows x block_cols that the running CPU
// supports, or its scalar variant when `scalar_only` is set. Every shape that the loader
// accepts has a scalar variant, so this returns null only for other shapes.
const KernelVariant* SelectBlockKernel(std::uint32_t block_rows, std::uint32_t block_cols, bool scalar_only = false);

// Whether some kernel runs blocks of this shape, the shapes the loader accepts.
bool IsSupportedBlockShape(std::uint32_t block_rows, std::uint32_t block_cols);

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

void f32_qc8w_gemv__scalar(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales,
                           const float* x, const float* bias, bool relu, float* y);
void f32_qc8w_csrmv__scalar(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                            const std::int8_t* values, const float* scales, const float* x, const float* bias,
                            bool relu, float* y);
// Block CSR, one function per block shape.
void f32_bsrmv_1x1__scalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                           const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                           float* y);
void f32_bsrmv_4x1__scalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                           const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                           float* y);
void f32_bsrmv_8x1__scalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                           const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                           float* y);
void f32_bsrmv_1x4__scalar(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                           const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                           float* y);
void f32_gemvcol__scalar(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                         const float* bias, bool relu, float* y);

// Compiled only when FRUGAL_KERNELS_AVX2 is defined; call only when the CPU has AVX2 and FMA.
void f32_gemv_4x__avx2(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                       const float* bias, bool relu, float* y);
void f32_csrmv__avx2(std::uint32_t rows, const std::uint32_t* row_ptr,
                     const std::uint32_t* col_idx, const float* values, const float* x,
                     const float* bias, bool relu, float* y);
void f32_qc8w_gemv_4x__avx2(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales,
                            const float* x, const float* bias, bool relu, float* y);
void f32_qc8w_csrmv__avx2(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                          const std::int8_t* values, const float* scales, const float* x, const float* bias,
                          bool relu, float* y);
void f32_bsrmv_1x1__avx2(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                         float* y);
void f32_bsrmv_4x1__avx2(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                         float* y);
void f32_bsrmv_8x1__avx2(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                         float* y);
void f32_bsrmv_1x4__avx2(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                         const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                         float* y);
void f32_gemvcol__avx2(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
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
void f32_qc8w_gemv_4x__neonfma(std::uint32_t rows, std::uint32_t cols, const std::int8_t* w, const float* scales,
                               const float* x, const float* bias, bool relu, float* y);
void f32_qc8w_csrmv__neonfma(std::uint32_t rows, const std::uint32_t* row_ptr, const std::uint32_t* col_idx,
                             const std::int8_t* values, const float* scales, const float* x, const float* bias,
                             bool relu, float* y);

// Compiled only when FRUGAL_KERNELS_AARCH64_NEONFMA is defined (AArch64 builds with NEON).
void f32_gemv_8x__aarch64_neonfma(std::uint32_t rows, std::uint32_t cols, const float* w,
                                  const float* x, const float* bias, bool relu, float* y);
void f32_bsrmv_1x1__neonfma(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                            const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                            float* y);
void f32_bsrmv_4x1__neonfma(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                            const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                            float* y);
void f32_bsrmv_8x1__neonfma(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                            const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                            float* y);
void f32_bsrmv_1x4__neonfma(std::uint32_t rows, const std::uint32_t* block_row_ptr, const std::uint16_t* col_u16,
                            const std::uint32_t* col_u32, const float* values, const float* x, const float* bias, bool relu,
                            float* y);
void f32_gemvcol__neonfma(std::uint32_t rows, std::uint32_t cols, const float* w, const float* x,
                          const float* bias, bool relu, float* y);

void f32_gemm_4x8__neonfma(std::uint32_t rows, std::uint32_t cols, std::uint32_t batch, const float* w,
                           const float* x, std::size_t x_stride, const float* bias, bool relu, float* y,
                           std::size_t y_stride);
void f32_spmm_1x16__neonfma(std::uint32_t rows, std::uint32_t batch, const std::uint32_t* row_ptr,
                            const std::uint32_t* col_idx, const float* values, const float* x,
                            std::size_t x_stride, const float* bias, bool relu, float* y, std::size_t y_stride);

}  // namespace frugal::kernels
