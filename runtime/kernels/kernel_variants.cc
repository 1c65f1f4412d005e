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

// Crossover densities for ExecutionMode::kAuto: a CSR layer runs with the CSR variant
// when stored values / (rows x cols) is at most its csr_max_density, else dense with the
// dense variant of the same ISA. Measured with
//   frugal_kernels_benchmark --benchmark_min_time=0.2 --benchmark_repetitions=3
// on an AMD EPYC (Zen 3), 2 shared vCPUs, release build, medians of CPU time:
//   AVX2, 64x784:    gemv 2.54 us; csrmv 4.67 us at 80% zeros, 2.30 us at 90% (0.46 ns
//                    per stored value), so the two meet at density 0.11.
//   AVX2, 300x784:   gemv 16.1 us; csrmv 12.9 us at 90% zeros (0.55 ns per value): 0.12.
//   scalar, 64x784:  gemv 5.78 us; csrmv 8.76 us at 80% zeros, 2.84 us at 90%: 0.15.
//   scalar, 300x784: gemv 37.7 us; csrmv 34.4 us at 80% zeros, 68.9 us at 50%: 0.23.
// Each constant is at or below the smallest of its crossovers, so kAuto errs toward dense.
// NOTE: CSR pays a fixed cost per row, so on small layers (64x64 with AVX2) it loses to
// dense even at 98% zeros; a single density per ISA does not capture that.
constexpr float kAvx2CsrMaxDensity = 0.10f;
constexpr float kScalarCsrMaxDensity = 0.15f;
// NOTE: an estimate, not measured: qemu cannot time NEON. 4-wide NEON gains less over
// scalar than 8-wide AVX2, so the true crossover likely lies between the AVX2 and scalar
// figures; the lower one keeps kAuto on the dense side.
constexpr float kNeonFmaCsrMaxDensity = kAvx2CsrMaxDensity;

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
// NOTE: estimates, not measured: qemu cannot time NEON. They take the AVX2 figures, as
// kNeonFmaCsrMaxDensity does, which favours the dense and CSR forms over CSC on ARM.
constexpr float kNeonFmaGemvNs = kAvx2GemvNs;
constexpr float kNeonFmaCsrmvNs = kAvx2CsrmvNs;

// Best first within each encoding: SelectKernel takes the first available entry.
constexpr KernelVariant kVariants[] = {
#if defined(FRUGAL_KERNELS_AVX2)
    {"f32_gemv_4x__avx2", Isa::kAvx2, WeightEncoding::kDense, &f32_gemv_4x__avx2, nullptr, nullptr, &HasAvx2Fma,
     0.0f, kAvx2GemvNs},
    {"f32_csrmv__avx2", Isa::kAvx2, WeightEncoding::kCsr, nullptr, &f32_csrmv__avx2, nullptr, &HasAvx2Fma,
     kAvx2CsrMaxDensity, kAvx2CsrmvNs},
#endif
#if defined(FRUGAL_KERNELS_NEONFMA)
    // Every CPU that runs this build has NEON: the toolchain's flags enabled it everywhere.
    {"f32_gemv_4x__neonfma", Isa::kNeonFma, WeightEncoding::kDense, &f32_gemv_4x__neonfma, nullptr, nullptr,
     &AlwaysAvailable, 0.0f, kNeonFmaGemvNs},
    {"f32_csrmv__neonfma", Isa::kNeonFma, WeightEncoding::kCsr, nullptr, &f32_csrmv__neonfma, nullptr,
     &AlwaysAvailable, kNeonFmaCsrMaxDensity, kNeonFmaCsrmvNs},
#endif
    {"f32_gemv__scalar", Isa::kScalar, WeightEncoding::kDense, &f32_gemv__scalar, nullptr, nullptr, &AlwaysAvailable,
     0.0f, kScalarGemvNs},
    {"f32_csrmv__scalar", Isa::kScalar, WeightEncoding::kCsr, nullptr, &f32_csrmv__scalar, nullptr, &AlwaysAvailable,
     kScalarCsrMaxDensity, kScalarCsrmvNs},
    // CSC has a scalar kernel only: a scatter-add has no vector form on AVX2 or NEON.
    {"f32_cscmv__scalar", Isa::kScalar, WeightEncoding::kCsc, nullptr, nullptr, &f32_cscmv__scalar, &AlwaysAvailable,
     0.0f, kScalarCscmvNs, kScalarCscmvColumnNs},
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
