// Group lasso steps worked out by hand: block soft-thresholding at one rate, the
// proximal step with a rate per coordinate, and the row and column groups of a kernel.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/trainer/group_lasso.h"

using frugal::trainer::ShrinkGroup;
using frugal::trainer::ShrinkGroupScaled;
using frugal::trainer::ShrinkKernelGroups;

TEST_CASE("group shrink: norm below the threshold gives exact zeros") {
  // ||(0.3, -0.4)|| = 0.5 <= rate * strength = 0.5 * 2 = 1.
  std::vector<float> w{0.3f, -0.4f};
  ShrinkGroup(w, 0.5f, 2.0f);
  CHECK(w[0] == 0.0f);
  CHECK(w[1] == 0.0f);

  // A norm equal to the threshold also gives 0: ||(0.75, 1)|| = 1.25 = 0.625 * 2, all
  // exact in binary.
  std::vector<float> edge{0.75f, 1.0f};
  ShrinkGroup(edge, 0.625f, 2.0f);
  CHECK(edge[0] == 0.0f);
  CHECK(edge[1] == 0.0f);
}

TEST_CASE("group shrink: norm above the threshold scales the group") {
  // ||(3, -4)|| = 5 and the threshold is 0.5 * 2 = 1, so the factor is 1 - 1 / 5 = 0.8.
  std::vector<float> w{3.0f, -4.0f, 0.0f};
  ShrinkGroup(w, 0.5f, 2.0f);
  CHECK(w[0] == doctest::Approx(2.4f).epsilon(1e-7));
  CHECK(w[1] == doctest::Approx(-3.2f).epsilon(1e-7));
  CHECK(w[2] == 0.0f);
}

TEST_CASE("group shrink: zero group stays zero without NaN") {
  std::vector<float> w{0.0f, -0.0f, 0.0f};
  ShrinkGroup(w, 0.5f, 2.0f);
  for (const float v : w) {
    CHECK_FALSE(std::isnan(v));
    CHECK(v == 0.0f);
  }
  // Also with a strength of 0, where the threshold 0 equals the norm 0.
  ShrinkGroup(w, 0.5f, 0.0f);
  for (const float v : w) CHECK_FALSE(std::isnan(v));

  const std::vector<float> rates{0.5f, 1.0f, 2.0f};
  ShrinkGroupScaled(w, rates, 2.0f);
  for (const float v : w) {
    CHECK_FALSE(std::isnan(v));
    CHECK(v == 0.0f);
  }
}

TEST_CASE("group shrink: rate per coordinate") {
  // rates (0.5, 1) and strength 2 give c = rate * strength = (1, 2). With p = (1.8, -3.2)
  // the root of (1.8 / (s + 1))^2 + (3.2 / (s + 2))^2 = 1 is s = 2 (0.36 + 0.64), so
  // w = p * s / (s + c) = (1.8 * 2 / 3, -3.2 * 2 / 4) = (1.2, -1.6), whose norm is s = 2.
  const std::vector<float> rates{0.5f, 1.0f};
  std::vector<float> w{1.8f, -3.2f};
  ShrinkGroupScaled(w, rates, 2.0f);
  CHECK(w[0] == doctest::Approx(1.2f).epsilon(1e-6));
  CHECK(w[1] == doctest::Approx(-1.6f).epsilon(1e-6));

  // ||p / rates|| = ||(0.6 / 0.5, 1 / 1)|| = sqrt(2.44) = 1.56 <= 2: exactly 0.
  std::vector<float> small{0.6f, 1.0f};
  ShrinkGroupScaled(small, rates, 2.0f);
  CHECK(small[0] == 0.0f);
  CHECK(small[1] == 0.0f);

  // Equal rates give the one-rate step: (3, -4) at rate 0.5 and strength 2 as above.
  std::vector<float> equal{3.0f, -4.0f};
  ShrinkGroupScaled(equal, std::vector<float>{0.5f, 0.5f}, 2.0f);
  CHECK(equal[0] == doctest::Approx(2.4f).epsilon(1e-7));
  CHECK(equal[1] == doctest::Approx(-3.2f).epsilon(1e-7));
}

TEST_CASE("group shrink: rate per coordinate meets the optimality condition") {
  // For a non-zero result, each coordinate satisfies p_i = w_i * (1 + c_i / ||w||).
  const std::vector<float> p{0.9f, -0.05f, 0.4f, 2.5f, -1.25f};
  const std::vector<float> rates{0.01f, 3.0f, 0.2f, 0.7f, 1e-4f};
  std::vector<float> w = p;
  const float strength = 0.8f;
  ShrinkGroupScaled(w, rates, strength);
  double norm = 0.0;
  for (const float v : w) norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  REQUIRE(norm > 0.0);
  for (std::size_t i = 0; i < p.size(); ++i) {
    INFO("coordinate " << i << ": p = " << p[i] << ", w = " << w[i]);
    const double c = static_cast<double>(rates[i]) * strength;
    CHECK(static_cast<double>(w[i]) * (1.0 + c / norm) == doctest::Approx(p[i]).epsilon(1e-5));
    CHECK(std::fabs(w[i]) <= std::fabs(p[i]));
  }
}

TEST_CASE("group shrink: kernel rows and columns") {
  // A 3 x 2 kernel (inputs x units) at rate 0.5 everywhere.
  Eigen::MatrixXf kernel(3, 2);
  kernel << 0.1f, 0.1f,   // input 0: norm 0.141 <= 0.5 * 0.5 * sqrt(2) = 0.354, removed
            3.0f, 4.0f,   // input 1: norm 5, scaled by 1 - 0.354 / 5
            0.0f, 0.0f;   // input 2: already 0
  const std::vector<float> rates(6, 0.5f);
  ShrinkKernelGroups(kernel, rates, /*input_strength=*/0.5f, /*unit_strength=*/0.0f);
  const float factor = 1.0f - 0.25f * std::sqrt(2.0f) / 5.0f;
  CHECK(kernel(0, 0) == 0.0f);
  CHECK(kernel(0, 1) == 0.0f);
  CHECK(kernel(1, 0) == doctest::Approx(3.0f * factor).epsilon(1e-6));
  CHECK(kernel(1, 1) == doctest::Approx(4.0f * factor).epsilon(1e-6));
  CHECK(kernel(2, 0) == 0.0f);

  // Units: column 0 is now (0, 3 * factor, 0) with norm 2.90, above the threshold
  // 0.5 * 1 * sqrt(3) = 0.866, so it shrinks by 0.866. Column 1, set to (0, 0.5, 0), has
  // norm 0.5 and is removed.
  kernel(1, 1) = 0.5f;
  const float column_norm = kernel(1, 0);
  ShrinkKernelGroups(kernel, rates, 0.0f, 1.0f);
  CHECK(kernel(1, 0) == doctest::Approx(column_norm - 0.5f * std::sqrt(3.0f)).epsilon(1e-6));
  CHECK(kernel(1, 1) == 0.0f);
}
