// Interpreter::InvokeBatch: each sample's outputs against a batch-1 Invoke of it, results
// that do not change with the thread count, the per-sample path of CSC layers in
// kAsStored, format 2 input gathering, and argument checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "frugal/runtime.h"
#include "frugal/frugal_model_generated.h"
#include "test_model.h"

namespace frugal {
namespace {


constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kRelativeTolerance = 1e-5;
const std::size_t kBatches[] = {1, 2, 3, 5, 7, 8, 9, 16, 17, 33, 49, 64};
constexpr std::size_t kMaxBatch = 64;  // 4 units of 16 columns, enough work for 4 threads

enum class Form { kDense, kCsr, kCsc };

// A model with one layer per entry of `forms` (sizes[i] -> sizes[i + 1]); each layer's
// weights are zero with probability zero_fractions[i]. Hidden layers use ReLU.
testing::TestModel MakeModel(std::uint32_t seed, const std::vector<std::uint32_t>& sizes,
                             const std::vector<Form>& forms, const std::vector<double>& zero_fractions) {
  std::mt19937 rng(seed);
  testing::TestModel model;
  model.format_version = 3;
  for (std::size_t i = 0; i < forms.size(); ++i) {
    const std::vector<float> weights =
        testing::RandomWeights(rng, std::size_t{sizes[i]} * sizes[i + 1], zero_fractions[i]);
    std::vector<float> bias = testing::RandomWeights(rng, sizes[i + 1], 0.0);
    const bool relu = i + 1 < forms.size();
    const std::string name = "fc" + std::to_string(i + 1);
    switch (forms[i]) {
      case Form::kDense:
        model.layers.push_back(testing::DenseLayer(name, sizes[i], sizes[i + 1], weights, bias, relu));
        break;
      case Form::kCsr:
        model.layers.push_back(testing::CsrLayer(name, sizes[i], sizes[i + 1], weights, bias, relu));
        break;
      case Form::kCsc:
        model.layers.push_back(testing::CscLayer(name, sizes[i], sizes[i + 1], weights, bias, relu));
        break;
    }
  }
  return model;
}

struct LoadedModel {
  std::vector<std::uint8_t> bytes;
  std::unique_ptr<Model> model;
};

LoadedModel Load(std::vector<std::uint8_t> bytes) {
  LoadedModel loaded{std::move(bytes), nullptr};
  const Status status = Model::FromBuffer(loaded.bytes.data(), loaded.bytes.size(), &loaded.model);
  REQUIRE_MESSAGE(status.ok(), status.message());
  return loaded;
}

// `count` samples, half of their inputs exactly zero so that CSC kernels skip columns.
std::vector<float> MakeInputs(std::size_t input_size, std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  return testing::RandomWeights(rng, input_size * count, 0.5);
}

std::unique_ptr<Interpreter> MakeInterpreter(const Model& model, ExecutionMode mode, bool scalar_only,
                                             std::size_t max_batch, std::size_t threads) {
  InterpreterOptions options;
  options.mode = mode;
  options.scalar_kernels_only = scalar_only;
  options.max_batch = max_batch;
  options.threads = threads;
  std::unique_ptr<Interpreter> interpreter;
  const Status status = Interpreter::Create(model, options, &interpreter);
  REQUIRE_MESSAGE(status.ok(), status.message());
  return interpreter;
}

// Runs InvokeBatch on the first `batch` samples into a NaN-filled output.
std::vector<float> RunBatch(Interpreter& interpreter, const Model& model, const std::vector<float>& inputs,
                            std::size_t batch) {
  std::vector<float> outputs(batch * model.output_size(), kNaN);
  const Status status = interpreter.InvokeBatch(
      std::span<const float>(inputs.data(), batch * model.input_size()), batch, outputs);
  REQUIRE_MESSAGE(status.ok(), status.message());
  return outputs;
}

// Compares every sample of a batch with a batch-1 Invoke of the same sample.
void CheckAgainstInvoke(Interpreter& single, const Model& model, const std::vector<float>& inputs, std::size_t batch,
                        const std::vector<float>& outputs) {
  const std::size_t in = model.input_size();
  const std::size_t out = model.output_size();
  for (std::size_t b = 0; b < batch; ++b) {
    std::span<const float> expected;
    REQUIRE(single.Invoke(std::span<const float>(inputs.data() + b * in, in), &expected).ok());
    float largest = 1.0f;
    for (float value : expected) largest = std::max(largest, std::fabs(value));
    for (std::size_t r = 0; r < out; ++r) {
      const float value = outputs[b * out + r];
      if (!(std::fabs(static_cast<double>(value) - expected[r]) <= kRelativeTolerance * largest)) {
        FAIL_CHECK("batch=" << batch << " sample " << b << " output " << r << ": InvokeBatch " << value
                            << ", Invoke " << expected[r]);
        return;
      }
    }
  }
}

void CheckBitwiseEqual(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      FAIL_CHECK(what << ": element " << i << " is " << a[i] << " and " << b[i]);
      return;
    }
  }
}

const char* ModeName(ExecutionMode mode) {
  switch (mode) {
    case ExecutionMode::kAuto: return "auto";
    case ExecutionMode::kAsStored: return "stored";
    case ExecutionMode::kDense: return "dense";
  }
  return "?";
}

// Every batch size and thread count against Invoke, and every thread count against 1.
void CheckModel(const Model& model) {
  const std::vector<float> inputs = MakeInputs(model.input_size(), kMaxBatch, 5);
  for (ExecutionMode mode : {ExecutionMode::kAuto, ExecutionMode::kAsStored, ExecutionMode::kDense}) {
    for (bool scalar_only : {false, true}) {
      CAPTURE(ModeName(mode));
      CAPTURE(scalar_only);
      std::unique_ptr<Interpreter> single = MakeInterpreter(model, mode, scalar_only, 1, 1);
      std::unique_ptr<Interpreter> one_thread = MakeInterpreter(model, mode, scalar_only, kMaxBatch, 1);
      const std::vector<float> full = RunBatch(*one_thread, model, inputs, kMaxBatch);
      for (std::size_t batch : kBatches) {
        const std::vector<float> expected = RunBatch(*one_thread, model, inputs, batch);
        CheckAgainstInvoke(*single, model, inputs, batch, expected);
        // The same samples in the full batch, bit for bit.
        CheckBitwiseEqual(std::vector<float>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(expected.size())),
                          expected, "batch " + std::to_string(batch) + " against batch " + std::to_string(kMaxBatch));
        for (std::size_t threads : {2, 3, 4}) {
          std::unique_ptr<Interpreter> pooled = MakeInterpreter(model, mode, scalar_only, kMaxBatch, threads);
          CHECK(pooled->threads() == threads);
          CheckBitwiseEqual(RunBatch(*pooled, model, inputs, batch), expected,
                            "batch " + std::to_string(batch) + " on " + std::to_string(threads) + " threads");
        }
      }
    }
  }
}

TEST_CASE("InvokeBatch matches Invoke on dense, CSR and CSC layers") {
  // Zero fractions put the sparse layers on both sides of kAuto's spmm crossover.
  const LoadedModel sparse = Load(testing::Serialize(
      MakeModel(21, {100, 48, 40, 24, 10}, {Form::kCsr, Form::kCsc, Form::kDense, Form::kCsr}, {0.9, 0.8, 0.0, 0.3})));
  CheckModel(*sparse.model);
  const LoadedModel csc_first = Load(testing::Serialize(
      MakeModel(22, {37, 19, 5}, {Form::kCsc, Form::kCsc}, {0.5, 0.95})));
  CheckModel(*csc_first.model);
}

TEST_CASE("InvokeBatch runs one-layer models") {
  for (Form form : {Form::kDense, Form::kCsr, Form::kCsc}) {
    const LoadedModel loaded = Load(testing::Serialize(MakeModel(23, {13, 7}, {form}, {0.6})));
    CheckModel(*loaded.model);
  }
}

TEST_CASE("InvokeBatch gathers format 2 inputs") {
  // 9 inputs, of which layer 0 reads 5; the other 4 carry NaN, so reading one fails.
  flatbuffers::FlatBufferBuilder builder;
  std::mt19937 rng(8);
  const std::vector<float> w0 = testing::RandomWeights(rng, 5 * 6, 0.2);
  const std::vector<float> b0 = testing::RandomWeights(rng, 6, 0.0);
  const std::vector<float> w1 = testing::RandomWeights(rng, 6 * 3, 0.2);
  const std::vector<float> b1 = testing::RandomWeights(rng, 3, 0.0);
  const std::vector<std::uint32_t> indices = {0, 2, 3, 6, 8};
  const std::vector<flatbuffers::Offset<fb::FullyConnected>> layers = {
      fb::CreateFullyConnectedDirect(builder, "fc1", 5, 6, fb::Activation::Relu, fb::Weights::DenseWeights,
                                     fb::CreateDenseWeightsDirect(builder, &w0).Union(), &b0),
      fb::CreateFullyConnectedDirect(builder, "fc2", 6, 3, fb::Activation::None, fb::Weights::DenseWeights,
                                     fb::CreateDenseWeightsDirect(builder, &w1).Union(), &b1)};
  builder.Finish(fb::CreateModelDirect(builder, 2, &layers, 0, &indices, 9), "FRGL");
  const LoadedModel loaded = Load({builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()});
  const Model& model = *loaded.model;
  REQUIRE(model.input_size() == 9);

  std::vector<float> inputs = MakeInputs(9, 20, 9);
  for (std::size_t b = 0; b < 20; ++b) {
    for (std::size_t unread : {1, 4, 5, 7}) inputs[b * 9 + unread] = kNaN;
  }
  std::unique_ptr<Interpreter> single = MakeInterpreter(model, ExecutionMode::kAuto, false, 1, 1);
  std::unique_ptr<Interpreter> batched = MakeInterpreter(model, ExecutionMode::kAuto, false, 20, 2);
  const std::vector<float> outputs = RunBatch(*batched, model, inputs, 20);
  for (float value : outputs) REQUIRE_FALSE(std::isnan(value));
  CheckAgainstInvoke(*single, model, inputs, 20, outputs);
}

TEST_CASE("InvokeBatch names its kernels") {
  const LoadedModel loaded = Load(testing::Serialize(
      MakeModel(24, {30, 20, 10, 4}, {Form::kDense, Form::kCsr, Form::kCsc}, {0.0, 0.9, 0.9})));
  const Model& model = *loaded.model;
  CHECK(MakeInterpreter(model, ExecutionMode::kAsStored, false, 1, 1)->batch_kernel_name(0).empty());

  std::unique_ptr<Interpreter> stored = MakeInterpreter(model, ExecutionMode::kAsStored, true, 8, 1);
  CHECK(stored->max_batch() == 8);
  CHECK(stored->batch_kernel_name(0) == "f32_gemm_4x8__scalar");
  CHECK(stored->batch_kernel_name(1) == "f32_spmm_1x16__scalar");
  // kAsStored runs CSC with its batch-1 kernel, sample by sample.
  CHECK(stored->batch_kernel_name(2) == "f32_cscmv__scalar");

  std::unique_ptr<Interpreter> automatic = MakeInterpreter(model, ExecutionMode::kAuto, true, 8, 1);
  CHECK(automatic->batch_kernel_name(2) == "f32_spmm_1x16__scalar");
  std::unique_ptr<Interpreter> dense = MakeInterpreter(model, ExecutionMode::kDense, true, 8, 1);
  for (std::size_t i = 0; i < 3; ++i) CHECK(dense->batch_kernel_name(i) == "f32_gemm_4x8__scalar");
}

TEST_CASE("InvokeBatch leaves Invoke working") {
  // The per-sample path of the CSC layer uses input() and output() as scratch; a later
  // Invoke must still compute from its own input.
  const LoadedModel loaded =
      Load(testing::Serialize(MakeModel(25, {12, 8, 3}, {Form::kCsc, Form::kDense}, {0.5, 0.0})));
  const Model& model = *loaded.model;
  const std::vector<float> inputs = MakeInputs(12, 4, 10);
  std::unique_ptr<Interpreter> interpreter = MakeInterpreter(model, ExecutionMode::kAsStored, false, 4, 1);
  std::span<const float> first;
  REQUIRE(interpreter->Invoke(std::span<const float>(inputs.data(), 12), &first).ok());
  const std::vector<float> expected(first.begin(), first.end());
  RunBatch(*interpreter, model, inputs, 4);
  std::span<const float> again;
  REQUIRE(interpreter->Invoke(std::span<const float>(inputs.data(), 12), &again).ok());
  CheckBitwiseEqual(std::vector<float>(again.begin(), again.end()), expected, "Invoke after InvokeBatch");
}

TEST_CASE("InvokeBatch rejects wrong sizes") {
  const LoadedModel loaded = Load(testing::Serialize(MakeModel(26, {6, 4, 2}, {Form::kDense, Form::kCsr}, {0.0, 0.5})));
  const Model& model = *loaded.model;
  std::unique_ptr<Interpreter> interpreter = MakeInterpreter(model, ExecutionMode::kAuto, false, 4, 2);
  std::vector<float> inputs(5 * 6, 0.5f);
  std::vector<float> outputs(5 * 2, 7.0f);
  auto check = [&](std::size_t in, std::size_t batch, std::size_t out, const std::string& message) {
    const Status status = interpreter->InvokeBatch(std::span<const float>(inputs.data(), in), batch,
                                                   std::span<float>(outputs.data(), out));
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK(status.message() == message);
    for (float value : outputs) CHECK(value == 7.0f);
  };
  check(0, 0, 0, "Interpreter::InvokeBatch: batch = 0 is out of range [1, max_batch = 4]");
  check(30, 5, 10, "Interpreter::InvokeBatch: batch = 5 is out of range [1, max_batch = 4]");
  check(17, 3, 6, "Interpreter::InvokeBatch: inputs has 17 values, expected batch x input_size = 3 x 6 = 18");
  check(18, 3, 5, "Interpreter::InvokeBatch: outputs has 5 values, expected batch x output_size = 3 x 2 = 6");
  CHECK(interpreter->InvokeBatch(std::span<const float>(inputs.data(), 18), 3,
                                 std::span<float>(outputs.data(), 6)).ok());
}

TEST_CASE("Create rejects max_batch and threads out of range") {
  const LoadedModel loaded = Load(testing::Serialize(MakeModel(27, {6, 2}, {Form::kDense}, {0.0})));
  std::unique_ptr<Interpreter> interpreter;
  InterpreterOptions options;
  options.max_batch = 0;
  Status status = Interpreter::Create(*loaded.model, options, &interpreter);
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(status.message() == "Interpreter::Create: max_batch = 0 is out of range [1, 65536]");
  options.max_batch = InterpreterOptions::kMaxBatch + 1;
  CHECK(Interpreter::Create(*loaded.model, options, &interpreter).code() == StatusCode::kInvalidArgument);
  options.max_batch = 4;
  options.threads = 0;
  status = Interpreter::Create(*loaded.model, options, &interpreter);
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(status.message() == "Interpreter::Create: threads = 0 is out of range [1, 256]");
  options.threads = InterpreterOptions::kMaxThreads + 1;
  CHECK(Interpreter::Create(*loaded.model, options, &interpreter).code() == StatusCode::kInvalidArgument);

  // More threads than 16-sample units: the extra ones are never started.
  options.threads = 8;
  options.max_batch = 40;
  REQUIRE(Interpreter::Create(*loaded.model, options, &interpreter).ok());
  CHECK(interpreter->threads() == 3);
  options.max_batch = 1;
  REQUIRE(Interpreter::Create(*loaded.model, options, &interpreter).ok());
  CHECK(interpreter->threads() == 1);
}

}  // namespace
}  // namespace frugal
