// The floating-point policy shared by every target: frugal sets no floating-point mode,
// so subnormal numbers are flushed to zero where the hardware does it (ARMv7 NEON) and
// kept elsewhere (x86, aarch64, the scalar kernels). These tests hold every target to
// the one tolerance that covers both behaviours.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "frugal/runtime.h"
#include "test_model.h"

namespace {

using frugal::testing::CsrLayer;
using frugal::testing::DenseLayer;
using frugal::testing::Serialize;
using frugal::testing::TestModel;

// The smallest normal float is 2^-126; every product or sum that a flushing target
// drops is smaller than that in magnitude.
constexpr double kSmallestNormal = 1.1754943508222875e-38;
constexpr double kRelativeTolerance = 1e-5;

// Outputs may differ from the exact result by the relative tolerance of the largest
// term, plus one smallest-normal per flushed product and sum.
double Allowed(double scale, std::size_t terms) {
  return kRelativeTolerance * scale + 2.0 * static_cast<double>(terms + 1) * kSmallestNormal;
}

void CheckLayerAgainstExact(bool csr) {
  constexpr std::uint32_t kInputs = 19;
  constexpr std::uint32_t kOutputs = 6;
  const float subnormal = std::numeric_limits<float>::denorm_min() * 1000.0f;
  REQUIRE(std::fpclassify(subnormal) == FP_SUBNORMAL);

  // Rows mix normal and subnormal weights; row 3 holds only subnormal weights, and row
  // 5 adds subnormal terms to normal ones.
  std::vector<float> weights(kInputs * kOutputs);
  for (std::uint32_t r = 0; r < kOutputs; ++r) {
    for (std::uint32_t c = 0; c < kInputs; ++c) {
      const float normal = 0.25f * static_cast<float>((r * 7 + c * 3) % 9) - 1.0f;
      weights[r * kInputs + c] = (r == 3 || (r == 5 && c % 2 == 0)) ? subnormal * static_cast<float>(c + 1)
                                                                      : normal;
    }
  }
  std::vector<float> bias = {0.5f, -0.25f, 0.0f, subnormal, 1.0f, -subnormal};
  std::vector<float> input(kInputs);
  for (std::uint32_t c = 0; c < kInputs; ++c) {
    input[c] = (c % 4 == 0) ? subnormal : 0.125f * static_cast<float>(c) - 1.0f;
  }

  TestModel model;
  model.layers.push_back(csr ? CsrLayer("layer", kInputs, kOutputs, weights, bias, false)
                             : DenseLayer("layer", kInputs, kOutputs, weights, bias, false));
  const std::vector<std::uint8_t> bytes = Serialize(model);
  std::unique_ptr<frugal::Model> loaded;
  const frugal::Status status = frugal::Model::FromBuffer(bytes.data(), bytes.size(), &loaded);
  REQUIRE_MESSAGE(status.ok(), status.message());
  frugal::Interpreter interpreter(*loaded);
  std::span<const float> output;
  REQUIRE(interpreter.Invoke(input, &output).ok());

  for (std::uint32_t r = 0; r < kOutputs; ++r) {
    double exact = bias[r];
    double scale = std::fabs(static_cast<double>(bias[r]));
    for (std::uint32_t c = 0; c < kInputs; ++c) {
      const double term = static_cast<double>(weights[r * kInputs + c]) * input[c];
      exact += term;
      scale = std::max(scale, std::fabs(term));
    }
    CAPTURE(r);
    CAPTURE(exact);
    CHECK(std::isfinite(output[r]));
    CHECK(std::fabs(output[r] - exact) <= Allowed(scale, kInputs));
  }
}

TEST_CASE("subnormal weights and inputs stay within tolerance, dense") { CheckLayerAgainstExact(false); }

TEST_CASE("subnormal weights and inputs stay within tolerance, csr") { CheckLayerAgainstExact(true); }

}  // namespace
