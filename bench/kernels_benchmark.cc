// Google Benchmark of every compiled kernel variant on the fully connected layers of two
// MNIST MLPs, 784-64-64-10 and 784-300-100-10, at several fractions of zero weights.
// A dense kernel's cost does not depend on the zeros, so it runs once per shape. The CSR
// kernels run at every fraction, which shows where CSR overtakes dense. The CSC kernels
// also run at several fractions of zero inputs, which they skip. The int8 kernels run on
// the same weights quantized per row, dense once per shape and CSR at every fraction.
// The block CSR kernels run at every fraction on the same weights packed into blocks of
// their shape, zeros filling each block, with uint16 column indices.
// The dense-columns kernels run at several fractions of zero inputs too; their cost does
// not depend on the zero weights.
//
// With --frugal_weights=FILE.frugal the same kernels run instead on the weights of every
// dense layer of that file (for example a trained checkpoint converted with
// --encoding dense), as <variant>/<layer>/<rows>x<cols>, with random inputs. Trained
// weights cluster their zeros unlike the independent zeros above, which changes the
// fill-in of blocks.
// The batch kernels (gemm and spmm) run at batches 8 and 32, which shows where spmm
// overtakes gemm.
#include <benchmark/benchmark.h>

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string_view>
#include <random>
#include <string>
#include <vector>

#include "frugal/frugal_model_generated.h"
#include "kernels/kernels.h"

namespace {

struct Shape {
  std::uint32_t rows;
  std::uint32_t cols;
};

// Layers of 784-64-64-10, then of 784-300-100-10 (LeNet-300-100), then the first layer of
// a 784-64-64-10 model whose group lasso left 24 of 64 units.
constexpr Shape kShapes[] = {{64, 784}, {64, 64}, {10, 64}, {300, 784}, {100, 300}, {10, 100}, {24, 784}};
constexpr int kZeroPercents[] = {0, 50, 80, 90, 95, 98};
// Zero inputs for the CSC kernels: none, about half of a ReLU layer's outputs, and about
// the 81% of MNIST pixels that are 0.
constexpr int kInputZeroPercents[] = {0, 50, 80};
constexpr std::uint32_t kBatches[] = {8, 32};
constexpr int kBatchZeroPercents[] = {0, 40, 50, 60, 70, 80, 90, 95};

struct Operands {
  std::vector<float> x, bias, y;
  std::vector<float> dense;
  std::vector<std::uint32_t> row_ptr, col_idx;
  std::vector<float> values;
  std::vector<std::uint32_t> col_ptr, row_idx;
  std::vector<float> csc_values;
  // The weights quantized per row to int8 (scale = max |w| / 127): row-major values for
  // the dense int8 kernels, and the CSR values in the order of `values`.
  std::vector<std::int8_t> dense_int8;
  std::vector<std::int8_t> csr_int8;
  std::vector<float> scales;
};

// Fills the int8 fields of `op` from op.dense and the CSR arrays.
void QuantizeOperands(Shape shape, Operands& op) {
  op.dense_int8.resize(op.dense.size());
  op.scales.assign(shape.rows, 0.0f);
  for (std::uint32_t r = 0; r < shape.rows; ++r) {
    const float* row = op.dense.data() + std::size_t{r} * shape.cols;
    float max_abs = 0.0f;
    for (std::uint32_t c = 0; c < shape.cols; ++c) max_abs = std::max(max_abs, std::fabs(row[c]));
    const float scale = max_abs / 127.0f;
    op.scales[r] = scale;
    for (std::uint32_t c = 0; c < shape.cols; ++c) {
      const float q = scale == 0.0f ? 0.0f : std::nearbyint(row[c] / scale);
      op.dense_int8[std::size_t{r} * shape.cols + c] = static_cast<std::int8_t>(q);
    }
    for (std::uint32_t k = op.row_ptr[r]; k < op.row_ptr[r + 1]; ++k) {
      op.csr_int8.push_back(op.dense_int8[std::size_t{r} * shape.cols + op.col_idx[k]]);
    }
  }
}

// Each weight is zero with probability zero_percent / 100, independently. L1-trained
// layers spread their zeros less evenly, with some rows much denser than others.
Operands MakeOperands(Shape shape, int zero_percent) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::bernoulli_distribution zero(zero_percent / 100.0);
  Operands op;
  op.x.resize(shape.cols);
  for (float& v : op.x) v = value(rng);
  op.bias.resize(shape.rows);
  for (float& v : op.bias) v = value(rng);
  op.y.resize(shape.rows);
  op.dense.resize(std::size_t{shape.rows} * shape.cols);
  op.row_ptr.push_back(0);
  for (std::uint32_t r = 0; r < shape.rows; ++r) {
    for (std::uint32_t c = 0; c < shape.cols; ++c) {
      const float w = zero(rng) ? 0.0f : value(rng);
      op.dense[std::size_t{r} * shape.cols + c] = w;
      if (w != 0.0f) {
        op.col_idx.push_back(c);
        op.values.push_back(w);
      }
    }
    op.row_ptr.push_back(static_cast<std::uint32_t>(op.col_idx.size()));
  }
  op.col_ptr.push_back(0);
  for (std::uint32_t c = 0; c < shape.cols; ++c) {
    for (std::uint32_t r = 0; r < shape.rows; ++r) {
      const float w = op.dense[std::size_t{r} * shape.cols + c];
      if (w != 0.0f) {
        op.row_idx.push_back(r);
        op.csc_values.push_back(w);
      }
    }
    op.col_ptr.push_back(static_cast<std::uint32_t>(op.row_idx.size()));
  }
  QuantizeOperands(shape, op);
  return op;
}

// Block CSR arrays of `dense` with R x C blocks, packed as frugal-convert packs them. Per
// block row, a block starts at each column with a non-zero weight that no earlier block
// covers. A block that would end past cols moves left to fit.
struct BlockOperands {
  std::vector<std::uint32_t> block_row_ptr;
  std::vector<std::uint16_t> col;
  std::vector<float> values;
};

BlockOperands PackBlocks(const std::vector<float>& dense, Shape shape, std::uint32_t block_rows,
                         std::uint32_t block_cols) {
  auto weight = [&](std::uint32_t r, std::uint32_t c) {
    return r < shape.rows ? dense[std::size_t{r} * shape.cols + c] : 0.0f;
  };
  BlockOperands op;
  op.block_row_ptr.push_back(0);
  for (std::uint32_t base = 0; base < shape.rows; base += block_rows) {
    std::uint32_t covered = 0;
    for (std::uint32_t c = 0; c < shape.cols; ++c) {
      bool nonzero = false;
      for (std::uint32_t i = 0; i < block_rows; ++i) nonzero = nonzero || weight(base + i, c) != 0.0f;
      if (!nonzero || c < covered) continue;
      const std::uint32_t start = std::min(c, shape.cols - block_cols);
      op.col.push_back(static_cast<std::uint16_t>(start));
      for (std::uint32_t i = 0; i < block_rows; ++i) {
        for (std::uint32_t j = 0; j < block_cols; ++j) {
          op.values.push_back(start + j < covered ? 0.0f : weight(base + i, start + j));
        }
      }
      covered = start + block_cols;
    }
    op.block_row_ptr.push_back(static_cast<std::uint32_t>(op.col.size()));
  }
  return op;
}

// The counter stored is the stored values, fill-in zeros included, and fill_in is the
// stored values per non-zero weight.
void RunBsrmvOn(benchmark::State& state, const frugal::kernels::KernelVariant* variant, Shape shape, Operands op) {
  const BlockOperands blocks = PackBlocks(op.dense, shape, variant->block_rows, variant->block_cols);
  for (auto _ : state) {
    variant->bsrmv(shape.rows, blocks.block_row_ptr.data(), blocks.col.data(), nullptr, blocks.values.data(),
                   op.x.data(), op.bias.data(), true, op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["blocks"] = static_cast<double>(blocks.col.size());
  state.counters["stored"] = static_cast<double>(blocks.values.size());
  state.counters["fill_in"] =
      op.values.empty() ? 0.0 : static_cast<double>(blocks.values.size()) / static_cast<double>(op.values.size());
}

void RunBsrmv(benchmark::State& state, const frugal::kernels::KernelVariant* variant, Shape shape, int zero_percent) {
  RunBsrmvOn(state, variant, shape, MakeOperands(shape, zero_percent));
}

void RunGemvOn(benchmark::State& state, frugal::kernels::GemvFn gemv, Shape shape, Operands op) {
  for (auto _ : state) {
    gemv(shape.rows, shape.cols, op.dense.data(), op.x.data(), op.bias.data(), true, op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["weights"] = static_cast<double>(op.dense.size());
}

void RunCsrmvOn(benchmark::State& state, frugal::kernels::CsrmvFn csrmv, Shape shape, Operands op) {
  for (auto _ : state) {
    csrmv(shape.rows, op.row_ptr.data(), op.col_idx.data(), op.values.data(), op.x.data(), op.bias.data(), true,
          op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["nnz"] = static_cast<double>(op.values.size());
}


// Operands of given row-major weights with random inputs and bias.
Operands MakeOperandsFromWeights(Shape shape, const std::vector<float>& weights) {
  Operands op = MakeOperands(shape, 0);
  op.dense = weights;
  op.row_ptr = {0};
  op.col_idx.clear();
  op.values.clear();
  for (std::uint32_t r = 0; r < shape.rows; ++r) {
    for (std::uint32_t c = 0; c < shape.cols; ++c) {
      const float w = weights[std::size_t{r} * shape.cols + c];
      if (w != 0.0f) {
        op.col_idx.push_back(c);
        op.values.push_back(w);
      }
    }
    op.row_ptr.push_back(static_cast<std::uint32_t>(op.col_idx.size()));
  }
  return op;
}

// Weights of one dense layer of a .frugal file.
struct FileLayer {
  std::string name;
  Shape shape;
  std::vector<float> weights;
};

// Reads the dense layers of a .frugal file; other encodings are skipped with a warning.
// Returns false after printing an error.
bool ReadDenseLayers(const std::string& path, std::vector<FileLayer>* layers) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file && !file.eof()) {
    std::fprintf(stderr, "frugal_kernels_benchmark: cannot read %s\n", path.c_str());
    return false;
  }
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (bytes.empty() || !frugal::fb::VerifyModelBuffer(verifier)) {
    std::fprintf(stderr, "frugal_kernels_benchmark: %s is not a valid .frugal file\n", path.c_str());
    return false;
  }
  const frugal::fb::Model* model = frugal::fb::GetModel(bytes.data());
  for (const frugal::fb::FullyConnected* layer : *model->layers()) {
    const std::string name = layer->name() != nullptr ? layer->name()->str() : "layer";
    const frugal::fb::DenseWeights* dense = layer->weights_as_DenseWeights();
    const Shape shape{layer->output_size(), layer->input_size()};
    if (dense == nullptr || dense->values() == nullptr ||
        dense->values()->size() != std::size_t{shape.rows} * shape.cols) {
      std::fprintf(stderr, "frugal_kernels_benchmark: %s: skipping layer %s, which is not stored dense\n",
                   path.c_str(), name.c_str());
      continue;
    }
    layers->push_back({name, shape, std::vector<float>(dense->values()->begin(), dense->values()->end())});
  }
  return true;
}

void RunGemv(benchmark::State& state, frugal::kernels::GemvFn gemv, Shape shape) {
  Operands op = MakeOperands(shape, 0);
  for (auto _ : state) {
    gemv(shape.rows, shape.cols, op.dense.data(), op.x.data(), op.bias.data(), true, op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["weights"] = static_cast<double>(op.dense.size());
}

void RunCsrmv(benchmark::State& state, frugal::kernels::CsrmvFn csrmv, Shape shape, int zero_percent) {
  Operands op = MakeOperands(shape, zero_percent);
  for (auto _ : state) {
    csrmv(shape.rows, op.row_ptr.data(), op.col_idx.data(), op.values.data(), op.x.data(), op.bias.data(), true,
          op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["nnz"] = static_cast<double>(op.values.size());
}

void RunQGemv(benchmark::State& state, frugal::kernels::QGemvFn qgemv, Shape shape) {
  Operands op = MakeOperands(shape, 0);
  for (auto _ : state) {
    qgemv(shape.rows, shape.cols, op.dense_int8.data(), op.scales.data(), op.x.data(), op.bias.data(), true,
          op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["weights"] = static_cast<double>(op.dense_int8.size());
}

void RunQCsrmv(benchmark::State& state, frugal::kernels::QCsrmvFn qcsrmv, Shape shape, int zero_percent) {
  Operands op = MakeOperands(shape, zero_percent);
  for (auto _ : state) {
    qcsrmv(shape.rows, op.row_ptr.data(), op.col_idx.data(), op.csr_int8.data(), op.scales.data(), op.x.data(),
           op.bias.data(), true, op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["nnz"] = static_cast<double>(op.csr_int8.size());
}

// The counter active_weights is the CSC kernel's work: the stored values in the columns
// of the non-zero inputs. Time per active weight is the figure kernel_variants.cc uses.
void RunCscmv(benchmark::State& state, frugal::kernels::CscmvFn cscmv, Shape shape, int zero_percent,
              int input_zero_percent) {
  Operands op = MakeOperands(shape, zero_percent);
  std::mt19937 rng(7);
  std::bernoulli_distribution zero(input_zero_percent / 100.0);
  std::uint64_t active_weights = 0;
  for (std::uint32_t c = 0; c < shape.cols; ++c) {
    if (zero(rng)) op.x[c] = 0.0f;
    if (op.x[c] != 0.0f) active_weights += op.col_ptr[c + 1] - op.col_ptr[c];
  }
  for (auto _ : state) {
    cscmv(shape.rows, shape.cols, op.col_ptr.data(), op.row_idx.data(), op.csc_values.data(), op.x.data(),
          op.bias.data(), true, op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["nnz"] = static_cast<double>(op.csc_values.size());
  state.counters["active_weights"] = static_cast<double>(active_weights);
}

// Registers the dense, CSR and block CSR variants on each layer of `layers`.
void RegisterFileLayers(const std::vector<FileLayer>& layers) {
  for (const FileLayer& layer : layers) {
    const std::string suffix =
        "/" + layer.name + "/" + std::to_string(layer.shape.rows) + "x" + std::to_string(layer.shape.cols);
    const Operands op = MakeOperandsFromWeights(layer.shape, layer.weights);
    for (const frugal::kernels::KernelVariant& variant : frugal::kernels::KernelVariants()) {
      if (!variant.is_available()) continue;
      const std::string name = variant.name + suffix;
      if (variant.encoding == frugal::WeightEncoding::kDense) {
        benchmark::RegisterBenchmark(name.c_str(), RunGemvOn, variant.gemv, layer.shape, op);
      } else if (variant.encoding == frugal::WeightEncoding::kCsr) {
        benchmark::RegisterBenchmark(name.c_str(), RunCsrmvOn, variant.csrmv, layer.shape, op);
      } else if (variant.encoding == frugal::WeightEncoding::kBlockCsr && variant.block_cols <= layer.shape.cols) {
        benchmark::RegisterBenchmark(name.c_str(), RunBsrmvOn, &variant, layer.shape, op);
      }
    }
  }
}

// Dense weights stored column by column, with independent zero inputs. The counter
// active_cells is the kernel's multiply work: rows x the non-zero inputs.
void RunGemvcol(benchmark::State& state, frugal::kernels::GemvcolFn gemvcol, Shape shape, int input_zero_percent) {
  Operands op = MakeOperands(shape, 0);
  const auto stride = static_cast<std::size_t>(frugal::DenseColumnStride(shape.rows));
  std::vector<float> columns(stride * shape.cols, 0.0f);
  for (std::uint32_t c = 0; c < shape.cols; ++c) {
    for (std::uint32_t r = 0; r < shape.rows; ++r) columns[c * stride + r] = op.dense[std::size_t{r} * shape.cols + c];
  }
  std::mt19937 rng(7);
  std::bernoulli_distribution zero(input_zero_percent / 100.0);
  std::uint64_t active_cells = 0;
  for (std::uint32_t c = 0; c < shape.cols; ++c) {
    if (zero(rng)) op.x[c] = 0.0f;
    if (op.x[c] != 0.0f) active_cells += shape.rows;
  }
  for (auto _ : state) {
    gemvcol(shape.rows, shape.cols, columns.data(), op.x.data(), op.bias.data(), true, op.y.data());
    benchmark::DoNotOptimize(op.y.data());
    benchmark::ClobberMemory();
  }
  state.counters["active_cells"] = static_cast<double>(active_cells);
}

// Batch operands: x is cols x batch, y rows x batch, both feature-major with stride batch.
void RunGemm(benchmark::State& state, frugal::kernels::GemmFn gemm, Shape shape, std::uint32_t batch) {
  Operands op = MakeOperands(shape, 0);
  const std::vector<float> x(std::size_t{shape.cols} * batch, 0.5f);
  std::vector<float> y(std::size_t{shape.rows} * batch);
  for (auto _ : state) {
    gemm(shape.rows, shape.cols, batch, op.dense.data(), x.data(), batch, op.bias.data(), true, y.data(), batch);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["weights"] = static_cast<double>(op.dense.size());
}

void RunSpmm(benchmark::State& state, frugal::kernels::SpmmFn spmm, Shape shape, std::uint32_t batch,
             int zero_percent) {
  Operands op = MakeOperands(shape, zero_percent);
  const std::vector<float> x(std::size_t{shape.cols} * batch, 0.5f);
  std::vector<float> y(std::size_t{shape.rows} * batch);
  for (auto _ : state) {
    spmm(shape.rows, batch, op.row_ptr.data(), op.col_idx.data(), op.values.data(), x.data(), batch, op.bias.data(),
         true, y.data(), batch);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["nnz"] = static_cast<double>(op.values.size());
}

}  // namespace

int main(int argc, char** argv) {
  // --frugal_weights=FILE replaces the random layers; it is removed before Google
  // Benchmark parses the remaining flags.
  constexpr std::string_view kWeightsFlag = "--frugal_weights=";
  std::string weights_path;
  int remaining_argc = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, kWeightsFlag.size()) == kWeightsFlag) {
      weights_path = std::string(arg.substr(kWeightsFlag.size()));
    } else {
      argv[remaining_argc++] = argv[i];
    }
  }
  argc = remaining_argc;
  if (!weights_path.empty()) {
    std::vector<FileLayer> layers;
    if (!ReadDenseLayers(weights_path, &layers)) return 1;
    RegisterFileLayers(layers);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  }

  // Benchmarks are named <variant>/<rows>x<cols>[/zeros:<percent>%][/input_zeros:<percent>%],
  // shape by shape, so
  // the variants of one layer are listed next to each other.
  for (Shape shape : kShapes) {
    std::string dims = "/";  // appended piecewise; "/" + std::string trips GCC 12's -Wrestrict
    dims += std::to_string(shape.rows) + "x" + std::to_string(shape.cols);
    for (const frugal::kernels::KernelVariant& variant : frugal::kernels::KernelVariants()) {
      if (!variant.is_available()) continue;
      if (variant.encoding == frugal::WeightEncoding::kDense) {
        benchmark::RegisterBenchmark((variant.name + dims).c_str(), RunGemv, variant.gemv, shape);
        continue;
      }
      if (variant.encoding == frugal::WeightEncoding::kDenseInt8) {
        benchmark::RegisterBenchmark((variant.name + dims).c_str(), RunQGemv, variant.qgemv, shape);
        continue;
      }
      if (variant.encoding == frugal::WeightEncoding::kDenseColumns) {
        for (int input_zero_percent : kInputZeroPercents) {
          const std::string name = variant.name + dims + "/input_zeros:" + std::to_string(input_zero_percent) + "%";
          benchmark::RegisterBenchmark(name.c_str(), RunGemvcol, variant.gemvcol, shape, input_zero_percent);
        }
        continue;
      }
      for (int zero_percent : kZeroPercents) {
        const std::string name = variant.name + dims + "/zeros:" + std::to_string(zero_percent) + "%";
        if (variant.encoding == frugal::WeightEncoding::kCsr) {
          benchmark::RegisterBenchmark(name.c_str(), RunCsrmv, variant.csrmv, shape, zero_percent);
          continue;
        }
        if (variant.encoding == frugal::WeightEncoding::kCsrInt8) {
          benchmark::RegisterBenchmark(name.c_str(), RunQCsrmv, variant.qcsrmv, shape, zero_percent);
          continue;
        }
        if (variant.encoding == frugal::WeightEncoding::kBlockCsr) {
          if (variant.block_cols <= shape.cols) {
            benchmark::RegisterBenchmark(name.c_str(), RunBsrmv, &variant, shape, zero_percent);
          }
          continue;
        }
        for (int input_zero_percent : kInputZeroPercents) {
          const std::string csc_name = name + "/input_zeros:" + std::to_string(input_zero_percent) + "%";
          benchmark::RegisterBenchmark(csc_name.c_str(), RunCscmv, variant.cscmv, shape, zero_percent,
                                       input_zero_percent);
        }
      }
    }
    for (const frugal::kernels::BatchKernelVariant& variant : frugal::kernels::BatchKernelVariants()) {
      if (!variant.is_available()) continue;
      for (std::uint32_t batch : kBatches) {
        const std::string name = variant.name + dims + "/batch:" + std::to_string(batch);
        if (variant.encoding == frugal::WeightEncoding::kDense) {
          benchmark::RegisterBenchmark(name.c_str(), RunGemm, variant.gemm, shape, batch);
          continue;
        }
        for (int zero_percent : kBatchZeroPercents) {
          benchmark::RegisterBenchmark((name + "/zeros:" + std::to_string(zero_percent) + "%").c_str(), RunSpmm,
                                       variant.spmm, shape, batch, zero_percent);
        }
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
