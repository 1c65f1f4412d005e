// Builds .frugal buffers for tests from plain vectors. Every field can be set to a bad
// value or left out, so the same helper produces valid models and deliberately invalid
// ones for the loader's rejection tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace frugal::testing {

struct TestLayer {
  std::string name;
  std::uint32_t input_size = 0;
  std::uint32_t output_size = 0;
  bool relu = false;
  bool csr = false;
  bool csc = false;
  bool block_csr = false;
  bool dense_columns = false;
  std::vector<float> dense_values;  // row-major output_size x input_size, when no other encoding is set
  std::vector<float> column_values;  // when dense_columns: column-major, rows padded to a multiple of 8
  std::vector<std::uint32_t> row_ptr;  // when csr
  std::vector<std::uint32_t> col_idx;
  std::vector<float> csr_values;
  std::vector<std::uint32_t> col_ptr;  // when csc
  std::vector<std::uint32_t> row_idx;
  std::vector<float> csc_values;
  // int8: DenseInt8Weights from int8_values (row-major), or CsrInt8Weights from row_ptr,
  // col_idx and int8_values when csr is set too. scales has one entry per row.
  bool int8 = false;
  std::vector<std::int8_t> int8_values;
  std::vector<float> scales;
  bool omit_scales = false;
  std::uint32_t block_rows = 0;  // when block_csr
  std::uint32_t block_cols = 0;
  std::vector<std::uint32_t> block_row_ptr;
  std::optional<std::vector<std::uint16_t>> block_col_u16;  // written only when set
  std::optional<std::vector<std::uint32_t>> block_col_u32;
  std::vector<float> block_values;
  std::vector<float> bias;

  // Overrides for invalid models.
  bool omit_bias = false;
  bool omit_weights = false;               // writes weights_type NONE and no table
  std::optional<std::uint8_t> weights_type;  // raw union tag written instead of the real one
  std::optional<std::int8_t> activation;     // raw activation value
};

struct TestModel {
  std::uint32_t format_version = 1;
  std::vector<TestLayer> layers;
  bool omit_layers = false;
  bool omit_metadata = false;
  float input_scale = 1.0f;
  std::uint32_t class_count = 0;
  std::string producer = "frugal runtime tests";
  std::string file_identifier = "FRGL";
};

// A dense layer from row-major weights.
TestLayer DenseLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                     std::vector<float> weights, std::vector<float> bias, bool relu);

// A CSR layer holding the non-zero entries of row-major `weights`.
TestLayer CsrLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                   const std::vector<float>& weights, std::vector<float> bias, bool relu);

// A CSC layer holding the non-zero entries of row-major `weights`, column by column.
TestLayer CscLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                   const std::vector<float>& weights, std::vector<float> bias, bool relu);

// Quantizes row-major `weights` symmetrically per row (scale = max |w| / 127, values
// rounded to [-127, 127]) into an int8 layer, CSR when `csr` is set (values that round
// to 0 are not stored), dense int8 otherwise.
TestLayer Int8Layer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                    const std::vector<float>& weights, std::vector<float> bias, bool relu, bool csr);

// A block CSR layer of block_rows x block_cols blocks with `weights`, packed as the
// converter does. Per block row, a block starts at each column with a non-zero weight that
// no earlier block covers. A block that would end past input_size moves left, and stores
// 0 where the previous block already has the weight. Column indices are uint16 when
// `narrow` is set, else uint32.
TestLayer BlockCsrLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                        const std::vector<float>& weights, std::vector<float> bias, bool relu,
                        std::uint32_t block_rows, std::uint32_t block_cols, bool narrow = true);

// A dense-columns layer: row-major `weights` stored column by column, each column padded
// with zeros to DenseColumnStride(output_size) rows.
TestLayer DenseColumnsLayer(std::string name, std::uint32_t input_size, std::uint32_t output_size,
                            const std::vector<float>& weights, std::vector<float> bias, bool relu);

// Row-major weights with values in [-1, 1), each exactly 0 with probability `zero_fraction`.
std::vector<float> RandomWeights(std::mt19937& rng, std::size_t count, double zero_fraction);

// A model with layers sizes[0] -> sizes[1] -> ... ; layer i is CSR when csr[i] is true.
// Hidden layers use ReLU, the last layer none.
TestModel RandomModel(std::uint32_t seed, const std::vector<std::uint32_t>& sizes,
                      const std::vector<bool>& csr, double zero_fraction);

// Serializes `model` with FlatBufferBuilder, exactly as written, without checking it.
std::vector<std::uint8_t> Serialize(const TestModel& model);

void WriteBytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes);

}  // namespace frugal::testing
