// Dead-unit elimination on real MNIST: a model with dead hidden units and never-read
// pixels converts to a smaller file whose logits match the unshrunk file's on all
// 10,000 test images.
#include <algorithm>
#include <bit>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "frugal/converter/converter.h"
#include "frugal/idx.h"
#include "frugal/runtime.h"
#include "test_paths.h"

namespace {

using frugal::converter::Activation;
using frugal::converter::Checkpoint;
using frugal::converter::ConvertOptions;
using frugal::converter::EncodingPolicy;
using frugal::converter::Layer;

Layer RandomLayer(std::mt19937& rng, const char* name, std::uint32_t inputs, std::uint32_t outputs, bool relu) {
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(static_cast<float>(inputs)));
  std::bernoulli_distribution zero(0.7);
  Layer layer{name, relu ? Activation::kRelu : Activation::kNone, inputs, outputs, {}, {}};
  for (std::uint32_t i = 0; i < inputs * outputs; ++i) layer.weights.push_back(zero(rng) ? 0.0f : normal(rng));
  for (std::uint32_t i = 0; i < outputs; ++i) layer.bias.push_back(normal(rng));
  return layer;
}

// A random 784-48-24-10 model with dead parts. No weight reads the 4-pixel border. Hidden
// units 3 and 17 of layer 1 have no incoming weights, with biases 0.75 and -0.5, so one
// folded constant is not 0. Unit 9 of layer 1 and unit 5 of layer 2 feed nothing.
Checkpoint DeadUnitMnistModel() {
  std::mt19937 rng(20240611);
  Checkpoint model;
  model.input_size = 784;
  model.input_scale = 1.0f / 255.0f;
  model.class_count = 10;
  model.layers = {RandomLayer(rng, "dense_1", 784, 48, true), RandomLayer(rng, "dense_2", 48, 24, true),
                  RandomLayer(rng, "dense_3", 24, 10, false)};
  Layer& first = model.layers[0];
  for (std::uint32_t r = 0; r < 48; ++r) {
    for (std::uint32_t c = 0; c < 784; ++c) {
      const std::uint32_t y = c / 28;
      const std::uint32_t x = c % 28;
      if (y < 4 || y >= 24 || x < 4 || x >= 24) first.weights[r * 784 + c] = 0.0f;
    }
  }
  for (const std::uint32_t unit : {3u, 17u}) std::fill_n(first.weights.begin() + unit * 784, 784, 0.0f);
  first.bias[3] = 0.75f;
  first.bias[17] = -0.5f;
  for (std::uint32_t r = 0; r < 24; ++r) model.layers[1].weights[r * 48 + 9] = 0.0f;
  for (std::uint32_t r = 0; r < 10; ++r) model.layers[2].weights[r * 24 + 5] = 0.0f;
  return model;
}

// Logits of every image, flattened: image i's logits start at 10 * i.
std::vector<float> AllLogits(const std::vector<std::uint8_t>& buffer, const frugal::idx::Images& images) {
  std::unique_ptr<frugal::Model> model;
  const frugal::Status status = frugal::Model::FromBuffer(buffer.data(), buffer.size(), &model);
  REQUIRE_MESSAGE(status.ok(), status.message());
  REQUIRE(model->input_size() == images.pixels_per_image());
  frugal::Interpreter interpreter(*model);
  std::vector<float> logits;
  for (std::size_t i = 0; i < images.count; ++i) {
    const std::uint8_t* pixels = images.pixels.data() + i * images.pixels_per_image();
    std::span<float> input = interpreter.input();
    for (std::size_t p = 0; p < input.size(); ++p) input[p] = static_cast<float>(pixels[p]) * model->input_scale();
    REQUIRE(interpreter.Invoke().ok());
    logits.insert(logits.end(), interpreter.output().begin(), interpreter.output().end());
  }
  return logits;
}

TEST_CASE("shrunk MNIST model gives the same logits") {
  const std::filesystem::path dir = frugal::testing::MnistDir();
  REQUIRE_MESSAGE(!dir.empty(), "FRUGAL_MNIST_DIR is not set");
  const frugal::idx::Images images = frugal::idx::ReadImages((dir / "t10k-images-idx3-ubyte").string());
  REQUIRE(images.count == 10000);

  ConvertOptions keep;
  keep.eliminate_dead_units = false;
  ConvertOptions shrink;

  // Elimination changes rounding, not values: folding relu(0.75) x weights into the next
  // bias rounds once in a different place, and removing a unit shifts which partial sum
  // (SIMD lane or CSR accumulator) later terms land in. So the logits are compared
  // within 1e-6 of each image's largest |logit| instead of bit for bit.
  EncodingPolicy encoding = EncodingPolicy::kAuto;
  std::uint32_t inputs_read = 0;
  SUBCASE("dense layers gather 400 inputs") {
    encoding = EncodingPolicy::kDense;
    inputs_read = 400;
  }
  SUBCASE("CSR layers keep all inputs") {
    // An unread input costs a CSR layer no bytes, so a gather would only add indices.
    encoding = EncodingPolicy::kCsr;
    inputs_read = 784;
  }
  keep.encoding = encoding;
  shrink.encoding = encoding;
  const Checkpoint model = DeadUnitMnistModel();
  const auto full = frugal::converter::Convert(model, keep, "full.frugal");
  const auto shrunk = frugal::converter::Convert(model, shrink, "shrunk.frugal");
  CHECK(shrunk.buffer.size() < full.buffer.size());
  CHECK(shrunk.inputs_read == inputs_read);
  CHECK(shrunk.layers[0].rows == 45);
  CHECK(shrunk.layers[1].rows == 23);
  MESSAGE("file bytes: " << full.buffer.size() << " unshrunk, " << shrunk.buffer.size() << " shrunk");

  const std::vector<float> expected = AllLogits(full.buffer, images);
  const std::vector<float> actual = AllLogits(shrunk.buffer, images);
  REQUIRE(actual.size() == expected.size());
  double worst = 0.0;
  std::size_t same_class = 0;
  std::size_t same_bits = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    same_bits += std::bit_cast<std::uint32_t>(actual[i]) == std::bit_cast<std::uint32_t>(expected[i]);
  }
  for (std::size_t i = 0; i < expected.size(); i += 10) {
    const std::span<const float> want(expected.data() + i, 10);
    const std::span<const float> got(actual.data() + i, 10);
    float scale = 0.0f;
    for (const float logit : want) scale = std::max(scale, std::fabs(logit));
    for (std::size_t k = 0; k < 10; ++k) {
      worst = std::max(worst, std::fabs(double{got[k]} - want[k]) / std::max(scale, 1e-30f));
    }
    same_class += frugal::ArgMax(got) == frugal::ArgMax(want);
  }
  MESSAGE("largest difference relative to the image's largest |logit|: " << worst << "; bit-identical logits: "
                                                                            << same_bits << " of " << expected.size());
  CHECK(worst <= 1e-6);
  CHECK(same_class == images.count);
}

// Raw pixels of the first `count` images, one vector per image.
std::vector<std::vector<float>> CalibrationInputs(const frugal::idx::Images& images, std::size_t count) {
  std::vector<std::vector<float>> inputs;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* pixels = images.image(i);
    inputs.emplace_back(pixels, pixels + images.pixels_per_image());
  }
  return inputs;
}

TEST_CASE("CSC and dense-columns MNIST models predict like CSR") {
  const std::filesystem::path dir = frugal::testing::MnistDir();
  REQUIRE_MESSAGE(!dir.empty(), "FRUGAL_MNIST_DIR is not set");
  const frugal::idx::Images images = frugal::idx::ReadImages((dir / "t10k-images-idx3-ubyte").string());
  REQUIRE(images.count == 10000);
  const Checkpoint model = DeadUnitMnistModel();

  ConvertOptions csr;
  csr.encoding = EncodingPolicy::kCsr;
  ConvertOptions csc;
  csc.encoding = EncodingPolicy::kCsc;
  // With calibration, kAuto stores layer 0 as dense columns: MNIST digits leave about 80%
  // of the pixels at 0, so it skips most columns, and the estimate for dense columns is
  // below CSC's. It then reads all 784 inputs: the dropped border pixels are zero, and
  // testing them costs less than the gather. Without calibration it is dense, because its
  // density is above kCsrMaxDensity, and reads only the inputs its weights read.
  ConvertOptions calibrated;
  calibrated.calibration_inputs = CalibrationInputs(images, 200);
  const auto csr_model = frugal::converter::Convert(model, csr, "csr.frugal");
  const auto csc_model = frugal::converter::Convert(model, csc, "csc.frugal");
  const auto auto_model = frugal::converter::Convert(model, calibrated, "auto.frugal");
  const auto uncalibrated = frugal::converter::Convert(model, ConvertOptions{}, "uncalibrated.frugal");
  for (const auto& layer : csc_model.layers) CHECK(layer.encoding == frugal::converter::Encoding::kCsc);
  CHECK(auto_model.layers[0].encoding == frugal::converter::Encoding::kDenseColumns);
  CHECK(auto_model.inputs_read == 784);
  CHECK(uncalibrated.inputs_read < 784);
  CHECK(uncalibrated.layers[0].encoding == frugal::converter::Encoding::kDense);
  REQUIRE(auto_model.layers[0].csc_work_fraction.has_value());
  CHECK(*auto_model.layers[0].input_zero_fraction > 0.5);
  MESSAGE("layer 0: " << *auto_model.layers[0].input_zero_fraction << " of inputs zero, CSC work fraction "
                      << *auto_model.layers[0].csc_work_fraction);

  // The CSC, dense-columns and CSR kernels add in different orders, so logits agree to
  // rounding only.
  const std::vector<float> expected = AllLogits(csr_model.buffer, images);
  for (const auto* converted : {&csc_model, &auto_model}) {
    const std::vector<float> actual = AllLogits(converted->buffer, images);
    REQUIRE(actual.size() == expected.size());
    double worst = 0.0;
    std::size_t same_class = 0;
    for (std::size_t i = 0; i < expected.size(); i += 10) {
      const std::span<const float> want(expected.data() + i, 10);
      const std::span<const float> got(actual.data() + i, 10);
      float scale = 0.0f;
      for (const float logit : want) scale = std::max(scale, std::fabs(logit));
      for (std::size_t k = 0; k < 10; ++k) {
        worst = std::max(worst, std::fabs(double{got[k]} - want[k]) / std::max(scale, 1e-30f));
      }
      same_class += frugal::ArgMax(got) == frugal::ArgMax(want);
    }
    MESSAGE("largest difference relative to the image's largest |logit|: " << worst);
    CHECK(worst <= 1e-5);
    CHECK(same_class == images.count);
  }
}

}  // namespace
