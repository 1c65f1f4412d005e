// Tests of the importers (.npz in both layouts, ONNX, Keras HDF5) and of shrinking. The
// same MLP from every format must give the same bytes, and outputs are checked against
// a reference so that a transposed load fails. Invalid files must name the tensor or node.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <flatbuffers/flatbuffers.h>

#include "fixtures.h"
#include "frugal/converter/converter.h"
#include "frugal/converter/import.h"
#include "frugal/frugal_model_generated.h"
#include "frugal/npz.h"
#include "frugal/runtime.h"
#include "test_paths.h"

#ifdef FRUGAL_WITH_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace {

namespace fs = std::filesystem;
using frugal::converter::Activation;
using frugal::converter::Checkpoint;
using frugal::converter::ConvertError;
using frugal::converter::ConvertOptions;
using frugal::converter::ImportOptions;
using frugal::converter::Layer;
using frugal::testing::MlpLayer;
using frugal::testing::OnnxStyle;

fs::path CaseDir(const std::string& name) {
  const fs::path dir = frugal::testing::ScratchDir() / "import" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Converts `input` to `input`.frugal and returns the file's bytes.
std::string ConvertToBytes(const fs::path& input, const ImportOptions& import = {}, ConvertOptions options = {}) {
  options.description = "fixture";
  const fs::path output = input.string() + ".frugal";
  frugal::converter::ConvertFile(input.string(), output.string(), options, import);
  return ReadFile(output);
}

doctest::String ErrorOf(const fs::path& input, const ImportOptions& import = {}) {
  try {
    frugal::converter::ReadModel(input.string(), import);
  } catch (const ConvertError& error) {
    return error.what();
  }
  return "";
}

// The MLP's outputs in double precision, from the .frugal orientation.
std::vector<float> Reference(const std::vector<MlpLayer>& layers, std::vector<float> x) {
  for (const MlpLayer& layer : layers) {
    std::vector<float> y(layer.outputs);
    for (std::size_t out = 0; out < layer.outputs; ++out) {
      double sum = layer.bias.empty() ? 0.0 : layer.bias[out];
      for (std::size_t in = 0; in < layer.inputs; ++in) sum += double{layer.weights[out * layer.inputs + in]} * x[in];
      y[out] = static_cast<float>(layer.relu && sum < 0.0 ? 0.0 : sum);
    }
    x = std::move(y);
  }
  return x;
}

std::vector<float> Run(const std::string& bytes, const std::vector<float>& input) {
  std::unique_ptr<frugal::Model> model;
  const frugal::Status status = frugal::Model::FromBuffer(bytes.data(), bytes.size(), &model);
  REQUIRE_MESSAGE(status.ok(), status.message());
  frugal::Interpreter interpreter(*model);
  std::span<const float> output;
  REQUIRE(interpreter.Invoke(input, &output).ok());
  return {output.begin(), output.end()};
}

void CheckClose(const std::vector<float>& actual, const std::vector<float>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("output " << i << ": " << actual[i] << " vs " << expected[i]);
    CHECK(std::fabs(actual[i] - expected[i]) <= 1e-5f * std::max(1.0f, std::fabs(expected[i])));
  }
}

const std::vector<float> kInput = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f};

TEST_CASE("npz layouts convert to identical bytes") {
  const fs::path dir = CaseDir("npz_layouts");
  const std::vector<MlpLayer> mlp = frugal::testing::AsymmetricMlp();
  frugal::testing::WriteFrugalNpz((dir / "frugal.npz").string(), mlp);
  frugal::testing::WritePytorchNpz((dir / "torch.npz").string(), mlp);

  const std::string expected = ConvertToBytes(dir / "frugal.npz");
  ImportOptions torch;
  torch.activations = {Activation::kRelu, Activation::kNone};
  CHECK(ConvertToBytes(dir / "torch.npz", torch) == expected);
  torch.layout = frugal::converter::WeightLayout::kPytorch;
  CHECK(ConvertToBytes(dir / "torch.npz", torch) == expected);
  CheckClose(Run(expected, kInput), Reference(mlp, kInput));
}

TEST_CASE("npz without activations assumes relu then none") {
  const fs::path dir = CaseDir("npz_default_activations");
  frugal::testing::WritePytorchNpz((dir / "torch.npz").string(), frugal::testing::AsymmetricMlp());
  const Checkpoint model = frugal::converter::ReadModel((dir / "torch.npz").string());
  REQUIRE(model.layers.size() == 2);
  CHECK(model.layers[0].activation == Activation::kRelu);
  CHECK(model.layers[1].activation == Activation::kNone);
  REQUIRE(model.warnings.size() == 1);
  CHECK(model.warnings[0].find("assuming relu,none") != std::string::npos);
}

TEST_CASE("npz import options override the file") {
  const fs::path dir = CaseDir("npz_overrides");
  frugal::testing::WritePytorchNpz((dir / "torch.npz").string(), frugal::testing::AsymmetricMlp());
  ImportOptions options;
  options.activations = {Activation::kNone, Activation::kNone};
  options.input_scale = 1.0f / 255.0f;
  options.class_count = 3;
  const Checkpoint model = frugal::converter::ReadModel((dir / "torch.npz").string(), options);
  CHECK(model.layers[0].activation == Activation::kNone);
  CHECK(model.input_scale == 1.0f / 255.0f);
  CHECK(model.class_count == 3);
  CHECK(model.warnings.empty());

  options.activations = {Activation::kRelu};
  CHECK(ErrorOf(dir / "torch.npz", options) == doctest::Contains("--activations lists 1 activations, but the model has 2 layers"));
  options.activations.clear();
  options.class_count = 4;
  CHECK(ErrorOf(dir / "torch.npz", options) == doctest::Contains("class count 4 is neither 0 nor the last layer's 3 outputs"));
}

TEST_CASE("npz PyTorch errors name the tensor") {
  const fs::path dir = CaseDir("npz_errors");
  std::vector<MlpLayer> mlp = frugal::testing::AsymmetricMlp();

  SUBCASE("NaN weight") {
    mlp[0].weights[2 * 5 + 1] = std::numeric_limits<float>::quiet_NaN();
    frugal::testing::WritePytorchNpz((dir / "nan.npz").string(), mlp);
    CHECK(ErrorOf(dir / "nan.npz") == doctest::Contains("nan.npz: dense_1.weight[2, 1] = nan"));
  }
  SUBCASE("Keras kernel read as PyTorch") {
    // [inputs, outputs] arrays under PyTorch names: the chain of sizes breaks.
    frugal::npz::Archive archive;
    archive.arrays.push_back({"dense_1.weight", {5, 4}, frugal::testing::KerasKernel(mlp[0])});
    archive.arrays.push_back({"dense_2.weight", {4, 3}, frugal::testing::KerasKernel(mlp[1])});
    frugal::npz::Write((dir / "keras_as_torch.npz").string(), archive);
    CHECK(ErrorOf(dir / "keras_as_torch.npz") ==
          doctest::Contains("dense_2.weight: shape [4, 3] reads 3 inputs, but the layer before, dense_1, has 5 outputs"));
  }
  SUBCASE("bias shape") {
    mlp[1].bias = {1.0f, 2.0f};
    frugal::testing::WritePytorchNpz((dir / "bias.npz").string(), mlp);
    CHECK(ErrorOf(dir / "bias.npz") == doctest::Contains("dense_2.bias: shape [2] is not [3], the outputs of dense_2.weight"));
  }
  SUBCASE("array of another layer type") {
    frugal::npz::Archive archive;
    archive.arrays.push_back({"fc.weight", {4, 5}, mlp[0].weights});
    archive.arrays.push_back({"bn.running_mean", {4}, {0, 0, 0, 0}});
    frugal::npz::Write((dir / "bn.npz").string(), archive);
    CHECK(ErrorOf(dir / "bn.npz") == doctest::Contains("array bn.running_mean is neither <layer>.weight nor <layer>.bias"));
  }
}

TEST_CASE("missing bias becomes zero in every format") {
  const fs::path dir = CaseDir("no_bias");
  std::vector<MlpLayer> mlp = frugal::testing::AsymmetricMlp();
  mlp[1].bias.clear();
  frugal::testing::WriteFrugalNpz((dir / "frugal.npz").string(), mlp);
  frugal::testing::WritePytorchNpz((dir / "torch.npz").string(), mlp);
  const std::string expected = ConvertToBytes(dir / "frugal.npz");
  CHECK(ConvertToBytes(dir / "torch.npz") == expected);
  CheckClose(Run(expected, kInput), Reference(mlp, kInput));
#ifdef FRUGAL_WITH_ONNX
  frugal::testing::WriteOnnx((dir / "torch.onnx").string(), mlp, OnnxStyle::kTorch);
  frugal::testing::WriteOnnx((dir / "keras.onnx").string(), mlp, OnnxStyle::kKeras);
  CHECK(ConvertToBytes(dir / "torch.onnx") == expected);
  CHECK(ConvertToBytes(dir / "keras.onnx") == expected);
#endif
#ifdef FRUGAL_WITH_HDF5
  frugal::testing::WriteKerasHdf5((dir / "model.h5").string(), mlp, /*whole_model=*/true);
  CHECK(ConvertToBytes(dir / "model.h5") == expected);
#endif
}

#ifdef FRUGAL_WITH_ONNX
TEST_CASE("ONNX styles convert to the npz bytes") {
  const fs::path dir = CaseDir("onnx_styles");
  const std::vector<MlpLayer> mlp = frugal::testing::AsymmetricMlp();
  frugal::testing::WriteFrugalNpz((dir / "frugal.npz").string(), mlp);
  const std::string expected = ConvertToBytes(dir / "frugal.npz");
  for (const auto& [style, name] : {std::pair{OnnxStyle::kTorch, "torch"}, std::pair{OnnxStyle::kKeras, "keras"},
                                    std::pair{OnnxStyle::kGemmScaled, "scaled"}, std::pair{OnnxStyle::kSparse, "sparse"}}) {
    INFO("style " << name);
    const fs::path path = dir / (std::string(name) + ".onnx");
    frugal::testing::WriteOnnx(path.string(), mlp, style);
    CHECK(ConvertToBytes(path) == expected);
  }
}

TEST_CASE("ONNX sparse duplicates are summed with a warning") {
  const fs::path dir = CaseDir("onnx_sparse");
  const std::vector<MlpLayer> mlp = frugal::testing::AsymmetricMlp();
  frugal::testing::WriteOnnx((dir / "sparse.onnx").string(), mlp, OnnxStyle::kSparse);
  const Checkpoint model = frugal::converter::ReadModel((dir / "sparse.onnx").string());
  REQUIRE(model.layers.size() == 2);
  CHECK(model.layers[0].weights == mlp[0].weights);
  CHECK(model.layers[1].weights == mlp[1].weights);
  REQUIRE(model.warnings.size() == 2);
  CHECK(model.warnings[0].find("sparse initializer dense_1.weight lists 1 indices more than once") != std::string::npos);
}

// Writes the torch-style model after `edit` changes its protobuf.
template <typename Edit>
fs::path WriteEditedOnnx(const fs::path& dir, const std::string& name, Edit edit) {
  const fs::path path = dir / name;
  frugal::testing::WriteOnnx(path.string(), frugal::testing::AsymmetricMlp(), OnnxStyle::kTorch);
  onnx::ModelProto model;
  {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(model.ParseFromIstream(&in));
  }
  edit(model);
  std::ofstream out(path, std::ios::binary);
  REQUIRE(model.SerializeToOstream(&out));
  return path;
}

TEST_CASE("ONNX errors name the node or tensor") {
  const fs::path dir = CaseDir("onnx_errors");
  SUBCASE("unsupported op") {
    const fs::path path = WriteEditedOnnx(dir, "sigmoid.onnx", [](onnx::ModelProto& model) {
      model.mutable_graph()->mutable_node(1)->set_op_type("Sigmoid");
    });
    CHECK(ErrorOf(path) == doctest::Contains("sigmoid.onnx: node /dense_1/Relu (Sigmoid) is not supported"));
  }
  SUBCASE("NaN weight") {
    const fs::path path = WriteEditedOnnx(dir, "nan.onnx", [](onnx::ModelProto& model) {
      std::string raw = model.graph().initializer(2).raw_data();  // dense_2.weight [3, 4]
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(raw.data() + 4 * (1 * 4 + 2), &nan, 4);
      model.mutable_graph()->mutable_initializer(2)->set_raw_data(raw);
    });
    CHECK(ErrorOf(path) == doctest::Contains("nan.onnx: dense_2.weight[1, 2] = nan"));
  }
  SUBCASE("unknown dtype") {
    const fs::path path = WriteEditedOnnx(dir, "int32.onnx", [](onnx::ModelProto& model) {
      model.mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::INT32);
    });
    CHECK(ErrorOf(path) == doctest::Contains("initializer dense_1.weight has data_type 6 (INT32)"));
  }
  SUBCASE("shape mismatch") {
    const fs::path path = WriteEditedOnnx(dir, "shape.onnx", [](onnx::ModelProto& model) {
      onnx::TensorProto* weight = model.mutable_graph()->mutable_initializer(2);
      weight->set_dims(0, 4);
      weight->set_dims(1, 3);
    });
    CHECK(ErrorOf(path) == doctest::Contains("node /dense_2/Gemm (Gemm): weight dense_2.weight has shape [4, 3]"));
  }
  SUBCASE("bias shape") {
    const fs::path path = WriteEditedOnnx(dir, "bias.onnx", [](onnx::ModelProto& model) {
      model.mutable_graph()->mutable_initializer(1)->set_dims(0, 2);
      model.mutable_graph()->mutable_initializer(1)->set_raw_data(std::string(8, '\0'));
    });
    CHECK(ErrorOf(path) == doctest::Contains("bias dense_1.bias has shape [2], expected [4]"));
  }
  SUBCASE("weight computed at run time") {
    const fs::path path = WriteEditedOnnx(dir, "input_weight.onnx", [](onnx::ModelProto& model) {
      model.mutable_graph()->mutable_initializer(0)->set_name("renamed");
    });
    CHECK(ErrorOf(path) == doctest::Contains("weight B dense_1.weight is not an initializer"));
  }
  SUBCASE("not a protobuf") {
    std::ofstream(dir / "text.onnx") << "not a model";
    CHECK(ErrorOf(dir / "text.onnx") == doctest::Contains("text.onnx: is not a valid ONNX model"));
  }
}
#endif

#ifdef FRUGAL_WITH_HDF5
TEST_CASE("Keras HDF5 converts to the npz bytes") {
  const fs::path dir = CaseDir("hdf5");
  const std::vector<MlpLayer> mlp = frugal::testing::AsymmetricMlp();
  frugal::testing::WriteFrugalNpz((dir / "frugal.npz").string(), mlp);
  frugal::testing::WriteKerasHdf5((dir / "model.h5").string(), mlp, /*whole_model=*/true);
  frugal::testing::WriteKerasHdf5((dir / "weights.h5").string(), mlp, /*whole_model=*/false);
  const std::string expected = ConvertToBytes(dir / "frugal.npz");
  CHECK(ConvertToBytes(dir / "model.h5") == expected);
  ImportOptions weights_only;
  weights_only.activations = {Activation::kRelu, Activation::kNone};
  CHECK(ConvertToBytes(dir / "weights.h5", weights_only) == expected);

  // model_config's activations are read: a linear first layer changes the bytes.
  std::vector<MlpLayer> linear = mlp;
  linear[0].relu = false;
  frugal::testing::WriteKerasHdf5((dir / "linear.h5").string(), linear, /*whole_model=*/true);
  const Checkpoint model = frugal::converter::ReadModel((dir / "linear.h5").string());
  CHECK(model.layers[0].activation == Activation::kNone);
  CHECK(model.warnings.empty());
}

TEST_CASE("Keras HDF5 NaN names the dataset") {
  const fs::path dir = CaseDir("hdf5_nan");
  std::vector<MlpLayer> mlp = frugal::testing::AsymmetricMlp();
  mlp[1].weights[2 * 4 + 1] = std::numeric_limits<float>::infinity();  // Keras kernel[1, 2]
  frugal::testing::WriteKerasHdf5((dir / "model.h5").string(), mlp, /*whole_model=*/true);
  CHECK(ErrorOf(dir / "model.h5") == doctest::Contains("model_weights/dense_2/dense_2/kernel:0[1, 2] = inf"));
}
#endif

TEST_CASE("unknown file type is rejected") {
  const fs::path dir = CaseDir("unknown_type");
  std::ofstream(dir / "model.bin") << "plain text";
  CHECK(ErrorOf(dir / "model.bin") == doctest::Contains("model.bin: unknown file type"));
}

// A 4-3-2 model: input 2 is never read, hidden unit 1 reads nothing (relu(0.5) = 0.5
// reaches the output), hidden unit 2 feeds nothing.
Checkpoint DeadUnitModel() {
  Checkpoint model;
  model.input_size = 4;
  Layer hidden{"hidden", Activation::kRelu, 4, 3,
               {1.0f, -2.0f, 0.0f, 0.5f,    //
                0.0f, 0.0f, 0.0f, 0.0f,     //
                0.25f, 0.0f, 0.0f, -1.0f},  //
               {0.125f, 0.5f, -0.25f}};
  Layer output{"output", Activation::kNone, 3, 2, {2.0f, -4.0f, 0.0f, -1.0f, 8.0f, 0.0f}, {1.0f, -1.0f}};
  model.layers = {hidden, output};
  return model;
}

TEST_CASE("EliminateDeadUnits folds and removes") {
  const Checkpoint shrunk = frugal::converter::EliminateDeadUnits(DeadUnitModel());
  CHECK(shrunk.input_indices == std::vector<std::uint32_t>{0, 1, 3});
  REQUIRE(shrunk.layers.size() == 2);
  CHECK(shrunk.layers[0].output_size == 1);
  CHECK(shrunk.layers[0].input_size == 3);
  CHECK(shrunk.layers[0].weights == std::vector<float>{1.0f, -2.0f, 0.5f});
  CHECK(shrunk.layers[0].bias == std::vector<float>{0.125f});
  CHECK(shrunk.layers[1].input_size == 1);
  CHECK(shrunk.layers[1].weights == std::vector<float>{2.0f, -1.0f});
  // Hidden unit 1 outputs relu(0.5) = 0.5: 1 + 0.5 * -4 = -1 and -1 + 0.5 * 8 = 3.
  CHECK(shrunk.layers[1].bias == std::vector<float>{-1.0f, 3.0f});
}

TEST_CASE("EliminateDeadUnits keeps one unit of an all-dead layer") {
  Checkpoint model = DeadUnitModel();
  model.layers[1].weights.assign(6, 0.0f);
  const Checkpoint shrunk = frugal::converter::EliminateDeadUnits(model);
  CHECK(shrunk.layers[0].output_size == 1);
  CHECK(shrunk.layers[0].input_size >= 1);
  CHECK(shrunk.layers[1].output_size == 2);
}

// A dense 6-3-2 model whose inputs 1 to 4 are never read. Dropping them saves 4 columns
// x 2 rows of floats for 2 indices. Hidden unit 1 reads nothing and outputs relu(0.5).
Checkpoint GatherModel() {
  Checkpoint model;
  model.input_size = 6;
  Layer hidden{"hidden", Activation::kRelu, 6, 3,
               {1.5f, 0, 0, 0, 0, -2.0f,  //
                0, 0, 0, 0, 0, 0,         //
                -0.5f, 0, 0, 0, 0, 0.75f},
               {0.125f, 0.5f, -0.25f}};
  Layer output{"output", Activation::kNone, 3, 2, {2.0f, -4.0f, 3.0f, -1.0f, 8.0f, 0.5f}, {1.0f, -1.0f}};
  model.layers = {hidden, output};
  return model;
}

TEST_CASE("shrunk model gathers its inputs in the runtime") {
  const Checkpoint model = GatherModel();
  ConvertOptions keep;
  keep.eliminate_dead_units = false;
  keep.encoding = frugal::converter::EncodingPolicy::kDense;
  ConvertOptions shrink;
  shrink.encoding = frugal::converter::EncodingPolicy::kDense;
  const auto full = frugal::converter::Convert(model, keep, "full.frugal");
  const auto shrunk = frugal::converter::Convert(model, shrink, "shrunk.frugal");
  CHECK(shrunk.buffer.size() < full.buffer.size());
  CHECK(frugal::fb::GetModel(full.buffer.data())->format_version() == 1);
  const auto* root = frugal::fb::GetModel(shrunk.buffer.data());
  CHECK(root->format_version() == 2);
  CHECK(root->original_input_size() == 6);
  REQUIRE(root->input_indices() != nullptr);
  CHECK(std::vector<std::uint32_t>(root->input_indices()->begin(), root->input_indices()->end()) ==
        std::vector<std::uint32_t>{0, 5});
  REQUIRE(shrunk.layers.size() == 2);
  CHECK(shrunk.layers[0].rows_before == 3);
  CHECK(shrunk.layers[0].rows == 2);
  CHECK(shrunk.inputs_read == 2);

  const std::string full_bytes(full.buffer.begin(), full.buffer.end());
  const std::string shrunk_bytes(shrunk.buffer.begin(), shrunk.buffer.end());
  // Every value is a multiple of 1/8 and the sums are small, so the folded bias and the
  // reordered sums are exact here.
  for (const std::vector<float>& x : {std::vector<float>{1, 2, 3, 4, 5, 6}, std::vector<float>{-1, 0.5f, 100, 0.25f, 7, 2}}) {
    CHECK(Run(shrunk_bytes, x) == Run(full_bytes, x));
  }
  const std::string summary = frugal::converter::FormatSummary(shrunk);
  CHECK(summary.find("3x6") != std::string::npos);
  CHECK(summary.find("2x2") != std::string::npos);
  CHECK(summary.find("inputs: 6, of which layer 0 reads 2") != std::string::npos);

  // With CSR the unread inputs cost nothing, so no gather is written.
  ConvertOptions csr_options;
  csr_options.encoding = frugal::converter::EncodingPolicy::kCsr;
  const auto csr = frugal::converter::Convert(model, csr_options, "csr.frugal");
  CHECK(csr.inputs_read == 6);
  CHECK(frugal::fb::GetModel(csr.buffer.data())->format_version() == 1);
}

// A format 2 buffer of one 2-input layer with the given gather fields.
std::vector<std::uint8_t> GatherModel(std::uint32_t version, const std::vector<std::uint32_t>& indices,
                                      std::uint32_t original) {
  flatbuffers::FlatBufferBuilder builder;
  const auto values = builder.CreateVector(std::vector<float>{1.0f, 2.0f});
  const auto weights = frugal::fb::CreateDenseWeights(builder, values).Union();
  const auto bias = builder.CreateVector(std::vector<float>{0.0f});
  const auto layer = frugal::fb::CreateFullyConnected(builder, 0, 2, 1, frugal::fb::Activation::None,
                                                      frugal::fb::Weights::DenseWeights, weights, bias);
  const auto layers = builder.CreateVector(std::vector{layer});
  const auto index_vector = builder.CreateVector(indices);
  frugal::fb::FinishModelBuffer(builder, frugal::fb::CreateModel(builder, version, layers, 0, index_vector, original));
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

doctest::String LoadError(const std::vector<std::uint8_t>& bytes) {
  std::unique_ptr<frugal::Model> model;
  const frugal::Status status = frugal::Model::FromBuffer(bytes.data(), bytes.size(), &model, {}, "gather.frugal");
  return status.ok() ? "" : status.message().c_str();
}

TEST_CASE("runtime checks input_indices") {
  CHECK(LoadError(GatherModel(2, {1, 3}, 4)) == "");
  CHECK(LoadError(GatherModel(2, {1, 4}, 4)) ==
        doctest::Contains("gather.frugal: input_indices[1] = 4 is out of range [0, 4)"));
  CHECK(LoadError(GatherModel(2, {3, 3}, 4)) ==
        doctest::Contains("input_indices[1] = 3 is not greater than input_indices[0] = 3"));
  CHECK(LoadError(GatherModel(2, {0, 1, 2}, 4)) ==
        doctest::Contains("input_indices has 3 entries, expected layer 0's input_size = 2"));
  CHECK(LoadError(GatherModel(2, {0, 1}, 0)) == doctest::Contains("original_input_size = 0 must be at least 1"));
  CHECK(LoadError(GatherModel(1, {0, 1}, 4)) ==
        doctest::Contains("format_version = 1 has input_indices or original_input_size = 4"));

  const std::vector<std::uint8_t> bytes = GatherModel(2, {1, 3}, 4);
  std::unique_ptr<frugal::Model> model;
  REQUIRE(frugal::Model::FromBuffer(bytes.data(), bytes.size(), &model).ok());
  CHECK(model->input_size() == 4);
  CHECK(model->layer(0).input_size == 2);
  frugal::Interpreter interpreter(*model);
  std::span<const float> output;
  REQUIRE(interpreter.Invoke(std::vector<float>{10, 20, 30, 40}, &output).ok());
  CHECK(output[0] == 1.0f * 20 + 2.0f * 40);
}

TEST_CASE("PruneToDensity keeps the largest magnitudes") {
  Layer layer{"dense", Activation::kNone, 5, 2, {0.1f, -0.9f, 0.3f, 0.0f, 0.5f, -0.3f, 0.2f, 0.8f, -0.05f, 0.4f}, {0, 0}};
  frugal::converter::PruneToDensity(layer, 0.4);
  // 4 of 10 kept: 0.9, 0.8, 0.5, 0.4.
  CHECK(layer.weights == std::vector<float>{0, -0.9f, 0, 0, 0.5f, 0, 0, 0.8f, 0, 0.4f});
  frugal::converter::PruneToDensity(layer, 1.0);
  CHECK(layer.weights == std::vector<float>{0, -0.9f, 0, 0, 0.5f, 0, 0, 0.8f, 0, 0.4f});

  // Equal magnitudes: the earlier weight in row-major order is kept.
  Layer ties{"ties", Activation::kNone, 3, 1, {0.5f, -0.5f, 0.5f}, {0}};
  frugal::converter::PruneToDensity(ties, 0.34);
  CHECK(ties.weights == std::vector<float>{0.5f, 0, 0});
}

TEST_CASE("target density applies per layer") {
  Checkpoint model;
  model.input_size = 5;
  const std::vector<MlpLayer> mlp = frugal::testing::AsymmetricMlp();
  for (const MlpLayer& layer : mlp) {
    model.layers.push_back({layer.name, layer.relu ? Activation::kRelu : Activation::kNone,
                            static_cast<std::uint32_t>(layer.inputs), static_cast<std::uint32_t>(layer.outputs),
                            layer.weights, layer.bias});
  }
  ConvertOptions options;
  options.eliminate_dead_units = false;
  options.target_density = 0.5;
  options.layer_target_density["dense_2"] = 0.25;
  const auto conversion = frugal::converter::Convert(model, options, "density.frugal");
  CHECK(conversion.layers[0].nonzeros == 10);
  CHECK(conversion.layers[1].nonzeros == 3);

  options.layer_target_density["dense_9"] = 0.5;
  CHECK_THROWS_WITH_AS(frugal::converter::Convert(model, options, "density.frugal"),
                       doctest::Contains("target density names layer dense_9, which the model does not have"),
                       ConvertError);
  options.layer_target_density.erase("dense_9");
  options.target_density = 0.0;
  CHECK_THROWS_WITH_AS(frugal::converter::Convert(model, options, "density.frugal"),
                       doctest::Contains("target density = 0.000000 is not in (0, 1]"), ConvertError);
}

TEST_CASE("frugal-convert reads a state_dict with options") {
  const fs::path dir = CaseDir("cli_torch");
  frugal::testing::WritePytorchNpz((dir / "torch.npz").string(), frugal::testing::AsymmetricMlp());
  const std::string tool = FRUGAL_CONVERT_PATH;
  const std::string command = "'" + tool + "' '" + (dir / "torch.npz").string() + "' -o '" +
                              (dir / "model.frugal").string() +
                              "' --activations relu,none --input-scale 0.00392156862745098 --class-count 3"
                              " --target-density dense_1=0.5 > '" + (dir / "stdout.txt").string() + "' 2> '" +
                              (dir / "stderr.txt").string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  const std::string out = ReadFile(dir / "stdout.txt");
  CHECK(out.find("bytes/nz") != std::string::npos);
  CHECK(out.find("dense_1") != std::string::npos);
  std::unique_ptr<frugal::Model> model;
  REQUIRE(frugal::Model::FromFile((dir / "model.frugal").string(), &model).ok());
  CHECK(model->layer(0).nonzeros == 10);
  CHECK(model->class_count() == 3);
  CHECK(model->input_scale() == static_cast<float>(0.00392156862745098));

  const std::string bad = "'" + tool + "' '" + (dir / "torch.npz").string() + "' -o '" + (dir / "bad.frugal").string() +
                          "' --activations relu,tanh 2> '" + (dir / "stderr2.txt").string() + "'";
  const int status = std::system(bad.c_str());
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(ReadFile(dir / "stderr2.txt").find("--activations: \"tanh\" is not relu or none") != std::string::npos);
}

}  // namespace
