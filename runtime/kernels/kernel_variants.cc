// The list of compiled kernel variants. A new SIMD kernel is one entry here, guarded by
// the macro of the ISA it was compiled for, plus its own is_available check.
#include <span>

#include "kernels/kernels.h"

namespace frugal::kernels {
namespace {

bool AlwaysAvailable() { return true; }

constexpr KernelVariant kVariants[] = {
    {"f32_gemv__scalar", WeightEncoding::kDense, &f32_gemv__scalar, nullptr, &AlwaysAvailable},
    {"f32_csrmv__scalar", WeightEncoding::kCsr, nullptr, &f32_csrmv__scalar, &AlwaysAvailable},
};

}  // namespace

std::span<const KernelVariant> KernelVariants() { return kVariants; }

const KernelVariant& SelectKernel(WeightEncoding encoding) {
  for (const KernelVariant& variant : kVariants) {
    if (variant.encoding == encoding && variant.is_available()) return variant;
  }
  // Unreachable: every encoding has a scalar entry above that is always available.
  return kVariants[encoding == WeightEncoding::kDense ? 0 : 1];
}

}  // namespace frugal::kernels
