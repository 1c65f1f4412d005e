// Google Benchmark of whole random MLPs over a range of sparsities: the model stored as
// CSR and run by frugal, the same weights run dense by frugal, Eigen dense and sparse,
// and XNNPACK dense when built. scripts/bench-sweep.sh runs it and plots the results.
//
// Benchmark names are mlp:<sizes>/method:<method>/sparsity:<percent>/batch:<n>; the time
// is per batch. At batch n frugal makes one InvokeBatch call (on 1 thread) per iteration.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dense_weights.h"
#include "frugal/runtime.h"
#include "random_model.h"
#include "runners.h"

namespace {

struct Mlp {
  const char* name;
  std::vector<std::uint32_t> sizes;
};

const Mlp kMlps[] = {
    {"784-64-64-10", {784, 64, 64, 10}},
    {"784-300-100-10", {784, 300, 100, 10}},
};
constexpr int kSparsityPercents[] = {0, 35, 50, 70, 80, 90, 95, 98};
constexpr std::size_t kBatches[] = {1, 8};

enum class Method { kStored, kFrugalDense, kEigenDense, kEigenSparse, kXnnpackDense };

struct MethodEntry {
  Method method;
  const char* name;
};

constexpr MethodEntry kMethods[] = {
    {Method::kStored, "stored"},
#if FRUGAL_BENCH_WITH_EIGEN
    {Method::kEigenDense, "eigen_dense"},
    {Method::kEigenSparse, "eigen_sparse"},
#endif
#if FRUGAL_BENCH_WITH_XNNPACK
    {Method::kXnnpackDense, "xnnpack_dense"},
#endif
    {Method::kFrugalDense, "frugal_dense"},
};

std::unique_ptr<frugal::bench::Runner> MakeRunner(Method method, const frugal::Model& model,
                                                  const std::vector<frugal::bench::DenseLayer>& layers,
                                                  std::size_t batch, std::string* error) {
  switch (method) {
    case Method::kStored:
      return std::make_unique<frugal::bench::FrugalRunner>(model, frugal::ExecutionMode::kAsStored, "stored", batch);
    case Method::kFrugalDense:
      return std::make_unique<frugal::bench::FrugalRunner>(model, frugal::ExecutionMode::kDense, "frugal_dense",
                                                           batch);
#if FRUGAL_BENCH_WITH_EIGEN
    case Method::kEigenDense: return frugal::bench::MakeEigenDenseRunner(layers, batch);
    case Method::kEigenSparse: return frugal::bench::MakeEigenSparseRunner(layers, batch);
#endif
#if FRUGAL_BENCH_WITH_XNNPACK
    case Method::kXnnpackDense: return frugal::bench::MakeXnnpackRunner(layers, batch, 1, error);
#endif
    default: break;
  }
  (void)layers;
  *error = "method not built";
  return nullptr;
}

void RunModel(benchmark::State& state, const Mlp* mlp, Method method, int sparsity_percent, std::size_t batch) {
  const std::vector<std::uint8_t> bytes = frugal::bench::BuildRandomMlp(mlp->sizes, sparsity_percent / 100.0, true, 42);
  std::unique_ptr<frugal::Model> model;
  if (frugal::Status status = frugal::Model::FromBuffer(bytes.data(), bytes.size(), &model); !status.ok()) {
    state.SkipWithError(status.message().c_str());
    return;
  }
  const std::vector<frugal::bench::DenseLayer> layers = frugal::bench::ExtractDenseLayers(bytes.data(), bytes.size());
  std::string error;
  std::unique_ptr<frugal::bench::Runner> runner = MakeRunner(method, *model, layers, batch, &error);
  if (!runner) {
    state.SkipWithError(error.c_str());
    return;
  }

  // Pixel-like inputs in [0, 1); the kernels' cost does not depend on the values.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(0.0f, 1.0f);
  for (float& v : runner->input()) v = value(rng);

  for (auto _ : state) {
    runner->Run();
    benchmark::DoNotOptimize(runner->output().data());
    benchmark::ClobberMemory();
  }

  std::uint64_t weights = 0;
  std::uint64_t nonzeros = 0;
  for (std::size_t i = 0; i < model->layer_count(); ++i) {
    weights += std::uint64_t{model->layer(i).input_size} * model->layer(i).output_size;
    nonzeros += model->layer(i).nonzeros;
  }
  state.counters["density"] = static_cast<double>(nonzeros) / static_cast<double>(weights);
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (const Mlp& mlp : kMlps) {
    for (std::size_t batch : kBatches) {
      for (int sparsity : kSparsityPercents) {
        for (const MethodEntry& entry : kMethods) {
          std::string name = "mlp:";
          name += mlp.name;
          name += "/method:";
          name += entry.name;
          name += "/sparsity:" + std::to_string(sparsity) + "/batch:" + std::to_string(batch);
          benchmark::RegisterBenchmark(name.c_str(), RunModel, &mlp, entry.method, sparsity, batch)
              ->Unit(benchmark::kMicrosecond);
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
