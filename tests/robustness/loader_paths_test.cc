// Hostile and edge-case models through every way of loading one: Model::FromFile,
// Model::FromBuffer, and the C API's file and buffer loaders (called from C). All four
// must agree on the status code and on the message after the source name.
#include <doctest/doctest.h>
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "allocation_tracker.h"
#include "c_api_calls.h"
#include "frugal/frugal_model_generated.h"
#include "frugal/runtime.h"
#include "test_model.h"
#include "test_paths.h"

namespace frugal {
namespace {

using testing::TestLayer;
using testing::TestModel;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// fc1 (CSR, 4 -> 3, ReLU) with weights
//   [1 0 2  0]
//   [0 0 0  0]
//   [0 3 0 -1]
// so row_ptr = [0, 2, 2, 4] and col_idx = [0, 2, 1, 3]; then fc2 (dense, 3 -> 2).
TestModel SmallModel() {
  TestModel model;
  model.layers.push_back(testing::CsrLayer("fc1", 4, 3, {1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, -1}, {0.5f, -0.5f, 0.0f},
                                           /*relu=*/true));
  model.layers.push_back(testing::DenseLayer("fc2", 3, 2, {1, 2, 3, 4, 5, 6}, {0.0f, 1.0f}, /*relu=*/false));
  return model;
}

// The message without its "<source>: " prefix, or the whole message when the prefix is
// not there (which the checks below then report).
std::string AfterSource(const std::string& message, const std::string& source) {
  const std::string prefix = source + ": ";
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : "(no \"" + prefix + "\" prefix) " + message;
}

// Loads `bytes` four ways and checks that all reject them with `code` and the same
// message, which contains `expected`.
void CheckRejectedEveryWay(const std::vector<std::uint8_t>& bytes, StatusCode code, frugal_status_code c_code,
                           const std::string& expected) {
  const std::string path = (testing::ScratchDir() / "robustness_case.frugal").string();
  testing::WriteBytes(path, bytes);
  // A float-aligned copy of exactly the file's bytes, so the sanitizers see over-reads.
  std::vector<float> aligned((bytes.size() + sizeof(float) - 1) / sizeof(float));
  if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());

  std::unique_ptr<Model> model;
  const Status from_file = Model::FromFile(path, &model);
  CHECK(model == nullptr);
  const Status from_buffer = Model::FromBuffer(aligned.data(), bytes.size(), &model, LoadOptions{}, path);
  CHECK(model == nullptr);
  frugal_status c_file{};
  CHECK(c_load_file(path.c_str(), &c_file) == 1);
  frugal_status c_buffer{};
  CHECK(c_load_buffer(aligned.data(), bytes.size(), &c_buffer) == 1);

  CHECK(from_file.code() == code);
  CHECK(from_buffer.code() == code);
  CHECK(c_file.code == c_code);
  CHECK(c_buffer.code == c_code);
  const std::string message = AfterSource(from_file.message(), path);
  CHECK_MESSAGE(message.find(expected) != std::string::npos,
                "message: " << from_file.message() << "\nexpected to contain: " << expected);
  CHECK(from_buffer.message() == from_file.message());
  CHECK(std::string(c_file.message) == from_file.message());
  CHECK(AfterSource(c_buffer.message, "<buffer>") == message);
}

void CheckRejectedEveryWay(const TestModel& model, const std::string& expected) {
  CheckRejectedEveryWay(testing::Serialize(model), StatusCode::kInvalidModel, FRUGAL_INVALID_MODEL, expected);
}

// The address of a vector's 32-bit length prefix inside `bytes`.
std::size_t LengthOffset(const std::vector<std::uint8_t>& bytes, const void* vector) {
  return static_cast<std::size_t>(static_cast<const std::uint8_t*>(vector) - bytes.data());
}

TEST_CASE("truncated files rejected every way") {
  const std::vector<std::uint8_t> bytes = testing::Serialize(SmallModel());
  SUBCASE("half") {
    const std::vector<std::uint8_t> half(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2));
    CheckRejectedEveryWay(half, StatusCode::kInvalidModel, FRUGAL_INVALID_MODEL,
                          "FlatBuffers verification failed on " + std::to_string(half.size()) + " bytes");
  }
  SUBCASE("8 bytes") {
    const std::vector<std::uint8_t> eight(bytes.begin(), bytes.begin() + 8);
    CheckRejectedEveryWay(eight, StatusCode::kInvalidModel, FRUGAL_INVALID_MODEL,
                          "FlatBuffers verification failed on 8 bytes");
  }
  SUBCASE("7 bytes") {
    const std::vector<std::uint8_t> seven(bytes.begin(), bytes.begin() + 7);
    CheckRejectedEveryWay(seven, StatusCode::kInvalidModel, FRUGAL_INVALID_MODEL,
                          "file is 7 bytes, too short to be a .frugal model");
  }
  SUBCASE("empty") {
    CheckRejectedEveryWay({}, StatusCode::kInvalidModel, FRUGAL_INVALID_MODEL, "file is empty");
  }
}

TEST_CASE("another schema's identifier rejected every way") {
  // A TensorFlow Lite flatbuffer carries the identifier "TFL3" at byte 4.
  TestModel model = SmallModel();
  model.file_identifier = "TFL3";
  CheckRejectedEveryWay(model, "file identifier is \"TFL3\", expected \"FRGL\"; this is not a .frugal model");
}

TEST_CASE("bad CSR structure rejected every way") {
  SUBCASE("column index equal to the input size") {
    TestModel model = SmallModel();
    model.layers[0].col_idx = {0, 2, 1, 4};
    CheckRejectedEveryWay(model, "layer 0 (fc1): CsrWeights.col_idx[3] = 4 (row 2) is out of range [0, 4)");
  }
  SUBCASE("decreasing row pointers") {
    TestModel model = SmallModel();
    model.layers[0].row_ptr = {0, 3, 2, 4};
    CheckRejectedEveryWay(model, "layer 0 (fc1): CsrWeights.row_ptr[2] = 2 is less than row_ptr[1] = 3");
  }
  SUBCASE("row pointers end before nnz") {
    TestModel model = SmallModel();
    model.layers[0].row_ptr = {0, 2, 2, 2};
    CheckRejectedEveryWay(model,
                          "layer 0 (fc1): CsrWeights.row_ptr[3] = 2 does not equal nnz = 4 (the length of col_idx)");
  }
}

// SmallModel with fc1 stored as CSC: col_ptr = [0, 1, 2, 3, 4], row_idx = [0, 2, 0, 2].
TestModel SmallCscModel() {
  TestModel model = SmallModel();
  model.format_version = 3;
  model.layers[0] = testing::CscLayer("fc1", 4, 3, {1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, -1}, {0.5f, -0.5f, 0.0f},
                                      /*relu=*/true);
  return model;
}

TEST_CASE("bad CSC structure rejected every way") {
  SUBCASE("row index equal to the output size") {
    TestModel model = SmallCscModel();
    model.layers[0].row_idx = {0, 2, 0, 3};
    CheckRejectedEveryWay(model, "layer 0 (fc1): CscWeights.row_idx[3] = 3 (column 3) is out of range [0, 3)");
  }
  SUBCASE("decreasing column pointers") {
    TestModel model = SmallCscModel();
    model.layers[0].col_ptr = {0, 1, 3, 2, 4};
    CheckRejectedEveryWay(model, "layer 0 (fc1): CscWeights.col_ptr[3] = 2 is less than col_ptr[2] = 3");
  }
  SUBCASE("column pointers end before nnz") {
    TestModel model = SmallCscModel();
    model.layers[0].col_ptr = {0, 1, 2, 3, 3};
    CheckRejectedEveryWay(model,
                          "layer 0 (fc1): CscWeights.col_ptr[4] = 3 does not equal nnz = 4 (the length of row_idx)");
  }
  SUBCASE("CSC in a format 2 file") {
    TestModel model = SmallCscModel();
    model.format_version = 2;
    CheckRejectedEveryWay(model, "layer 0 (fc1): weights_type = CscWeights needs format_version = 3");
  }
}

TEST_CASE("nnz of 2^31 in a tiny file rejected before allocating") {
  // col_idx and values both claim 2^31 entries (8 GiB each) in a file of a few hundred
  // bytes. The FlatBuffers verifier compares each length with the buffer size.
  std::vector<std::uint8_t> bytes = testing::Serialize(SmallModel());
  const auto* csr = fb::GetModel(bytes.data())->layers()->Get(0)->weights_as_CsrWeights();
  const std::uint32_t claimed = 1u << 31;
  const std::size_t col_idx_at = LengthOffset(bytes, csr->col_idx());
  const std::size_t values_at = LengthOffset(bytes, csr->values());
  std::memcpy(bytes.data() + col_idx_at, &claimed, sizeof(claimed));
  std::memcpy(bytes.data() + values_at, &claimed, sizeof(claimed));

  testing::StartTrackingAllocations();
  CheckRejectedEveryWay(bytes, StatusCode::kInvalidModel, FRUGAL_INVALID_MODEL,
                        "FlatBuffers verification failed on " + std::to_string(bytes.size()) + " bytes");
  const std::size_t largest = testing::StopTrackingAllocations();
  // The largest request is the file itself or a message string, far below 2^31 entries.
  CHECK(largest < 64 * 1024);
}

TEST_CASE("chained sizes and finite values rejected every way") {
  SUBCASE("input size differs from the previous output size") {
    TestModel model = SmallModel();
    model.layers[1] = testing::DenseLayer("fc2", 4, 2, std::vector<float>(8, 1.0f), {0.0f, 1.0f}, false);
    CheckRejectedEveryWay(model, "layer 1 (fc2): input_size = 4 does not match layer 0's output_size = 3");
  }
  SUBCASE("NaN weight") {
    TestModel model = SmallModel();
    model.layers[1].dense_values[4] = kNaN;
    CheckRejectedEveryWay(model, "layer 1 (fc2): DenseWeights.values[4] = nan is not finite");
  }
  SUBCASE("infinite CSR weight") {
    TestModel model = SmallModel();
    model.layers[0].csr_values[1] = -kInf;
    CheckRejectedEveryWay(model, "layer 0 (fc1): CsrWeights.values[1] = -inf is not finite");
  }
  SUBCASE("infinite bias") {
    TestModel model = SmallModel();
    model.layers[0].bias[2] = kInf;
    CheckRejectedEveryWay(model, "layer 0 (fc1): bias[2] = inf is not finite");
  }
  SUBCASE("format version 5") {
    TestModel model = SmallModel();
    model.format_version = 5;
    CheckRejectedEveryWay(testing::Serialize(model), StatusCode::kUnsupported, FRUGAL_UNSUPPORTED,
                          "format_version = 5 is not supported; this runtime reads versions 1 to 4");
  }
  SUBCASE("original input size over the input buffer limit") {
    // Format 2: a dense 2 -> 1 layer that gathers inputs 0 and 5 of 2^30 raw inputs.
    flatbuffers::FlatBufferBuilder builder;
    const std::vector<float> weights = {1.0f, 2.0f};
    const std::vector<float> bias = {0.0f};
    const std::vector<std::uint32_t> indices = {0, 5};
    const auto layer = fb::CreateFullyConnected(builder, builder.CreateString("gather"), 2, 1, fb::Activation::None,
                                                fb::Weights::DenseWeights,
                                                fb::CreateDenseWeightsDirect(builder, &weights).Union(),
                                                builder.CreateVector(bias));
    const auto layers = builder.CreateVector(std::vector<flatbuffers::Offset<fb::FullyConnected>>{layer});
    fb::FinishModelBuffer(builder, fb::CreateModel(builder, 2, layers, 0, builder.CreateVector(indices), 1u << 30));
    const std::vector<std::uint8_t> bytes(builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize());
    CheckRejectedEveryWay(bytes, StatusCode::kInvalidModel, FRUGAL_INVALID_MODEL,
                          "original_input_size = 1073741824 needs a 4294967296-byte input buffer, over the limit "
                          "max_file_bytes = 1073741824");
  }
  SUBCASE("CSR input size over the input buffer limit") {
    // 2^30 inputs and no non-zeros: a 200-byte file that would need a 4 GiB input buffer.
    TestModel model;
    TestLayer layer;
    layer.name = "wide";
    layer.input_size = 1u << 30;
    layer.output_size = 2;
    layer.csr = true;
    layer.row_ptr = {0, 0, 0};
    layer.bias = {0.0f, 0.0f};
    model.layers.push_back(layer);
    CheckRejectedEveryWay(model, "layer 0 (wide): input_size = 1073741824 needs a 4294967296-byte input buffer, "
                                 "over the limit max_file_bytes = 1073741824");
  }
}

// Loads `model` from a file and from a buffer, runs `input` through the C++ and C APIs,
// and returns the C++ output after checking that the C output is bit-identical.
std::vector<float> RunEveryWay(const TestModel& model, const std::vector<float>& input) {
  const std::vector<std::uint8_t> bytes = testing::Serialize(model);
  const std::string path = (testing::ScratchDir() / "robustness_run.frugal").string();
  testing::WriteBytes(path, bytes);

  std::unique_ptr<Model> from_file;
  REQUIRE_MESSAGE(Model::FromFile(path, &from_file).ok(), Model::FromFile(path, &from_file).message());
  std::unique_ptr<Model> from_buffer;
  REQUIRE(Model::FromBuffer(bytes.data(), bytes.size(), &from_buffer).ok());
  frugal_status c_status{};
  REQUIRE(c_load_buffer(bytes.data(), bytes.size(), &c_status) == 1);
  REQUIRE(c_status.code == FRUGAL_OK);

  Interpreter interpreter(*from_file);
  std::span<const float> output;
  REQUIRE(interpreter.Invoke(input, &output).ok());
  const std::vector<float> result(output.begin(), output.end());

  Interpreter buffer_interpreter(*from_buffer);
  REQUIRE(buffer_interpreter.Invoke(input, &output).ok());
  CHECK(std::vector<float>(output.begin(), output.end()) == result);

  std::vector<float> c_output(result.size(), kNaN);
  REQUIRE(c_run_file(path.c_str(), input.data(), input.size(), c_output.data(), c_output.size(), &c_status) ==
          FRUGAL_OK);
  CHECK(std::memcmp(c_output.data(), result.data(), result.size() * sizeof(float)) == 0);
  return result;
}

float Relu(float x) { return x > 0.0f ? x : 0.0f; }

TEST_CASE("CSR layer with empty rows 0 and 2 runs") {
  // Weights [[0 0 0], [1 -2 0], [0 0 0], [0 0 4]]: rows 0 and 2 are empty.
  TestModel model;
  model.layers.push_back(
      testing::CsrLayer("sparse", 3, 4, {0, 0, 0, 1, -2, 0, 0, 0, 0, 0, 0, 4}, {-1.5f, 0.25f, 2.0f, 0.5f}, true));
  REQUIRE(model.layers[0].row_ptr == std::vector<std::uint32_t>{0, 0, 2, 2, 3});
  const std::vector<float> output = RunEveryWay(model, {1.0f, 2.0f, 3.0f});
  REQUIRE(output.size() == 4);
  CHECK(output[0] == Relu(-1.5f));               // empty row: activation(bias)
  CHECK(output[1] == Relu(1.0f - 4.0f + 0.25f));  // 1*1 - 2*2 + 0.25 = -2.75 -> 0
  CHECK(output[2] == Relu(2.0f));                 // empty row
  CHECK(output[3] == 4.0f * 3.0f + 0.5f);
}

TEST_CASE("CSC layer with empty columns runs") {
  // The same weights as the CSR case above, stored by column. Column 0 contains row 1
  // (weight 1), column 1 contains row 1 (-2) and column 2 contains row 3 (4). Input 1 is
  // 0, so the kernel skips column 1. A second model leaves column 2 empty.
  TestModel model;
  model.format_version = 3;
  model.layers.push_back(
      testing::CscLayer("sparse", 3, 4, {0, 0, 0, 1, -2, 0, 0, 0, 0, 0, 0, 4}, {-1.5f, 0.25f, 2.0f, 0.5f}, true));
  REQUIRE(model.layers[0].col_ptr == std::vector<std::uint32_t>{0, 1, 2, 3});
  const std::vector<float> output = RunEveryWay(model, {1.0f, 0.0f, 3.0f});
  REQUIRE(output.size() == 4);
  CHECK(output[0] == Relu(-1.5f));
  CHECK(output[1] == Relu(1.0f + 0.25f));
  CHECK(output[2] == Relu(2.0f));
  CHECK(output[3] == 4.0f * 3.0f + 0.5f);

  model.layers[0] =
      testing::CscLayer("sparse", 3, 4, {0, 0, 0, 1, -2, 0, 0, 0, 0, 0, 0, 0}, {-1.5f, 0.25f, 2.0f, 0.5f}, true);
  REQUIRE(model.layers[0].col_ptr == std::vector<std::uint32_t>{0, 1, 2, 2});
  const std::vector<float> empty_column = RunEveryWay(model, {1.0f, 2.0f, 3.0f});
  CHECK(empty_column[1] == Relu(1.0f - 4.0f + 0.25f));
  CHECK(empty_column[3] == 0.5f);
}

TEST_CASE("CSC layer in kAuto allocates nothing in Invoke") {
  // A 200 -> 50 CSC layer at 95% zeros, run on inputs that pick each of its two forms.
  TestModel model;
  model.format_version = 3;
  std::mt19937 rng(31);
  model.layers.push_back(testing::CscLayer("fc1", 200, 50, testing::RandomWeights(rng, 200 * 50, 0.95),
                                           testing::RandomWeights(rng, 50, 0.0), true));
  const std::vector<std::uint8_t> bytes = testing::Serialize(model);
  std::unique_ptr<Model> loaded;
  REQUIRE(Model::FromBuffer(bytes.data(), bytes.size(), &loaded).ok());
  Interpreter interpreter(*loaded);
  const std::vector<float> dense_input = testing::RandomWeights(rng, 200, 0.0);
  const std::vector<float> sparse_input = testing::RandomWeights(rng, 200, 0.99);

  // No doctest macro runs while tracking, because a macro may allocate itself.
  bool all_ok = true;
  testing::StartTrackingAllocations();
  for (const std::vector<float>* input : {&dense_input, &sparse_input, &dense_input}) {
    std::copy(input->begin(), input->end(), interpreter.input().begin());
    all_ok = interpreter.Invoke().ok() && all_ok;
  }
  const std::size_t largest = testing::StopTrackingAllocations();
  CHECK(all_ok);
  CHECK(largest == 0);
  // Both forms ran, so the check above covered both.
  CHECK(interpreter.kernel_runs(0).first >= 1);
  CHECK(interpreter.kernel_runs(0).second >= 1);
}

TEST_CASE("layer with zero non-zeros runs") {
  TestModel model;
  TestLayer layer;
  layer.name = "constant";
  layer.input_size = 5;
  layer.output_size = 3;
  layer.relu = true;
  layer.csr = true;
  layer.row_ptr = {0, 0, 0, 0};
  layer.bias = {-1.0f, 0.0f, 2.5f};
  model.layers.push_back(layer);
  const std::vector<float> output = RunEveryWay(model, {9.0f, -9.0f, 1.0f, 2.0f, 3.0f});
  CHECK(output == std::vector<float>{0.0f, 0.0f, 2.5f});
}

TEST_CASE("1x1 layer runs") {
  TestModel model;
  model.layers.push_back(testing::DenseLayer("one", 1, 1, {-3.0f}, {0.5f}, false));
  CHECK(RunEveryWay(model, {2.0f}) == std::vector<float>{-5.5f});
  model.layers[0] = testing::CsrLayer("one", 1, 1, {-3.0f}, {0.5f}, false);
  CHECK(RunEveryWay(model, {2.0f}) == std::vector<float>{-5.5f});
}

TEST_CASE("all-zero model runs") {
  TestModel model;
  model.layers.push_back(testing::DenseLayer("zeros_dense", 4, 3, std::vector<float>(12, 0.0f), {0, 0, 0}, true));
  model.layers.push_back(testing::CsrLayer("zeros_csr", 3, 2, std::vector<float>(6, 0.0f), {0, 0}, false));
  CHECK(RunEveryWay(model, {1.0f, 2.0f, 3.0f, 4.0f}) == std::vector<float>{0.0f, 0.0f});
}

TEST_CASE("1.5 million non-zeros load under default limits") {
  // 1500 x 1000, every weight non-zero: 1.5M entries, a 12 MB file.
  constexpr std::uint32_t kRows = 1500;
  constexpr std::uint32_t kCols = 1000;
  std::vector<float> weights(std::size_t{kRows} * kCols);
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i % 13 + 1) / 64.0f;
  std::vector<float> bias(kRows);
  for (std::uint32_t r = 0; r < kRows; ++r) bias[r] = -static_cast<float>(r % 5);
  TestModel model;
  model.layers.push_back(testing::CsrLayer("big", kCols, kRows, weights, bias, false));
  REQUIRE(model.layers[0].csr_values.size() == 1500000);

  std::vector<float> input(kCols);
  for (std::uint32_t c = 0; c < kCols; ++c) input[c] = static_cast<float>(c % 7) / 8.0f;
  const std::vector<float> output = RunEveryWay(model, input);
  REQUIRE(output.size() == kRows);
  // Reference in double; float sums of 1000 terms of these sizes are within 1e-3.
  for (std::uint32_t r = 0; r < kRows; r += 149) {
    double sum = bias[r];
    for (std::uint32_t c = 0; c < kCols; ++c) sum += double{weights[std::size_t{r} * kCols + c]} * input[c];
    CHECK_MESSAGE(std::fabs(output[r] - sum) < 1e-3, "row " << r << ": " << output[r] << " vs " << sum);
  }
}

}  // namespace
}  // namespace frugal
