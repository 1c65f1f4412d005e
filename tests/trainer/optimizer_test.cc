// Optimizer steps worked out by hand (TensorFlow's ApplyProximalAdagrad and
// ApplyProximalGradientDescent formulas, and proximal Adam), and the L1-penalty
// subgradient.
#include <cmath>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/trainer/data.h"
#include "frugal/trainer/optimizer.h"

using frugal::trainer::AddL1PenaltyGradient;
using frugal::trainer::FtrlOptimizer;
using frugal::trainer::ProximalAdagradOptimizer;
using frugal::trainer::ProximalAdamOptimizer;
using frugal::trainer::ProximalSgdOptimizer;
using frugal::trainer::Regularization;
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
  // The rate of the step, for the group lasso: lr / sqrt(1) = 0.5 for every weight.
  std::vector<float> rates(4);
  optimizer.StepRates(0, rates);
  for (const float rate : rates) CHECK(rate == 0.5f);

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

TEST_CASE("proximal sgd: one step, then zeros stay zero") {
  // rate = lr = 0.5, threshold rate * l1 = 0.25, shrink 1 + rate * l2 = 1.25.
  ProximalSgdOptimizer optimizer(0.5f, Regularization{0.5f, 0.5f});
  std::vector<float> w{1.0f, 0.1f, -0.2f, 0.0f};
  optimizer.Step(0, w, std::vector<float>{0.5f, 0.0f, 0.0f, 0.0f});
  // w[0]: prox = 1 - 0.25 = 0.75; (0.75 - 0.25) / 1.25 = 0.4.
  CHECK(w[0] == doctest::Approx(0.4f).epsilon(1e-6));
  // w[1], w[2]: zero gradient and |w| below the threshold 0.25, so exactly 0.
  CHECK(w[1] == 0.0f);
  CHECK(w[2] == 0.0f);
  // w[3] starts at exactly 0 and stays there.
  CHECK(w[3] == 0.0f);

  // A gradient below the threshold does not move a zero: |0 - 0.5 * 0.4| = 0.2 < 0.25.
  optimizer.Step(0, w, std::vector<float>{0.0f, 0.4f, -0.4f, 0.0f});
  CHECK(w[1] == 0.0f);
  CHECK(w[2] == 0.0f);
  CHECK(w[3] == 0.0f);
  // w[0]: prox = 0.4; (0.4 - 0.25) / 1.25 = 0.12.
  CHECK(w[0] == doctest::Approx(0.12f).epsilon(1e-6));
  CHECK(optimizer.slot_names().empty());
}

TEST_CASE("proximal sgd: per-variable strengths") {
  ProximalSgdOptimizer optimizer(0.5f, Regularization{0.5f, 0.0f});
  optimizer.SetRegularization(1, Regularization{0.0f, 0.0f});
  std::vector<float> first{0.1f};
  std::vector<float> second{0.1f};
  optimizer.Step(0, first, std::vector<float>{0.0f});
  optimizer.Step(1, second, std::vector<float>{0.0f});
  CHECK(first[0] == 0.0f);   // default l1 0.5: threshold 0.25 > 0.1
  CHECK(second[0] == 0.1f);  // l1 0 for variable 1: unchanged
  CHECK(optimizer.regularization(0).l1 == 0.5f);
  CHECK(optimizer.regularization(1).l1 == 0.0f);
  CHECK(optimizer.regularization(7).l1 == 0.5f);

  // An L1 warm-up scale of 0.2 gives threshold 0.05 < 0.1: 0.1 - 0.05 = 0.05.
  std::vector<float> third{0.1f};
  optimizer.set_l1_scale(0.2f);
  optimizer.Step(2, third, std::vector<float>{0.0f});
  CHECK(third[0] == doctest::Approx(0.05f).epsilon(1e-6));
}

TEST_CASE("proximal adam: two steps by hand") {
  // beta1 = 0.5 and beta2 = 0.75 make the bias corrections exact: after step 1,
  // m_hat = g and v_hat = g * g; epsilon 1e-8 changes the rate by about 2e-8.
  ProximalAdamOptimizer optimizer(/*learning_rate=*/0.25f, Regularization{0.5f, 0.0f},
                                  /*beta1=*/0.5f, /*beta2=*/0.75f, /*epsilon=*/1e-8f);
  std::vector<float> w{1.0f, 0.1f, 0.0f, -1.0f};
  optimizer.Step(0, w, std::vector<float>{0.5f, 0.0f, 0.0f, -0.5f});
  // w[0]: rate = 0.25 / 0.5 = 0.5; prox = 1 - 0.5 * 0.5 = 0.75; 0.75 - 0.5 * 0.5 = 0.5.
  CHECK(w[0] == doctest::Approx(0.5f).epsilon(1e-6));
  // w[1]: g = 0, so m = v = 0 and rate = 0.25 / 1e-8; the threshold is huge and
  // the weight becomes exactly 0.
  CHECK(w[1] == 0.0f);
  // w[2]: starts at exactly 0 with g = 0 and stays exactly 0 (no 0 * inf = NaN).
  CHECK(w[2] == 0.0f);
  CHECK_FALSE(std::isnan(w[2]));
  CHECK(w[3] == doctest::Approx(-0.5f).epsilon(1e-6));

  // Step 2 with g = 0.5 again for w[0]: m = 0.375, m_hat = 0.375 / 0.75 = 0.5;
  // v = 0.109375, v_hat = 0.109375 / 0.4375 = 0.25; rate = 0.5; prox = 0.5 - 0.25 = 0.25,
  // which the threshold 0.25 takes to 0 (within epsilon's effect).
  // w[1]: a gradient of 0.25 with |m_hat| = 0.25 <= l1 = 0.5 keeps it at 0: after
  // m = 0.125 and v = 0.015625, m_hat = 0.1666 and v_hat = 0.0357, rate = 1.3229,
  // prox = -0.2205 and the threshold is 0.6614.
  optimizer.Step(0, w, std::vector<float>{0.5f, 0.25f, 0.0f, -0.5f});
  CHECK(w[0] == doctest::Approx(0.0f).epsilon(1e-6).scale(1.0));
  CHECK(w[1] == 0.0f);
  CHECK(w[2] == 0.0f);

  const auto& state = optimizer.state();
  REQUIRE(state.size() == 1);
  CHECK(state[0].steps == 2);
  REQUIRE(state[0].slots.size() == 2);
  CHECK(state[0].slots[0][0] == 0.375f);    // m
  CHECK(state[0].slots[1][0] == 0.109375f); // v
  // Step 2's rate of w[0] was 0.25 / (sqrt(0.25) + 1e-8) = 0.5.
  std::vector<float> rates(4);
  optimizer.StepRates(0, rates);
  CHECK(rates[0] == doctest::Approx(0.5f).epsilon(1e-6));
  CHECK(optimizer.slot_names() == std::vector<std::string>{"m", "v"});
}

TEST_CASE("proximal adam: zero weights without l1 produce no NaN") {
  ProximalAdamOptimizer optimizer(1e-3f, Regularization{0.0f, 0.5f}, 0.9f, 0.999f, 1e-8f);
  std::vector<float> w{0.0f, -0.0f, 0.0f};
  for (int step = 0; step < 3; ++step) {
    optimizer.Step(0, w, std::vector<float>{0.0f, 0.0f, 1e-3f});
    CHECK(w[0] == 0.0f);
    CHECK(w[1] == 0.0f);
    CHECK_FALSE(std::isnan(w[2]));
  }
  // A constant gradient gives m_hat = g and v_hat = g * g, so rate = 1e-3 / 1e-3 = 1 and
  // each step is w = (w - 1e-3) / (1 + 0.5): -6.667e-4, -1.1111e-3, -1.4074e-3.
  CHECK(w[2] == doctest::Approx(-1.4074e-3f).epsilon(1e-4));
}

TEST_CASE("optimizer: restored state continues identically") {
  ProximalAdamOptimizer original(0.01f, Regularization{1e-3f, 1e-2f}, 0.9f, 0.999f, 1e-8f);
  std::vector<float> w{0.3f, -0.2f, 0.05f};
  const std::vector<float> g{0.1f, -0.3f, 0.02f};
  original.Step(0, w, g);
  original.Step(0, w, g);

  ProximalAdamOptimizer restored(0.01f, Regularization{1e-3f, 1e-2f}, 0.9f, 0.999f, 1e-8f);
  restored.RestoreState(original.state());
  std::vector<float> copy = w;
  original.Step(0, w, g);
  restored.Step(0, copy, g);
  CHECK(std::memcmp(w.data(), copy.data(), sizeof(float) * w.size()) == 0);
  CHECK(restored.state()[0].steps == 3);

  frugal::trainer::VariableState wrong;
  wrong.slots.resize(1, std::vector<float>(3));
  CHECK_THROWS_WITH_AS(restored.RestoreState({wrong}), doctest::Contains("has 1 slots, but proximal-adam"),
                       frugal::trainer::TrainerError);
}

// alpha 0.5, beta 0.25, l1 0.25, l2 0.5. Every step's n is a perfect square (0.5625 =
// 0.75^2, 1.5625 = 1.25^2), so each intermediate value below is short and checkable.
// z starts at -(beta / alpha) * w = -0.5 * w.
TEST_CASE("ftrl: two steps by hand") {
  FtrlOptimizer optimizer(/*learning_rate=*/0.5f, Regularization{0.25f, 0.5f}, /*beta=*/0.25f);
  std::vector<float> w{1.0f, 0.3f, 0.0f, 0.0f};

  optimizer.Step(0, w, std::vector<float>{0.75f, 0.0f, 0.0f, -0.75f});
  // w[0]: z = -0.5; n = 0.5625; sigma = (0.75 - 0) / 0.5 = 1.5; z = -0.5 + 0.75 - 1.5 * 1
  //       = -1.25; denominator (0.25 + 0.75) / 0.5 + 0.5 = 2.5; w = (1.25 - 0.25) / 2.5 = 0.4.
  CHECK(std::fabs(w[0] - 0.4f) <= 1e-7f);
  // w[1]: z = -0.15 and g = 0 leave z = -0.15; |z| <= l1 = 0.25, so exactly 0.
  CHECK(w[1] == 0.0f);
  // w[2]: starts at exactly 0 with g = 0: z = 0, n = 0 and no division, so 0 and no NaN.
  CHECK(w[2] == 0.0f);
  CHECK_FALSE(std::isnan(w[2]));
  // w[3]: starts at 0, g = -0.75: z = 0 - 0.75 - 1.5 * 0 = -0.75; w = (0.75 - 0.25) / 2.5 = 0.2.
  CHECK(std::fabs(w[3] - 0.2f) <= 1e-7f);

  optimizer.Step(0, w, std::vector<float>{1.0f, 0.1f, 0.0f, -1.0f});
  // w[0]: n = 1.5625; sigma = (1.25 - 0.75) / 0.5 = 1; z = -1.25 + 1 - 1 * 0.4 = -0.65;
  //       denominator (0.25 + 1.25) / 0.5 + 0.5 = 3.5; w = (0.65 - 0.25) / 3.5 = 0.1142857.
  CHECK(std::fabs(w[0] - 0.11428571f) <= 1e-7f);
  // w[1]: n = 0.01; sigma = 0.1 / 0.5 = 0.2; z = -0.15 + 0.1 - 0.2 * 0 = -0.05; |z| <= 0.25,
  //       so it stays exactly 0 although its gradient is not 0.
  CHECK(w[1] == 0.0f);
  CHECK(w[2] == 0.0f);
  CHECK_FALSE(std::isnan(w[2]));
  // w[3]: sigma = 1; z = -0.75 - 1 - 1 * 0.2 = -1.95; w = (1.95 - 0.25) / 3.5 = 0.4857143.
  CHECK(std::fabs(w[3] - 0.48571429f) <= 1e-7f);

  const auto& state = optimizer.state();
  REQUIRE(state.size() == 1);
  CHECK(state[0].steps == 2);
  REQUIRE(state[0].slots.size() == 2);
  CHECK(optimizer.slot_names() == std::vector<std::string>{"z", "n"});
  const std::vector<float>& z = state[0].slots[0];
  const std::vector<float>& n = state[0].slots[1];
  CHECK(std::fabs(z[0] - -0.65f) <= 1e-7f);
  CHECK(std::fabs(z[1] - -0.05f) <= 1e-7f);
  CHECK(z[2] == 0.0f);
  CHECK(std::fabs(z[3] - -1.95f) <= 1e-7f);
  CHECK(n[0] == 1.5625f);
  CHECK(std::fabs(n[1] - 0.01f) <= 1e-7f);
  CHECK(n[2] == 0.0f);
  CHECK(n[3] == 1.5625f);

  // The rates of the last step: alpha / (beta + sqrt(n)) = 0.5 / 1.5 and 0.5 / 0.25.
  std::vector<float> rates(4);
  optimizer.StepRates(0, rates);
  CHECK(rates[0] == doctest::Approx(1.0f / 3.0f).epsilon(1e-7));
  CHECK(rates[2] == 2.0f);
}

TEST_CASE("ftrl: without l1 the first step starts from the weights") {
  // With l1 = l2 = 0 and g = 0, z = -(beta / alpha) * w gives back w exactly, so a fresh
  // optimizer (as in the retrain phase) does not reset the weights.
  FtrlOptimizer optimizer(0.5f, Regularization{0.0f, 0.0f}, 0.25f);
  std::vector<float> w{1.0f, -0.375f, 0.0f};
  optimizer.Step(0, w, std::vector<float>{0.0f, 0.0f, 0.0f});
  CHECK(w[0] == 1.0f);
  CHECK(w[1] == -0.375f);
  CHECK(w[2] == 0.0f);
  CHECK(optimizer.Describe() == "ftrl lr=0.5 l1=0 l2=0 beta=0.25");
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
