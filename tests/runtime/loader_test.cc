// Model::FromFile and Model::FromBuffer: a valid model loads with the right description,
// and every invariant of schema/README.md is rejected with a message naming the field.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "frugal/frugal_model_generated.h"
#include "frugal/runtime.h"
#include "test_model.h"
#include "test_paths.h"

namespace frugal {
namespace {

using testing::TestModel;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// fc1 (CSR, 4 -> 3, ReLU) with weights
//   [1 0 2  0]
//   [0 0 0  0]   <- empty row
//   [0 3 0 -1]
// so row_ptr = [0, 2, 2, 4] and col_idx = [0, 2, 1, 3]; then fc2 (dense, 3 -> 2).
TestModel BaseModel() {
  TestModel model;
  model.input_scale = 1.0f / 255.0f;
  model.class_count = 2;
  model.layers.push_back(testing::CsrLayer("fc1", 4, 3, {1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, -1}, {0.5f, -0.5f, 0.0f},
                                           /*relu=*/true));
  model.layers.push_back(testing::DenseLayer("fc2", 3, 2, {1, 2, 3, 4, 5, 6}, {0.0f, 1.0f}, /*relu=*/false));
  return model;
}

Status LoadBuffer(const std::vector<std::uint8_t>& bytes, const LoadOptions& options = {}) {
  std::unique_ptr<Model> model;
  return Model::FromBuffer(bytes.data(), bytes.size(), &model, options, "test.frugal");
}

Status LoadFile(const std::vector<std::uint8_t>& bytes, std::string* path, const LoadOptions& options = {}) {
  *path = (frugal::testing::ScratchDir() / "loader_case.frugal").string();
  testing::WriteBytes(*path, bytes);
  std::unique_ptr<Model> model;
  return Model::FromFile(*path, &model, options);
}

// Checks that both loaders reject `bytes` with `code` and a message that starts with the
// source name and contains `expected`.
void CheckRejected(const std::vector<std::uint8_t>& bytes, StatusCode code, const std::string& expected) {
  const Status from_buffer = LoadBuffer(bytes);
  CHECK(from_buffer.code() == code);
  CHECK_MESSAGE(from_buffer.message().rfind("test.frugal: ", 0) == 0, from_buffer.message());
  CHECK_MESSAGE(from_buffer.message().find(expected) != std::string::npos,
                "message: " << from_buffer.message() << "\nexpected to contain: " << expected);

  std::string path;
  const Status from_file = LoadFile(bytes, &path);
  CHECK(from_file.code() == code);
  CHECK_MESSAGE(from_file.message().rfind(path + ": ", 0) == 0, from_file.message());
  CHECK_MESSAGE(from_file.message().find(expected) != std::string::npos,
                "message: " << from_file.message() << "\nexpected to contain: " << expected);
}

void CheckRejected(const TestModel& model, StatusCode code, const std::string& expected) {
  CheckRejected(testing::Serialize(model), code, expected);
}

TEST_CASE("loader accepts a valid model") {
  const std::vector<std::uint8_t> bytes = testing::Serialize(BaseModel());
  std::unique_ptr<Model> model;
  const Status status = Model::FromBuffer(bytes.data(), bytes.size(), &model, {}, "base.frugal");
  REQUIRE_MESSAGE(status.ok(), status.message());
  CHECK(status.message().empty());
  CHECK(model->input_size() == 4);
  CHECK(model->output_size() == 2);
  CHECK(model->layer_count() == 2);
  CHECK(model->input_scale() == doctest::Approx(1.0 / 255.0));
  CHECK(model->class_count() == 2);
  CHECK(model->producer() == "frugal runtime tests");
  CHECK(model->source_name() == "base.frugal");
  CHECK(model->file_bytes() == bytes.size());

  const LayerInfo& fc1 = model->layer(0);
  CHECK(fc1.name == "fc1");
  CHECK(fc1.encoding == WeightEncoding::kCsr);
  CHECK(fc1.activation == Activation::kRelu);
  CHECK(fc1.stored_values == 4);
  CHECK(fc1.nonzeros == 4);
  const LayerInfo& fc2 = model->layer(1);
  CHECK(fc2.encoding == WeightEncoding::kDense);
  CHECK(fc2.activation == Activation::kNone);
  CHECK(fc2.stored_values == 6);
  CHECK(fc2.nonzeros == 6);
}

TEST_CASE("loader reads a valid model from a file") {
  std::string path;
  const std::vector<std::uint8_t> bytes = testing::Serialize(BaseModel());
  const Status written = LoadFile(bytes, &path);
  REQUIRE_MESSAGE(written.ok(), written.message());
  std::unique_ptr<Model> model;
  REQUIRE(Model::FromFile(path, &model).ok());
  CHECK(model->source_name() == path);
  CHECK(model->file_bytes() == bytes.size());
}

TEST_CASE("loader defaults without metadata") {
  TestModel model = BaseModel();
  model.omit_metadata = true;
  const std::vector<std::uint8_t> bytes = testing::Serialize(model);
  std::unique_ptr<Model> loaded;
  REQUIRE(Model::FromBuffer(bytes.data(), bytes.size(), &loaded).ok());
  CHECK(loaded->input_scale() == 1.0f);
  CHECK(loaded->class_count() == 0);
}

TEST_CASE("loader counts explicit zeros apart from stored values") {
  TestModel model = BaseModel();
  model.layers[1].dense_values = {0, 2, 0, 4, 0, 0};
  const std::vector<std::uint8_t> bytes = testing::Serialize(model);
  std::unique_ptr<Model> loaded;
  REQUIRE(Model::FromBuffer(bytes.data(), bytes.size(), &loaded).ok());
  CHECK(loaded->layer(1).stored_values == 6);
  CHECK(loaded->layer(1).nonzeros == 2);
}

TEST_CASE("loader rejects truncated files") {
  const std::vector<std::uint8_t> bytes = testing::Serialize(BaseModel());
  const std::vector<std::uint8_t> half(bytes.begin(), bytes.begin() + bytes.size() / 2);
  CheckRejected(half, StatusCode::kInvalidModel, "FlatBuffers verification failed on " + std::to_string(half.size()));

  const std::vector<std::uint8_t> header(bytes.begin(), bytes.begin() + 8);
  CheckRejected(header, StatusCode::kInvalidModel, "FlatBuffers verification failed on 8 bytes");

  const std::vector<std::uint8_t> three(bytes.begin(), bytes.begin() + 3);
  CheckRejected(three, StatusCode::kInvalidModel, "file is 3 bytes, too short to be a .frugal model");

  CheckRejected(std::vector<std::uint8_t>(), StatusCode::kInvalidModel, "file is empty");
}

TEST_CASE("loader rejects another file identifier") {
  TestModel model = BaseModel();
  model.file_identifier = "TFL3";
  CheckRejected(model, StatusCode::kInvalidModel, "file identifier is \"TFL3\", expected \"FRGL\"");

  std::vector<std::uint8_t> bytes = testing::Serialize(BaseModel());
  bytes[4] = 0x01;
  CheckRejected(bytes, StatusCode::kInvalidModel, "file identifier is \"\\x01RGL\"");
}

TEST_CASE("loader rejects a file over max_file_bytes") {
  const std::vector<std::uint8_t> bytes = testing::Serialize(BaseModel());
  LoadOptions options;
  options.max_file_bytes = 16;
  const Status from_buffer = LoadBuffer(bytes, options);
  CHECK(from_buffer.code() == StatusCode::kInvalidModel);
  CHECK_MESSAGE(from_buffer.message().find("over the limit max_file_bytes = 16") != std::string::npos,
                from_buffer.message());
  std::string path;
  const Status from_file = LoadFile(bytes, &path, options);
  CHECK(from_file.code() == StatusCode::kInvalidModel);
  CHECK_MESSAGE(from_file.message().find("over the limit max_file_bytes = 16") != std::string::npos,
                from_file.message());
}

TEST_CASE("loader rejects tables past max_tables") {
  const std::vector<std::uint8_t> bytes = testing::Serialize(BaseModel());
  LoadOptions options;
  options.max_tables = 2;
  const Status status = LoadBuffer(bytes, options);
  CHECK(status.code() == StatusCode::kInvalidModel);
  CHECK_MESSAGE(status.message().find("max_tables 2") != std::string::npos, status.message());
}

TEST_CASE("loader rejects a missing file") {
  const std::string path = (frugal::testing::ScratchDir() / "no_such_model.frugal").string();
  std::unique_ptr<Model> model;
  const Status status = Model::FromFile(path, &model);
  CHECK(status.code() == StatusCode::kNotFound);
  CHECK(status.message() == path + ": file not found");
  CHECK(model == nullptr);
}

TEST_CASE("loader rejects a directory") {
  const std::string path = frugal::testing::ScratchDir().string();
  std::unique_ptr<Model> model;
  const Status status = Model::FromFile(path, &model);
  CHECK(status.code() == StatusCode::kIoError);
  CHECK_MESSAGE(status.message().find("is a directory") != std::string::npos, status.message());
}

TEST_CASE("loader rejects a misaligned buffer") {
  const std::vector<std::uint8_t> bytes = testing::Serialize(BaseModel());
  std::vector<std::uint8_t> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  std::unique_ptr<Model> model;
  const Status status = Model::FromBuffer(shifted.data() + 1, bytes.size(), &model, {}, "shifted");
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(status.message() == "shifted: buffer address is not 4-byte aligned");
}

TEST_CASE("loader rejects model-level fields") {
  SUBCASE("format_version 5") {
    TestModel model = BaseModel();
    model.format_version = 5;
    CheckRejected(model, StatusCode::kUnsupported,
                  "format_version = 5 is not supported; this runtime reads versions 1 to 4");
  }
  SUBCASE("format_version 2 without input_indices") {
    TestModel model = BaseModel();
    model.format_version = 2;
    CheckRejected(model, StatusCode::kInvalidModel, "format_version = 2 needs input_indices, which is missing");
  }
  SUBCASE("format_version 0") {
    TestModel model = BaseModel();
    model.format_version = 0;
    CheckRejected(model, StatusCode::kUnsupported, "format_version = 0 is not supported");
  }
  SUBCASE("empty layers") {
    TestModel model = BaseModel();
    model.layers.clear();
    CheckRejected(model, StatusCode::kInvalidModel, "layers is missing or empty");
  }
  SUBCASE("missing layers") {
    TestModel model = BaseModel();
    model.omit_layers = true;
    CheckRejected(model, StatusCode::kInvalidModel, "layers is missing or empty");
  }
  SUBCASE("class_count mismatch") {
    TestModel model = BaseModel();
    model.class_count = 3;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "metadata.class_count = 3 does not match the last layer's output_size = 2 (expected 0 or 2)");
  }
  SUBCASE("input_scale 0") {
    TestModel model = BaseModel();
    model.input_scale = 0.0f;
    CheckRejected(model, StatusCode::kInvalidModel, "metadata.input_scale = 0 must be finite and greater than 0");
  }
  SUBCASE("input_scale negative") {
    TestModel model = BaseModel();
    model.input_scale = -1.0f;
    CheckRejected(model, StatusCode::kInvalidModel, "metadata.input_scale = -1 must be finite");
  }
  SUBCASE("input_scale NaN") {
    TestModel model = BaseModel();
    model.input_scale = kNaN;
    CheckRejected(model, StatusCode::kInvalidModel, "metadata.input_scale = nan must be finite");
  }
}

TEST_CASE("loader rejects layer sizes") {
  SUBCASE("zero input size") {
    TestModel model = BaseModel();
    model.layers[0] = testing::DenseLayer("fc1", 0, 3, {}, {0, 0, 0}, true);
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): input_size = 0 must be at least 1");
  }
  SUBCASE("zero output size") {
    TestModel model = BaseModel();
    model.layers[1] = testing::DenseLayer("fc2", 3, 0, {}, {}, false);
    model.class_count = 0;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): output_size = 0 must be at least 1");
  }
  SUBCASE("mismatched layer sizes") {
    TestModel model = BaseModel();
    model.layers[1] = testing::DenseLayer("fc2", 5, 2, std::vector<float>(10, 1.0f), {0, 0}, false);
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): input_size = 5 does not match layer 0's output_size = 3");
  }
  SUBCASE("weight count over the index type") {
    TestModel model = BaseModel();
    model.layers[0].output_size = 1u << 31;  // 4 x 2^31 = 2^33 weights
    CheckRejected(model, StatusCode::kUnsupported,
                  "layer 0 (fc1): input_size x output_size = 8589934592 exceeds the runtime's index limit 4294967295");
  }
  SUBCASE("unnamed layer") {
    TestModel model = BaseModel();
    model.layers[1].name.clear();
    model.layers[1].bias = {0};
    CheckRejected(model, StatusCode::kInvalidModel, ": layer 1: bias has 1 values");
  }
}

TEST_CASE("loader rejects bias and activation") {
  SUBCASE("bias length") {
    TestModel model = BaseModel();
    model.layers[1].bias = {0, 0, 0};
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): bias has 3 values, expected output_size = 2");
  }
  SUBCASE("bias missing") {
    TestModel model = BaseModel();
    model.layers[0].omit_bias = true;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): bias is missing; expected output_size = 3 values");
  }
  SUBCASE("layer name with control bytes") {
    TestModel model = BaseModel();
    model.layers[1].name = "fc\n2\x1b[2J";
    model.layers[1].bias[1] = -kInf;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc\\x0a2\\x1b[2J): bias[1] = -inf is not finite");
  }
  SUBCASE("bias infinite") {
    TestModel model = BaseModel();
    model.layers[1].bias[1] = -kInf;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): bias[1] = -inf is not finite");
  }
  SUBCASE("unknown activation") {
    TestModel model = BaseModel();
    model.layers[0].activation = 5;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): activation = 5 is not a known value");
  }
}

TEST_CASE("loader rejects weights unions") {
  SUBCASE("missing weights") {
    TestModel model = BaseModel();
    model.layers[1].omit_weights = true;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): weights is missing");
  }
  SUBCASE("unknown weights type") {
    TestModel model = BaseModel();
    model.layers[1].weights_type = 9;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): weights_type = 9 is not a known encoding");
  }
}

TEST_CASE("loader rejects dense weights") {
  SUBCASE("values length") {
    TestModel model = BaseModel();
    model.layers[1].dense_values.pop_back();
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseWeights.values has 5 values, expected output_size x input_size = 6");
  }
  SUBCASE("NaN value") {
    TestModel model = BaseModel();
    model.layers[1].dense_values[4] = kNaN;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): DenseWeights.values[4] = nan is not finite");
  }
  SUBCASE("infinite value") {
    TestModel model = BaseModel();
    model.layers[1].dense_values[0] = kInf;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): DenseWeights.values[0] = inf is not finite");
  }
}

// fc1 of BaseModel stored as CSC: column by column,
//   col 0: row 0 (1); col 1: row 2 (3); col 2: row 0 (2); col 3: row 2 (-1)
// so col_ptr = [0, 1, 2, 3, 4] and row_idx = [0, 2, 0, 2]. Format version 3.
TestModel CscModel() {
  TestModel model = BaseModel();
  model.format_version = 3;
  model.layers[0] = testing::CscLayer("fc1", 4, 3, {1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, -1}, {0.5f, -0.5f, 0.0f},
                                      /*relu=*/true);
  return model;
}

TEST_CASE("loader accepts a CSC layer in format 3") {
  const TestModel source = CscModel();
  REQUIRE(source.layers[0].col_ptr == std::vector<std::uint32_t>{0, 1, 2, 3, 4});
  REQUIRE(source.layers[0].row_idx == std::vector<std::uint32_t>{0, 2, 0, 2});
  const std::vector<std::uint8_t> bytes = testing::Serialize(source);
  std::unique_ptr<Model> model;
  const Status status = Model::FromBuffer(bytes.data(), bytes.size(), &model, {}, "csc.frugal");
  REQUIRE_MESSAGE(status.ok(), status.message());
  CHECK(model->input_size() == 4);
  CHECK(model->input_indices().empty());
  const LayerInfo& fc1 = model->layer(0);
  CHECK(fc1.encoding == WeightEncoding::kCsc);
  CHECK(fc1.stored_values == 4);
  CHECK(fc1.nonzeros == 4);
}

TEST_CASE("loader rejects CSC weights") {
  SUBCASE("CSC in format 1") {
    TestModel model = CscModel();
    model.format_version = 1;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): weights_type = CscWeights needs format_version = 3, but the file has "
                  "format_version = 1");
  }

  SUBCASE("original_input_size without input_indices") {
    // A format 3 model with one dense 2 -> 1 layer, original_input_size 7 and no
    // input_indices; Serialize writes neither field, so the root is built here.
    flatbuffers::FlatBufferBuilder builder;
    const std::vector<float> weights = {1.0f, 2.0f};
    const std::vector<float> bias = {0.0f};
    const auto dense = fb::CreateDenseWeightsDirect(builder, &weights);
    const std::vector<flatbuffers::Offset<fb::FullyConnected>> layers = {fb::CreateFullyConnectedDirect(
        builder, "fc1", 2, 1, fb::Activation::None, fb::Weights::DenseWeights, dense.Union(), &bias)};
    builder.Finish(fb::CreateModelDirect(builder, 3, &layers, 0, nullptr, 7), "FRGL");
    const std::vector<std::uint8_t> bytes(builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize());
    CheckRejected(bytes, StatusCode::kInvalidModel,
                  "original_input_size = 7 without input_indices; expected 0 when input_indices is absent");
  }

  SUBCASE("row index equal to output size") {
    TestModel model = CscModel();
    model.layers[0].row_idx = {0, 3, 0, 2};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CscWeights.row_idx[1] = 3 (column 1) is out of range [0, 3)");
  }

  SUBCASE("decreasing column pointers") {
    TestModel model = CscModel();
    model.layers[0].col_ptr = {0, 2, 1, 3, 4};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CscWeights.col_ptr[2] = 1 is less than col_ptr[1] = 2; column pointers must not "
                  "decrease");
  }

  SUBCASE("col_ptr ends before nnz") {
    TestModel model = CscModel();
    model.layers[0].col_ptr = {0, 1, 2, 3, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CscWeights.col_ptr[4] = 3 does not equal nnz = 4 (the length of row_idx)");
  }

  SUBCASE("col_ptr claims a huge nnz") {
    TestModel model = CscModel();
    model.layers[0].col_ptr = {0, 1, 2, 3, 4000000000u};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CscWeights.col_ptr[4] = 4000000000 does not equal nnz = 4");
  }

  SUBCASE("col_ptr[0] not 0") {
    TestModel model = CscModel();
    model.layers[0].col_ptr = {1, 1, 2, 3, 4};
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): CscWeights.col_ptr[0] = 1, expected 0");
  }

  SUBCASE("col_ptr length") {
    TestModel model = CscModel();
    model.layers[0].col_ptr = {0, 1, 2, 4};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CscWeights.col_ptr has 4 entries, expected input_size + 1 = 5");
  }

  SUBCASE("rows not increasing within a column") {
    // Column 0 contains rows 2 and 0, in that order.
    TestModel model = CscModel();
    model.layers[0].col_ptr = {0, 2, 2, 3, 4};
    model.layers[0].row_idx = {2, 0, 0, 2};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CscWeights.row_idx[1] = 0 (column 0) is not greater than row_idx[0] = 2; rows "
                  "within a column must be strictly increasing");
  }

  SUBCASE("duplicate row within a column") {
    TestModel model = CscModel();
    model.layers[0].col_ptr = {0, 2, 2, 3, 4};
    model.layers[0].row_idx = {0, 0, 0, 2};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CscWeights.row_idx[1] = 0 (column 0) is not greater than row_idx[0] = 0");
  }

  SUBCASE("values length") {
    TestModel model = CscModel();
    model.layers[0].csc_values.pop_back();
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CscWeights.values has 3 values, expected nnz = 4 (the length of row_idx)");
  }

  SUBCASE("NaN value") {
    TestModel model = CscModel();
    model.layers[0].csc_values[2] = kNaN;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): CscWeights.values[2] = nan is not finite");
  }

  SUBCASE("infinite value") {
    TestModel model = CscModel();
    model.layers[0].csc_values[0] = -kInf;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): CscWeights.values[0] = -inf is not finite");
  }
}

// fc2 of BaseModel stored column by column: 2 outputs padded to a row stride of 8, so
// values contains 3 columns of 8: [1 4 0 0 0 0 0 0], [2 5 0 ...], [3 6 0 ...]. Format 4.
TestModel DenseColumnsModel() {
  TestModel model = BaseModel();
  model.format_version = 4;
  model.layers[1] = testing::DenseColumnsLayer("fc2", 3, 2, {1, 2, 3, 4, 5, 6}, {0.0f, 1.0f}, /*relu=*/false);
  return model;
}

TEST_CASE("loader accepts a dense-columns layer in format 4") {
  const TestModel source = DenseColumnsModel();
  REQUIRE(source.layers[1].column_values.size() == 24);
  REQUIRE(source.layers[1].column_values[8] == 2.0f);
  REQUIRE(source.layers[1].column_values[17] == 6.0f);
  const std::vector<std::uint8_t> bytes = testing::Serialize(source);
  std::unique_ptr<Model> model;
  const Status status = Model::FromBuffer(bytes.data(), bytes.size(), &model, {}, "columns.frugal");
  REQUIRE_MESSAGE(status.ok(), status.message());
  const LayerInfo& fc2 = model->layer(1);
  CHECK(fc2.encoding == WeightEncoding::kDenseColumns);
  CHECK(fc2.stored_values == 6);
  CHECK(fc2.nonzeros == 6);
}

TEST_CASE("loader rejects dense-columns weights") {
  SUBCASE("dense columns in format 3") {
    TestModel model = DenseColumnsModel();
    model.format_version = 3;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): weights_type = DenseColumnWeights needs format_version = 4, but the file has "
                  "format_version = 3");
  }
  SUBCASE("values without padding rows") {
    TestModel model = DenseColumnsModel();
    model.layers[1].column_values = {1, 4, 2, 5, 3, 6};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseColumnWeights.values has 6 values, expected input_size x row_stride = 24 "
                  "(row_stride = 8, output_size rounded up to a multiple of 8)");
  }
  SUBCASE("one column too many") {
    TestModel model = DenseColumnsModel();
    model.layers[1].column_values.resize(32, 0.0f);
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseColumnWeights.values has 32 values, expected input_size x row_stride = 24");
  }
  SUBCASE("missing values") {
    TestModel model = DenseColumnsModel();
    model.layers[1].column_values.clear();
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseColumnWeights.values is missing; expected input_size x row_stride = 24 values");
  }
  SUBCASE("non-zero padding row") {
    TestModel model = DenseColumnsModel();
    model.layers[1].column_values[8 + 5] = 0.5f;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseColumnWeights.values[13] = 0.5 (column 1, padding row 5) is not 0; padding "
                  "rows must hold zeros");
  }
  SUBCASE("NaN value") {
    TestModel model = DenseColumnsModel();
    model.layers[1].column_values[17] = kNaN;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): DenseColumnWeights.values[17] = nan is not finite");
  }
  SUBCASE("NaN in a padding row") {
    TestModel model = DenseColumnsModel();
    model.layers[1].column_values[23] = kNaN;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 1 (fc2): DenseColumnWeights.values[23] = nan is not finite");
  }
}

TEST_CASE("loader rejects CSR weights") {
  SUBCASE("column index equal to input size") {
    TestModel model = BaseModel();
    model.layers[0].col_idx = {0, 4, 1, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrWeights.col_idx[1] = 4 (row 0) is out of range [0, 4)");
  }
  SUBCASE("decreasing row pointers") {
    TestModel model = BaseModel();
    model.layers[0].row_ptr = {0, 2, 1, 4};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrWeights.row_ptr[2] = 1 is less than row_ptr[1] = 2");
  }
  SUBCASE("row_ptr ends before nnz") {
    TestModel model = BaseModel();
    model.layers[0].row_ptr = {0, 2, 2, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrWeights.row_ptr[3] = 3 does not equal nnz = 4 (the length of col_idx)");
  }
  SUBCASE("row_ptr claims a huge nnz") {
    TestModel model = BaseModel();
    model.layers[0].row_ptr = {0, 2, 2, 4000000000u};
    CheckRejected(model, StatusCode::kInvalidModel, "CsrWeights.row_ptr[3] = 4000000000 does not equal nnz = 4");
  }
  SUBCASE("row_ptr[0] not 0") {
    TestModel model = BaseModel();
    model.layers[0].row_ptr = {1, 2, 2, 4};
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): CsrWeights.row_ptr[0] = 1, expected 0");
  }
  SUBCASE("row_ptr length") {
    TestModel model = BaseModel();
    model.layers[0].row_ptr = {0, 2, 4};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrWeights.row_ptr has 3 entries, expected output_size + 1 = 4");
  }
  SUBCASE("unsorted columns") {
    TestModel model = BaseModel();
    model.layers[0].col_idx = {2, 0, 1, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrWeights.col_idx[1] = 0 (row 0) is not greater than col_idx[0] = 2");
  }
  SUBCASE("duplicate columns") {
    TestModel model = BaseModel();
    model.layers[0].col_idx = {0, 2, 3, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrWeights.col_idx[3] = 3 (row 2) is not greater than col_idx[2] = 3");
  }
  SUBCASE("values length") {
    TestModel model = BaseModel();
    model.layers[0].csr_values.pop_back();
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrWeights.values has 3 values, expected nnz = 4 (the length of col_idx)");
  }
  SUBCASE("infinite value") {
    TestModel model = BaseModel();
    model.layers[0].csr_values[3] = kInf;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): CsrWeights.values[3] = inf is not finite");
  }
  SUBCASE("NaN value") {
    TestModel model = BaseModel();
    model.layers[0].csr_values[0] = -kNaN;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): CsrWeights.values[0] = ");
    CheckRejected(model, StatusCode::kInvalidModel, "nan is not finite");
  }
}

// BaseModel with fc1 stored as CSR int8 and fc2 as dense int8, in format 4. fc1's rows
// are [1, 0, 2, 0], [0, 0, 0, 0] and [0, 3, 0, -1]; their scales are 2 / 127, 0 and
// 3 / 127, so row_ptr = [0, 2, 2, 4], col_idx = [0, 2, 1, 3] and the values are
// [64, 127, 127, -42] (1 / (2 / 127) = 63.5 rounds to even 64, and -127 / 3 to -42).
TestModel Int8Model() {
  TestModel model = BaseModel();
  model.format_version = 4;
  model.layers[0] = testing::Int8Layer("fc1", 4, 3, {1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, -1}, {0.5f, -0.5f, 0.0f},
                                       /*relu=*/true, /*csr=*/true);
  model.layers[1] = testing::Int8Layer("fc2", 3, 2, {1, 2, 3, 4, 5, 6}, {0.0f, 1.0f}, /*relu=*/false,
                                       /*csr=*/false);
  return model;
}

TEST_CASE("loader accepts int8 layers in format 4") {
  const TestModel source = Int8Model();
  REQUIRE(source.layers[0].row_ptr == std::vector<std::uint32_t>{0, 2, 2, 4});
  REQUIRE(source.layers[0].int8_values == std::vector<std::int8_t>{64, 127, 127, -42});
  const std::vector<std::uint8_t> bytes = testing::Serialize(source);
  std::unique_ptr<Model> model;
  const Status status = Model::FromBuffer(bytes.data(), bytes.size(), &model, {}, "int8.frugal");
  REQUIRE_MESSAGE(status.ok(), status.message());
  CHECK(model->layer(0).encoding == WeightEncoding::kCsrInt8);
  CHECK(model->layer(0).stored_values == 4);
  CHECK(model->layer(0).nonzeros == 4);
  CHECK(model->layer(1).encoding == WeightEncoding::kDenseInt8);
  CHECK(model->layer(1).stored_values == 6);
  CHECK(model->layer(1).nonzeros == 6);

  // fc1 on x = [1, 1, 1, 1]: row 0 is 2/127 * (64 + 127) + 0.5, row 1 is relu(-0.5) = 0,
  // row 2 is 3/127 * (127 - 42) + 0 = 2.00787.
  Interpreter interpreter(*model);
  std::fill(interpreter.input().begin(), interpreter.input().end(), 1.0f);
  interpreter.InvokeLayer(0);
  interpreter.InvokeLayer(1);
  const float row0 = 2.0f / 127.0f * 191.0f + 0.5f;
  const float row2 = 3.0f / 127.0f * 85.0f;
  const float scale0 = 3.0f / 127.0f;
  const float scale1 = 6.0f / 127.0f;
  // fc2 row 0 is [1, 2, 3] -> [42, 85, 127]; row 1 is [4, 5, 6] -> [85, 106, 127].
  const float out0 = scale0 * (42.0f * row0 + 127.0f * row2);
  const float out1 = scale1 * (85.0f * row0 + 127.0f * row2) + 1.0f;
  CHECK(interpreter.output()[0] == doctest::Approx(out0).epsilon(1e-5));
  CHECK(interpreter.output()[1] == doctest::Approx(out1).epsilon(1e-5));
}

TEST_CASE("loader rejects int8 weights") {
  SUBCASE("int8 in format 3") {
    TestModel model = Int8Model();
    model.format_version = 3;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): weights_type = CsrInt8Weights needs format_version = 4, but the file has "
                  "format_version = 3");
  }

  SUBCASE("dense int8 in format 1") {
    TestModel model = Int8Model();
    model.format_version = 1;
    model.layers[0] = BaseModel().layers[0];
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): weights_type = DenseInt8Weights needs format_version = 4");
  }

  SUBCASE("dense values length") {
    TestModel model = Int8Model();
    model.layers[1].int8_values.pop_back();
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseInt8Weights.values has 5 values, expected output_size x input_size = 6");
  }

  SUBCASE("dense value -128") {
    TestModel model = Int8Model();
    model.layers[1].int8_values[4] = -128;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseInt8Weights.values[4] = -128 (row 1) is out of range [-127, 127]");
  }

  SUBCASE("dense scales missing") {
    TestModel model = Int8Model();
    model.layers[1].omit_scales = true;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseInt8Weights.scales is missing; expected output_size = 2 values");
  }

  SUBCASE("dense scales length") {
    TestModel model = Int8Model();
    model.layers[1].scales.push_back(1.0f);
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseInt8Weights.scales has 3 values, expected output_size = 2");
  }

  SUBCASE("negative scale") {
    TestModel model = Int8Model();
    model.layers[1].scales[1] = -0.5f;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseInt8Weights.scales[1] = -0.5 must be finite and at least 0");
  }

  SUBCASE("NaN scale") {
    TestModel model = Int8Model();
    model.layers[0].scales[2] = kNaN;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.scales[2] = nan must be finite and at least 0");
  }

  SUBCASE("infinite scale") {
    TestModel model = Int8Model();
    model.layers[1].scales[0] = kInf;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseInt8Weights.scales[0] = inf must be finite and at least 0");
  }

  SUBCASE("scale that makes a weight infinite") {
    TestModel model = Int8Model();
    model.layers[1].scales[0] = 3.0e38f;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseInt8Weights.values[0] = 42 (row 0) times scales[0] = 3.00000001e+38 is not "
                  "finite; weights must be finite");
  }

  SUBCASE("CSR scale that makes a weight infinite") {
    TestModel model = Int8Model();
    model.layers[0].scales[0] = 3.0e38f;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.values[0] = 64 (row 0) times scales[0] = 3.00000001e+38 is not "
                  "finite");
  }

  SUBCASE("non-zero value under a zero scale") {
    TestModel model = Int8Model();
    model.layers[1].scales[0] = 0.0f;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 1 (fc2): DenseInt8Weights.values[0] = 42 (row 0) is not 0, but scales[0] = 0; a row "
                  "with scale 0 must have every value 0");
  }

  SUBCASE("CSR value -128") {
    TestModel model = Int8Model();
    model.layers[0].int8_values[3] = -128;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.values[3] = -128 (row 2) is out of range [-127, 127]");
  }

  SUBCASE("CSR non-zero value under a zero scale") {
    TestModel model = Int8Model();
    model.layers[0].scales[0] = 0.0f;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.values[0] = 64 (row 0) is not 0, but scales[0] = 0");
  }

  SUBCASE("CSR scales missing") {
    TestModel model = Int8Model();
    model.layers[0].omit_scales = true;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.scales is missing; expected output_size = 3 values");
  }

  SUBCASE("CSR column index equal to input size") {
    TestModel model = Int8Model();
    model.layers[0].col_idx = {0, 4, 1, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.col_idx[1] = 4 (row 0) is out of range [0, 4)");
  }

  SUBCASE("CSR decreasing row pointers") {
    TestModel model = Int8Model();
    model.layers[0].row_ptr = {0, 2, 1, 4};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.row_ptr[2] = 1 is less than row_ptr[1] = 2; row pointers must "
                  "not decrease");
  }

  SUBCASE("CSR row_ptr ends before nnz") {
    TestModel model = Int8Model();
    model.layers[0].row_ptr = {0, 2, 2, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.row_ptr[3] = 3 does not equal nnz = 4 (the length of col_idx)");
  }

  SUBCASE("CSR row_ptr[0] not 0") {
    TestModel model = Int8Model();
    model.layers[0].row_ptr = {1, 2, 2, 4};
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): CsrInt8Weights.row_ptr[0] = 1, expected 0");
  }

  SUBCASE("CSR row_ptr length") {
    TestModel model = Int8Model();
    model.layers[0].row_ptr = {0, 2, 4};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.row_ptr has 3 entries, expected output_size + 1 = 4");
  }

  SUBCASE("CSR duplicate columns") {
    TestModel model = Int8Model();
    model.layers[0].col_idx = {0, 2, 3, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.col_idx[3] = 3 (row 2) is not greater than col_idx[2] = 3; "
                  "columns within a row must be strictly increasing");
  }

  SUBCASE("CSR values length") {
    TestModel model = Int8Model();
    model.layers[0].int8_values.pop_back();
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): CsrInt8Weights.values has 3 values, expected nnz = 4 (the length of col_idx)");
  }
}

// fc1 of BaseModel stored as block CSR of 4x1 blocks: one block row of rows 0 to 3, where
// row 3 is padding, and a block at each of the 4 columns:
//   col 0: [1, 0, 0, 0]; col 1: [0, 0, 3, 0]; col 2: [2, 0, 0, 0]; col 3: [0, 0, -1, 0]
// so block_row_ptr = [0, 4], block_col_idx_u16 = [0, 1, 2, 3] and values holds 16 floats.
// Format version 4.
TestModel BlockCsrModel(std::uint32_t block_rows = 4, std::uint32_t block_cols = 1, bool narrow = true) {
  TestModel model = BaseModel();
  model.format_version = 4;
  model.layers[0] = testing::BlockCsrLayer("fc1", 4, 3, {1, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, -1}, {0.5f, -0.5f, 0.0f},
                                           /*relu=*/true, block_rows, block_cols, narrow);
  return model;
}

TEST_CASE("loader accepts block CSR layers in format 4") {
  for (auto [block_rows, block_cols] : {std::pair{1u, 1u}, {4u, 1u}, {8u, 1u}, {1u, 4u}}) {
    for (bool narrow : {true, false}) {
      CAPTURE(block_rows);
      CAPTURE(block_cols);
      CAPTURE(narrow);
      const std::vector<std::uint8_t> bytes = testing::Serialize(BlockCsrModel(block_rows, block_cols, narrow));
      std::unique_ptr<Model> model;
      const Status status = Model::FromBuffer(bytes.data(), bytes.size(), &model, {}, "block.frugal");
      REQUIRE_MESSAGE(status.ok(), status.message());
      const LayerInfo& fc1 = model->layer(0);
      CHECK(fc1.encoding == WeightEncoding::kBlockCsr);
      CHECK(fc1.block_rows == block_rows);
      CHECK(fc1.block_cols == block_cols);
      CHECK(fc1.nonzeros == 4);
    }
  }
  // The 4x1 form stores 4 blocks of 4 values, 12 of them fill-in or padding zeros.
  const std::vector<std::uint8_t> bytes = testing::Serialize(BlockCsrModel());
  std::unique_ptr<Model> model;
  REQUIRE(Model::FromBuffer(bytes.data(), bytes.size(), &model).ok());
  CHECK(model->layer(0).stored_values == 16);
}

TEST_CASE("loader rejects block CSR weights") {
  SUBCASE("format version 3") {
    TestModel model = BlockCsrModel();
    model.format_version = 3;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): weights_type = BlockCsrWeights needs format_version = 4, but the file has "
                  "format_version = 3");
  }

  SUBCASE("unsupported block shape") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_rows = 2;
    model.layers[0].block_cols = 2;
    CheckRejected(model, StatusCode::kUnsupported,
                  "layer 0 (fc1): BlockCsrWeights block shape block_rows x block_cols = 2x2 is not supported");
  }

  SUBCASE("zero block rows") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_rows = 0;
    CheckRejected(model, StatusCode::kUnsupported, "block_rows x block_cols = 0x1 is not supported");
  }

  SUBCASE("no column indices") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_col_u16.reset();
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights has neither block_col_idx_u16 nor block_col_idx_u32");
  }

  SUBCASE("both column index widths") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_col_u32 = std::vector<std::uint32_t>{0, 1, 2, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights has both block_col_idx_u16 and block_col_idx_u32");
  }

  SUBCASE("block_row_ptr length") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_row_ptr = {0, 2, 4};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights.block_row_ptr has 3 entries, expected ceil(output_size / "
                  "block_rows) + 1 = 2");
  }

  SUBCASE("block_row_ptr[0] not 0") {
    TestModel model = BlockCsrModel(1, 4);
    model.layers[0].block_row_ptr = {1, 1, 1, 2};
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): BlockCsrWeights.block_row_ptr[0] = 1, expected 0");
  }

  SUBCASE("decreasing block row pointers") {
    TestModel model = BlockCsrModel(1, 4);
    model.layers[0].block_row_ptr = {0, 2, 1, 2};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights.block_row_ptr[2] = 1 is less than block_row_ptr[1] = 2");
  }

  SUBCASE("block_row_ptr ends before the block count") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_row_ptr = {0, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights.block_row_ptr[1] = 3 does not equal the block count 4 (the "
                  "length of block_col_idx_u16)");
  }

  SUBCASE("block past the last column") {
    TestModel model = BlockCsrModel(1, 4);
    (*model.layers[0].block_col_u16)[1] = 1;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights.block_col_idx_u16[1] = 1 (block row 2) is out of range [0, 1)");
  }

  SUBCASE("wide column index out of range") {
    TestModel model = BlockCsrModel(4, 1, /*narrow=*/false);
    (*model.layers[0].block_col_u32)[3] = 4;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights.block_col_idx_u32[3] = 4 (block row 0) is out of range [0, 4)");
  }

  SUBCASE("unsorted block columns") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_col_u16 = std::vector<std::uint16_t>{0, 2, 1, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights.block_col_idx_u16[2] = 1 (block row 0) is not greater than "
                  "block_col_idx_u16[1] = 2; block columns within a block row must be strictly increasing");
  }

  SUBCASE("duplicate block columns") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_col_u16 = std::vector<std::uint16_t>{0, 1, 1, 3};
    CheckRejected(model, StatusCode::kInvalidModel,
                  "BlockCsrWeights.block_col_idx_u16[2] = 1 (block row 0) is not greater than block_col_idx_u16[1] "
                  "= 1");
  }

  SUBCASE("values length") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_values.pop_back();
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights.values has 15 values, expected blocks x block_rows x block_cols = "
                  "16 (4 blocks, the length of block_col_idx_u16)");
  }

  SUBCASE("NaN value") {
    TestModel model = BlockCsrModel();
    model.layers[0].block_values[5] = kNaN;
    CheckRejected(model, StatusCode::kInvalidModel, "layer 0 (fc1): BlockCsrWeights.values[5] = nan is not finite");
  }

  SUBCASE("non-zero padding row") {
    // Value 3 of block 1 is row 3 of the 4x1 block, past output_size = 3.
    TestModel model = BlockCsrModel();
    model.layers[0].block_values[7] = 0.5f;
    CheckRejected(model, StatusCode::kInvalidModel,
                  "layer 0 (fc1): BlockCsrWeights.values[7] = 0.5 lies in row 3, past output_size = 3; padding "
                  "rows of the last block row must be 0");
  }
}

TEST_CASE("loader rejects a vector length past the end of the file") {
  // Patch the length prefix of fc1's col_idx so it claims 2^28 entries in a tiny file;
  // the FlatBuffers verifier has to catch this before any semantic check reads it.
  std::vector<std::uint8_t> bytes = testing::Serialize(BaseModel());
  const auto* csr = fb::GetModel(bytes.data())->layers()->Get(0)->weights_as_CsrWeights();
  const auto* length_field = reinterpret_cast<const std::uint8_t*>(csr->col_idx()) ;
  const std::size_t offset = static_cast<std::size_t>(length_field - bytes.data());
  const std::uint32_t huge = 1u << 28;
  std::memcpy(bytes.data() + offset, &huge, sizeof(huge));
  CheckRejected(bytes, StatusCode::kInvalidModel, "FlatBuffers verification failed");
}

}  // namespace
}  // namespace frugal
