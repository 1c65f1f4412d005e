// Tests of the MLP: initialisation, forward pass, backpropagation against central finite
// differences, and the seeded generator.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/trainer/model.h"
#include "frugal/trainer/random.h"
#include "frugal/trainer/train.h"

using frugal::trainer::Activation;
using frugal::trainer::Mlp;
using frugal::trainer::Rng;

namespace {

// Mean cross-entropy of the batch, from the forward pass alone.
double MeanLoss(const Mlp& model, const Eigen::MatrixXf& inputs, const std::vector<std::uint8_t>& labels) {
  Eigen::MatrixXf logits;
  frugal::trainer::Forward(model, inputs, logits);
  std::size_t errors = 0;
  return frugal::trainer::SumCrossEntropy(logits, labels, &errors) / static_cast<double>(labels.size());
}

}  // namespace

TEST_CASE("mlp: shapes and Glorot range") {
  Rng rng(3);
  const std::vector<std::size_t> hidden{64, 32};
  const Mlp model = frugal::trainer::CreateMlp(784, hidden, 10, 1.0 / 255.0, rng);
  REQUIRE(model.layers.size() == 3);
  CHECK(model.input_size() == 784);
  CHECK(model.class_count() == 10);
  CHECK(model.layers[0].name == "dense_1");
  CHECK(model.layers[2].name == "dense_3");
  CHECK(model.layers[0].kernel.rows() == 784);
  CHECK(model.layers[0].kernel.cols() == 64);
  CHECK(model.layers[1].kernel.rows() == 64);
  CHECK(model.layers[1].kernel.cols() == 32);
  CHECK(model.layers[0].activation == Activation::kRelu);
  CHECK(model.layers[2].activation == Activation::kNone);

  for (const auto& layer : model.layers) {
    const double limit = std::sqrt(6.0 / static_cast<double>(layer.kernel.rows() + layer.kernel.cols()));
    CHECK(layer.kernel.cwiseAbs().maxCoeff() <= limit);
    // 50176 uniform draws reach within 1% of the limit with overwhelming probability.
    if (layer.kernel.size() > 1000) CHECK(layer.kernel.cwiseAbs().maxCoeff() > 0.99 * limit);
    CHECK(layer.bias.isZero());
  }
  // Uniform on [-limit, limit] has mean 0: the mean of 50176 draws is within 1% of limit.
  CHECK(std::fabs(model.layers[0].kernel.mean()) < 0.01 * std::sqrt(6.0 / (784 + 64)));
}

TEST_CASE("mlp: forward pass by hand") {
  // 2 inputs -> 2 hidden (ReLU) -> 2 logits.
  Mlp model;
  model.input_scale = 0.5;
  frugal::trainer::DenseLayer hidden;
  hidden.name = "dense_1";
  hidden.kernel.resize(2, 2);
  hidden.kernel << 1.0f, -1.0f,   // row = input, column = unit
                   2.0f, 0.5f;
  hidden.bias.resize(2);
  hidden.bias << 0.5f, -4.0f;
  frugal::trainer::DenseLayer output;
  output.name = "dense_2";
  output.activation = Activation::kNone;
  output.kernel.resize(2, 2);
  output.kernel << 1.0f, 0.0f,
                   3.0f, -1.0f;
  output.bias.resize(2);
  output.bias << 0.0f, 1.0f;
  model.layers = {hidden, output};

  // Raw inputs (2, 4) scaled by 0.5 give x = (1, 2).
  // hidden: unit 0 = 1*1 + 2*2 + 0.5 = 5.5; unit 1 = -1*1 + 0.5*2 - 4 = -4 -> ReLU 0.
  // logits: 5.5*1 + 0*3 + 0 = 5.5; 5.5*0 + 0*(-1) + 1 = 1.
  const std::uint8_t pixels[2] = {2, 4};
  const Eigen::MatrixXf logits = frugal::trainer::LogitsForImages(model, pixels, 1);
  REQUIRE(logits.rows() == 2);
  REQUIRE(logits.cols() == 1);
  CHECK(logits(0, 0) == 5.5f);
  CHECK(logits(1, 0) == 1.0f);

  // Cross-entropy for label 1: log(e^5.5 + e^1) - 1 = 4.5 + log(1 + e^-4.5).
  std::size_t errors = 0;
  const std::vector<std::uint8_t> label{1};
  const double loss = frugal::trainer::SumCrossEntropy(logits, label, &errors);
  CHECK(loss == doctest::Approx(4.5 + std::log1p(std::exp(-4.5))).epsilon(1e-6));
  CHECK(errors == 1);
}

TEST_CASE("backprop: gradients match finite differences") {
  Rng rng(11);
  const std::vector<std::size_t> hidden{6, 5};
  Mlp model = frugal::trainer::CreateMlp(7, hidden, 4, 1.0, rng);
  // Non-zero biases so their gradients are exercised away from the initial point.
  for (auto& layer : model.layers) {
    for (Eigen::Index i = 0; i < layer.bias.size(); ++i) {
      layer.bias(i) = static_cast<float>(0.2 * rng.UniformDouble() - 0.1);
    }
  }
  const Eigen::Index batch = 5;
  Eigen::MatrixXf inputs(7, batch);
  for (Eigen::Index i = 0; i < inputs.size(); ++i) {
    inputs.data()[i] = static_cast<float>(2.0 * rng.UniformDouble() - 1.0);
  }
  const std::vector<std::uint8_t> labels{0, 3, 1, 2, 3};

  frugal::trainer::Backprop backprop;
  frugal::trainer::Gradients gradients;
  const double loss = backprop.ComputeGradients(model, inputs, labels, gradients);
  CHECK(loss == doctest::Approx(MeanLoss(model, inputs, labels)).epsilon(1e-6));

  // Central differences in float32 with step 1e-3: truncation error is O(h^2) and rounding
  // about 1e-7 / 1e-3, so 2e-3 absolute is a safe bound for gradients of order 0.1.
  const float step = 1e-3f;
  std::size_t checked = 0;
  const auto check_variable = [&](float* values, const float* analytic, Eigen::Index size,
                                  const std::string& name) {
    for (Eigen::Index i = 0; i < size; ++i) {
      const float saved = values[i];
      values[i] = saved + step;
      const double plus = MeanLoss(model, inputs, labels);
      values[i] = saved - step;
      const double minus = MeanLoss(model, inputs, labels);
      values[i] = saved;
      const double numeric = (plus - minus) / (2.0 * step);
      INFO(name << "[" << i << "]: analytic " << analytic[i] << ", numeric " << numeric);
      CHECK(std::fabs(analytic[i] - numeric) < 2e-3);
      ++checked;
    }
  };
  for (std::size_t l = 0; l < model.layers.size(); ++l) {
    auto& layer = model.layers[l];
    check_variable(layer.kernel.data(), gradients.kernels[l].data(), layer.kernel.size(),
                   layer.name + "/kernel");
    check_variable(layer.bias.data(), gradients.biases[l].data(), layer.bias.size(),
                   layer.name + "/bias");
  }
  CHECK(checked == 7 * 6 + 6 + 6 * 5 + 5 + 5 * 4 + 4);
  // The check is meaningless if every gradient is tiny.
  CHECK(gradients.kernels[0].cwiseAbs().maxCoeff() > 1e-2f);
}

TEST_CASE("parallel backprop: ranges sum to the batch gradient") {
  Rng rng(12);
  const std::vector<std::size_t> hidden{9};
  const Mlp model = frugal::trainer::CreateMlp(13, hidden, 3, 1.0, rng);
  // 7 columns over 2 and 3 ranges give uneven ranges (0-2 and 3-6; 0-1, 2-3 and 4-6).
  Eigen::MatrixXf inputs(13, 7);
  for (Eigen::Index i = 0; i < inputs.size(); ++i) {
    inputs.data()[i] = static_cast<float>(2.0 * rng.UniformDouble() - 1.0);
  }
  const std::vector<std::uint8_t> labels{0, 2, 1, 1, 0, 2, 2};

  frugal::trainer::Backprop backprop;
  frugal::trainer::Gradients expected;
  const double expected_loss = backprop.ComputeGradients(model, inputs, labels, expected);

  const std::size_t max_threads = frugal::trainer::ThreadsSupported() ? 3 : 1;
  for (std::size_t threads = 1; threads <= max_threads; ++threads) {
    frugal::trainer::ParallelBackprop parallel(threads);
    frugal::trainer::Gradients actual;
    const double loss = parallel.ComputeGradients(model, inputs, labels, actual);
    CHECK(loss == doctest::Approx(expected_loss).epsilon(1e-6));
    REQUIRE(actual.kernels.size() == 2);
    for (std::size_t l = 0; l < 2; ++l) {
      INFO(threads << " threads, layer " << l);
      REQUIRE(actual.kernels[l].rows() == expected.kernels[l].rows());
      REQUIRE(actual.kernels[l].cols() == expected.kernels[l].cols());
      CHECK((actual.kernels[l] - expected.kernels[l]).cwiseAbs().maxCoeff() < 1e-6f);
      CHECK((actual.biases[l] - expected.biases[l]).cwiseAbs().maxCoeff() < 1e-6f);
    }
  }
}

TEST_CASE("rng: same seed, same sequence") {
  Rng first(42);
  Rng second(42);
  Rng other(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t value = first.NextU64();
    CHECK(value == second.NextU64());
    if (value != other.NextU64()) differs = true;
  }
  CHECK(differs);
}

TEST_CASE("rng: distributions stay in range") {
  Rng rng(0);  // seed 0 must work too
  double sum = 0.0;
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.UniformDouble();
    CHECK(u >= 0.0);
    CHECK(u < 1.0);
    sum += u;
  }
  CHECK(sum / 10000 == doctest::Approx(0.5).epsilon(0.05));

  std::vector<int> histogram(3, 0);
  for (int i = 0; i < 3000; ++i) {
    const std::uint64_t value = rng.UniformBelow(3);
    REQUIRE(value < 3);
    ++histogram[value];
  }
  for (const int count : histogram) CHECK(count > 800);
  CHECK(rng.UniformBelow(1) == 0);

  std::vector<std::uint32_t> values(100);
  std::iota(values.begin(), values.end(), 0u);
  rng.Shuffle(values);
  std::vector<std::uint32_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint32_t i = 0; i < 100; ++i) CHECK(sorted[i] == i);
  CHECK_FALSE(std::is_sorted(values.begin(), values.end()));
}
