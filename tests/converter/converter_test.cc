// Tests of the converter: CSR packing, orientation, pruning, encoding choice, metadata,
// rejected checkpoints, and the written files loaded and run by the real runtime.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "frugal/converter/converter.h"
#include "frugal/frugal_model_generated.h"
#include "frugal/npz.h"
#include "frugal/runtime.h"
#include "test_paths.h"

namespace {

namespace fs = std::filesystem;
using frugal::converter::Checkpoint;
using frugal::converter::ConvertError;
using frugal::converter::ConvertOptions;
using frugal::converter::CscMatrix;
using frugal::converter::CsrMatrix;
using frugal::converter::Encoding;
using frugal::converter::EncodingPolicy;

// One layer of a test checkpoint, in the checkpoint's Keras orientation.
struct KerasLayer {
  std::size_t inputs;
  std::size_t outputs;
  std::vector<float> kernel;  // row-major [inputs, outputs]
  std::vector<float> bias;
  const char* activation = "none";
};

fs::path CaseDir(const std::string& name) {
  const fs::path dir = frugal::testing::ScratchDir() / "converter" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> FolderContents(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

nlohmann::json MakeRecord(const std::vector<KerasLayer>& layers) {
  nlohmann::json record = {{"format", "frugal-checkpoint"},
                           {"version", 1},
                           {"input_size", layers.front().inputs},
                           {"input_scale", 1.0},
                           {"class_count", layers.back().outputs},
                           {"producer", "converter_test"},
                           {"description", "test checkpoint"}};
  record["layers"] = nlohmann::json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    record["layers"].push_back({{"name", "dense_" + std::to_string(i + 1)},
                                {"units", layers[i].outputs},
                                {"activation", layers[i].activation}});
  }
  return record;
}

frugal::npz::Archive MakeArchive(const std::vector<KerasLayer>& layers, const nlohmann::json& record) {
  frugal::npz::Archive archive;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string name = "dense_" + std::to_string(i + 1);
    archive.arrays.push_back({name + "/kernel", {layers[i].inputs, layers[i].outputs}, layers[i].kernel});
    archive.arrays.push_back({name + "/bias", {layers[i].outputs}, layers[i].bias});
  }
  archive.raw_members.push_back({"architecture.json", record.dump()});
  return archive;
}

fs::path WriteCheckpoint(const fs::path& dir, const std::vector<KerasLayer>& layers) {
  const fs::path path = dir / "model.npz";
  frugal::npz::Write(path.string(), MakeArchive(layers, MakeRecord(layers)));
  return path;
}

// Runs ConvertFile and returns the ConvertError message, or "" when it succeeded.
doctest::String ConvertErrorOf(const fs::path& input, const fs::path& output, const ConvertOptions& options = {}) {
  try {
    frugal::converter::ConvertFile(input.string(), output.string(), options);
  } catch (const ConvertError& error) {
    return error.what();
  }
  return "";
}

doctest::String ParseErrorOf(const frugal::npz::Archive& archive) {
  try {
    frugal::converter::ParseCheckpoint(archive, "model.npz");
  } catch (const ConvertError& error) {
    return error.what();
  }
  return "";
}

// Loads the file with the runtime and runs one input (already scaled).
std::vector<float> RunModel(const fs::path& path, const std::vector<float>& input) {
  std::unique_ptr<frugal::Model> model;
  const frugal::Status status = frugal::Model::FromFile(path.string(), &model);
  REQUIRE_MESSAGE(status.ok(), status.message());
  frugal::Interpreter interpreter(*model);
  std::span<const float> output;
  const frugal::Status run = interpreter.Invoke(input, &output);
  REQUIRE_MESSAGE(run.ok(), run.message());
  return std::vector<float>(output.begin(), output.end());
}

// The Keras-orientation reference: output[o] = sum_i input[i] * kernel[i][o] + bias[o].
std::vector<float> Reference(const std::vector<KerasLayer>& layers, std::vector<float> values) {
  for (const KerasLayer& layer : layers) {
    std::vector<float> next(layer.outputs);
    for (std::size_t o = 0; o < layer.outputs; ++o) {
      double sum = layer.bias[o];
      for (std::size_t i = 0; i < layer.inputs; ++i) sum += double{values[i]} * layer.kernel[i * layer.outputs + o];
      next[o] = static_cast<float>(sum);
      if (std::string(layer.activation) == "relu") next[o] = std::max(next[o], 0.0f);
    }
    values = std::move(next);
  }
  return values;
}

void CheckOutputs(const std::vector<float>& actual, const std::vector<float>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK_MESSAGE(actual[i] == doctest::Approx(expected[i]).epsilon(1e-5), "output ", i);
  }
}

const frugal::fb::Model* ParseBuffer(const std::string& bytes) {
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  REQUIRE(frugal::fb::VerifyModelBuffer(verifier));
  return frugal::fb::GetModel(bytes.data());
}

// Kernel [3 inputs, 2 outputs] with distinct entries, so a missing or doubled transpose
// gives other numbers (and a [2, 3] matrix where [3, 2] belongs fails to load).
KerasLayer AsymmetricLayer() {
  return {3, 2, {1, 2, 3, 4, 5, 6}, {0.5f, -0.5f}, "none"};
}

}  // namespace

TEST_CASE("PackCsr skips empty rows") {
  // Rows 0 and 2 are empty; -0.0f counts as zero.
  const std::vector<float> weights = {0, 0, 0, -0.0f, 0,  //
                                      0, 2, 0, 0, -3,     //
                                      0, 0, 0, 0, 0,      //
                                      0, 0, 0, 4, 0};
  const CsrMatrix csr = frugal::converter::PackCsr(weights, 4, 5);
  CHECK(csr.row_ptr == std::vector<std::uint32_t>{0, 0, 2, 2, 3});
  CHECK(csr.col_idx == std::vector<std::uint32_t>{1, 4, 3});
  CHECK(csr.values == std::vector<float>{2, -3, 4});
}

TEST_CASE("PackCsr of an all-zero matrix") {
  const CsrMatrix csr = frugal::converter::PackCsr(std::vector<float>(12, 0.0f), 3, 4);
  CHECK(csr.row_ptr == std::vector<std::uint32_t>{0, 0, 0, 0});
  CHECK(csr.col_idx.empty());
  CHECK(csr.values.empty());
}

TEST_CASE("PackCsc skips empty columns") {
  // Columns 0 and 2 are empty; -0.0f counts as zero.
  const std::vector<float> weights = {0, 2, 0, -0.0f, 0,  //
                                      0, 0, 0, 5, -3,     //
                                      0, 0, 0, 0, 0,      //
                                      0, 1, 0, 4, 0};
  const CscMatrix csc = frugal::converter::PackCsc(weights, 4, 5);
  CHECK(csc.col_ptr == std::vector<std::uint32_t>{0, 0, 2, 2, 4, 5});
  CHECK(csc.row_idx == std::vector<std::uint32_t>{0, 3, 1, 3, 1});
  CHECK(csc.values == std::vector<float>{2, 1, 5, 4, -3});
}

TEST_CASE("PackCsc of an all-zero matrix") {
  const CscMatrix csc = frugal::converter::PackCsc(std::vector<float>(12, 0.0f), 3, 4);
  CHECK(csc.col_ptr == std::vector<std::uint32_t>{0, 0, 0, 0, 0});
  CHECK(csc.row_idx.empty());
  CHECK(csc.values.empty());
}

TEST_CASE("ChooseEncoding picks CSC from calibration") {
  using frugal::converter::ChooseEncoding;
  using frugal::converter::kCscMaxWorkFraction;
  // 4096 x 10 with nnz = 40 (density 0.001): CSR is sparse enough; calibration then
  // decides. The rows are many and the inputs few, so dense columns would cost more.
  CHECK(frugal::converter::CscWeightBytes(10, 40) == 364);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 4096, 10, 40) == Encoding::kCsr);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 4096, 10, 40, kCscMaxWorkFraction) == Encoding::kCsc);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 4096, 10, 40, 0.0) == Encoding::kCsc);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 4096, 10, 40, kCscMaxWorkFraction + 0.01) == Encoding::kCsr);
  // Too dense for CSR: dense, whatever the inputs.
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 4, 6, 20, 0.0) == Encoding::kDense);
  CHECK(ChooseEncoding(EncodingPolicy::kCsc, 4, 6, 24) == Encoding::kCsc);
  CHECK(ChooseEncoding(EncodingPolicy::kCsr, 4, 6, 5, 0.0) == Encoding::kCsr);
}

TEST_CASE("ChooseEncoding stores CSR only up to the highest crossover density") {
  using frugal::converter::ChooseEncoding;
  using frugal::converter::kCsrMaxDensity;
  // 10 x 10: CSR takes fewer bytes than dense up to nnz = 44, but every runtime runs a CSR
  // layer above density kCsrMaxDensity (0.15) dense, so kAuto stores it dense.
  CHECK(frugal::converter::CsrWeightBytes(10, 44) < frugal::converter::DenseWeightBytes(10, 10));
  CHECK(kCsrMaxDensity == 0.15);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 10, 10, 0) == Encoding::kCsr);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 10, 10, 15) == Encoding::kCsr);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 10, 10, 16) == Encoding::kDense);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 10, 10, 44) == Encoding::kDense);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 10, 10, 100) == Encoding::kDense);
  CHECK(ChooseEncoding(EncodingPolicy::kDense, 10, 10, 0) == Encoding::kDense);
  CHECK(ChooseEncoding(EncodingPolicy::kCsr, 10, 10, 100) == Encoding::kCsr);
}

TEST_CASE("ChooseEncoding picks dense columns for zero inputs") {
  using frugal::converter::ChooseEncoding;
  using frugal::converter::DenseColumnsNs;
  // A 24 x 784 first layer at 21% density, as a group lasso leaves on MNIST. Without
  // calibration the inputs count as dense, and dense columns gain nothing: dense.
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 24, 784, 3903) == Encoding::kDense);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 24, 784, 3903, 0.4, 0.0) == Encoding::kDense);
  // With 80% of the pixels zero, dense columns skip most of the work.
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 24, 784, 3903, 0.4, 0.8) == Encoding::kDenseColumns);
  // 36 x 784 at 13% density stays CSR until enough inputs are zero.
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 36, 784, 3621) == Encoding::kCsr);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 36, 784, 3621, 0.9, 0.3) == Encoding::kCsr);
  CHECK(ChooseEncoding(EncodingPolicy::kAuto, 36, 784, 3621, 0.9, 0.8) == Encoding::kDenseColumns);
  CHECK(ChooseEncoding(EncodingPolicy::kDenseColumns, 4, 6, 0) == Encoding::kDenseColumns);
  // The estimate grows with the non-zero inputs and with the 8-row vectors per column.
  CHECK(DenseColumnsNs(24, 784, 0.2) < DenseColumnsNs(24, 784, 0.5));
  CHECK(DenseColumnsNs(24, 784, 0.5) < DenseColumnsNs(64, 784, 0.5));
  CHECK(DenseColumnsNs(24, 784, 0.0) == doctest::Approx(784 * frugal::converter::kColumnsNsPerInput));
}

TEST_CASE("CSC conversion writes format version 3") {
  const fs::path dir = CaseDir("csc");
  const fs::path input = WriteCheckpoint(dir, {AsymmetricLayer()});
  const fs::path output = dir / "csc.frugal";
  ConvertOptions options;
  options.encoding = EncodingPolicy::kCsc;
  const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);
  CHECK(conversion.layers[0].encoding == Encoding::kCsc);
  CHECK(std::string(frugal::converter::EncodingName(Encoding::kCsc)) == "csc");
  CHECK(frugal::converter::FormatSummary(conversion).find(" csc ") != std::string::npos);

  const std::string bytes = ReadFile(output);
  const frugal::fb::Model* model = ParseBuffer(bytes);
  CHECK(model->format_version() == 3);
  CHECK(model->input_indices() == nullptr);
  // The .frugal matrix is [[1, 3, 5], [2, 4, 6]], so column c contains rows 0 and 1.
  const auto* weights = model->layers()->Get(0)->weights_as_CscWeights();
  REQUIRE(weights != nullptr);
  CHECK(std::vector<std::uint32_t>(weights->col_ptr()->begin(), weights->col_ptr()->end()) ==
        std::vector<std::uint32_t>{0, 2, 4, 6});
  CHECK(std::vector<std::uint32_t>(weights->row_idx()->begin(), weights->row_idx()->end()) ==
        std::vector<std::uint32_t>{0, 1, 0, 1, 0, 1});
  CHECK(std::vector<float>(weights->values()->begin(), weights->values()->end()) ==
        std::vector<float>{1, 2, 3, 4, 5, 6});

  // Without a CSC layer the file keeps version 1, which older runtimes read.
  options.encoding = EncodingPolicy::kCsr;
  const fs::path csr_output = dir / "csr.frugal";
  frugal::converter::ConvertFile(input.string(), csr_output.string(), options);
  const std::string csr_bytes = ReadFile(csr_output);
  CHECK(ParseBuffer(csr_bytes)->format_version() == 1);
}

TEST_CASE("PackBlockCsr fills blocks and pads the last block row") {
  // 5 x 6 weights; -0.0f counts as zero.
  const std::vector<float> weights = {1, 0, 0, 0, 0, 2,      //
                                      0, 0, 3, 0, 0, 0,      //
                                      0, 0, 0, 0, 0, 0,      //
                                      0, 0, 0, -0.0f, 0, 0,  //
                                      0, 4, 0, 0, 0, 5};
  using frugal::converter::BlockShape;
  SUBCASE("4x1 blocks") {
    // Block row 0 (rows 0 to 3) has non-zeros in columns 0, 2 and 5; block row 1 holds
    // row 4 and three padding rows, with non-zeros in columns 1 and 5.
    const auto blocks = frugal::converter::PackBlockCsr(weights, 5, 6, BlockShape{4, 1});
    CHECK(blocks.block_row_ptr == std::vector<std::uint32_t>{0, 3, 5});
    CHECK(blocks.col_idx == std::vector<std::uint32_t>{0, 2, 5, 1, 5});
    CHECK(blocks.values == std::vector<float>{1, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0});
  }
  SUBCASE("1x4 blocks") {
    // Row 0: a block at column 0, then column 5 would end past 6, so that block moves to
    // column 2 and stores 0 for columns 2 and 3, which the first block covers.
    // Row 4: a block at column 1 covers columns 1 to 4; column 5 moves to 2 as in row 0.
    const auto blocks = frugal::converter::PackBlockCsr(weights, 5, 6, BlockShape{1, 4});
    CHECK(blocks.block_row_ptr == std::vector<std::uint32_t>{0, 2, 3, 3, 3, 5});
    CHECK(blocks.col_idx == std::vector<std::uint32_t>{0, 2, 2, 1, 2});
    CHECK(blocks.values == std::vector<float>{1, 0, 0, 0, 0, 0, 0, 2, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 5});
  }
  SUBCASE("all-zero matrix") {
    const auto blocks = frugal::converter::PackBlockCsr(std::vector<float>(30, 0.0f), 5, 6, BlockShape{8, 1});
    CHECK(blocks.block_row_ptr == std::vector<std::uint32_t>{0, 0});
    CHECK(blocks.col_idx.empty());
    CHECK(blocks.values.empty());
  }
}

TEST_CASE("block CSR byte counts and index width") {
  using frugal::converter::BlockShape;
  // 5 rows in 4x1 blocks: 2 block rows, 3 pointers; 5 blocks of 2-byte index and 16 bytes.
  CHECK(frugal::converter::BlockCsrWeightBytes(5, 6, BlockShape{4, 1}, 5) == 3 * 4 + 5 * (2 + 16));
  CHECK(frugal::converter::BlockIndicesFitUint16(65536, BlockShape{1, 1}));
  CHECK_FALSE(frugal::converter::BlockIndicesFitUint16(65537, BlockShape{1, 1}));
  CHECK(frugal::converter::BlockIndicesFitUint16(65539, BlockShape{1, 4}));
  CHECK(frugal::converter::BlockCsrWeightBytes(1, 70000, BlockShape{1, 1}, 2) == 2 * 4 + 2 * (4 + 4));
}

TEST_CASE("ChooseBlockShape prefers full blocks") {
  using frugal::converter::BlockShape;
  // 8 x 16 weights whose non-zeros fill columns 3 and 9 of every row: one 8x1 block per
  // column beats 16 1x1 blocks, 8 4x1 blocks per column pair and 1x4 blocks per row.
  std::vector<float> weights(8 * 16, 0.0f);
  for (std::size_t r = 0; r < 8; ++r) {
    weights[r * 16 + 3] = 1.0f;
    weights[r * 16 + 9] = -1.0f;
  }
  const auto choice = frugal::converter::ChooseBlockShape(weights, 8, 16);
  CHECK(choice.shape.rows == 8);
  CHECK(choice.shape.cols == 1);
  CHECK(choice.blocks == 2);
  // One row with a non-zero in every 4th column: every shape needs 16 blocks, and 1x1
  // blocks, which hold no fill-in zeros, cost the least each.
  std::vector<float> scattered(64, 0.0f);
  for (std::size_t c = 0; c < 64; c += 4) scattered[c] = 1.0f;
  const auto single = frugal::converter::ChooseBlockShape(scattered, 1, 64);
  CHECK(single.shape.rows == 1);
  CHECK(single.shape.cols == 1);
  CHECK(single.blocks == 16);
}

TEST_CASE("block CSR conversion writes format version 4") {
  const fs::path dir = CaseDir("block_csr");
  const fs::path input = WriteCheckpoint(dir, {AsymmetricLayer()});
  for (auto [rows, cols] : {std::pair{1u, 1u}, {4u, 1u}, {8u, 1u}, {1u, 4u}}) {
    CAPTURE(rows);
    CAPTURE(cols);
    ConvertOptions options;
    options.encoding = EncodingPolicy::kBlockCsr;
    options.block_shape = frugal::converter::BlockShape{rows, cols};
    const fs::path output = dir / "block.frugal";
    if (cols > 3) {
      // AsymmetricLayer has 3 inputs, fewer than a 1x4 block's width.
      CHECK_THROWS_WITH_AS(frugal::converter::ConvertFile(input.string(), output.string(), options),
                           "layer dense_1 has input_size = 3, fewer columns than the block width 4; choose a "
                           "narrower block or leave the shape to the converter",
                           ConvertError);
      continue;
    }
    const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);
    REQUIRE(conversion.layers.size() == 1);
    const auto& layer = conversion.layers[0];
    CHECK(layer.encoding == Encoding::kBlockCsr);
    CHECK(layer.block_shape.rows == rows);
    CHECK(layer.index_bytes == 2);
    // The 2 x 3 matrix is dense: 3 column blocks per block row, 1 block row of 4x1 or 8x1
    // with padding, 2 rows of 1x1.
    CHECK(layer.blocks == (rows == 1 ? 6u : 3u));
    CHECK(layer.stored_values == layer.blocks * rows * cols);
    const std::string summary = frugal::converter::FormatSummary(conversion);
    CHECK(summary.find("block-csr dense_1: " + std::to_string(rows) + "x1 blocks") != std::string::npos);
    CHECK(summary.find("uint16 column indices") != std::string::npos);

    const std::string bytes = ReadFile(output);
    const frugal::fb::Model* model = ParseBuffer(bytes);
    CHECK(model->format_version() == 4);
    const auto* weights = model->layers()->Get(0)->weights_as_BlockCsrWeights();
    REQUIRE(weights != nullptr);
    CHECK(weights->block_rows() == rows);
    CHECK(weights->block_col_idx_u16() != nullptr);
    CHECK(weights->block_col_idx_u32() == nullptr);
    // x = (1, 10, 100): output 0 = 1 + 30 + 500 + 0.5, output 1 = 2 + 40 + 600 - 0.5.
    CheckOutputs(RunModel(output, {1, 10, 100}), {531.5f, 641.5f});
  }
}

TEST_CASE("kAuto picks blocks where they win") {
  // 16 inputs -> 8 outputs whose only weights are inputs 3 (1) and 9 (-1) of every output:
  // two 8x1 blocks, estimated well below dense and CSR.
  const fs::path dir = CaseDir("block_auto_wins");
  KerasLayer layer{16, 8, std::vector<float>(16 * 8, 0.0f), std::vector<float>(8, 0.5f), "none"};
  for (std::size_t o = 0; o < 8; ++o) {
    layer.kernel[3 * 8 + o] = 1.0f;
    layer.kernel[9 * 8 + o] = -1.0f;
  }
  const fs::path input = WriteCheckpoint(dir, {layer});
  const fs::path output = dir / "auto.frugal";
  ConvertOptions options;
  options.eliminate_dead_units = false;
  const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);
  CHECK(conversion.layers[0].encoding == Encoding::kBlockCsr);
  CHECK(conversion.layers[0].block_shape.rows == 8);
  CHECK(conversion.layers[0].blocks == 2);
  std::vector<float> x(16, 0.0f);
  x[3] = 4.0f;
  x[9] = 1.5f;
  // Every output is 4 - 1.5 + 0.5 = 3.
  CheckOutputs(RunModel(output, x), std::vector<float>(8, 3.0f));
}

TEST_CASE("kAuto keeps small dense layers dense") {
  // A dense 2 x 3 layer: every block shape stores all 6 weights, so block CSR is never
  // estimated faster than dense.
  const fs::path dir = CaseDir("block_auto");
  const fs::path input = WriteCheckpoint(dir, {AsymmetricLayer()});
  const auto conversion =
      frugal::converter::ConvertFile(input.string(), (dir / "auto.frugal").string(), ConvertOptions{});
  CHECK(conversion.layers[0].encoding == Encoding::kDense);
}

TEST_CASE("dense-columns conversion writes format version 4") {
  const fs::path dir = CaseDir("dense_columns");
  const fs::path input = WriteCheckpoint(dir, {AsymmetricLayer()});
  const fs::path output = dir / "columns.frugal";
  ConvertOptions options;
  options.encoding = EncodingPolicy::kDenseColumns;
  const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);
  CHECK(conversion.layers[0].encoding == Encoding::kDenseColumns);
  CHECK(std::string(frugal::converter::EncodingName(Encoding::kDenseColumns)) == "dense-columns");
  CHECK(frugal::converter::FormatSummary(conversion).find(" dense-columns ") != std::string::npos);
  // 3 columns of 2 rows, padded to 8: 96 bytes of weights plus 8 of bias.
  CHECK(frugal::converter::DenseColumnWeightBytes(2, 3) == 96);
  CHECK(conversion.layers[0].bytes == 104);

  const std::string bytes = ReadFile(output);
  const frugal::fb::Model* model = ParseBuffer(bytes);
  CHECK(model->format_version() == 4);
  CHECK(model->input_indices() == nullptr);
  // The .frugal matrix is [[1, 3, 5], [2, 4, 6]]: column c contains rows 0 and 1, then 6 zeros.
  const auto* weights = model->layers()->Get(0)->weights_as_DenseColumnWeights();
  REQUIRE(weights != nullptr);
  CHECK(std::vector<float>(weights->values()->begin(), weights->values()->end()) ==
        std::vector<float>{1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("calibration input of the wrong size") {
  Checkpoint checkpoint;
  checkpoint.input_size = 3;
  checkpoint.layers = {{"dense_1", frugal::converter::Activation::kNone, 3, 2, {1, 0, 0, 0, 0, 1}, {0, 0}}};
  ConvertOptions options;
  options.calibration_inputs = {{1, 2, 3}, {1, 2}};
  CHECK_THROWS_WITH_AS(frugal::converter::Convert(checkpoint, options, "out.frugal"),
                       "out.frugal: calibration input 1 has 2 values, expected the model's input_size = 3",
                       ConvertError);
}

TEST_CASE("calibration error names the calibration source") {
  Checkpoint checkpoint;
  checkpoint.input_size = 3;
  checkpoint.layers = {{"dense_1", frugal::converter::Activation::kNone, 3, 2, {1, 0, 0, 0, 0, 1}, {0, 0}}};
  ConvertOptions options;
  options.calibration_inputs = {{1, 2}};
  options.calibration_source = "images.idx3";
  CHECK_THROWS_WITH_AS(frugal::converter::Convert(checkpoint, options, "out.frugal"),
                       "images.idx3: calibration input 0 has 2 values, expected the model's input_size = 3",
                       ConvertError);
}

TEST_CASE("conversion transposes the Keras kernel") {
  const fs::path dir = CaseDir("orientation");
  const std::vector<KerasLayer> layers = {AsymmetricLayer()};
  const fs::path input = WriteCheckpoint(dir, layers);

  for (const EncodingPolicy policy : {EncodingPolicy::kDense, EncodingPolicy::kCsr}) {
    const bool csr = policy == EncodingPolicy::kCsr;
    CAPTURE(csr);
    const fs::path output = dir / (csr ? "csr.frugal" : "dense.frugal");
    ConvertOptions options;
    options.encoding = policy;
    frugal::converter::ConvertFile(input.string(), output.string(), options);

    const std::string bytes = ReadFile(output);
    const frugal::fb::Model* model = ParseBuffer(bytes);
    REQUIRE(model->layers()->size() == 1);
    const frugal::fb::FullyConnected* layer = model->layers()->Get(0);
    CHECK(layer->input_size() == 3);
    CHECK(layer->output_size() == 2);
    // Row r of the .frugal matrix is column r of the Keras kernel.
    const std::vector<float> expected = {1, 3, 5, 2, 4, 6};
    if (csr) {
      const auto* weights = layer->weights_as_CsrWeights();
      REQUIRE(weights != nullptr);
      CHECK(std::vector<std::uint32_t>(weights->row_ptr()->begin(), weights->row_ptr()->end()) ==
            std::vector<std::uint32_t>{0, 3, 6});
      CHECK(std::vector<std::uint32_t>(weights->col_idx()->begin(), weights->col_idx()->end()) ==
            std::vector<std::uint32_t>{0, 1, 2, 0, 1, 2});
      CHECK(std::vector<float>(weights->values()->begin(), weights->values()->end()) == expected);
    } else {
      const auto* weights = layer->weights_as_DenseWeights();
      REQUIRE(weights != nullptr);
      CHECK(std::vector<float>(weights->values()->begin(), weights->values()->end()) == expected);
    }
    // x = (1, 10, 100): output 0 = 1 + 30 + 500 + 0.5, output 1 = 2 + 40 + 600 - 0.5.
    CheckOutputs(RunModel(output, {1, 10, 100}), {531.5f, 641.5f});
  }
}

TEST_CASE("conversion writes metadata and the file identifier") {
  const fs::path dir = CaseDir("metadata");
  std::vector<KerasLayer> layers = {AsymmetricLayer()};
  nlohmann::json record = MakeRecord(layers);
  record["input_scale"] = 0.125;
  const fs::path input = dir / "model.npz";
  frugal::npz::Write(input.string(), MakeArchive(layers, record));

  const fs::path from_record = dir / "from_record.frugal";
  frugal::converter::ConvertFile(input.string(), from_record.string(), {});
  const std::string bytes = ReadFile(from_record);
  CHECK(frugal::fb::ModelBufferHasIdentifier(bytes.data()));
  const frugal::fb::Model* model = ParseBuffer(bytes);
  CHECK(model->format_version() == 1);
  REQUIRE(model->metadata() != nullptr);
  CHECK(model->metadata()->producer()->str() == std::string("frugal-convert ") + FRUGAL_VERSION_STRING);
  CHECK(model->metadata()->input_scale() == 0.125f);
  CHECK(model->metadata()->class_count() == 2);
  CHECK(model->metadata()->description()->str() == "test checkpoint");
  REQUIRE(model->layers()->Get(0)->bias() != nullptr);
  CHECK(model->layers()->Get(0)->bias()->size() == 2);
  CHECK(model->layers()->Get(0)->name()->str() == "dense_1");

  ConvertOptions options;
  options.description = "replaced";
  const fs::path replaced = dir / "replaced.frugal";
  frugal::converter::ConvertFile(input.string(), replaced.string(), options);
  CHECK(ParseBuffer(ReadFile(replaced))->metadata()->description()->str() == "replaced");
}

TEST_CASE("all-zero layer converts to CSR with empty rows") {
  const fs::path dir = CaseDir("all_zero");
  const std::vector<KerasLayer> layers = {
      {3, 4, {1, -1, 2, 0, 0, 3, 0, 1, -2, 0, 1, 1}, {0.1f, 0.2f, 0.3f, 0.4f}, "relu"},
      {4, 2, std::vector<float>(8, 0.0f), {-1.5f, 2.5f}, "relu"},
  };
  const fs::path input = WriteCheckpoint(dir, layers);
  const fs::path output = dir / "model.frugal";
  // Elimination would remove every unit that feeds the all-zero layer; this test is
  // about encoding the layer as it is.
  ConvertOptions options;
  options.eliminate_dead_units = false;
  const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);

  REQUIRE(conversion.layers.size() == 2);
  CHECK(conversion.layers[1].nonzeros == 0);
  CHECK(conversion.layers[1].encoding == Encoding::kCsr);
  const std::string bytes = ReadFile(output);
  const auto* weights = ParseBuffer(bytes)->layers()->Get(1)->weights_as_CsrWeights();
  REQUIRE(weights != nullptr);
  CHECK(std::vector<std::uint32_t>(weights->row_ptr()->begin(), weights->row_ptr()->end()) ==
        std::vector<std::uint32_t>{0, 0, 0});
  CHECK(weights->col_idx()->size() == 0);
  CHECK(weights->values()->size() == 0);
  // With no weights the outputs are relu(bias).
  CheckOutputs(RunModel(output, {0.5f, -1.0f, 2.0f}), {0.0f, 2.5f});
}

TEST_CASE("threshold prunes weights at or below T") {
  const fs::path dir = CaseDir("threshold");
  // |w| <= 0.5 is pruned, the boundary -0.5 included; the 0.01 bias is kept.
  const KerasLayer layer = {2, 3, {0.4f, -0.5f, 0.6f, -0.7f, 0.1f, 0.51f}, {0.01f, 0.0f, -0.2f}, "none"};
  const fs::path input = WriteCheckpoint(dir, {layer});
  const fs::path output = dir / "model.frugal";
  ConvertOptions options;
  options.threshold = 0.5f;
  options.encoding = EncodingPolicy::kCsr;
  const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);
  REQUIRE(conversion.layers.size() == 1);
  CHECK(conversion.layers[0].nonzeros == 3);

  const std::string bytes = ReadFile(output);
  const auto* weights = ParseBuffer(bytes)->layers()->Get(0)->weights_as_CsrWeights();
  REQUIRE(weights != nullptr);
  // .frugal rows: output 0 = (0.4, -0.7) -> (-0.7 at column 1); output 1 = (-0.5, 0.1) -> empty;
  // output 2 = (0.6, 0.51) -> both.
  CHECK(std::vector<std::uint32_t>(weights->row_ptr()->begin(), weights->row_ptr()->end()) ==
        std::vector<std::uint32_t>{0, 1, 1, 3});
  CHECK(std::vector<std::uint32_t>(weights->col_idx()->begin(), weights->col_idx()->end()) ==
        std::vector<std::uint32_t>{1, 0, 1});
  CHECK(std::vector<float>(weights->values()->begin(), weights->values()->end()) ==
        std::vector<float>{-0.7f, 0.6f, 0.51f});

  const KerasLayer pruned = {2, 3, {0, 0, 0.6f, -0.7f, 0, 0.51f}, layer.bias, "none"};
  CheckOutputs(RunModel(output, {2.0f, 3.0f}), Reference({pruned}, {2.0f, 3.0f}));

  // Dense output zeroes the same weights in place.
  options.encoding = EncodingPolicy::kDense;
  const fs::path dense = dir / "dense.frugal";
  frugal::converter::ConvertFile(input.string(), dense.string(), options);
  const std::string dense_bytes = ReadFile(dense);
  const auto* dense_weights = ParseBuffer(dense_bytes)->layers()->Get(0)->weights_as_DenseWeights();
  REQUIRE(dense_weights != nullptr);
  CHECK(std::vector<float>(dense_weights->values()->begin(), dense_weights->values()->end()) ==
        std::vector<float>{0, -0.7f, 0, 0, 0.6f, 0.51f});
}

TEST_CASE("auto encoding is chosen per layer") {
  const fs::path dir = CaseDir("auto");
  std::vector<float> sparse(8 * 6, 0.0f);
  sparse[5] = 1.0f;
  sparse[17] = -2.0f;
  std::vector<float> full(6 * 4);
  for (std::size_t i = 0; i < full.size(); ++i) full[i] = 0.25f * static_cast<float>(i + 1);
  const std::vector<KerasLayer> layers = {{8, 6, sparse, std::vector<float>(6, 0.5f), "relu"},
                                          {6, 4, full, std::vector<float>(4, -1.0f), "none"}};
  const fs::path input = WriteCheckpoint(dir, layers);
  const fs::path output = dir / "model.frugal";
  ConvertOptions options;
  options.eliminate_dead_units = false;  // keeps the sparse layer's shape for the encoding choice
  const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);
  REQUIRE(conversion.layers.size() == 2);
  CHECK(conversion.layers[0].encoding == Encoding::kCsr);
  CHECK(conversion.layers[0].nonzeros == 2);
  CHECK(conversion.layers[1].encoding == Encoding::kDense);
  CHECK(conversion.layers[1].nonzeros == 24);
  CHECK(conversion.buffer.size() < conversion.dense_file_bytes);

  std::vector<float> x(8);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 3.0f;
  CheckOutputs(RunModel(output, x), Reference(layers, x));

  const std::string summary = frugal::converter::FormatSummary(conversion);
  CHECK(summary.find("dense_1") != std::string::npos);
  CHECK(summary.find("csr") != std::string::npos);
  CHECK(summary.find("total") != std::string::npos);
  CHECK(summary.find("with every layer dense: " + std::to_string(conversion.dense_file_bytes)) !=
        std::string::npos);
}

TEST_CASE("checkpoint written by numpy converts and runs") {
  const fs::path dir = CaseDir("numpy");
  const fs::path output = dir / "model.frugal";
  const auto conversion = frugal::converter::ConvertFile(
      (fs::path(FRUGAL_CONVERTER_TEST_DATA_DIR) / "numpy_checkpoint.npz").string(), output.string(), {});
  REQUIRE(conversion.layers.size() == 3);
  CHECK(conversion.layers[0].nonzeros == 10);
  CHECK(conversion.layers[1].nonzeros == 14);
  CHECK(conversion.layers[2].nonzeros == 12);

  std::unique_ptr<frugal::Model> model;
  REQUIRE(frugal::Model::FromFile(output.string(), &model).ok());
  CHECK(model->input_scale() == doctest::Approx(1.0 / 255.0));
  std::vector<float> input;
  for (const float pixel : {0.0f, 51.0f, 102.0f, 153.0f, 204.0f, 255.0f}) input.push_back(pixel * model->input_scale());
  // Logits printed by the NumPy script in tests/converter/data/README.md.
  CheckOutputs(RunModel(output, input), {-0.2843000292778015f, -1.2510749101638794f, 1.3892500400543213f});
}

TEST_CASE("NaN and infinite values are rejected naming array and index") {
  std::vector<KerasLayer> layers = {AsymmetricLayer(), {2, 2, {1, 0, 0, 1}, {0, 0}, "none"}};
  layers[0].kernel[1 * 2 + 0] = std::numeric_limits<float>::quiet_NaN();
  CHECK(ParseErrorOf(MakeArchive(layers, MakeRecord(layers))) ==
        doctest::Contains("model.npz: dense_1/kernel[1, 0] = nan"));

  layers[0] = AsymmetricLayer();
  layers[1].bias[1] = std::numeric_limits<float>::infinity();
  CHECK(ParseErrorOf(MakeArchive(layers, MakeRecord(layers))) == doctest::Contains("model.npz: dense_2/bias[1] = inf"));

  layers[1].bias[1] = 0;
  layers[1].kernel[3] = -std::numeric_limits<float>::infinity();
  CHECK(ParseErrorOf(MakeArchive(layers, MakeRecord(layers))) ==
        doctest::Contains("model.npz: dense_2/kernel[1, 1] = -inf"));
}

TEST_CASE("shape mismatches are rejected") {
  // dense_2 expects dense_1's 2 outputs as its rows.
  std::vector<KerasLayer> layers = {AsymmetricLayer(), {3, 2, std::vector<float>(6, 1.0f), {0, 0}, "none"}};
  CHECK(ParseErrorOf(MakeArchive(layers, MakeRecord(layers))) ==
        doctest::Contains("model.npz: dense_2/kernel: shape [3, 2] is not [inputs, outputs] = [2, 2] "
                          "(inputs from dense_1's \"units\", outputs from \"units\")"));

  layers = {AsymmetricLayer()};
  frugal::npz::Archive archive = MakeArchive(layers, MakeRecord(layers));
  archive.arrays[1] = {"dense_1/bias", {3}, {1, 2, 3}};
  CHECK(ParseErrorOf(archive) == doctest::Contains("model.npz: dense_1/bias: shape [3] is not [2]"));

  // The record gives 3 units, the kernel has 2 columns.
  layers = {AsymmetricLayer()};
  nlohmann::json record = MakeRecord(layers);
  record["layers"][0]["units"] = 3;
  record["class_count"] = 3;
  CHECK(ParseErrorOf(MakeArchive(layers, record)) ==
        doctest::Contains("dense_1/kernel: shape [3, 2] is not [inputs, outputs] = [3, 3]"));

  // input_size disagrees with the first kernel's rows.
  record = MakeRecord(layers);
  record["input_size"] = 4;
  CHECK(ParseErrorOf(MakeArchive(layers, record)) ==
        doctest::Contains("dense_1/kernel: shape [3, 2] is not [inputs, outputs] = [4, 2] (inputs from \"input_size\""));
}

TEST_CASE("layer count must match the record") {
  const std::vector<KerasLayer> two = {AsymmetricLayer(), {2, 2, {1, 0, 0, 1}, {0, 0}, "none"}};
  // Arrays for two layers, a record for one.
  frugal::npz::Archive archive = MakeArchive(two, MakeRecord({AsymmetricLayer()}));
  CHECK(ParseErrorOf(archive) ==
        doctest::Contains("array dense_2/kernel belongs to no layer in architecture.json (layers: dense_1)"));

  // A record for two layers, arrays for one.
  archive = MakeArchive({AsymmetricLayer()}, MakeRecord(two));
  CHECK(ParseErrorOf(archive) == doctest::Contains("model.npz: array dense_2/kernel is missing"));

  // Optimizer state is ignored.
  archive = MakeArchive(two, MakeRecord(two));
  archive.arrays.push_back({"optimizer/dense_1/kernel_accumulator", {3, 2}, std::vector<float>(6, 0.1f)});
  CHECK(ParseErrorOf(archive) == "");
}

TEST_CASE("architecture record errors are rejected") {
  const std::vector<KerasLayer> layers = {AsymmetricLayer()};
  struct Case {
    const char* what;
    nlohmann::json record;
    const char* expected;
  };
  std::vector<Case> cases;
  auto with = [&](const char* what, auto edit, const char* expected) {
    nlohmann::json record = MakeRecord(layers);
    edit(record);
    cases.push_back({what, record, expected});
  };
  with("activation", [](auto& r) { r["layers"][0]["activation"] = "tanh"; },
       "layers[0] (dense_1): \"activation\" = \"tanh\" is not \"relu\" or \"none\"");
  with("zero scale", [](auto& r) { r["input_scale"] = 0.0; }, "\"input_scale\" = 0.0 is not a finite number");
  with("negative scale", [](auto& r) { r["input_scale"] = -1.0; }, "\"input_scale\" = -1.0 is not a finite number");
  with("scale beyond float", [](auto& r) { r["input_scale"] = 1e39; }, "\"input_scale\" = 1e+39 is not a finite");
  with("string scale", [](auto& r) { r["input_scale"] = "1"; }, "\"input_scale\" = \"1\" is not a finite number");
  with("missing input_size", [](auto& r) { r.erase("input_size"); }, "\"input_size\" is missing");
  with("negative units", [](auto& r) { r["layers"][0]["units"] = -2; }, "\"units\" = -2 is not an integer in [1, ");
  with("class count", [](auto& r) { r["class_count"] = 5; },
       "\"class_count\" = 5 is neither 0 nor the last layer's 2 units");
  with("version", [](auto& r) { r["version"] = 2; }, "\"version\" = 2 is not supported");
  with("format", [](auto& r) { r["format"] = "keras"; }, "\"format\" = \"keras\" is not \"frugal-checkpoint\"");
  with("no layers", [](auto& r) { r["layers"] = nlohmann::json::array(); }, "\"layers\" = [] is not a non-empty array");
  with("duplicate names", [](auto& r) { r["layers"].push_back(r["layers"][0]); },
       "layers[1]: name \"dense_1\" is used by an earlier layer");
  for (const Case& c : cases) {
    const std::string what = c.what;
    CAPTURE(what);
    const doctest::String error = ParseErrorOf(MakeArchive(layers, c.record));
    CHECK(error == doctest::Contains("model.npz: "));
    CHECK(error == doctest::Contains(c.expected));
  }

  nlohmann::json zero_classes = MakeRecord(layers);
  zero_classes["class_count"] = 0;
  CHECK(ParseErrorOf(MakeArchive(layers, zero_classes)) == "");
}

TEST_CASE("missing architecture.json is rejected") {
  frugal::npz::Archive archive = MakeArchive({AsymmetricLayer()}, MakeRecord({AsymmetricLayer()}));
  archive.raw_members.clear();
  CHECK(ParseErrorOf(archive) == doctest::Contains("model.npz: member architecture.json is missing"));

  archive.raw_members.push_back({"architecture.json", "{\"format\": "});
  CHECK(ParseErrorOf(archive) == doctest::Contains("model.npz: architecture.json is not valid JSON"));
}

TEST_CASE("output file is not created or changed on error") {
  const fs::path dir = CaseDir("no_output");
  std::vector<KerasLayer> layers = {AsymmetricLayer()};
  layers[0].kernel[4] = std::numeric_limits<float>::quiet_NaN();
  const fs::path input = WriteCheckpoint(dir, layers);

  const fs::path output = dir / "model.frugal";
  CHECK(ConvertErrorOf(input, output) == doctest::Contains((input.string() + ": dense_1/kernel[2, 0] = nan").c_str()));
  CHECK(FolderContents(dir) == std::vector<std::string>{"model.npz"});

  const fs::path existing = dir / "existing.frugal";
  {
    std::ofstream out(existing, std::ios::binary);
    out << "previous model";
  }
  CHECK(ConvertErrorOf(input, existing) != "");
  CHECK(ReadFile(existing) == "previous model");

  ConvertOptions bad_threshold;
  bad_threshold.threshold = -1.0f;
  const fs::path good_input = WriteCheckpoint(CaseDir("no_output_threshold"), {AsymmetricLayer()});
  CHECK(ConvertErrorOf(good_input, output, bad_threshold) == doctest::Contains("threshold"));
  CHECK(FolderContents(dir) == std::vector<std::string>{"existing.frugal", "model.npz"});

  CHECK(ConvertErrorOf(dir / "absent.npz", output) == doctest::Contains("absent.npz: cannot open"));
  CHECK(ConvertErrorOf(input, dir / "no_such_folder" / "model.frugal") == doctest::Contains("nan"));
  CHECK(ConvertErrorOf(good_input, good_input) == doctest::Contains("the output path is the input checkpoint"));
  CHECK(FolderContents(dir) == std::vector<std::string>{"existing.frugal", "model.npz"});
}

TEST_CASE("frugal-convert prints the table and fails cleanly") {
  const fs::path dir = CaseDir("cli");
  const fs::path input = WriteCheckpoint(dir, {AsymmetricLayer()});
  const std::string tool = FRUGAL_CONVERT_PATH;

  const std::string ok_command = "'" + tool + "' '" + input.string() + "' -o '" + (dir / "model.frugal").string() +
                                 "' --encoding csr > '" + (dir / "stdout.txt").string() + "' 2> '" +
                                 (dir / "stderr.txt").string() + "'";
  CHECK(std::system(ok_command.c_str()) == 0);
  const std::string out = ReadFile(dir / "stdout.txt");
  CHECK(out.find("dense_1") != std::string::npos);
  CHECK(out.find("csr") != std::string::npos);
  CHECK(ReadFile(dir / "stderr.txt").find("wrote") != std::string::npos);
  CHECK(fs::exists(dir / "model.frugal"));

  const std::string bad_command = "'" + tool + "' '" + (dir / "absent.npz").string() + "' -o '" +
                                  (dir / "bad.frugal").string() + "' > '" + (dir / "stdout2.txt").string() +
                                  "' 2> '" + (dir / "stderr2.txt").string() + "'";
  const int status = std::system(bad_command.c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(ReadFile(dir / "stdout2.txt").empty());
  CHECK(ReadFile(dir / "stderr2.txt").find("absent.npz: cannot open") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "bad.frugal"));

  const std::string usage_command = "'" + tool + "' '" + input.string() + "' --encoding sparse 2> /dev/null";
  const int usage_status = std::system(usage_command.c_str());
  CHECK(WEXITSTATUS(usage_status) == 2);
}

TEST_CASE("QuantizeRows maps each row's largest weight to 127") {
  // Row 0: scale 1/127; -0.5 * 127 = -63.5 rounds half to even, to -64; 0.25 * 127 =
  // 31.75 rounds to 32. Row 1 is all zero, so its scale is 0. Row 2: scale 3/127;
  // -2 / (3/127) = -84.67 rounds to -85, 1 to 42.33 -> 42, and 0.0078 to 0.33 -> 0.
  const std::vector<float> weights = {1.0f, -0.5f, 0.25f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, -2.0f, 1.0f, 0.0078f, 3.0f};
  const frugal::converter::QuantizedMatrix q = frugal::converter::QuantizeRows(weights, 3, 4);
  CHECK(q.values == std::vector<std::int8_t>{127, -64, 32, 0, 0, 0, 0, 0, -85, 42, 0, 127});
  REQUIRE(q.scales.size() == 3);
  CHECK(q.scales[0] == 1.0f / 127.0f);
  CHECK(q.scales[1] == 0.0f);
  CHECK(q.scales[2] == 3.0f / 127.0f);

  const frugal::converter::CsrInt8Matrix csr = frugal::converter::PackCsrInt8(q, 3, 4);
  CHECK(csr.row_ptr == std::vector<std::uint32_t>{0, 3, 3, 6});
  CHECK(csr.col_idx == std::vector<std::uint32_t>{0, 1, 2, 0, 1, 3});
  CHECK(csr.values == std::vector<std::int8_t>{127, -64, 32, -85, 42, 127});
  CHECK(csr.scales == q.scales);
}

TEST_CASE("QuantizeRows moves no weight by more than half a step") {
  std::vector<float> weights;
  for (int i = 0; i < 64 * 50; ++i) weights.push_back(std::sin(0.37f * static_cast<float>(i)) * static_cast<float>(1 + i % 7));
  const frugal::converter::QuantizedMatrix q = frugal::converter::QuantizeRows(weights, 64, 50);
  for (std::size_t r = 0; r < 64; ++r) {
    for (std::size_t c = 0; c < 50; ++c) {
      const float w = weights[r * 50 + c];
      const float restored = q.scales[r] * static_cast<float>(q.values[r * 50 + c]);
      CHECK(q.values[r * 50 + c] >= -127);
      CHECK_MESSAGE(std::fabs(restored - w) <= q.scales[r] * 0.5f * (1.0f + 1e-5f), "row ", r, ", column ", c);
    }
  }
}

TEST_CASE("ChooseInt8Encoding compares int8 bytes") {
  using frugal::converter::ChooseInt8Encoding;
  // 10 x 10: dense int8 is 100 + 40 = 140 bytes, CSR int8 is 44 + 40 + 5 * nnz, smaller
  // for nnz <= 11.
  CHECK(frugal::converter::DenseInt8WeightBytes(10, 10) == 140);
  CHECK(frugal::converter::CsrInt8WeightBytes(10, 11) == 139);
  CHECK(ChooseInt8Encoding(EncodingPolicy::kAuto, 10, 10, 11) == Encoding::kCsr);
  CHECK(ChooseInt8Encoding(EncodingPolicy::kAuto, 10, 10, 12) == Encoding::kDense);
  CHECK(ChooseInt8Encoding(EncodingPolicy::kCsr, 10, 10, 100) == Encoding::kCsr);
  CHECK(ChooseInt8Encoding(EncodingPolicy::kDense, 10, 10, 0) == Encoding::kDense);
  CHECK_THROWS_AS(ChooseInt8Encoding(EncodingPolicy::kCsc, 10, 10, 5), ConvertError);
}

TEST_CASE("int8 conversion writes format version 4 and runs") {
  const fs::path dir = CaseDir("int8");
  const std::vector<KerasLayer> layers = {AsymmetricLayer()};
  const fs::path input = WriteCheckpoint(dir, layers);
  // The .frugal rows are [1, 3, 5] and [2, 4, 6], with scales 5/127 and 6/127. Each weight
  // moves by at most half a step, so output r moves by at most scale_r / 2 * sum |x|.
  const std::vector<float> x = {1.0f, -2.0f, 0.5f};
  const std::vector<float> expected = Reference(layers, x);
  const double bounds[] = {5.0 / 127.0 / 2.0 * 3.5, 6.0 / 127.0 / 2.0 * 3.5};

  for (const EncodingPolicy policy : {EncodingPolicy::kAuto, EncodingPolicy::kDense, EncodingPolicy::kCsr}) {
    CAPTURE(static_cast<int>(policy));
    ConvertOptions options;
    options.encoding = policy;
    options.weight_type = frugal::converter::WeightType::kInt8;
    const fs::path output = dir / "int8.frugal";
    const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);
    REQUIRE(conversion.layers.size() == 1);
    CHECK(conversion.layers[0].weight_type == frugal::converter::WeightType::kInt8);
    const std::string summary = frugal::converter::FormatSummary(conversion);
    CHECK(summary.find(" int8 ") != std::string::npos);
    CHECK(summary.find("dtype") != std::string::npos);

    const std::string bytes = ReadFile(output);
    const frugal::fb::Model* model = ParseBuffer(bytes);
    CHECK(model->format_version() == 4);
    const auto* fc = model->layers()->Get(0);
    if (policy == EncodingPolicy::kCsr) {
      CHECK(conversion.layers[0].encoding == Encoding::kCsr);
      REQUIRE(fc->weights_as_CsrInt8Weights() != nullptr);
      const auto* values = fc->weights_as_CsrInt8Weights()->values();
      CHECK(std::vector<std::int8_t>(values->begin(), values->end()) ==
            std::vector<std::int8_t>{25, 76, 127, 42, 85, 127});
      // 6 int8 values (6 bytes), 3 row pointers, 6 column indices and 2 scales (44 bytes),
      // plus 2 float biases (8 bytes).
      CHECK(conversion.layers[0].bytes == 58);
    } else {
      // A full 2 x 3 matrix is smaller dense, so auto picks dense too.
      CHECK(conversion.layers[0].encoding == Encoding::kDense);
      REQUIRE(fc->weights_as_DenseInt8Weights() != nullptr);
      // 6 int8 values, 2 float scales and 2 float biases.
      CHECK(conversion.layers[0].bytes == 22);
    }

    const std::vector<float> actual = RunModel(output, x);
    REQUIRE(actual.size() == 2);
    for (std::size_t o = 0; o < 2; ++o) {
      CHECK_MESSAGE(std::fabs(actual[o] - expected[o]) <= bounds[o], "output ", o, ": ", actual[o], " vs ",
                    expected[o]);
    }
  }
}

TEST_CASE("int8 quantization per layer") {
  const fs::path dir = CaseDir("int8_layer");
  const std::vector<KerasLayer> layers = {{3, 2, {1, 2, 3, 4, 5, 6}, {0.5f, -0.5f}, "relu"},
                                          {2, 2, {1, -1, 2, 0.5f}, {0.0f, 0.25f}, "none"}};
  const fs::path input = WriteCheckpoint(dir, layers);
  ConvertOptions options;
  options.layer_weight_type["dense_2"] = frugal::converter::WeightType::kInt8;
  const fs::path output = dir / "mixed.frugal";
  const auto conversion = frugal::converter::ConvertFile(input.string(), output.string(), options);
  REQUIRE(conversion.layers.size() == 2);
  CHECK(conversion.layers[0].weight_type == frugal::converter::WeightType::kFloat32);
  CHECK(conversion.layers[1].weight_type == frugal::converter::WeightType::kInt8);
  const std::string bytes = ReadFile(output);
  const frugal::fb::Model* model = ParseBuffer(bytes);
  CHECK(model->format_version() == 4);
  CHECK(model->layers()->Get(0)->weights_as_DenseWeights() != nullptr);
  CHECK(model->layers()->Get(1)->weights_as_DenseInt8Weights() != nullptr);

  // A global int8 with a float32 exception for dense_2 leaves only dense_1 in int8.
  options.weight_type = frugal::converter::WeightType::kInt8;
  options.layer_weight_type["dense_2"] = frugal::converter::WeightType::kFloat32;
  const auto swapped = frugal::converter::ConvertFile(input.string(), output.string(), options);
  CHECK(swapped.layers[0].weight_type == frugal::converter::WeightType::kInt8);
  CHECK(swapped.layers[1].weight_type == frugal::converter::WeightType::kFloat32);
}

TEST_CASE("int8 combinations the converter cannot write") {
  const fs::path dir = CaseDir("int8_rejected");
  const fs::path input = WriteCheckpoint(dir, {AsymmetricLayer()});
  ConvertOptions csc;
  csc.encoding = EncodingPolicy::kCsc;
  csc.weight_type = frugal::converter::WeightType::kInt8;
  CHECK(ConvertErrorOf(input, dir / "csc.frugal", csc) ==
        "layer dense_1: encoding csc cannot store int8 weights, because there is no int8 CSC encoding; use "
        "encoding auto, dense or csr with int8, or keep the layer float32");
  CHECK_FALSE(fs::exists(dir / "csc.frugal"));

  ConvertOptions unknown;
  unknown.layer_weight_type["dense_7"] = frugal::converter::WeightType::kInt8;
  CHECK(ConvertErrorOf(input, dir / "unknown.frugal", unknown) ==
        "quantize names layer dense_7, which the model does not have (layers: dense_1)");
}

TEST_CASE("frugal-convert --quantize") {
  const fs::path dir = CaseDir("cli_quantize");
  const fs::path input = WriteCheckpoint(dir, {AsymmetricLayer()});
  const std::string tool = FRUGAL_CONVERT_PATH;
  const std::string prefix = "'" + tool + "' '" + input.string() + "' -o '" + (dir / "model.frugal").string() + "' ";

  CHECK(std::system((prefix + "--quantize int8 > '" + (dir / "stdout.txt").string() + "' 2> /dev/null").c_str()) ==
        0);
  CHECK(ReadFile(dir / "stdout.txt").find(" int8 ") != std::string::npos);
  CHECK(std::system((prefix + "--quantize dense_1=int8 > /dev/null 2>&1").c_str()) == 0);

  const int bad_type = std::system((prefix + "--quantize int4 2> '" + (dir / "stderr.txt").string() + "'").c_str());
  CHECK(WEXITSTATUS(bad_type) == 2);
  CHECK(ReadFile(dir / "stderr.txt").find("--quantize: \"int4\" is not int8, float32") != std::string::npos);

  const int csc = std::system((prefix + "--quantize int8 --encoding csc 2> '" + (dir / "stderr.txt").string() +
                               "' > /dev/null").c_str());
  CHECK(WEXITSTATUS(csc) == 1);
  CHECK(ReadFile(dir / "stderr.txt").find("no int8 CSC encoding") != std::string::npos);
}
