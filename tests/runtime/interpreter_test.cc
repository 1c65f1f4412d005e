// Interpreter: hand-checked outputs, agreement of kAuto, kAsStored and kDense with a
// layer-by-layer reference, kAuto's kernel choice, argument checks and ArgMax.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string_view>
#include <utility>
#include <memory>
#include <vector>

#include "frugal/runtime.h"
#include "kernels/kernels.h"
#include "kernels/reference.h"
#include "test_model.h"

namespace frugal {
namespace {

// A model and the bytes it reads in place; FromBuffer does not copy, so they live together.
struct LoadedModel {
  std::vector<std::uint8_t> bytes;
  std::unique_ptr<Model> model;
  const Model& operator*() const { return *model; }
  const Model* operator->() const { return model.get(); }
};

LoadedModel Load(std::vector<std::uint8_t> bytes) {
  LoadedModel loaded{std::move(bytes), nullptr};
  const Status status = Model::FromBuffer(loaded.bytes.data(), loaded.bytes.size(), &loaded.model);
  REQUIRE_MESSAGE(status.ok(), status.message());
  return loaded;
}

// Runs `model` through the reference kernels layer by layer, in double per dot product.
std::vector<float> ReferenceForward(const testing::TestModel& model, std::vector<float> x) {
  for (const testing::TestLayer& layer : model.layers) {
    std::vector<float> y(layer.output_size);
    if (layer.int8 && layer.csr) {
      kernels::reference::f32_qc8w_csrmv(layer.output_size, layer.row_ptr.data(), layer.col_idx.data(),
                                         layer.int8_values.data(), layer.scales.data(), x.data(), layer.bias.data(),
                                         layer.relu, y.data());
    } else if (layer.int8) {
      kernels::reference::f32_qc8w_gemv(layer.output_size, layer.input_size, layer.int8_values.data(),
                                        layer.scales.data(), x.data(), layer.bias.data(), layer.relu, y.data());
    } else if (layer.block_csr) {
      kernels::reference::f32_bsrmv(layer.output_size, layer.block_rows, layer.block_cols, layer.block_row_ptr.data(),
                                    layer.block_col_u16.has_value() ? layer.block_col_u16->data() : nullptr,
                                    layer.block_col_u32.has_value() ? layer.block_col_u32->data() : nullptr,
                                    layer.block_values.data(), x.data(), layer.bias.data(), layer.relu, y.data());
    } else if (layer.dense_columns) {
      kernels::reference::f32_gemvcol(layer.output_size, layer.input_size, layer.column_values.data(), x.data(),
                                      layer.bias.data(), layer.relu, y.data());
    } else if (layer.csc) {
      kernels::reference::f32_cscmv(layer.output_size, layer.input_size, layer.col_ptr.data(), layer.row_idx.data(),
                                    layer.csc_values.data(), x.data(), layer.bias.data(), layer.relu, y.data());
    } else if (layer.csr) {
      kernels::reference::f32_csrmv(layer.output_size, layer.row_ptr.data(), layer.col_idx.data(),
                                    layer.csr_values.data(), x.data(), layer.bias.data(), layer.relu, y.data());
    } else {
      kernels::reference::f32_gemv(layer.output_size, layer.input_size, layer.dense_values.data(), x.data(),
                                   layer.bias.data(), layer.relu, y.data());
    }
    x = std::move(y);
  }
  return x;
}

TEST_CASE("interpreter computes a hand-checked layer") {
  // W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -1].
  // Dense, no activation, x = [1, 2, 3]:
  //   y0 = 1*1 + 2*2 + 3*3 + 0.5 = 14.5,  y1 = -1*1 + 0*2 + 1*3 - 1 = 1.
  // CSR (the zero at W[1][1] is dropped), ReLU, x = [3, 2, 1]:
  //   y0 = 3 + 4 + 3 + 0.5 = 10.5,  y1 = -3 + 1 - 1 = -3 -> ReLU -> 0.
  const std::vector<float> w = {1, 2, 3, -1, 0, 1};
  const std::vector<float> b = {0.5f, -1.0f};

  testing::TestModel dense;
  dense.layers.push_back(testing::DenseLayer("dense", 3, 2, w, b, /*relu=*/false));
  const auto dense_model = Load(testing::Serialize(dense));
  Interpreter dense_interpreter(*dense_model);
  std::span<const float> output;
  const std::vector<float> x1 = {1, 2, 3};
  REQUIRE(dense_interpreter.Invoke(x1, &output).ok());
  REQUIRE(output.size() == 2);
  CHECK(output[0] == 14.5f);
  CHECK(output[1] == 1.0f);

  testing::TestModel csr;
  csr.layers.push_back(testing::CsrLayer("csr", 3, 2, w, b, /*relu=*/true));
  const auto csr_model = Load(testing::Serialize(csr));
  CHECK(csr_model->layer(0).stored_values == 5);
  Interpreter csr_interpreter(*csr_model);
  const std::vector<float> x2 = {3, 2, 1};
  REQUIRE(csr_interpreter.Invoke(x2, &output).ok());
  CHECK(output[0] == 10.5f);
  CHECK(output[1] == 0.0f);
}

TEST_CASE("interpreter modes agree with the reference") {
  // 1 to 4 layers, so the ping-pong buffers are used in every pattern.
  const std::vector<std::vector<std::uint32_t>> shapes = {
      {7, 3}, {20, 9, 4}, {50, 40, 30, 10}, {33, 17, 17, 5, 2}};
  const std::vector<std::vector<bool>> encodings = {
      {true}, {true, false}, {true, true, false}, {false, true, true, true}};
  std::mt19937 rng(99);
  for (std::size_t s = 0; s < shapes.size(); ++s) {
    CAPTURE(s);
    const testing::TestModel spec = testing::RandomModel(static_cast<std::uint32_t>(s + 1), shapes[s], encodings[s], 0.7);
    const auto model = Load(testing::Serialize(spec));
    Interpreter automatic(*model, {ExecutionMode::kAuto});
    Interpreter stored(*model, {ExecutionMode::kAsStored});
    Interpreter dense(*model, {ExecutionMode::kDense});

    for (int trial = 0; trial < 5; ++trial) {
      const std::vector<float> x = testing::RandomWeights(rng, shapes[s].front(), 0.0);
      const std::vector<float> expected = ReferenceForward(spec, x);
      std::span<const float> out_auto;
      std::span<const float> out_stored;
      std::span<const float> out_dense;
      REQUIRE(automatic.Invoke(x, &out_auto).ok());
      REQUIRE(stored.Invoke(x, &out_stored).ok());
      REQUIRE(dense.Invoke(x, &out_dense).ok());
      REQUIRE(out_auto.size() == expected.size());
      REQUIRE(out_stored.size() == expected.size());
      REQUIRE(out_dense.size() == expected.size());
      for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK_MESSAGE(out_auto[i] == doctest::Approx(expected[i]).epsilon(1e-4),
                      "kAuto output[" << i << "] = " << out_auto[i] << ", reference " << expected[i]);
        CHECK_MESSAGE(out_stored[i] == doctest::Approx(expected[i]).epsilon(1e-4),
                      "kAsStored output[" << i << "] = " << out_stored[i] << ", reference " << expected[i]);
        CHECK_MESSAGE(out_dense[i] == doctest::Approx(expected[i]).epsilon(1e-4),
                      "kDense output[" << i << "] = " << out_dense[i] << ", reference " << expected[i]);
      }
    }
  }
}

TEST_CASE("interpreter layer by layer equals Invoke") {
  const testing::TestModel spec = testing::RandomModel(5, {30, 20, 10, 4}, {true, false, true}, 0.5);
  const auto model = Load(testing::Serialize(spec));
  Interpreter whole(*model);
  Interpreter stepped(*model);
  std::mt19937 rng(3);
  const std::vector<float> x = testing::RandomWeights(rng, 30, 0.0);
  std::span<const float> expected;
  REQUIRE(whole.Invoke(x, &expected).ok());
  std::copy(x.begin(), x.end(), stepped.input().begin());
  for (std::size_t i = 0; i < model->layer_count(); ++i) stepped.InvokeLayer(i);
  const std::span<const float> output = stepped.output();
  REQUIRE(output.size() == expected.size());
  for (std::size_t i = 0; i < output.size(); ++i) CHECK(output[i] == expected[i]);
}

TEST_CASE("interpreter Create matches the constructor") {
  const auto model = Load(testing::Serialize(testing::RandomModel(3, {9, 5, 3}, {true, false}, 0.5)));
  std::unique_ptr<Interpreter> created;
  const Status status = Interpreter::Create(*model, {}, &created);
  REQUIRE(status.ok());
  REQUIRE(created != nullptr);
  Interpreter constructed(*model);

  std::vector<float> input(9);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = 0.25f * static_cast<float>(i) - 1.0f;
  std::span<const float> from_created;
  std::span<const float> from_constructed;
  REQUIRE(created->Invoke(input, &from_created).ok());
  REQUIRE(constructed.Invoke(input, &from_constructed).ok());
  REQUIRE(from_created.size() == from_constructed.size());
  for (std::size_t i = 0; i < from_created.size(); ++i) {
    CAPTURE(i);
    CHECK(from_created[i] == from_constructed[i]);
  }

  const Status null_status = Interpreter::Create(*model, {}, nullptr);
  CHECK(null_status.code() == StatusCode::kInvalidArgument);
}

TEST_CASE("interpreter rejects a wrong input length") {
  const auto model = Load(testing::Serialize(testing::RandomModel(1, {6, 4, 2}, {true, false}, 0.5)));
  Interpreter interpreter(*model);
  CHECK(interpreter.input().size() == 6);
  const std::vector<float> short_input(5, 1.0f);
  std::span<const float> output;
  const Status status = interpreter.Invoke(short_input, &output);
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(status.message() == "Interpreter::Invoke: input has 5 values, expected the model's input_size = 6");
}

TEST_CASE("interpreters on one model are independent") {
  const auto model = Load(testing::Serialize(testing::RandomModel(2, {8, 8, 3}, {true, true}, 0.3)));
  Interpreter a(*model);
  Interpreter b(*model);
  const std::vector<float> x1(8, 1.0f);
  const std::vector<float> x2(8, -1.0f);
  std::span<const float> out_a;
  std::span<const float> out_b;
  REQUIRE(a.Invoke(x1, &out_a).ok());
  const std::vector<float> first(out_a.begin(), out_a.end());
  REQUIRE(b.Invoke(x2, &out_b).ok());
  for (std::size_t i = 0; i < first.size(); ++i) CHECK(a.output()[i] == first[i]);
}

// Whether the interpreter will run scalar kernels, given the option and the environment.
bool ExpectScalarKernels(bool scalar_kernels_only) {
  const char* environment = std::getenv("FRUGAL_SCALAR_KERNELS");
  return scalar_kernels_only || (environment != nullptr && std::string_view(environment) == "1");
}

// The kernel kAuto should pick for layer `i`, from its size, its stored values and the
// cost estimates of the CSR and dense variants that the interpreter selects.
std::string_view ExpectedAutoKernel(const Model& model, std::size_t i, bool scalar_only) {
  const kernels::KernelVariant& dense = kernels::SelectKernel(WeightEncoding::kDense, scalar_only);
  const kernels::KernelVariant& csr = kernels::SelectKernel(WeightEncoding::kCsr, scalar_only);
  const LayerInfo& info = model.layer(i);
  if (info.encoding == WeightEncoding::kDense) return dense.name;
  return kernels::DenseIsFaster(info.output_size, info.input_size, info.stored_values, csr, dense) ? dense.name
                                                                                                  : csr.name;
}

TEST_CASE("kAuto runs half-sparse CSR dense") {
  // fc1 is 300 x 100 at 50% zeros, fc2 is 100 x 100 at 99% zeros (about 100 values),
  // fc3 is dense. Every crossover lies between those two densities.
  testing::TestModel spec;
  std::mt19937 rng(17);
  spec.layers.push_back(testing::CsrLayer("fc1", 300, 100, testing::RandomWeights(rng, 300 * 100, 0.5),
                                          testing::RandomWeights(rng, 100, 0.0), /*relu=*/true));
  spec.layers.push_back(testing::CsrLayer("fc2", 100, 100, testing::RandomWeights(rng, 100 * 100, 0.99),
                                          testing::RandomWeights(rng, 100, 0.0), /*relu=*/true));
  spec.layers.push_back(testing::DenseLayer("fc3", 100, 10, testing::RandomWeights(rng, 100 * 10, 0.0),
                                            testing::RandomWeights(rng, 10, 0.0), /*relu=*/false));
  const auto model = Load(testing::Serialize(spec));

  for (const bool scalar_kernels_only : {false, true}) {
    CAPTURE(scalar_kernels_only);
    const bool scalar_only = ExpectScalarKernels(scalar_kernels_only);
    const kernels::KernelVariant& dense_kernel = kernels::SelectKernel(WeightEncoding::kDense, scalar_only);
    const kernels::KernelVariant& csr_kernel = kernels::SelectKernel(WeightEncoding::kCsr, scalar_only);
    CAPTURE(csr_kernel.name);
    REQUIRE(csr_kernel.csr_max_density > 0.02f);
    REQUIRE(csr_kernel.csr_max_density < 0.45f);

    Interpreter automatic(*model, {ExecutionMode::kAuto, scalar_kernels_only});
    Interpreter stored(*model, {ExecutionMode::kAsStored, scalar_kernels_only});
    Interpreter dense(*model, {ExecutionMode::kDense, scalar_kernels_only});
    CHECK(automatic.kernel_name(0) == dense_kernel.name);
    CHECK(automatic.kernel_name(1) == csr_kernel.name);
    CHECK(automatic.kernel_name(2) == dense_kernel.name);
    CHECK(stored.kernel_name(0) == csr_kernel.name);
    CHECK(dense.kernel_name(1) == dense_kernel.name);
    // Only fc1 is expanded: 300 x 100 floats more than kAsStored.
    CHECK(automatic.buffer_bytes() == stored.buffer_bytes() + 300 * 100 * sizeof(float));

    for (int trial = 0; trial < 3; ++trial) {
      const std::vector<float> x = testing::RandomWeights(rng, 300, 0.0);
      const std::vector<float> expected = ReferenceForward(spec, x);
      for (Interpreter* interpreter : {&automatic, &stored, &dense}) {
        std::span<const float> output;
        REQUIRE(interpreter->Invoke(x, &output).ok());
        REQUIRE(output.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
          CHECK_MESSAGE(output[i] == doctest::Approx(expected[i]).epsilon(1e-4),
                        "output[" << i << "] = " << output[i] << ", reference " << expected[i]);
        }
      }
    }
  }
}

TEST_CASE("kAuto expands dense int8 CSR layers") {
  // Int8: fc1 is 300 x 100 CSR at 50% zeros, above every int8 crossover, fc2 is 100 x 100
  // CSR at 99% zeros, below them, and fc3 is dense int8. Format version 4.
  testing::TestModel spec;
  spec.format_version = 4;
  std::mt19937 rng(23);
  spec.layers.push_back(testing::Int8Layer("fc1", 300, 100, testing::RandomWeights(rng, 300 * 100, 0.5),
                                           testing::RandomWeights(rng, 100, 0.0), /*relu=*/true, /*csr=*/true));
  spec.layers.push_back(testing::Int8Layer("fc2", 100, 100, testing::RandomWeights(rng, 100 * 100, 0.99),
                                           testing::RandomWeights(rng, 100, 0.0), /*relu=*/true, /*csr=*/true));
  spec.layers.push_back(testing::Int8Layer("fc3", 100, 10, testing::RandomWeights(rng, 100 * 10, 0.0),
                                           testing::RandomWeights(rng, 10, 0.0), /*relu=*/false, /*csr=*/false));
  const auto model = Load(testing::Serialize(spec));

  for (const bool scalar_kernels_only : {false, true}) {
    CAPTURE(scalar_kernels_only);
    const bool scalar_only = ExpectScalarKernels(scalar_kernels_only);
    const kernels::KernelVariant& dense_kernel = kernels::SelectKernel(WeightEncoding::kDenseInt8, scalar_only);
    const kernels::KernelVariant& csr_kernel = kernels::SelectKernel(WeightEncoding::kCsrInt8, scalar_only);
    CAPTURE(csr_kernel.name);
    REQUIRE(csr_kernel.csr_max_density > 0.02f);
    REQUIRE(csr_kernel.csr_max_density < 0.45f);

    Interpreter automatic(*model, {ExecutionMode::kAuto, scalar_kernels_only});
    Interpreter stored(*model, {ExecutionMode::kAsStored, scalar_kernels_only});
    Interpreter dense(*model, {ExecutionMode::kDense, scalar_kernels_only});
    CHECK(automatic.kernel_name(0) == dense_kernel.name);
    CHECK(automatic.kernel_name(1) == csr_kernel.name);
    CHECK(automatic.kernel_name(2) == dense_kernel.name);
    CHECK(stored.kernel_name(0) == csr_kernel.name);
    CHECK(stored.kernel_name(1) == csr_kernel.name);
    CHECK(dense.kernel_name(0) == dense_kernel.name);
    CHECK(dense.kernel_name(1) == dense_kernel.name);
    // fc1's dense int8 copy is one byte per weight, and kDense copies fc2 too.
    CHECK(automatic.buffer_bytes() == stored.buffer_bytes() + 300 * 100);
    CHECK(dense.buffer_bytes() == stored.buffer_bytes() + 300 * 100 + 100 * 100);

    for (int trial = 0; trial < 3; ++trial) {
      const std::vector<float> x = testing::RandomWeights(rng, 300, 0.0);
      const std::vector<float> expected = ReferenceForward(spec, x);
      for (Interpreter* interpreter : {&automatic, &stored, &dense}) {
        std::span<const float> output;
        REQUIRE(interpreter->Invoke(x, &output).ok());
        REQUIRE(output.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
          CHECK_MESSAGE(output[i] == doctest::Approx(expected[i]).epsilon(1e-4),
                        "output[" << i << "] = " << output[i] << ", reference " << expected[i]);
        }
      }
    }
  }
}

TEST_CASE("kAuto follows the selected crossover") {
  // CSR layers at densities from 1% to 60%, so each side of every crossover is covered.
  // With scalar_kernels_only the decision must use the scalar variant's crossover.
  const double zero_fractions[] = {0.99, 0.97, 0.95, 0.92, 0.9, 0.87, 0.85, 0.8, 0.75, 0.7, 0.6, 0.4};
  for (const double zero_fraction : zero_fractions) {
    CAPTURE(zero_fraction);
    const auto model = Load(testing::Serialize(testing::RandomModel(7, {200, 100, 10}, {true, true}, zero_fraction)));
    for (const bool scalar_kernels_only : {false, true}) {
      CAPTURE(scalar_kernels_only);
      Interpreter automatic(*model, {ExecutionMode::kAuto, scalar_kernels_only});
      for (std::size_t i = 0; i < model->layer_count(); ++i) {
        CAPTURE(i);
        CHECK(automatic.kernel_name(i) == ExpectedAutoKernel(*model, i, ExpectScalarKernels(scalar_kernels_only)));
      }
    }
  }
}

// Checks every output against the reference within 1e-4 relative.
void CheckOutputs(Interpreter& interpreter, const testing::TestModel& spec, const std::vector<float>& x) {
  const std::vector<float> expected = ReferenceForward(spec, x);
  std::span<const float> output;
  REQUIRE(interpreter.Invoke(x, &output).ok());
  REQUIRE(output.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK_MESSAGE(output[i] == doctest::Approx(expected[i]).epsilon(1e-4),
                  "output[" << i << "] = " << output[i] << ", reference " << expected[i]);
  }
}

// fc1 is a CSC 784 -> 64 layer at `zero_fraction` zeros, fc2 a dense 64 -> 10 layer.
testing::TestModel CscSpec(double zero_fraction) {
  testing::TestModel spec;
  spec.format_version = 3;
  std::mt19937 rng(23);
  spec.layers.push_back(testing::CscLayer("fc1", 784, 64, testing::RandomWeights(rng, 784 * 64, zero_fraction),
                                          testing::RandomWeights(rng, 64, 0.0), /*relu=*/true));
  spec.layers.push_back(testing::DenseLayer("fc2", 64, 10, testing::RandomWeights(rng, 64 * 10, 0.0),
                                            testing::RandomWeights(rng, 10, 0.0), /*relu=*/false));
  return spec;
}

TEST_CASE("kAuto picks CSC per call from the input's zeros") {
  // At 96% zero weights (density 0.04, under every CSR crossover) the other form is CSR.
  // An input without zeros makes the CSC kernel multiply every stored value, at a higher
  // cost per value than the CSR kernel. An input that is 95% zeros leaves about 5% of them.
  const testing::TestModel spec = CscSpec(0.96);
  const auto model = Load(testing::Serialize(spec));
  std::mt19937 rng(5);
  for (const bool scalar_kernels_only : {false, true}) {
    CAPTURE(scalar_kernels_only);
    const bool scalar_only = ExpectScalarKernels(scalar_kernels_only);
    const kernels::KernelVariant& csc_kernel = kernels::SelectKernel(WeightEncoding::kCsc, scalar_only);
    const kernels::KernelVariant& csr_kernel = kernels::SelectKernel(WeightEncoding::kCsr, scalar_only);
    REQUIRE(csr_kernel.ns_per_weight < csc_kernel.ns_per_weight);
    REQUIRE(csr_kernel.csr_max_density > 0.04f);

    Interpreter automatic(*model, {ExecutionMode::kAuto, scalar_kernels_only});
    Interpreter stored(*model, {ExecutionMode::kAsStored, scalar_kernels_only});
    CHECK(automatic.kernel_name(0) == csc_kernel.name);
    CHECK(stored.kernel_name(0) == csc_kernel.name);
    // kAuto adds the CSR form of fc1: 65 row pointers plus a column index and a value per
    // stored weight.
    const std::uint64_t nnz = model->layer(0).stored_values;
    CHECK(automatic.buffer_bytes() == stored.buffer_bytes() + 65 * 4 + nnz * 8);

    const std::vector<float> dense_input = testing::RandomWeights(rng, 784, 0.0);
    CheckOutputs(automatic, spec, dense_input);
    CHECK(automatic.kernel_name(0) == csr_kernel.name);
    CHECK(automatic.kernel_runs(0) == std::pair<std::uint64_t, std::uint64_t>{0, 1});

    const std::vector<float> sparse_input = testing::RandomWeights(rng, 784, 0.95);
    CheckOutputs(automatic, spec, sparse_input);
    CHECK(automatic.kernel_name(0) == csc_kernel.name);
    CHECK(automatic.kernel_runs(0) == std::pair<std::uint64_t, std::uint64_t>{1, 1});

    CheckOutputs(stored, spec, dense_input);
    CheckOutputs(stored, spec, sparse_input);
    CHECK(stored.kernel_runs(0) == std::pair<std::uint64_t, std::uint64_t>{2, 0});
    CHECK(automatic.kernel_runs(1) == std::pair<std::uint64_t, std::uint64_t>{2, 0});
  }
}

TEST_CASE("kAuto gives a dense CSC layer a dense form") {
  // At 50% zero weights the other form is a dense copy, and an input without zeros runs it.
  const testing::TestModel spec = CscSpec(0.5);
  const auto model = Load(testing::Serialize(spec));
  std::mt19937 rng(6);
  const bool scalar_only = ExpectScalarKernels(false);
  const kernels::KernelVariant& dense_kernel = kernels::SelectKernel(WeightEncoding::kDense, scalar_only);
  const kernels::KernelVariant& csc_kernel = kernels::SelectKernel(WeightEncoding::kCsc, scalar_only);

  Interpreter automatic(*model, {ExecutionMode::kAuto, false});
  Interpreter stored(*model, {ExecutionMode::kAsStored, false});
  Interpreter dense(*model, {ExecutionMode::kDense, false});
  CHECK(automatic.buffer_bytes() == stored.buffer_bytes() + 784 * 64 * sizeof(float));
  CHECK(dense.kernel_name(0) == dense_kernel.name);

  const std::vector<float> dense_input = testing::RandomWeights(rng, 784, 0.0);
  CheckOutputs(automatic, spec, dense_input);
  CHECK(automatic.kernel_name(0) == dense_kernel.name);
  // All but one input zero: the CSC kernel touches one column of about 32 values.
  std::vector<float> one_input(784, 0.0f);
  one_input[100] = 0.75f;
  CheckOutputs(automatic, spec, one_input);
  CHECK(automatic.kernel_name(0) == csc_kernel.name);
  for (Interpreter* interpreter : {&stored, &dense}) {
    CheckOutputs(*interpreter, spec, dense_input);
    CheckOutputs(*interpreter, spec, one_input);
  }
}

// fc1 is a block CSR 784 -> 61 layer of block_rows x block_cols blocks at `zero_fraction`
// zeros (61 rows leave the last 4x1 and 8x1 block rows partly padding), fc2 a block CSR
// 61 -> 10 layer of the same shape with uint32 indices.
testing::TestModel BlockCsrSpec(std::uint32_t block_rows, std::uint32_t block_cols, double zero_fraction) {
  testing::TestModel spec;
  spec.format_version = 4;
  std::mt19937 rng(29);
  spec.layers.push_back(testing::BlockCsrLayer("fc1", 784, 61, testing::RandomWeights(rng, 784 * 61, zero_fraction),
                                               testing::RandomWeights(rng, 61, 0.0), /*relu=*/true, block_rows,
                                               block_cols));
  spec.layers.push_back(testing::BlockCsrLayer("fc2", 61, 10, testing::RandomWeights(rng, 61 * 10, zero_fraction),
                                               testing::RandomWeights(rng, 10, 0.0), /*relu=*/false, block_rows,
                                               block_cols, /*narrow=*/false));
  return spec;
}

TEST_CASE("block CSR layers run in every mode") {
  std::mt19937 rng(8);
  const std::vector<float> input = testing::RandomWeights(rng, 784, 0.3);
  for (auto [block_rows, block_cols] : {std::pair{1u, 1u}, {4u, 1u}, {8u, 1u}, {1u, 4u}}) {
    CAPTURE(block_rows);
    CAPTURE(block_cols);
    const testing::TestModel spec = BlockCsrSpec(block_rows, block_cols, 0.9);
    const auto model = Load(testing::Serialize(spec));
    const bool scalar_only = ExpectScalarKernels(false);
    const kernels::KernelVariant* block_kernel = kernels::SelectBlockKernel(block_rows, block_cols, scalar_only);
    REQUIRE(block_kernel != nullptr);
    const kernels::KernelVariant& dense_kernel = kernels::SelectKernel(WeightEncoding::kDense, scalar_only);

    Interpreter stored(*model, {ExecutionMode::kAsStored, false});
    Interpreter dense(*model, {ExecutionMode::kDense, false});
    Interpreter automatic(*model, {ExecutionMode::kAuto, false});
    CHECK(stored.kernel_name(0) == block_kernel->name);
    CHECK(dense.kernel_name(0) == dense_kernel.name);
    // kAuto keeps a block layer whose stored density, fill-in included, is at or below
    // its kernel's crossover, and expands it to dense above.
    for (std::size_t i = 0; i < 2; ++i) {
      const LayerInfo& info = model->layer(i);
      const double cells = static_cast<double>(info.input_size) * info.output_size;
      const double density = static_cast<double>(info.stored_values) / cells;
      CAPTURE(density);
      const bool keeps_blocks = density <= block_kernel->csr_max_density;
      CHECK(automatic.kernel_name(i) == (keeps_blocks ? block_kernel->name : dense_kernel.name));
    }
    for (Interpreter* interpreter : {&stored, &dense, &automatic}) CheckOutputs(*interpreter, spec, input);
  }
}

TEST_CASE("overlapping blocks expand to dense") {
  // One row of 6 weights in 1x4 blocks: [2, 0, 7, 0, 0, -3] packs as a block at column 0
  // and one moved left to column 2. The second block stores 0 for columns 2 and 3, which
  // the first block already covers. With x = [1, 10, 100, 1000, 10000, 0.5] and bias 0.25:
  //   y = 2 * 1 + 7 * 100 - 3 * 0.5 + 0.25 = 700.75.
  testing::TestModel spec;
  spec.format_version = 4;
  spec.layers.push_back(testing::BlockCsrLayer("fc1", 6, 1, {2, 0, 7, 0, 0, -3}, {0.25f}, /*relu=*/false, 1, 4));
  REQUIRE(spec.layers[0].block_col_u16 == std::vector<std::uint16_t>{0, 2});
  const auto model = Load(testing::Serialize(spec));
  const std::vector<float> x = {1.0f, 10.0f, 100.0f, 1000.0f, 10000.0f, 0.5f};
  for (ExecutionMode mode : {ExecutionMode::kAsStored, ExecutionMode::kDense, ExecutionMode::kAuto}) {
    CAPTURE(static_cast<int>(mode));
    Interpreter interpreter(*model, {mode, false});
    std::span<const float> output;
    REQUIRE(interpreter.Invoke(x, &output).ok());
    CHECK(output[0] == 700.75f);
  }
}

TEST_CASE("dense-columns layers run as stored in kAuto and dense in kDense") {
  // 784 -> 24 -> 61 -> 10 with both hidden layers stored column by column (24 and 61 rows
  // pad to 24 and 64), in format 4.
  testing::TestModel spec;
  spec.format_version = 4;
  std::mt19937 rng(31);
  spec.layers.push_back(testing::DenseColumnsLayer("fc1", 784, 24, testing::RandomWeights(rng, 784 * 24, 0.8),
                                                   testing::RandomWeights(rng, 24, 0.0), /*relu=*/true));
  spec.layers.push_back(testing::DenseColumnsLayer("fc2", 24, 61, testing::RandomWeights(rng, 24 * 61, 0.5),
                                                   testing::RandomWeights(rng, 61, 0.0), /*relu=*/true));
  spec.layers.push_back(testing::DenseLayer("fc3", 61, 10, testing::RandomWeights(rng, 61 * 10, 0.0),
                                            testing::RandomWeights(rng, 10, 0.0), /*relu=*/false));
  const auto model = Load(testing::Serialize(spec));
  CHECK(model->layer(0).encoding == WeightEncoding::kDenseColumns);

  for (const bool scalar_kernels_only : {false, true}) {
    CAPTURE(scalar_kernels_only);
    const bool scalar_only = ExpectScalarKernels(scalar_kernels_only);
    const kernels::KernelVariant& columns = kernels::SelectKernel(WeightEncoding::kDenseColumns, scalar_only);
    const kernels::KernelVariant& dense = kernels::SelectKernel(WeightEncoding::kDense, scalar_only);
    Interpreter automatic(*model, {ExecutionMode::kAuto, scalar_kernels_only});
    Interpreter stored(*model, {ExecutionMode::kAsStored, scalar_kernels_only});
    Interpreter widened(*model, {ExecutionMode::kDense, scalar_kernels_only});
    for (std::size_t i = 0; i < 2; ++i) {
      CHECK(automatic.kernel_name(i) == columns.name);
      CHECK(stored.kernel_name(i) == columns.name);
      CHECK(widened.kernel_name(i) == dense.name);
    }
    CHECK(automatic.buffer_bytes() == stored.buffer_bytes());
    // kDense adds row-major copies of fc1 and fc2, without the padding rows.
    CHECK(widened.buffer_bytes() == stored.buffer_bytes() + (784 * 24 + 24 * 61) * sizeof(float));

    // Dense inputs, pixel-like inputs with zero runs, and all zeros.
    std::vector<float> pixels = testing::RandomWeights(rng, 784, 0.0);
    for (std::size_t k = 0; k < pixels.size(); ++k) {
      if ((k / 28) < 5 || (k / 28) >= 23 || (k % 28) < 6 || (k % 28) >= 22 || k % 3 == 0) pixels[k] = 0.0f;
    }
    for (const std::vector<float>& x : {testing::RandomWeights(rng, 784, 0.0), pixels, std::vector<float>(784, 0.0f)}) {
      for (Interpreter* interpreter : {&automatic, &stored, &widened}) CheckOutputs(*interpreter, spec, x);
    }
  }
}

TEST_CASE("ArgMax picks the first maximum") {
  CHECK(ArgMax(std::vector<float>{}) == 0);
  CHECK(ArgMax(std::vector<float>{-3.0f}) == 0);
  CHECK(ArgMax(std::vector<float>{1.0f, 5.0f, 2.0f, 5.0f}) == 1);
  CHECK(ArgMax(std::vector<float>{-1.0f, -0.5f, -2.0f}) == 1);
}

}  // namespace
}  // namespace frugal
