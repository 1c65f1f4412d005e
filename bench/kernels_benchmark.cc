// Google Benchmark of every compiled kernel variant on the fully connected layers of two
// MNIST MLPs, 784-64-64-10 and 784-300-100-10, at several fractions of zero weights.
// A dense kernel's cost does not depend on the zeros, so it runs once per shape. The CSR
// kernels run at every fraction, which shows where CSR overtakes dense.
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

struct Operands {
  std::vector<float> x, bias, y;
  std::vector<float> dense;
  std::vector<std::uint32_t> row_ptr, col_idx;
  std::vector<float> values;
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

}  // namespace

int main(int argc, char** argv) {
  // Benchmarks are named <variant>/<rows>x<cols>[/zeros:<percent>%], shape by shape, so
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
        benchmark::RegisterBenchmark(name.c_str(), RunCsrmv, variant.csrmv, shape, zero_percent);
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
