// The list of compiled kernel variants. A new SIMD kernel is one entry here, guarded by
// the FRUGAL_KERNELS_<ISA> definition that runtime/CMakeLists.txt sets when it compiled
// the ISA's files, plus its own is_available check.
#include <span>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

bool AlwaysAvailable() { return true; }

#if defined(FRUGAL_KERNELS_AVX2)
// libgcc and compiler-rt also check through XGETBV that the OS saves the YMM registers.
bool HasAvx2Fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

// Crossover densities for ExecutionMode::kAuto: a CSR layer runs dense with the dense
// variant of the same ISA when stored values / (rows x cols) is above its csr_max_density.
// Measured with
//   frugal_kernels_benchmark --benchmark_min_time=0.2 --benchmark_repetitions=3
// on an AMD EPYC (Zen 3), 2 shared vCPUs, release build, medians of CPU time:
//   AVX2, 64x784:    gemv 2.54 us; csrmv 4.67 us at 80% zeros, 2.30 us at 90% (0.46 ns
//                    per stored value), so the two meet at density 0.11.
//   AVX2, 300x784:   gemv 16.1 us; csrmv 12.9 us at 90% zeros (0.55 ns per value): 0.12.
//   scalar, 64x784:  gemv 5.78 us; csrmv 8.76 us at 80% zeros, 2.84 us at 90%: 0.15.
//   scalar, 300x784: gemv 37.7 us; csrmv 34.4 us at 80% zeros, 68.9 us at 50%: 0.23.
// Each constant is at or below the smallest of its crossovers, so kAuto errs toward dense.
// Below it, the per-row cost in ns_per_row decides (see DenseIsFaster), which moves the
// crossover of layers with few columns lower.
constexpr float kAvx2CsrMaxDensity = 0.10f;
constexpr float kScalarCsrMaxDensity = 0.15f;

// Nanoseconds per weight for ExecutionMode::kAuto's per-call choice on CSC layers. CPU
// times from one run of
//   frugal_kernels_benchmark --benchmark_min_time=0.2
// on the machine above while other jobs loaded it (so wall times were about 2.8x CPU):
//   300x784 gemv: AVX2 14.2 us, scalar 27.1 us per 235,200 cells (0.060, 0.115 ns).
//   300x784 csrmv at 90% zeros: AVX2 10.6 us, scalar 13.6 us per 23,404 values (0.45, 0.58).
// The CSC kernel costs a time per multiplied weight plus a time per non-zero input. The
// fit used 64x784 and 300x784 layers at 84% zeros (no weights on the 4-pixel border),
// run on the first 2000 MNIST test images beside f32_gemv_4x__avx2 in one process. It
// gave 15x and 135x the dense kernel's time per cell, which at 0.060 ns per cell is
// 0.9 ns per weight and 8 ns per non-zero input. On 64-row layers the per-input part is about
// half of the time, so CSC only wins there when few inputs are non-zero.
constexpr float kAvx2GemvNs = 0.060f;
constexpr float kAvx2CsrmvNs = 0.45f;
constexpr float kScalarGemvNs = 0.115f;
constexpr float kScalarCsrmvNs = 0.58f;
constexpr float kScalarCscmvNs = 0.90f;
constexpr float kScalarCscmvColumnNs = 8.0f;

// Fixed cost of a CSR row on top of its values, in units of the CSR kernel's cost per
// value. The dense kernels' per-row cost is small enough to leave at 0. Fitted on the CPU
// times of
//   frugal_kernels_benchmark --benchmark_min_time=0.1 --benchmark_repetitions=3
//       --benchmark_filter='(gemv|csrmv.*zeros:(80|90|95|98)%)'
// on the same machine, heavily loaded (wall times 2x to 5x CPU). AVX2, 64x64: gemv 88 ns,
// csrmv 74 ns at 98% zeros (82 values) and 95 ns at 95% (205 values). That is 0.145 ns
// per value and about 1 ns per row, or 6.7 values. 10x64 gives 5.6 values per row,
// 64x784 2.0 and 300x784 2.5. Taking 6 makes 64-column layers cross near density 0.04,
// between the measured 95% and 98% zeros, and leaves 784-column layers at
// kAvx2CsrMaxDensity. Scalar: 2.4 values per row on 64x64 and 10x64, 0 on 64x784, and 2
// is taken. With its cost ratio of 0.198 every layer above still crosses at
// kScalarCsrMaxDensity.
constexpr float kAvx2CsrmvRowNs = 6.0f * kAvx2CsrmvNs;
constexpr float kScalarCsrmvRowNs = 2.0f * kScalarCsrmvNs;

// NEON figures are instruction counts, because qemu cannot time NEON. They come from
//   bench/count-instructions.sh --sweep --sizes 784-64 (and 64-64) --inferences 10
// under qemu-aarch64, scaled so that the CSR kernel's cost per value equals the AVX2
// figure. Against f32_gemv_8x__aarch64_neonfma on 64x784, CSR costs 3.84 instructions
// per value (85% to 95% zeros) and crosses dense at 4029 values. On 64x64 it costs 3.75
// per value and crosses at 19 values. Both fit a dense cost of 0.087 CSR values per cell
// and a row cost of 5.3 values, and the density cap is the limit 0.087 for many columns.
// NOTE: instruction counts, not times. CSR's indexed loads of x cost more cycles per
// instruction than dense streaming loads on in-order cores (Cortex-A53), so the true
// crossovers are likely lower still.
constexpr float kNeonFmaCsrMaxDensity = 0.087f;
constexpr float kNeonFmaCsrmvNs = kAvx2CsrmvNs;
constexpr float kNeonFmaGemvNs = 0.087f * kNeonFmaCsrmvNs;
constexpr float kNeonFmaCsrmvRowNs = 5.3f * kNeonFmaCsrmvNs;
// The 4x kernel, which 32-bit ARM runs, executes about twice the instructions per cell.
// Before the 8x kernel existed, the same script put its crossover with CSR near density
// 0.17 on 64x784, which is 0.177 values per cell with the row cost above.
// NOTE: counted on AArch64 only, because no 32-bit ARM code was counted.
constexpr float kNeonFmaGemv4xNs = 0.177f * kNeonFmaCsrmvNs;

// Crossover densities for int8 CSR layers, against the int8 dense variant of the same ISA.
// Measured with
//   frugal_kernels_benchmark --benchmark_filter='(gemv|csrmv).*/(64x784|300x784|64x64)'
//     --benchmark_min_time=0.2 --benchmark_repetitions=3
// on the machine above while other jobs loaded it, medians of CPU time:
//   AVX2, 64x784:    qc8w gemv 1.25 us; qc8w csrmv 1.14 us at 90% zeros (0.23 ns per
//                    stored value), so the two meet at density 0.11.
//   AVX2, 300x784:   qc8w gemv 6.11 us; qc8w csrmv 5.31 us at 90% zeros (0.23 ns): 0.115.
//   AVX2, 64x64:     qc8w gemv 121 ns; qc8w csrmv 118 ns at 90% zeros: 0.10.
//   scalar, 64x784:  qc8w gemv 5.48 us; qc8w csrmv 1.65 us at 90% zeros (0.33 ns): 0.31.
//   scalar, 300x784: qc8w gemv 25.6 us; qc8w csrmv 18.8 us at 80% zeros (0.40 ns): 0.28.
// The int8 CSR kernels cost about as much per stored value as the float ones, and the
// AVX2 int8 dense kernel about as much per cell as the float one, so the AVX2 crossover
// stays at 0.10. The scalar int8 dense kernel is 1.6x slower than the float one on
// SSE2 (no single-instruction int8 widening), which moves its crossover up to 0.25.
constexpr float kAvx2QCsrMaxDensity = 0.10f;
constexpr float kScalarQCsrMaxDensity = 0.25f;
// NOTE: an estimate, not measured: qemu cannot time NEON. It takes the AVX2 figure, as
// kNeonFmaCsrMaxDensity does.
constexpr float kNeonFmaQCsrMaxDensity = kAvx2QCsrMaxDensity;
// NOTE: an estimate. The int8 NEON dense kernel widens and converts each value before its
// fmla, so it is costed like the float 4x kernel rather than the 8x one.
constexpr float kNeonFmaQGemvNs = kNeonFmaGemv4xNs;

// Block CSR crossovers: the density of stored values, fill-in zeros included, at or
// below which each block kernel beats the dense kernel of its ISA. Measured with
//   frugal_kernels_benchmark --benchmark_filter='(gemv|csrmv|bsrmv).*/(64x784|300x784|100x300|64x64)(/|$)'
//     --benchmark_min_time=0.2 --benchmark_repetitions=3
// on the machine above under load from other jobs, medians of CPU time, on layers with
// independent random zeros (docs/benchmarks.md, "Block-sparse rows"). Per block at 90%
// and 95% zeros on 300x784: AVX2 1x1 0.26 ns, 4x1 0.34 to 0.37, 8x1 0.37 to 0.39, 1x4
// 0.27 to 0.31, against 0.029 ns per cell for f32_gemv_4x__avx2. Scalar 1x1 0.27 ns,
// 4x1 0.51, 8x1 1.56, 1x4 1.07, against 0.070 ns per cell for f32_gemv__scalar. The
// crossover is then R x C x (dense ns per cell) / (ns per block), rounded down:
//   AVX2 4x1 0.31, 8x1 0.59, 1x4 0.37; scalar 4x1 0.55, 8x1 0.36, 1x4 0.26.
// 1x1 blocks are CSR with 16-bit indices and keep the CSR kernels' crossovers.
constexpr float kAvx2Bsr1x1MaxDensity = kAvx2CsrMaxDensity;
constexpr float kAvx2Bsr4x1MaxDensity = 0.28f;
constexpr float kAvx2Bsr8x1MaxDensity = 0.50f;
constexpr float kAvx2Bsr1x4MaxDensity = 0.33f;
constexpr float kScalarBsr1x1MaxDensity = kScalarCsrMaxDensity;
constexpr float kScalarBsr4x1MaxDensity = 0.50f;
constexpr float kScalarBsr8x1MaxDensity = 0.33f;
constexpr float kScalarBsr1x4MaxDensity = 0.24f;
// Nanoseconds per stored value, fill-in included: the per-block costs above divided by
// R x C, from the same run. Nothing reads them for block layers yet, because kAuto uses
// the crossovers.
constexpr float kAvx2Bsr1x1Ns = 0.26f;
constexpr float kAvx2Bsr4x1Ns = 0.093f;
constexpr float kAvx2Bsr8x1Ns = 0.049f;
constexpr float kAvx2Bsr1x4Ns = 0.077f;
constexpr float kScalarBsr1x1Ns = 0.27f;
constexpr float kScalarBsr4x1Ns = 0.13f;
constexpr float kScalarBsr8x1Ns = 0.195f;
constexpr float kScalarBsr1x4Ns = 0.27f;
// NOTE: estimates, not measured: qemu cannot time NEON. They take the AVX2 figures, but
// 4-wide NEON runs an 8x1 block as two FMLAs, so its 8x1 crossover takes the 4x1 one.
constexpr float kNeonFmaBsr1x1MaxDensity = kNeonFmaCsrMaxDensity;
constexpr float kNeonFmaBsr4x1MaxDensity = kAvx2Bsr4x1MaxDensity;
constexpr float kNeonFmaBsr8x1MaxDensity = kAvx2Bsr4x1MaxDensity;
constexpr float kNeonFmaBsr1x4MaxDensity = kAvx2Bsr1x4MaxDensity;
constexpr float kNeonFmaBsr1x1Ns = kAvx2Bsr1x1Ns;
constexpr float kNeonFmaBsr4x1Ns = kAvx2Bsr4x1Ns;
constexpr float kNeonFmaBsr8x1Ns = kAvx2Bsr4x1Ns;
constexpr float kNeonFmaBsr1x4Ns = kAvx2Bsr1x4Ns;

// Dense-columns kernels: nanoseconds per matrix cell in the columns of non-zero inputs.
// kAuto runs these layers as stored, so the figures only document the kernels. CPU times
// of one run of
//   frugal_kernels_benchmark --benchmark_min_time=0.2 --benchmark_filter=gemv
// on the machine above under a load average of about 8, 64x784 with no zero inputs:
// f32_gemvcol__avx2 1222 ns, f32_gemvcol__scalar 2388 ns per 50,176 cells, against
// 1638 ns for f32_gemv_4x__avx2. On 24x784 the AVX2 kernel costs 0.043 ns per cell,
// because its cost per non-zero input (listing it, loading and broadcasting it) is
// spread over fewer rows.
constexpr float kAvx2GemvcolNs = 0.024f;
constexpr float kScalarGemvcolNs = 0.048f;
// NOTE: an estimate, not measured: qemu cannot time NEON. It takes the AVX2 figure.
constexpr float kNeonFmaGemvcolNs = kAvx2GemvcolNs;

// Best first within each encoding: SelectKernel takes the first available entry.
constexpr KernelVariant kVariants[] = {
#if defined(FRUGAL_KERNELS_AVX2)
    {"f32_gemv_4x__avx2", Isa::kAvx2, WeightEncoding::kDense, &f32_gemv_4x__avx2, nullptr, nullptr, &HasAvx2Fma,
     0.0f, kAvx2GemvNs},
    {"f32_csrmv__avx2", Isa::kAvx2, WeightEncoding::kCsr, nullptr, &f32_csrmv__avx2, nullptr, &HasAvx2Fma,
     kAvx2CsrMaxDensity, kAvx2CsrmvNs, 0.0f, kAvx2CsrmvRowNs},
    {"f32_qc8w_gemv_4x__avx2", Isa::kAvx2, WeightEncoding::kDenseInt8, nullptr, nullptr, nullptr, &HasAvx2Fma, 0.0f,
     kAvx2GemvNs, 0.0f, 0.0f, &f32_qc8w_gemv_4x__avx2, nullptr},
    {"f32_qc8w_csrmv__avx2", Isa::kAvx2, WeightEncoding::kCsrInt8, nullptr, nullptr, nullptr, &HasAvx2Fma,
     kAvx2QCsrMaxDensity, kAvx2CsrmvNs, 0.0f, 0.0f, nullptr, &f32_qc8w_csrmv__avx2},
    {"f32_bsrmv_1x1__avx2", Isa::kAvx2, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &HasAvx2Fma,
     kAvx2Bsr1x1MaxDensity, kAvx2Bsr1x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_1x1__avx2, 1, 1},
    {"f32_bsrmv_4x1__avx2", Isa::kAvx2, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &HasAvx2Fma,
     kAvx2Bsr4x1MaxDensity, kAvx2Bsr4x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_4x1__avx2, 4, 1},
    {"f32_bsrmv_8x1__avx2", Isa::kAvx2, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &HasAvx2Fma,
     kAvx2Bsr8x1MaxDensity, kAvx2Bsr8x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_8x1__avx2, 8, 1},
    {"f32_bsrmv_1x4__avx2", Isa::kAvx2, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &HasAvx2Fma,
     kAvx2Bsr1x4MaxDensity, kAvx2Bsr1x4Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_1x4__avx2, 1, 4},
    {"f32_gemvcol__avx2", Isa::kAvx2, WeightEncoding::kDenseColumns, nullptr, nullptr, nullptr, &HasAvx2Fma,
     0.0f, kAvx2GemvcolNs, 0.0f, 0.0f, nullptr, nullptr, nullptr, 0, 0, &f32_gemvcol__avx2},
#endif
#if defined(FRUGAL_KERNELS_AARCH64_NEONFMA)
    // Listed before the 4x kernel, because it executes about half the instructions per
    // multiply-add (see its file).
    {"f32_gemv_8x__aarch64_neonfma", Isa::kNeonFma, WeightEncoding::kDense, &f32_gemv_8x__aarch64_neonfma, nullptr,
     nullptr, &AlwaysAvailable, 0.0f, kNeonFmaGemvNs},
#endif
#if defined(FRUGAL_KERNELS_NEONFMA)
    // Every CPU that runs this build has NEON: the toolchain's flags enabled it everywhere.
    {"f32_gemv_4x__neonfma", Isa::kNeonFma, WeightEncoding::kDense, &f32_gemv_4x__neonfma, nullptr, nullptr,
     &AlwaysAvailable, 0.0f, kNeonFmaGemv4xNs},
    {"f32_csrmv__neonfma", Isa::kNeonFma, WeightEncoding::kCsr, nullptr, &f32_csrmv__neonfma, nullptr,
     &AlwaysAvailable, kNeonFmaCsrMaxDensity, kNeonFmaCsrmvNs, 0.0f, kNeonFmaCsrmvRowNs},
    {"f32_qc8w_gemv_4x__neonfma", Isa::kNeonFma, WeightEncoding::kDenseInt8, nullptr, nullptr, nullptr,
     &AlwaysAvailable, 0.0f, kNeonFmaQGemvNs, 0.0f, 0.0f, &f32_qc8w_gemv_4x__neonfma, nullptr},
    {"f32_qc8w_csrmv__neonfma", Isa::kNeonFma, WeightEncoding::kCsrInt8, nullptr, nullptr, nullptr,
     &AlwaysAvailable, kNeonFmaQCsrMaxDensity, kNeonFmaCsrmvNs, 0.0f, 0.0f, nullptr, &f32_qc8w_csrmv__neonfma},
    {"f32_bsrmv_1x1__neonfma", Isa::kNeonFma, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kNeonFmaBsr1x1MaxDensity, kNeonFmaBsr1x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_1x1__neonfma, 1, 1},
    {"f32_bsrmv_4x1__neonfma", Isa::kNeonFma, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kNeonFmaBsr4x1MaxDensity, kNeonFmaBsr4x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_4x1__neonfma, 4, 1},
    {"f32_bsrmv_8x1__neonfma", Isa::kNeonFma, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kNeonFmaBsr8x1MaxDensity, kNeonFmaBsr8x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_8x1__neonfma, 8, 1},
    {"f32_bsrmv_1x4__neonfma", Isa::kNeonFma, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kNeonFmaBsr1x4MaxDensity, kNeonFmaBsr1x4Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_1x4__neonfma, 1, 4},
    {"f32_gemvcol__neonfma", Isa::kNeonFma, WeightEncoding::kDenseColumns, nullptr, nullptr, nullptr,
     &AlwaysAvailable, 0.0f, kNeonFmaGemvcolNs, 0.0f, 0.0f, nullptr, nullptr, nullptr, 0, 0, &f32_gemvcol__neonfma},
#endif
    {"f32_gemv__scalar", Isa::kScalar, WeightEncoding::kDense, &f32_gemv__scalar, nullptr, nullptr, &AlwaysAvailable,
     0.0f, kScalarGemvNs},
    {"f32_csrmv__scalar", Isa::kScalar, WeightEncoding::kCsr, nullptr, &f32_csrmv__scalar, nullptr, &AlwaysAvailable,
     kScalarCsrMaxDensity, kScalarCsrmvNs, 0.0f, kScalarCsrmvRowNs},
    // CSC has a scalar kernel only: a scatter-add has no vector form on AVX2 or NEON.
    {"f32_cscmv__scalar", Isa::kScalar, WeightEncoding::kCsc, nullptr, nullptr, &f32_cscmv__scalar, &AlwaysAvailable,
     0.0f, kScalarCscmvNs, kScalarCscmvColumnNs},
    {"f32_qc8w_gemv__scalar", Isa::kScalar, WeightEncoding::kDenseInt8, nullptr, nullptr, nullptr, &AlwaysAvailable,
     0.0f, kScalarGemvNs, 0.0f, 0.0f, &f32_qc8w_gemv__scalar, nullptr},
    {"f32_qc8w_csrmv__scalar", Isa::kScalar, WeightEncoding::kCsrInt8, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kScalarQCsrMaxDensity, kScalarCsrmvNs, 0.0f, 0.0f, nullptr, &f32_qc8w_csrmv__scalar},
    {"f32_bsrmv_1x1__scalar", Isa::kScalar, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kScalarBsr1x1MaxDensity, kScalarBsr1x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_1x1__scalar, 1, 1},
    {"f32_bsrmv_4x1__scalar", Isa::kScalar, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kScalarBsr4x1MaxDensity, kScalarBsr4x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_4x1__scalar, 4, 1},
    {"f32_bsrmv_8x1__scalar", Isa::kScalar, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kScalarBsr8x1MaxDensity, kScalarBsr8x1Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_8x1__scalar, 8, 1},
    {"f32_bsrmv_1x4__scalar", Isa::kScalar, WeightEncoding::kBlockCsr, nullptr, nullptr, nullptr, &AlwaysAvailable,
     kScalarBsr1x4MaxDensity, kScalarBsr1x4Ns, 0.0f, 0.0f, nullptr, nullptr, &f32_bsrmv_1x4__scalar, 1, 4},
    {"f32_gemvcol__scalar", Isa::kScalar, WeightEncoding::kDenseColumns, nullptr, nullptr, nullptr,
     &AlwaysAvailable, 0.0f, kScalarGemvcolNs, 0.0f, 0.0f, nullptr, nullptr, nullptr, 0, 0, &f32_gemvcol__scalar},
};

// Crossover densities of the batch kernels for kAuto at InvokeBatch: a sparse layer runs
// with the spmm variant when its density is at most spmm_max_density, else with gemm.
// Both vectorize over the batch, so spmm pays an index load and a broadcast per weight
// rather than a gather, and stays ahead of gemm up to far higher densities than csrmv.
// Measured at batch 32 with
//   frugal_kernels_benchmark --benchmark_filter='batch:32' --benchmark_min_time=0.1
// on the AMD EPYC above (2 vCPUs shared with other jobs, load average about 9, so CPU
// times are noisy), one run:
//   AVX2:   gemm 33.0 us on 64x784, spmm 27.8 us at 50% zeros and 34.1 us at 40%: 0.58.
//           300x784: 0.50; 100x300: 0.72; 64x64: 0.75.
//   scalar: gemm 242 us on 64x784, spmm 196 us at 40% zeros and 312 us at 0%: 0.77.
//           300x784: 0.75; 100x300: 0.80; 64x64: 0.78.
// Each constant is below the smallest crossover of its ISA, so kAuto errs toward gemm.
constexpr float kAvx2SpmmMaxDensity = 0.45f;
constexpr float kScalarSpmmMaxDensity = 0.70f;
// NOTE: an estimate, not measured: qemu cannot time NEON. It takes the AVX2 figure.
constexpr float kNeonFmaSpmmMaxDensity = kAvx2SpmmMaxDensity;

// Best first within each encoding: SelectBatchKernel takes the first available entry.
constexpr BatchKernelVariant kBatchVariants[] = {
#if defined(FRUGAL_KERNELS_AVX2)
    {"f32_gemm_4x16__avx2", Isa::kAvx2, WeightEncoding::kDense, &f32_gemm_4x16__avx2, nullptr, &HasAvx2Fma, 0.0f},
    {"f32_spmm_1x32__avx2", Isa::kAvx2, WeightEncoding::kCsr, nullptr, &f32_spmm_1x32__avx2, &HasAvx2Fma,
     kAvx2SpmmMaxDensity},
#endif
#if defined(FRUGAL_KERNELS_NEONFMA)
    {"f32_gemm_4x8__neonfma", Isa::kNeonFma, WeightEncoding::kDense, &f32_gemm_4x8__neonfma, nullptr,
     &AlwaysAvailable, 0.0f},
    {"f32_spmm_1x16__neonfma", Isa::kNeonFma, WeightEncoding::kCsr, nullptr, &f32_spmm_1x16__neonfma,
     &AlwaysAvailable, kNeonFmaSpmmMaxDensity},
#endif
    {"f32_gemm_4x8__scalar", Isa::kScalar, WeightEncoding::kDense, &f32_gemm_4x8__scalar, nullptr, &AlwaysAvailable,
     0.0f},
    {"f32_spmm_1x16__scalar", Isa::kScalar, WeightEncoding::kCsr, nullptr, &f32_spmm_1x16__scalar, &AlwaysAvailable,
     kScalarSpmmMaxDensity},
};

}  // namespace

std::span<const KernelVariant> KernelVariants() { return kVariants; }

bool DenseIsFaster(std::uint32_t rows, std::uint32_t cols, std::uint64_t stored_values, const KernelVariant& csr,
                   const KernelVariant& dense) {
  const double cells = static_cast<double>(rows) * cols;
  if (cells == 0.0) return false;
  if (static_cast<double>(stored_values) / cells > csr.csr_max_density) return true;
  const double csr_ns = static_cast<double>(stored_values) * csr.ns_per_weight + static_cast<double>(rows) * csr.ns_per_row;
  const double dense_ns = cells * dense.ns_per_weight + static_cast<double>(rows) * dense.ns_per_row;
  return csr_ns >= dense_ns;
}

const KernelVariant& SelectKernel(WeightEncoding encoding, bool scalar_only) {
  const KernelVariant* scalar = nullptr;
  for (const KernelVariant& variant : kVariants) {
    if (variant.encoding != encoding) continue;
    if (variant.isa == Isa::kScalar) scalar = &variant;
    if (scalar_only && variant.isa != Isa::kScalar) continue;
    if (variant.is_available()) return variant;
  }
  // Unreachable: every encoding has a scalar entry above that is always available.
  return *scalar;
}

const KernelVariant* SelectBlockKernel(std::uint32_t block_rows, std::uint32_t block_cols, bool scalar_only) {
  const KernelVariant* scalar = nullptr;
  for (const KernelVariant& variant : kVariants) {
    if (variant.encoding != WeightEncoding::kBlockCsr) continue;
    if (variant.block_rows != block_rows || variant.block_cols != block_cols) continue;
    if (variant.isa == Isa::kScalar) scalar = &variant;
    if (scalar_only && variant.isa != Isa::kScalar) continue;
    if (variant.is_available()) return &variant;
  }
  return scalar;
}

bool IsSupportedBlockShape(std::uint32_t block_rows, std::uint32_t block_cols) {
  return SelectBlockKernel(block_rows, block_cols, /*scalar_only=*/true) != nullptr;
}

std::span<const BatchKernelVariant> BatchKernelVariants() { return kBatchVariants; }

const BatchKernelVariant* SelectBatchKernel(WeightEncoding encoding, bool scalar_only) {
  for (const BatchKernelVariant& variant : kBatchVariants) {
    if (variant.encoding != encoding) continue;
    if (scalar_only && variant.isa != Isa::kScalar) continue;
    if (variant.is_available()) return &variant;
  }
  return nullptr;
}

}  // namespace frugal::kernels
