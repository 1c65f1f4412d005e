// Optimizer steps checked against TensorFlow's ApplyProximalAdagrad formula worked out by
// hand, and the L1-penalty subgradient.
#include <cmath>
#include <span>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/trainer/optimizer.h"

using frugal::trainer::AddL1PenaltyGradient;
using frugal::trainer::ProximalAdagradOptimizer;
using frugal::trainer::SgdOptimizer;

// Every case uses initial_accumulator 0.75 and |g| = 0.5, so accum = 0.75 + 0.25 = 1 and
// rate = lr / sqrt(1) = lr = 0.5 exactly.
TEST_CASE("proximal adagrad: one step with l1 and l2") {
  ProximalAdagradOptimizer optimizer(/*learning_rate=*/0.5f, /*l1=*/0.5f, /*l2=*/0.5f,
                                     /*initial_accumulator=*/0.75f);
  std::vector<float> w{1.0f, 0.1f, -0.2f, -1.0f};
  const std::vector<float> g{0.5f, 0.5f, -0.5f, -0.5f};
  optimizer.Step(0, w, g);

  // w[0]: prox = 1 - 0.5 * 0.5 = 0.75; |prox| - rate * l1 = 0.75 - 0.25 = 0.5;
  //       / (1 + rate * l2) = 0.5 / 1.25 = 0.4.
  CHECK(w[0] == doctest::Approx(0.4f).epsilon(1e-6));
  // w[1]: prox = 0.1 - 0.25 = -0.15; |prox| - 0.25 = -0.1 < 0, so w = 0 exactly.
  CHECK(w[1] == 0.0f);
  CHECK(std::fabs(w[1]) == 0.0f);
  // w[2]: prox = -0.2 + 0.25 = 0.05; 0.05 - 0.25 < 0, so w = 0 exactly.
  CHECK(w[2] == 0.0f);
  // w[3]: prox = -1 + 0.25 = -0.75; -(0.75 - 0.25) / 1.25 = -0.4.
  CHECK(w[3] == doctest::Approx(-0.4f).epsilon(1e-6));

  const std::span<const float> accumulator = optimizer.accumulator(0);
  REQUIRE(accumulator.size() == 4);
  for (const float a : accumulator) CHECK(a == 1.0f);

  // Second step with g = 0: accum stays 1, rate 0.5, prox = w.
  // w[0]: (0.4 - 0.25) / 1.25 = 0.12. A fresh accumulator (0.75) would give another value.
  // w[1]: prox = 0, so it stays exactly 0.
  optimizer.Step(0, w, std::vector<float>{0.0f, 0.0f, 0.0f, 0.0f});
  CHECK(w[0] == doctest::Approx(0.12f).epsilon(1e-6));
  CHECK(w[1] == 0.0f);
  CHECK(w[3] == doctest::Approx(-0.12f).epsilon(1e-6));
}

TEST_CASE("proximal adagrad: l1 = 0 uses the plain branch") {
  ProximalAdagradOptimizer optimizer(0.5f, /*l1=*/0.0f, /*l2=*/0.5f, 0.75f);
  std::vector<float> w{1.0f, 0.1f, -1.0f};
  optimizer.Step(0, w, std::vector<float>{0.5f, 0.5f, -0.5f});
  // w[0]: prox = 0.75; 0.75 / (1 + 0.5 * 0.5) = 0.6.
  CHECK(w[0] == doctest::Approx(0.6f).epsilon(1e-6));
  // w[1]: prox = 0.1 - 0.25 = -0.15; -0.15 / 1.25 = -0.12, not clipped to 0 without l1.
  CHECK(w[1] == doctest::Approx(-0.12f).epsilon(1e-6));
  // w[2]: prox = -0.75; -0.75 / 1.25 = -0.6.
  CHECK(w[2] == doctest::Approx(-0.6f).epsilon(1e-6));
}

TEST_CASE("proximal adagrad: l1 without l2") {
  ProximalAdagradOptimizer optimizer(0.5f, /*l1=*/0.5f, /*l2=*/0.0f, 0.75f);
  std::vector<float> w{1.0f, 0.25f};
  optimizer.Step(0, w, std::vector<float>{0.5f, 0.0f});
  // w[0]: prox = 0.75; 0.75 - 0.25 = 0.5; / 1 = 0.5.
  CHECK(w[0] == 0.5f);
  // w[1]: g = 0, accum = 0.75, rate = 0.5 / sqrt(0.75) = 0.57735027;
  //       0.25 - 0.57735027 * 0.5 = -0.0387 < 0, so 0.
  CHECK(w[1] == 0.0f);
}

TEST_CASE("proximal adagrad: state is per variable") {
  ProximalAdagradOptimizer optimizer(0.5f, 0.0f, 0.0f, 0.75f);
  std::vector<float> first{1.0f};
  std::vector<float> second{1.0f, 2.0f};
  optimizer.Step(0, first, std::vector<float>{0.5f});
  optimizer.Step(1, second, std::vector<float>{0.5f, 0.5f});
  CHECK(optimizer.accumulator(0).size() == 1);
  CHECK(optimizer.accumulator(1).size() == 2);
  CHECK(optimizer.accumulator(2).empty());
  // Both variables start from 0.75, so both take the same step of 0.25.
  CHECK(first[0] == 0.75f);
  CHECK(second[0] == 0.75f);
  CHECK(second[1] == 1.75f);
}

TEST_CASE("sgd: one step") {
  SgdOptimizer optimizer(0.25f);
  std::vector<float> w{1.0f, -1.0f};
  optimizer.Step(0, w, std::vector<float>{2.0f, -4.0f});
  CHECK(w[0] == 0.5f);   // 1 - 0.25 * 2
  CHECK(w[1] == 0.0f);   // -1 - 0.25 * -4
}

TEST_CASE("l1 penalty: gradient with sign(0) = 0") {
  const std::vector<float> w{0.0f, 0.3f, -0.2f, -0.0f};
  std::vector<float> g{0.1f, 0.0f, 0.0f, 0.0f};
  AddL1PenaltyGradient(0.01f, w, g);
  CHECK(g[0] == 0.1f);     // sign(0) = 0 adds nothing
  CHECK(g[1] == 0.01f);
  CHECK(g[2] == -0.01f);
  CHECK(g[3] == 0.0f);     // sign(-0) = 0 as well
}

TEST_CASE("l1 penalty: weights cross zero instead of stopping") {
  // With only the penalty acting, SGD moves w by lr * C = 0.01 per step, so a weight at
  // 0.005 jumps to -0.005 and back and never lands on exactly 0.
  SgdOptimizer optimizer(1.0f);
  std::vector<float> w{0.005f};
  bool crossed = false;
  for (int step = 0; step < 10; ++step) {
    std::vector<float> g{0.0f};
    AddL1PenaltyGradient(0.01f, w, g);
    const float before = w[0];
    optimizer.Step(0, w, g);
    CHECK(w[0] != 0.0f);
    if ((before > 0.0f) != (w[0] > 0.0f)) crossed = true;
  }
  CHECK(crossed);
  CHECK(std::fabs(w[0]) == doctest::Approx(0.005f).epsilon(1e-3));
}
