// Google Benchmark of every compiled kernel variant on the fully connected layers of two
// MNIST MLPs, 784-64-64-10 and 784-300-100-10, at several fractions of zero weights.
// A dense kernel's cost does not depend on the zeros, so it runs once per shape. The CSR
// kernels run at every fraction, which shows where CSR overtakes dense. The CSC kernels
// also run at several fractions of zero inputs, which they skip. The batch kernels (gemm
// and spmm) run at batches 8 and 32, which shows where spmm overtakes gemm.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace {

struct Shape {
  std::uint32_t rows;
  std::uint32_t cols;
};

// Layers of 784-64-64-10, then of 784-300-100-10 (LeNet-300-100).
constexpr Shape kShapes[] = {{64, 784}, {64, 64}, {10, 64}, {300, 784}, {100, 300}, {10, 100}};
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
};

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
  return op;
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
  // Benchmarks are named <variant>/<rows>x<cols>[/zeros:<percent>%[/input_zeros:<percent>%]],
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
      for (int zero_percent : kZeroPercents) {
        const std::string name = variant.name + dims + "/zeros:" + std::to_string(zero_percent) + "%";
        if (variant.encoding == frugal::WeightEncoding::kCsr) {
          benchmark::RegisterBenchmark(name.c_str(), RunCsrmv, variant.csrmv, shape, zero_percent);
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
