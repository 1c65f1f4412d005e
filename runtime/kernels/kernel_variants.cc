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

// Best first within each encoding: SelectKernel takes the first available entry.
constexpr KernelVariant kVariants[] = {
#if defined(FRUGAL_KERNELS_AVX2)
    {"f32_gemv_4x__avx2", Isa::kAvx2, WeightEncoding::kDense, &f32_gemv_4x__avx2, nullptr, &HasAvx2Fma},
    {"f32_csrmv__avx2", Isa::kAvx2, WeightEncoding::kCsr, nullptr, &f32_csrmv__avx2, &HasAvx2Fma},
#endif
#if defined(FRUGAL_KERNELS_NEONFMA)
    // Every CPU that runs this build has NEON: the toolchain's flags enabled it everywhere.
    {"f32_gemv_4x__neonfma", Isa::kNeonFma, WeightEncoding::kDense, &f32_gemv_4x__neonfma, nullptr,
     &AlwaysAvailable},
    {"f32_csrmv__neonfma", Isa::kNeonFma, WeightEncoding::kCsr, nullptr, &f32_csrmv__neonfma, &AlwaysAvailable},
#endif
    {"f32_gemv__scalar", Isa::kScalar, WeightEncoding::kDense, &f32_gemv__scalar, nullptr, &AlwaysAvailable},
    {"f32_csrmv__scalar", Isa::kScalar, WeightEncoding::kCsr, nullptr, &f32_csrmv__scalar, &AlwaysAvailable},
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

}  // namespace frugal::kernels
