// Writes the seed corpora under fuzz/corpus/: small valid inputs for each fuzz target,
// plus truncated, bit-flipped, re-identified and version-bumped variants, so a campaign
// starts past the first checks. Run through `scripts/fuzz.sh --make-seeds`; the output
// is committed, and rerunning the program reproduces it byte for byte.
//
//   fuzz_make_seeds CORPUS_DIR
#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "frugal/frugal_model_generated.h"
#include "frugal/npz.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

void Write(const fs::path& path, const Bytes& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) {
    std::fprintf(stderr, "fuzz_make_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

// Writes `bytes` as NAME, NAME.half, NAME.8bytes and NAME.flipN (one bit flipped at
// three fixed positions spread over the file).
void WriteWithVariants(const fs::path& folder, const std::string& name, const Bytes& bytes) {
  Write(folder / name, bytes);
  Write(folder / (name + ".half"), Bytes(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2)));
  Write(folder / (name + ".8bytes"), Bytes(bytes.begin(), bytes.begin() + std::min<long>(8, static_cast<long>(bytes.size()))));
  for (int k = 1; k <= 3; ++k) {
    Bytes flipped = bytes;
    const std::size_t at = flipped.size() * static_cast<std::size_t>(k) / 4;
    if (at < flipped.size()) flipped[at] ^= static_cast<std::uint8_t>(1u << (k + 2));
    Write(folder / (name + ".flip" + std::to_string(k)), flipped);
  }
}

// --- .frugal models ----------------------------------------------------------------

struct SeedLayer {
  std::uint32_t inputs;
  std::uint32_t outputs;
  bool relu;
  bool csr;
  std::vector<float> weights;  // row-major outputs x inputs
  bool csc = false;            // stored as CscWeights, which needs format version 3
  // Stored as BlockCsrWeights of block_rows x block_cols blocks (format version 4) when
  // block_rows is not 0, with uint16 column indices when narrow is set, else uint32.
  std::uint32_t block_rows = 0;
  std::uint32_t block_cols = 0;
  bool narrow = true;
  bool int8 = false;           // quantized per row to CsrInt8Weights or DenseInt8Weights (version 4)
  bool columns = false;        // stored as DenseColumnWeights, which needs format version 4
};

// Symmetric per-row int8: scale = max |w| / 127, values rounded half to even.
void QuantizeRow(const float* row, std::uint32_t cols, std::vector<std::int8_t>* values, float* scale) {
  float max_abs = 0.0f;
  for (std::uint32_t c = 0; c < cols; ++c) max_abs = std::max(max_abs, std::fabs(row[c]));
  *scale = max_abs / 127.0f;
  for (std::uint32_t c = 0; c < cols; ++c) {
    values->push_back(static_cast<std::int8_t>(*scale == 0.0f ? 0.0f : std::nearbyint(row[c] / *scale)));
  }
}

// Packs `layer` into blocks the way frugal-convert does. A block starts at each column
// with a non-zero weight that no earlier block of its block row covers. A block that
// would end past the last column moves left, with 0 where the previous block has the
// weight.
flatbuffers::Offset<void> BuildBlockCsr(flatbuffers::FlatBufferBuilder& builder, const SeedLayer& layer) {
  auto weight = [&](std::uint32_t r, std::uint32_t c) {
    return r < layer.outputs ? layer.weights[r * layer.inputs + c] : 0.0f;
  };
  std::vector<std::uint32_t> block_row_ptr{0};
  std::vector<std::uint32_t> columns;
  std::vector<float> values;
  for (std::uint32_t base = 0; base < layer.outputs; base += layer.block_rows) {
    std::uint32_t covered = 0;
    for (std::uint32_t c = 0; c < layer.inputs; ++c) {
      bool nonzero = false;
      for (std::uint32_t i = 0; i < layer.block_rows; ++i) nonzero = nonzero || weight(base + i, c) != 0.0f;
      if (!nonzero || c < covered) continue;
      const std::uint32_t start = std::min(c, layer.inputs - layer.block_cols);
      columns.push_back(start);
      for (std::uint32_t i = 0; i < layer.block_rows; ++i) {
        for (std::uint32_t j = 0; j < layer.block_cols; ++j) {
          values.push_back(start + j < covered ? 0.0f : weight(base + i, start + j));
        }
      }
      covered = start + layer.block_cols;
    }
    block_row_ptr.push_back(static_cast<std::uint32_t>(columns.size()));
  }
  const auto row_ptr_offset = builder.CreateVector(block_row_ptr);
  flatbuffers::Offset<flatbuffers::Vector<std::uint16_t>> narrow;
  flatbuffers::Offset<flatbuffers::Vector<std::uint32_t>> wide;
  if (layer.narrow) {
    narrow = builder.CreateVector(std::vector<std::uint16_t>(columns.begin(), columns.end()));
  } else {
    wide = builder.CreateVector(columns);
  }
  const auto values_offset = builder.CreateVector(values);
  return frugal::fb::CreateBlockCsrWeights(builder, layer.block_rows, layer.block_cols, row_ptr_offset, narrow, wide,
                                           values_offset)
      .Union();
}

Bytes BuildModel(const std::vector<SeedLayer>& layers, std::uint32_t version, const char* identifier) {
  flatbuffers::FlatBufferBuilder builder;
  std::vector<flatbuffers::Offset<frugal::fb::FullyConnected>> offsets;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const SeedLayer& layer = layers[i];
    flatbuffers::Offset<void> weights;
    frugal::fb::Weights type;
    if (layer.int8) {
      std::vector<std::int8_t> dense;
      std::vector<float> scales(layer.outputs);
      for (std::uint32_t r = 0; r < layer.outputs; ++r) {
        QuantizeRow(layer.weights.data() + std::size_t{r} * layer.inputs, layer.inputs, &dense, &scales[r]);
      }
      if (layer.csr) {
        std::vector<std::uint32_t> row_ptr{0};
        std::vector<std::uint32_t> col_idx;
        std::vector<std::int8_t> values;
        for (std::uint32_t r = 0; r < layer.outputs; ++r) {
          for (std::uint32_t c = 0; c < layer.inputs; ++c) {
            const std::int8_t q = dense[std::size_t{r} * layer.inputs + c];
            if (q == 0) continue;
            col_idx.push_back(c);
            values.push_back(q);
          }
          row_ptr.push_back(static_cast<std::uint32_t>(col_idx.size()));
        }
        weights = frugal::fb::CreateCsrInt8WeightsDirect(builder, &row_ptr, &col_idx, &values, &scales).Union();
        type = frugal::fb::Weights::CsrInt8Weights;
      } else {
        weights = frugal::fb::CreateDenseInt8WeightsDirect(builder, &dense, &scales).Union();
        type = frugal::fb::Weights::DenseInt8Weights;
      }
    } else if (layer.block_rows != 0) {
      weights = BuildBlockCsr(builder, layer);
      type = frugal::fb::Weights::BlockCsrWeights;
    } else if (layer.columns) {
      const std::size_t stride = (std::size_t{layer.outputs} + 7) / 8 * 8;
      std::vector<float> values(stride * layer.inputs, 0.0f);
      for (std::uint32_t c = 0; c < layer.inputs; ++c) {
        for (std::uint32_t r = 0; r < layer.outputs; ++r) values[c * stride + r] = layer.weights[r * layer.inputs + c];
      }
      weights = frugal::fb::CreateDenseColumnWeightsDirect(builder, &values).Union();
      type = frugal::fb::Weights::DenseColumnWeights;
    } else if (layer.csc) {
      std::vector<std::uint32_t> col_ptr{0};
      std::vector<std::uint32_t> row_idx;
      std::vector<float> values;
      for (std::uint32_t c = 0; c < layer.inputs; ++c) {
        for (std::uint32_t r = 0; r < layer.outputs; ++r) {
          const float w = layer.weights[r * layer.inputs + c];
          if (w == 0.0f) continue;
          row_idx.push_back(r);
          values.push_back(w);
        }
        col_ptr.push_back(static_cast<std::uint32_t>(row_idx.size()));
      }
      weights = frugal::fb::CreateCscWeightsDirect(builder, &col_ptr, &row_idx, &values).Union();
      type = frugal::fb::Weights::CscWeights;
    } else if (layer.csr) {
      std::vector<std::uint32_t> row_ptr{0};
      std::vector<std::uint32_t> col_idx;
      std::vector<float> values;
      for (std::uint32_t r = 0; r < layer.outputs; ++r) {
        for (std::uint32_t c = 0; c < layer.inputs; ++c) {
          const float w = layer.weights[r * layer.inputs + c];
          if (w == 0.0f) continue;
          col_idx.push_back(c);
          values.push_back(w);
        }
        row_ptr.push_back(static_cast<std::uint32_t>(col_idx.size()));
      }
      weights = frugal::fb::CreateCsrWeightsDirect(builder, &row_ptr, &col_idx, &values).Union();
      type = frugal::fb::Weights::CsrWeights;
    } else {
      weights = frugal::fb::CreateDenseWeightsDirect(builder, &layer.weights).Union();
      type = frugal::fb::Weights::DenseWeights;
    }
    std::vector<float> bias(layer.outputs);
    for (std::uint32_t r = 0; r < layer.outputs; ++r) bias[r] = 0.125f * static_cast<float>(r) - 0.25f;
    const auto name = builder.CreateString("fc" + std::to_string(i + 1));
    offsets.push_back(frugal::fb::CreateFullyConnected(
        builder, name, layer.inputs, layer.outputs,
        layer.relu ? frugal::fb::Activation::Relu : frugal::fb::Activation::None, type, weights,
        builder.CreateVector(bias)));
  }
  const auto metadata = frugal::fb::CreateMetadataDirect(builder, "fuzz seeds", 1.0f, 0, "seed");
  builder.Finish(frugal::fb::CreateModel(builder, version, builder.CreateVector(offsets), metadata), identifier);
  return Bytes(builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize());
}

// Row-major weights with a fixed pattern of zeros: every `zero_every`-th value is 0.
std::vector<float> Pattern(std::uint32_t rows, std::uint32_t cols, std::uint32_t zero_every) {
  std::vector<float> weights(std::size_t{rows} * cols);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    weights[i] = (zero_every != 0 && i % zero_every == 0) ? 0.0f : 0.0625f * static_cast<float>(i % 17) - 0.5f;
  }
  return weights;
}

void WriteModelSeeds(const fs::path& folder) {
  const std::vector<SeedLayer> mlp = {{8, 6, true, true, Pattern(6, 8, 2)}, {6, 3, false, false, Pattern(3, 6, 0)}};
  WriteWithVariants(folder, "mlp.frugal", BuildModel(mlp, 1, "FRGL"));
  Write(folder / "mlp.tflite-id.frugal", BuildModel(mlp, 1, "TFL3"));
  Write(folder / "mlp.version2.frugal", BuildModel(mlp, 2, "FRGL"));

  std::vector<float> empty_rows = Pattern(3, 4, 0);
  for (std::uint32_t c = 0; c < 4; ++c) empty_rows[c] = empty_rows[2 * 4 + c] = 0.0f;
  WriteWithVariants(folder, "csr_empty_rows.frugal", BuildModel({{4, 3, true, true, empty_rows}}, 1, "FRGL"));
  Write(folder / "csr_no_nonzeros.frugal", BuildModel({{5, 2, false, true, std::vector<float>(10, 0.0f)}}, 1, "FRGL"));
  Write(folder / "one_by_one.frugal", BuildModel({{1, 1, false, false, {2.0f}}}, 1, "FRGL"));
  // CSC: an MLP whose first layer is CSC with two empty columns, the same model in a
  // version 2 file (rejected), and a CSC layer without nonzeros.
  std::vector<float> empty_columns = Pattern(6, 8, 3);
  for (std::uint32_t r = 0; r < 6; ++r) empty_columns[r * 8 + 1] = empty_columns[r * 8 + 6] = 0.0f;
  const std::vector<SeedLayer> csc_mlp = {{8, 6, true, false, empty_columns, /*csc=*/true},
                                          {6, 3, false, true, Pattern(3, 6, 2)}};
  WriteWithVariants(folder, "csc_mlp.frugal", BuildModel(csc_mlp, 3, "FRGL"));
  Write(folder / "csc_mlp.version2.frugal", BuildModel(csc_mlp, 2, "FRGL"));
  Write(folder / "csc_no_nonzeros.frugal",
        BuildModel({{5, 2, false, false, std::vector<float>(10, 0.0f), /*csc=*/true}}, 3, "FRGL"));
  // Int8: a CSR int8 layer with an all-zero row (scale 0) feeding a dense int8 layer, the
  // same model in a version 3 file (rejected), and a dense int8 layer with a zero row.
  std::vector<float> int8_first = Pattern(6, 8, 3);
  for (std::uint32_t c = 0; c < 8; ++c) int8_first[2 * 8 + c] = 0.0f;
  std::vector<SeedLayer> int8_mlp = {{8, 6, true, true, int8_first}, {6, 3, false, false, Pattern(3, 6, 0)}};
  for (SeedLayer& layer : int8_mlp) layer.int8 = true;
  WriteWithVariants(folder, "int8_mlp.frugal", BuildModel(int8_mlp, 4, "FRGL"));
  Write(folder / "int8_mlp.version3.frugal", BuildModel(int8_mlp, 3, "FRGL"));
  SeedLayer int8_dense = {4, 3, false, false, empty_rows};
  int8_dense.int8 = true;
  Write(folder / "int8_dense_zero_rows.frugal", BuildModel({int8_dense}, 4, "FRGL"));

  // Block CSR: an MLP of a 4x1 layer with uint16 indices and a 1x4 layer with uint32
  // indices. The 4x1 layer has 6 rows, so its last block row has 2 padding rows. Then the
  // same model in a version 3 file (rejected), and an 8x1 layer without blocks.
  const std::vector<SeedLayer> block_mlp = {{8, 6, true, false, Pattern(6, 8, 3), false, 4, 1, true},
                                            {6, 3, false, false, Pattern(3, 6, 2), false, 1, 4, false}};
  WriteWithVariants(folder, "block_mlp.frugal", BuildModel(block_mlp, 4, "FRGL"));
  Write(folder / "block_mlp.version3.frugal", BuildModel(block_mlp, 3, "FRGL"));
  Write(folder / "block_no_blocks.frugal",
        BuildModel({{5, 2, false, false, std::vector<float>(10, 0.0f), false, 8, 1, true}}, 4, "FRGL"));

  // Dense columns: an MLP with a 9-row dense-columns layer (padded to 16), the same model
  // in a version 3 file (rejected), and a one-row layer.
  std::vector<SeedLayer> columns_mlp = {{12, 9, true, false, Pattern(9, 12, 3)}, {9, 3, false, false, Pattern(3, 9, 0)}};
  for (SeedLayer& layer : columns_mlp) layer.columns = true;
  WriteWithVariants(folder, "dense_columns_mlp.frugal", BuildModel(columns_mlp, 4, "FRGL"));
  Write(folder / "dense_columns_mlp.version3.frugal", BuildModel(columns_mlp, 3, "FRGL"));
  SeedLayer columns_one_row = {5, 1, false, false, Pattern(1, 5, 2)};
  columns_one_row.columns = true;
  Write(folder / "dense_columns_one_row.frugal", BuildModel({columns_one_row}, 4, "FRGL"));
  Write(folder / "three_layers.frugal",
        BuildModel({{4, 4, true, false, Pattern(4, 4, 3)}, {4, 4, true, true, Pattern(4, 4, 2)},
                    {4, 2, false, true, Pattern(2, 4, 5)}},
                   1, "FRGL"));
}

// --- .npz archives and checkpoints ---------------------------------------------------

Bytes ReadBack(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

void WriteNpzSeeds(const fs::path& folder) {
  frugal::npz::Archive archive;
  archive.arrays.push_back({"dense_1/kernel", {3, 2}, {0.5f, -1.0f, 0.0f, 2.0f, 0.25f, 0.0f}});
  archive.arrays.push_back({"dense_1/bias", {2}, {0.125f, -0.125f}});
  archive.arrays.push_back({"scalar", {}, {7.0f}});
  archive.raw_members.push_back(
      {"architecture.json",
       R"({"format":"frugal-checkpoint","version":1,"input_size":3,"input_scale":1,"class_count":2,)"
       R"("layers":[{"name":"dense_1","units":2,"activation":"none"}]})"});
  const fs::path path = folder / "checkpoint.npz";
  frugal::npz::Write(path.string(), archive);
  WriteWithVariants(folder, "checkpoint.npz", ReadBack(path));
}

void WriteCheckpointSeeds(const fs::path& folder) {
  const std::string two_layers =
      R"({"format":"frugal-checkpoint","version":1,"input_size":4,"input_scale":0.5,"class_count":3,)"
      R"("layers":[{"name":"dense_1","units":5,"activation":"relu"},{"name":"dense_2","units":3,"activation":"none"}],)"
      R"("producer":"seed","description":"two layers"})";
  auto write_text = [&](const std::string& name, const std::string& text) {
    Write(folder / name, Bytes(text.begin(), text.end()));
  };
  write_text("two_layers.txt", two_layers + "\n" +
                                   "dense_1/kernel 4 5 : 0.5 0 -0.25 0 0 1\n"
                                   "dense_1/bias 5 : 0.1 -0.1\n"
                                   "dense_2/kernel 5 3 : 0 0 0.75 -1\n"
                                   "dense_2/bias 3\n"
                                   "optimizer/step 1 : 3\n");
  write_text("zero_layer.txt", two_layers + "\n" +
                                   "dense_1/kernel 4 5 : 0\n"
                                   "dense_1/bias 5 : 0.1 -0.1\n"
                                   "dense_2/kernel 5 3 : 1 0\n"
                                   "dense_2/bias 3 : 0\n");
  write_text("nan_weight.txt", two_layers + "\n" +
                                   "dense_1/kernel 4 5 : 0.5 nan\n"
                                   "dense_1/bias 5\n"
                                   "dense_2/kernel 5 3 : inf\n"
                                   "dense_2/bias 3\n");
  write_text("one_by_one.txt",
             R"({"format":"frugal-checkpoint","version":1,"input_size":1,"layers":[{"name":"d","units":1,"activation":"none"}]})"
             "\nd/kernel 1 1 : 2\nd/bias 1 : -1\n");
}

// --- IDX -------------------------------------------------------------------------------

Bytes IdxHeader(std::uint32_t magic, const std::vector<std::uint32_t>& dims) {
  Bytes bytes;
  auto put32 = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(v >> shift));
  };
  put32(magic);
  for (std::uint32_t d : dims) put32(d);
  return bytes;
}

void WriteIdxSeeds(const fs::path& folder) {
  Bytes images = IdxHeader(0x00000803, {3, 4, 4});
  for (int i = 0; i < 3 * 4 * 4; ++i) images.push_back(static_cast<std::uint8_t>(i * 5));
  WriteWithVariants(folder, "images.idx3", images);
  Bytes labels = IdxHeader(0x00000801, {5});
  for (int i = 0; i < 5; ++i) labels.push_back(static_cast<std::uint8_t>(i));
  WriteWithVariants(folder, "labels.idx1", labels);
  Bytes wrong_magic = images;
  wrong_magic[2] = 0x0c;  // a float32 IDX file
  Write(folder / "images.float.idx3", wrong_magic);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
    return 1;
  }
  const fs::path root = argv[1];
  const std::vector<std::pair<std::string, void (*)(const fs::path&)>> targets = {
      {"model_fuzzer", WriteModelSeeds},
      {"npz_fuzzer", WriteNpzSeeds},
      {"checkpoint_fuzzer", WriteCheckpointSeeds},
      {"idx_fuzzer", WriteIdxSeeds}};
  for (const auto& [name, write] : targets) {
    fs::create_directories(root / name);
    write(root / name);
  }
  return 0;
}
